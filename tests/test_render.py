"""Rendering: every answer combination renders a complete, parseable, lint-clean project whose
own tests pass."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from cases import ALL_CASES, MATRIX
from project_checks import VENV_BIN, parse_structured, project_files, run, run_project_tests
from render import Case
from template_repo import git

pytestmark = pytest.mark.render

# `${{ ... }}` is GitHub Actions syntax and `{{.Id}}` a Go template (docker --format): not Jinja.
UNRENDERED = re.compile(r"(?<!\$)\{\{(?!\.)|\{%|%\}")
STRUCTURED = {".yml", ".yaml", ".json", ".toml"}


@pytest.fixture(params=ALL_CASES, ids=lambda case: case.id)
def project(request: pytest.FixtureRequest, render_case) -> Path:
    return render_case(request.param)


def test_no_unrendered_jinja_and_no_empty_files(project: Path) -> None:
    leftovers, empty = [], []
    for path in project_files(project):
        if path.suffix == ".go" or path.name == "go.sum":
            continue
        text = path.read_text(encoding="utf-8")
        if UNRENDERED.search(text) or UNRENDERED.search(path.name):
            leftovers.append(str(path.relative_to(project)))
        if not text.strip():
            empty.append(str(path.relative_to(project)))
    assert leftovers == []
    assert empty == []


def test_structured_files_parse(project: Path) -> None:
    parsed = [p for p in project_files(project) if p.suffix in STRUCTURED]
    assert len(parsed) >= 5
    for path in parsed:
        parse_structured(path)


def test_ruff_clean(project: Path) -> None:
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = run([str(VENV_BIN / "ruff"), *args], project)
        assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_clean(project: Path) -> None:
    result = run([str(VENV_BIN / "hadolint"), "--no-color", "Dockerfile"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.id)
def test_project_tests_pass(case: Case, render_case) -> None:
    result = run_project_tests(render_case(case))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout


@pytest.mark.parametrize("case", MATRIX, ids=lambda case: case.id)
def test_answers_reach_the_files(case: Case, render_case) -> None:
    project = render_case(case)
    answers = parse_structured(project / ".copier-answers.yml")
    assert answers["iac"] == case.iac
    assert answers["trace_exporter"] == case.trace_exporter
    assert answers["trigger"] == case.trigger
    # Pins follow the template, never the saved answers.
    assert not any(key.startswith("pin_") for key in answers)
    assert answers["architecture"] == case.architecture
    platform = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}[case.architecture]
    assert f"PLATFORM := {platform}\n" in (project / "Makefile").read_text()
    # The tooling: one line, the template repository's tool/ at the rendered commit.
    [tool] = [
        line
        for line in (project / "requirements-dev.txt").read_text().splitlines()
        if line.startswith("lambda-otel-xray-tool")
    ]
    commit = git(Path(answers["_src_path"]), "rev-parse", "HEAD").strip()
    assert tool == (
        f"lambda-otel-xray-tool @ git+file://{answers['_src_path']}@{commit}#subdirectory=tool"
    )
    components = (project / "collector" / "components.go").read_text()
    assert ("awsxrayexporter.NewFactory()" in components) == (case.trace_exporter == "awsxray")
    assert ("otlphttpexporter.NewFactory()" in components) == (case.trace_exporter != "awsxray")
    config = parse_structured(project / "collector" / "config.yaml")
    exporter = "awsxray" if case.trace_exporter == "awsxray" else "otlp_http"
    assert list(config["exporters"]) == [exporter]
    assert config["service"]["pipelines"]["traces"]["exporters"] == [exporter]
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "localhost:4318"
    dockerfile = (project / "Dockerfile").read_text()
    assert "FROM public.ecr.aws/lambda/python:3.13" in dockerfile
    assert 'CMD ["app.lambda_handler"]' in dockerfile
    # The function's packages install hash-checked, as the layer's do (lambda-otel-xray layer).
    assert "pip install --no-cache-dir --require-hashes" in dockerfile
    readme = (project / "README.md").read_text()
    if case.trace_exporter == "xray-otlp":
        assert "Transaction Search" in readme


# What events/ holds per trigger, and what events/sample.json (`make local`'s default) is.
EVENT_FILES = {
    "rest-api": {"sample.json", "bad-request.json"},
    "function-url": {"sample.json", "bad-request.json"},
    "sqs": {"sample.json"},
    "none": {"sample.json"},
}


@pytest.mark.parametrize("case", MATRIX, ids=lambda case: case.id)
def test_events_are_the_triggers_own(case: Case, render_case) -> None:
    project = render_case(case)
    events = project / "events"
    assert {p.name for p in events.iterdir()} == EVENT_FILES[case.trigger]
    sample = parse_structured(events / "sample.json")
    if case.trigger == "rest-api":
        assert sample["httpMethod"] == "POST" and sample["resource"] == "/greetings"
        assert "version" not in sample  # payload format 1.0
    elif case.trigger == "function-url":
        assert sample["version"] == "2.0" and sample["requestContext"]["http"]["method"] == "POST"
        assert sample["requestContext"]["authorizer"]["iam"]["userArn"]
    elif case.trigger == "sqs":
        records = sample["Records"]
        assert len(records) == 3
        slug = parse_structured(project / ".copier-answers.yml")["project_slug"]
        for record in records:
            assert record["eventSource"] == "aws:sqs"
            assert record["eventSourceARN"].endswith(f":{slug}")
            assert record["attributes"]["AWSTraceHeader"].startswith("Root=1-")
            assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    else:
        assert sample == {"name": "OpenTelemetry"}


# What a team writes and keeps (the list: handler, package, tests, events, IaC, README);
# everything else in a service is build or tooling configuration.
TEAMS_OWN = ("app.py", "tests/", "events/", "README.md", "template.yaml", "samconfig.toml",
             "ecr.yaml", "infra/", "cdk.json", "requirements-cdk.txt", "terraform/")  # fmt: skip


@pytest.mark.parametrize("iac", ["sam", "cdk", "terraform"])
def test_a_default_service_is_mostly_the_teams_code(
    template_repo: Path, tmp_path: Path, iac
) -> None:
    """A service carries its own code and a thin collector distribution; the tooling is one
    pinned line. At most 50 files and 3,500 lines, at least 40% of the lines the team's own."""
    from render import render

    project = render(template_repo, tmp_path / "svc", {"iac": iac})
    package = parse_structured(project / ".copier-answers.yml")["project_slug"].replace("-", "_")
    lines = {
        p.relative_to(project).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for p in project.rglob("*")
        if p.is_file() and ".git" not in p.parts
    }
    own = sum(n for rel, n in lines.items() if rel.startswith((*TEAMS_OWN, f"{package}/")))
    total = sum(lines.values())
    print(f"[render] {iac}: {len(lines)} files, {total} lines, {own / total:.0%} the team's own")
    assert len(lines) <= 50, sorted(lines)
    assert total <= 3500
    assert own / total >= 0.40
    assert sorted(p for p in lines if p.startswith("collector/")) == [
        "collector/README.md",
        "collector/components.go",
        "collector/config.yaml",
        "collector/go.mod",
        "collector/go.sum",
        "collector/main.go",
    ]
