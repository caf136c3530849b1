"""Bad answers: every validated question rejects bad values with a message a person can act
on, and nothing is left in the destination. Runs the real `copier` command line, because what
matters is what a user sees."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from project_checks import VENV_BIN

pytestmark = pytest.mark.render

# question -> (bad values, words the last line of the error must contain)
BAD_ANSWERS: dict[str, tuple[list[str], list[str]]] = {
    "project_name": (["", "   ", "\t"], ["project name cannot be empty"]),
    "project_slug": (
        ["My_Service", "ab", "9lives", "-svc", "svc-", "a" * 65, "order--service"],
        ["not a valid slug", "order-service"],
    ),
    "description": (["x" * 257, "y" * 300, "z" * 1000], ["AWS Lambda allows at most 256"]),
    "python_version": (["3.8", "3.9", "2.7"], ["python_version", "3.13"]),
    "architecture": (["amd64", "aarch64", "x86"], ["architecture", "arm64"]),
    "memory_size": (["64", "0", "20000"], ["Lambda allows", "128 to 10240"]),
    "timeout": (["0", "901", "-5"], ["Lambda allows", "1 to 900"]),
    "aws_region": (
        ["us-east-9", "cn-north-1", "us-gov-west-1", "US-EAST-1"],
        ["not an AWS commercial region", "us-east-1"],
    ),
    "iac": (["pulumi", "cloudformation", "SAM"], ["iac", "terraform"]),
    "trace_exporter": (["jaeger", "xray", "otlp"], ["trace_exporter", "awsxray"]),
    "trigger": (["http", "sns", "REST-API", "apigw"], ["trigger", "function-url"]),
    "instrumentations": (
        ["[requests]", "[]", "[urllib3, httpx]"],
        ["botocore instrumentation cannot be left out"],
    ),
}

CASES = [
    pytest.param(question, value, words, id=f"{question}={value[:12]!r}")
    for question, (values, words) in BAD_ANSWERS.items()
    for value in values
]


@pytest.mark.parametrize(("question", "value", "words"), CASES)
def test_bad_answer_is_rejected_clearly(
    template_repo: Path, tmp_path: Path, question: str, value: str, words: list[str]
) -> None:
    destination = tmp_path / "service"
    result = subprocess.run(
        [
            str(VENV_BIN / "copier"),
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",
            "--data",
            f"{question}={value}",
            str(template_repo),
            str(destination),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    for word in words:
        assert word in last_line, result.stderr[-1500:]
    assert not destination.exists() or not any(destination.iterdir())


def test_defaults_render(template_repo: Path, tmp_path: Path) -> None:
    """`copier copy --defaults` with no answers at all renders a working project."""
    destination = tmp_path / "service"
    result = subprocess.run(
        [
            str(VENV_BIN / "copier"),
            "copy",
            "--trust",
            "--defaults",
            "--skip-tasks",
            "--vcs-ref=HEAD",
            str(template_repo),
            str(destination),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (destination / "app.py").is_file()
    assert "make local" in result.stderr + result.stdout
    # The default trigger: a REST API, in the answers, the IaC, the handler and its events.
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["trigger"] == "rest-api"
    template = (destination / "template.yaml").read_text()
    assert "Type: AWS::Serverless::Api" in template and "- sigv4: []" in template
    assert "http_api import" in (destination / "app.py").read_text()
    assert (destination / "events" / "bad-request.json").is_file()
