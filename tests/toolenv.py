"""Cached virtual environments for tools too heavy (or too conflicting) for the main test venv.

``tool_venv("cdk", ["aws-cdk-lib==...", ...])`` creates ``<repo>/.cache/toolenvs/cdk-<hash>`` once
and returns it on every later call, from any process: creation is guarded by an exclusive
``fcntl.flock`` on a lock file beside the venv, so pytest-xdist workers wait for one another
instead of racing, and a venv only counts as ready once its ``.complete`` marker exists (a venv
left half-built by an interrupted run is removed and rebuilt). The hash covers the requirements
and the interpreter version, so changing a pin makes a new venv rather than mutating an old one.

Why separate venvs: aws-cdk-lib + constructs + cdk-nag weigh ~460 MB; checkov ships
``bc-python-hcl2``, which overwrites the ``hcl2`` package that python-hcl2 (in the main venv)
provides (field notes), so checkov must never share an environment with it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Overridable so CI can point it at a persistent cache directory.
CACHE_DIR = Path(os.environ.get("TOOLENV_CACHE_DIR", ROOT / ".cache" / "toolenvs"))
COMPLETE_MARKER = ".complete"


class ToolEnvError(RuntimeError):
    """A tool venv could not be created; the message carries pip's output."""


def _key(requirements: Sequence[str]) -> str:
    material = "\n".join(
        [f"python={sys.version_info.major}.{sys.version_info.minor}", *sorted(requirements)]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:12]


def venv_bin(venv: Path, name: str) -> Path:
    """Path of an executable inside ``venv``."""
    return venv / "bin" / name


def tool_venv(name: str, requirements: Sequence[str], *, timeout: float = 1800) -> Path:
    """Return a venv with exactly ``requirements`` installed, creating it on first use."""
    reqs = [r.strip() for r in requirements if r.strip() and not r.strip().startswith("#")]
    if not reqs:
        raise ToolEnvError(f"tool venv {name!r}: no requirements given")
    path = CACHE_DIR / f"{name}-{_key(reqs)}"
    if (path / COMPLETE_MARKER).is_file():
        return path

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if (path / COMPLETE_MARKER).is_file():  # another worker built it while we waited
            return path
        if path.exists():  # a previous attempt died half-way
            shutil.rmtree(path)
        try:
            _run([sys.executable, "-m", "venv", str(path)], timeout=timeout)
            _run(
                [
                    str(venv_bin(path, "python")),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--quiet",
                    *reqs,
                ],
                timeout=timeout,
            )
        except ToolEnvError as exc:
            shutil.rmtree(path, ignore_errors=True)
            raise ToolEnvError(f"could not create tool venv {name!r} at {path}: {exc}") from None
        (path / COMPLETE_MARKER).write_text("\n".join(reqs) + "\n")
    return path


def _run(cmd: list[str], *, timeout: float) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolEnvError(f"`{' '.join(cmd)}` timed out after {timeout:.0f} s") from None
    except OSError as exc:
        raise ToolEnvError(f"`{' '.join(cmd)}` could not start: {exc}") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise ToolEnvError(f"`{' '.join(cmd[:4])} ...` exited {proc.returncode}:\n{tail}")


if __name__ == "__main__":  # pragma: no cover - manual use: python tests/toolenv.py NAME REQ...
    print(tool_venv(sys.argv[1], sys.argv[2:]))
