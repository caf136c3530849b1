"""A service rendered from the template: its answers and where its files are.

Everything the tool needs to know about a service comes from its `.copier-answers.yml` (the
answers Copier saved) and the files in its checkout; nothing is rendered into the tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from . import platforms
from .errors import ToolError

ANSWERS_FILE = ".copier-answers.yml"
# The answers the tool reads; every service rendered from the template has them.
REQUIRED = (
    "project_slug",
    "python_version",
    "architecture",
    "memory_size",
    "timeout",
    "aws_region",
    "iac",
    "trace_exporter",
)
HANDLER = "app.lambda_handler"


def find_root(start: Path) -> Path:
    """The service checkout that holds ``start``: the nearest directory with the answers file."""
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ANSWERS_FILE).is_file():
            return candidate
    raise ToolError(
        f"{start} is not inside a service rendered from the template (no {ANSWERS_FILE} here "
        "or above)",
        "run the command in the service's checkout (where its Makefile is)",
    )


@dataclass(frozen=True)
class Service:
    root: Path
    answers: dict[str, Any]

    @classmethod
    def load(cls, start: Path | None = None) -> Service:
        import yaml

        root = find_root(start or Path.cwd())
        path = root / ANSWERS_FILE
        try:
            answers = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise ToolError(
                f"{path} is not valid YAML",
                "restore it from git; Copier writes it and `copier update` reads it",
                str(error),
            ) from error
        if not isinstance(answers, dict):
            raise ToolError(f"{path} holds no answers", "restore it from git")
        missing = [key for key in REQUIRED if key not in answers]
        if missing:
            raise ToolError(
                f"{path} lacks the answers {', '.join(missing)}",
                "restore it from git, or run `copier update --trust` to record them again",
            )
        return cls(root, answers)

    def in_region(self, region: str | None) -> Service:
        """The same service deployed to ``region`` (`make deploy AWS_REGION=...`): what Lambda
        then tells the function and its extension (AWS_REGION) changes, nothing else."""
        if not region or region == self.region:
            return self
        return Service(self.root, {**self.answers, "aws_region": region})

    # ------------------------------------------------------------------ answers
    @property
    def function_name(self) -> str:
        return str(self.answers["project_slug"])

    @property
    def package_name(self) -> str:
        # copier.yml's computed `package_name`
        return self.function_name.replace("-", "_")

    @property
    def python_version(self) -> str:
        return str(self.answers["python_version"])

    @property
    def architecture(self) -> str:
        return str(self.answers["architecture"])

    @cached_property
    def platform(self) -> platforms.Platform:
        return platforms.of(self.architecture)

    @property
    def memory_mb(self) -> int:
        return int(self.answers["memory_size"])

    @property
    def timeout_s(self) -> int:
        return int(self.answers["timeout"])

    @property
    def region(self) -> str:
        return str(self.answers["aws_region"])

    @property
    def iac(self) -> str:
        return str(self.answers["iac"])

    @property
    def exporter(self) -> str:
        return str(self.answers["trace_exporter"])

    @property
    def trigger(self) -> str:
        return str(self.answers.get("trigger", "none"))

    @property
    def handler(self) -> str:
        return HANDLER

    @property
    def code(self) -> tuple[str, ...]:
        """What the Dockerfile copies into /var/task."""
        return ("app.py", self.package_name)

    # ------------------------------------------------------------------ files
    @property
    def collector_dir(self) -> Path:
        return self.root / "collector"

    @property
    def collector_config(self) -> Path:
        return self.collector_dir / "config.yaml"

    @property
    def otel_requirements(self) -> Path:
        return self.root / "requirements-otel.txt"

    @property
    def requirements(self) -> Path:
        return self.root / "requirements.txt"

    @property
    def dockerfile(self) -> Path:
        return self.root / "Dockerfile"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def image(self) -> str:
        """What `make image` tags (the Makefile's IMAGE:TAG defaults)."""
        return f"{self.function_name}:latest"
