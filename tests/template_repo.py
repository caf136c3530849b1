"""A committed snapshot of the template working tree, so tests render exactly what is on disk.

Copier renders a git template at a revision and ignores uncommitted work (field notes), so the
suite copies the tracked and untracked-but-not-ignored files into a fresh repository, commits
them, and renders that at ``HEAD``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

GIT_ENV = {
    "GIT_AUTHOR_NAME": "template-tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "template-tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def git(cwd: Path, *args: str) -> str:
    import os

    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


def working_tree_files(root: Path = ROOT) -> list[str]:
    out = git(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    return [f for f in out.split("\0") if f and (root / f).is_file()]


def snapshot(dest: Path, root: Path = ROOT, tag: str | None = None) -> Path:
    """Copy the template's working tree to ``dest`` as a one-commit git repository."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel in working_tree_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "template snapshot")
    if tag:
        git(dest, "tag", tag)
    return dest
