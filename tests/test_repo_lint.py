"""The template's own Python (hooks, tests, benchmarks, scripts) is ruff-clean."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from project_checks import VENV_BIN

pytestmark = pytest.mark.render

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff(args: list[str]) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "ruff"), *args, "--no-cache", "hooks", "tests", "bench", "scripts"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
