"""The command line: what it offers, and how it fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lambda_otel_xray import cli


def subcommands() -> dict[str, object]:
    parser = cli.parser()
    [action] = [a for a in parser._subparsers._group_actions]  # type: ignore[union-attr]
    return dict(action.choices)  # type: ignore[arg-type]


def test_the_makefiles_commands_are_there() -> None:
    assert set(subcommands()) == {
        "layer",
        "collector-tidy",
        "local",
        "runner",
        "verify-traces",
        "sam-local",
    }


def test_local_offers_no_test_only_option() -> None:
    """Fault injection, raw requests and extra environment belong to the template's tests."""
    local = subcommands()["local"]
    options = {o for a in local._actions for o in a.option_strings}  # type: ignore[attr-defined]
    assert options >= {"--event", "--count", "--runner", "--image", "--report", "--cpus"}
    for test_only in ("--xray-fault", "--recover", "--fault-hold", "--env", "--expect-no-traces"):
        assert test_only not in options


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lambda_otel_xray", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_outside_a_service_it_says_so_and_exits_1(tmp_path: Path) -> None:
    result = run("layer", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert "not inside a service rendered from the template" in result.stderr
    assert "fix: run the command in the service's checkout" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_runner_is_named(service_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_RUNNER", "podman")
    result = run("runner", cwd=service_dir)
    assert result.returncode == 1
    assert "LOCAL_RUNNER='podman' is not a runner" in result.stderr
    assert "use docker" in result.stderr


@pytest.mark.parametrize(
    ("content", "problem"), [("{not json", "is not JSON"), (None, "cannot read")]
)
def test_a_bad_event_is_refused_before_anything_starts(
    service_dir: Path, content: str | None, problem: str
) -> None:
    event = service_dir / "event.json"
    if content is not None:
        event.write_text(content)
    result = run("local", "--event", str(event), cwd=service_dir)
    assert result.returncode == 1
    assert f"{event}" in result.stderr and problem in result.stderr
    assert "Traceback" not in result.stderr


def test_version(tmp_path: Path) -> None:
    from lambda_otel_xray import __version__

    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"lambda-otel-xray {__version__}"
