"""The answer space as a tested property: every answer set a user can give is either refused by
a validator, with a message that says why, or renders a project whose files all parse in their
languages, whose own lint and unit tests pass, and which shows each typed text exactly as typed
(README title and description, app.py's docstring, pyproject's description, the function's
description in the IaC, the Makefile's and Dockerfile's first comment).

Hypothesis draws the answers (tests/answer_space.py): free text with any Unicode, tricky pieces
of every target language, and now and then a line break or edge space; slugs over the whole
alphabet and length range plus names that shadow something; every iac x trigger x exporter x
architecture x Python; memory, timeout and instrumentation subsets. Which answer sets must be
refused is stated in Python there (`refusal`), so a validator that refuses too much fails as
surely as one that lets a broken answer through.

Examples are derandomized (the same ones on every run) and bounded: ANSWERS_EXAMPLES (default
30, a few minutes on 2 cores) sets the count, e.g. ANSWERS_EXAMPLES=500 for a long search.
Outside CI a failure is shrunk to a minimal answer set; under CI=true it is reported as found.
Every 5th rendered example also runs its IaC's own checker: cfn-lint (SAM), `terraform fmt`
(Terraform), a CDK synth with cfn-lint on its output (CDK).

The project's unit tests run in one venv with every instrumentation installed (cached in
TOOLENV_CACHE_DIR, the same one tests/test_render.py uses for its all-instrumentations case):
a project that selects fewer finds extra packages it does not use, and eight venvs of a minute
each would not fit the budget.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from answer_space import (
    INSTRUMENTATIONS,
    ReservedNames,
    answer_sets,
    parse_file,
    refusal,
    shown_texts,
)
from hypothesis import HealthCheck, Phase, event, example, given, note, settings
from project_checks import IN_CI, VENV_BIN, missing_tool, project_files, run
from render import render
from toolenv import ToolEnvError, hcl_fmt_command, tool_venv, venv_bin

pytestmark = pytest.mark.render

EXAMPLES = int(os.environ.get("ANSWERS_EXAMPLES", "30"))
SAMPLE_EVERY = 5
RESERVED = ReservedNames.load()

PHASES = [Phase.explicit, Phase.generate] + ([] if IN_CI else [Phase.shrink])


def _answers(**given: Any) -> dict[str, Any]:
    base = {
        "project_name": "Order Service",
        "project_slug": "order-service",
        "description": "Orders",
        "python_version": "3.13",
        "architecture": "x86_64",
        "memory_size": 512,
        "timeout": 10,
        "aws_region": "us-east-1",
        "iac": "sam",
        "trigger": "rest-api",
        "trace_exporter": "awsxray",
        "instrumentations": ["botocore"],
    }
    return {**base, **given}


# The cases issue 17 found by hand, run on every run before the drawn ones.
EXPLICIT = [
    _answers(
        project_name='Order \\N{x} \\x """ service',
        project_slug="a" * 64,
        description="Orders 📦 ${x} %{y} {{ z }} \\u",
        trigger="sqs",
        python_version="3.14",
        instrumentations=INSTRUMENTATIONS,
    ),
    _answers(
        project_name="注文サービス 🇯🇵",
        project_slug="b" * 48,
        description="😀" * 128,
        iac="terraform",
        trace_exporter="xray-otlp",
        architecture="arm64",
    ),
    _answers(
        project_name="[link](x) <b>*bold*</b> # 1. - \\",
        project_slug="c" * 64,
        description="- ع שלום e\u0301 \ufeff\ufffd $m$ ~~s~~ |t|",
        iac="cdk",
        trigger="function-url",
        timeout=900,
        python_version="3.10",
    ),
]


def _superset_venv(project: Path) -> Path:
    """The project's test venv with every instrumentation added (see the module docstring)."""
    lines: set[str] = set()
    for name in ("requirements-otel.txt", "requirements-dev.txt", "requirements.txt"):
        for line in (project / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r")):
                lines.add(line)
    pin = next(
        line.split("==", 1)[1]
        for line in lines
        if line.startswith("opentelemetry-instrumentation-botocore==")
    )
    lines |= {f"opentelemetry-instrumentation-{n}=={pin}" for n in ("requests", "urllib3", "httpx")}
    return tool_venv("project", sorted(lines))


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        missing_tool(f"{name} is not installed")
    return str(found)


def _iac_problems(project: Path, answers: dict[str, Any]) -> list[str]:
    """The IaC's own checker on a sampled example."""
    from test_iac import CDK_CFN_LINT_IGNORES, _synth, cfn_lint
    from test_iac import run as run_with_env

    region = answers["aws_region"]
    if answers["iac"] == "sam":
        findings = cfn_lint(project / "template.yaml", region)
        return [f"cfn-lint: {f}" for f in findings]
    if answers["iac"] == "terraform":
        try:
            command, _ = hcl_fmt_command()
        except ToolEnvError as exc:
            missing_tool(str(exc))
        env = {**os.environ, "CHECKPOINT_DISABLE": "1"}
        proc = run_with_env(
            [*command, "-check", "-recursive", "-diff", "terraform"], project, env=env
        )
        return [] if proc.returncode == 0 else [f"terraform fmt: {proc.stdout}{proc.stderr}"]
    _tool("node")
    requirements = (project / "requirements-cdk.txt").read_text(encoding="utf-8").splitlines()
    python = venv_bin(tool_venv("cdk", requirements), "python")
    outdir = project / "cdk.out"
    proc = _synth(project, python, outdir)
    if proc.returncode != 0:
        return [f"CDK synth: {(proc.stdout + proc.stderr)[-3000:]}"]
    template = outdir / f"{answers['project_slug']}.template.json"
    findings = cfn_lint(template, region, tuple(CDK_CFN_LINT_IGNORES))
    return [f"cfn-lint (CDK synth): {f}" for f in findings]


def project_problems(project: Path, answers: dict[str, Any], *, sample: bool) -> list[str]:
    problems: list[str] = []
    for path in project_files(project):
        relative = path.relative_to(project)
        try:
            parse_file(path)
        except Exception as exc:  # any parser's error is a finding
            problems.append(f"{relative} does not parse: {type(exc).__name__}: {exc}"[:600])

    hadolint = run([str(VENV_BIN / "hadolint"), "--no-color", "Dockerfile"], project)
    if hadolint.returncode != 0 or hadolint.stdout.strip():
        problems.append(f"hadolint Dockerfile: {hadolint.stdout}{hadolint.stderr}"[:1500])
    make = run([_tool("make"), "-n", "-f", "Makefile", "help"], project)
    if make.returncode != 0:
        problems.append(f"make -n help: {make.stdout}{make.stderr}"[:1500])
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        ruff = run([str(VENV_BIN / "ruff"), *args], project)
        if ruff.returncode != 0:
            problems.append(f"ruff {args[0]}: {ruff.stdout}{ruff.stderr}"[:3000])

    try:
        shown = shown_texts(project, answers)
    except Exception as exc:
        problems.append(f"could not read the shown texts: {type(exc).__name__}: {exc}"[:600])
        shown = {}
    for place, (expected, found) in shown.items():
        if expected != found:
            problems.append(f"{place}: typed {expected!r}, shown {found!r}")

    python = venv_bin(_superset_venv(project), "python")
    tests = run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
    if tests.returncode != 0 or not re.search(r"\b\d+ passed\b", tests.stdout):
        problems.append(f"the project's tests: {tests.stdout[-3000:]}{tests.stderr[-1000:]}")

    if sample:
        problems += _iac_problems(project, answers)
    return problems


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=PHASES,
    suppress_health_check=list(HealthCheck),
)
@given(answers=answer_sets())
@example(answers=EXPLICIT[0])
@example(answers=EXPLICIT[1])
@example(answers=EXPLICIT[2])
def test_every_answer_set_is_refused_with_a_reason_or_works(
    answers: dict[str, Any], template_repo: Path
) -> None:
    note(f"answers: {answers!r}")
    expected = refusal(answers, RESERVED)
    with tempfile.TemporaryDirectory(prefix="answers-") as tmp:
        destination = Path(tmp) / "service"
        try:
            render(template_repo, destination, answers)
        except ValueError as exc:  # Copier's validation error
            message = str(exc)
            event(f"refused: {expected}")
            assert expected is not None, f"refused an answer set that works: {message}"
            assert expected in message, f"refused for another reason than {expected!r}: {message}"
            assert not destination.exists() or not any(destination.iterdir())
            return
        # One rendered example in SAMPLE_EVERY, chosen by its answers so a re-run agrees.
        sample = zlib.crc32(repr(sorted(answers.items())).encode()) % SAMPLE_EVERY == 0
        event(f"rendered ({answers['iac']}{', IaC checked' if sample else ''})")
        problems = project_problems(destination, answers, sample=sample)
        if expected is not None:
            problems.insert(0, f"the validators let through what must be refused ({expected!r})")
        assert not problems, "\n".join(problems)
