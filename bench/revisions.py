"""The template at another revision, and that revision's own layer build (the one place that
knows how a revision builds its layer).

A benchmark compares this checkout with a base revision (default: where this branch left main,
or the previous commit on main). Each side is rendered from its own template sources and its
layer built by that side's own build: this checkout's with its tool; a revision with the tool
(tool/) with that revision's tool, installed as its service's `make venv` installs it; a
revision from before the tool with the in-project build its services carried
(`python -m layerbuild`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from template_repo import git, snapshot  # noqa: E402


def resolve_base(rev: str | None) -> str:
    """``rev`` as a full commit id; default: the fork point from main, or HEAD^ on main."""
    if rev is None:
        head = git(ROOT, "rev-parse", "HEAD").strip()
        fork = subprocess.run(
            ["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        rev = fork if fork and fork != head else "HEAD^"
    return git(ROOT, "rev-parse", "--verify", f"{rev}^{{commit}}").strip()


def template_at(rev: str | None, dest: Path) -> Path:
    """The template as a one-commit repository: the working tree (rev None) or commit rev."""
    if rev is None:
        return snapshot(dest)
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", f"template at {rev}")
    return dest


def layer_command(project: Path, *, current: bool) -> tuple[list[str], dict[str, str]]:
    """The command (run in ``project``) that builds its layer, and its environment; takes
    `--out DIR --cache DIR` after it. ``current``: the project was rendered from this
    checkout, whose tool builds it."""
    env = dict(os.environ)
    if current:
        env["PYTHONPATH"] = str(ROOT / "tool" / "src")
        return [sys.executable, "-m", "lambda_otel_xray", "layer"], env
    if (project / "layerbuild").is_dir():
        # Before the tool (template 0.2.x): the service carried its own layer build.
        return [sys.executable, "-m", "layerbuild"], env
    from localrun_checks import service_venv

    return [str(service_venv(project) / "bin" / "lambda-otel-xray"), "layer"], env
