"""Checks that any rendered project must pass, shared by the rendering and update tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from toolenv import tool_venv, venv_bin

VENV_BIN = Path(sys.executable).parent
SKIP_DIRS = {
    ".git",
    ".venv",
    "build",
    "cdk.out",
    ".terraform",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
}


def project_files(project: Path) -> list[Path]:
    return sorted(
        p
        for p in project.rglob("*")
        if p.is_file() and not (set(p.relative_to(project).parts) & SKIP_DIRS)
    )


class _AnyTagLoader(yaml.SafeLoader):
    """Parses CloudFormation's !Ref/!Sub/!GetAtt without interpreting them."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> object:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_AnyTagLoader.add_multi_constructor("!", _any_tag)


def parse_structured(path: Path) -> object:
    text = path.read_text(encoding="utf-8")
    if path.suffix in {".yml", ".yaml"}:
        return yaml.load(text, Loader=_AnyTagLoader)
    if path.suffix == ".json":
        return json.loads(text)
    if path.suffix == ".toml":
        return tomllib.loads(text)
    raise ValueError(path)


def project_test_venv(project: Path) -> Path:
    """A venv for the project's unit tests, from its own requirements (cached by their
    content). The tool's pin is left out: it names the template snapshot of this session, so
    every session would build new venvs (the tests that build and run a service install it the
    way `make venv` does: localrun_checks.service_venv). What the unit tests use of the tool,
    the function's `lambda_otel_xray.runtime` (standard library and the SDK, as the layer ships
    it), comes from this checkout's tool/src instead: run_project_tests."""
    lines: list[str] = []
    for name in ("requirements-otel.txt", "requirements-dev.txt", "requirements.txt"):
        for line in (project / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r", "lambda-otel-xray-tool @")):
                lines.append(line)
    return tool_venv("project", lines)


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


TOOL_SOURCES = Path(__file__).resolve().parent.parent / "tool" / "src"


def run_project_tests(project: Path) -> subprocess.CompletedProcess[str]:
    python = venv_bin(project_test_venv(project), "python")
    env = {**os.environ, "PYTHONPATH": str(TOOL_SOURCES)}
    return subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing_tool(message: str) -> None:
    """A missing external tool: a failure in CI, a skip (saying why) elsewhere."""
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing tool is a failure, not a skip)", pytrace=False)
    pytest.skip(message)
