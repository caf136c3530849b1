"""Install the OpenTelemetry Python packages for the target runtime into python/.

pip resolves wheels for Lambda's platform and Python version, not the build machine's, so an
x86-64 laptop builds an arm64 Python 3.13 layer. Every file is checked against the hash the lock
recorded for it (`--require-hashes`, see lock.py). Console scripts pip writes there would carry
this machine's shebang, so they are dropped; the layer ships its own wrapper.
"""

from __future__ import annotations

import compileall
import json
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

from .. import platforms
from ..errors import ToolError
from . import lock

NETWORK_HINTS = (
    "NewConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "ProxyError",
    "SSLError",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


def pip_command(target: Path, python_version: str, architecture: str, *args: str) -> list[str]:
    """`pip install ARGS` into ``target`` for Lambda's platform and ``python_version`` (wheels
    only), not this machine's; no .pyc (this machine's Python may be another version)."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--no-compile",
        "--target",
        str(target),
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--platform",
        platforms.of(architecture).pip,
        *args,
    ]


HASHED_REQUIREMENTS = "requirements-otel.hashed.txt"


def install(
    requirements: Path, python_version: str, architecture: str, target: Path
) -> list[dict[str, str]]:
    """pip install into ``target``, hash-checked; returns [{name, version}] of what was
    installed. The hashed requirements it used stay beside ``target``."""
    report = target.parent / (target.name + ".pip-report.json")
    hashed = target.parent / HASHED_REQUIREMENTS
    hashed.parent.mkdir(parents=True, exist_ok=True)
    hashed.write_text(lock.hashed_requirements(requirements.read_text(), python_version))
    command = pip_command(
        target, python_version, architecture, "--require-hashes", "--report", str(report),
        "-r", str(hashed),
    )  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        if "No module named pip" in output:
            raise ToolError(
                f"{sys.executable} has no pip",
                "run `make venv` and build with `make layer` (it uses .venv/bin/python)",
                output,
            )
        if "DO NOT MATCH THE HASHES" in output:
            raise ToolError(
                "a package the index served does not match the hash the lock recorded for it",
                "check PIP_INDEX_URL (a mirror must serve PyPI's files unchanged); if PyPI "
                "itself changed, the template's maintainers regenerate the lock with "
                "`make lock-python-otel`",
                output,
            )
        if "Hashes are required in --require-hashes mode" in output:
            raise ToolError(
                f"{requirements.name} is hash-pinned, but not every package it pulls in has a hash",
                "add the lines pip prints below (or regenerate the file with "
                "`uv pip compile --generate-hashes`)",
                output,
            )
        if any(hint in output for hint in NETWORK_HINTS):
            raise ToolError(
                "pip could not reach the package index",
                "check the network, or set PIP_INDEX_URL to your mirror",
                output,
            )
        raise ToolError(
            f"pip could not install {requirements.name} for Python {python_version} "
            f"on {architecture}",
            "check the pins in requirements-otel.txt: each package needs a wheel for that "
            "Python version and platform",
            output,
        )
    installed = json.loads(report.read_text())["install"]
    report.unlink()
    # Console scripts carry this machine's interpreter path: useless in Lambda.
    shutil.rmtree(target / "bin", ignore_errors=True)
    for cache in target.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    return sorted(
        (
            {"name": item["metadata"]["name"], "version": item["metadata"]["version"]}
            for item in installed
        ),
        key=lambda item: item["name"].lower(),
    )


def precompile(target: Path, python_version: str) -> bool:
    """Byte-compile when this interpreter matches the runtime: /opt is read-only in Lambda, so
    without .pyc files every cold start compiles the SDK again. Hash-based, unchecked pycs stay
    valid whatever timestamps the zip gives the sources."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" != python_version:
        return False
    ok = compileall.compile_dir(
        str(target),
        quiet=2,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    return bool(ok)
