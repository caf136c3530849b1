"""Build-once tools under build/tools/: the Runtime Interface Emulator and the Python runtime.

Both are pinned and built on first use; a marker file beside each records what was built, so a
changed pin rebuilds and an interrupted build is redone rather than trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import LocalRunError

# The Runtime Interface Emulator, built from its Go module. The module proxy serves it by commit
# (pseudo-version); change both together.
RIE_MODULE = "github.com/aws/aws-lambda-runtime-interface-emulator"
RIE_PACKAGE = f"{RIE_MODULE}/cmd/aws-lambda-rie"
RIE_VERSION = "v0.0.0-20261030222936-bef5c4ba774d"

# What the Lambda Python base image has in /var/runtime: the runtime interface client and boto3.
RUNTIME_REQUIREMENTS = ("awslambdaric==4.2.2", "boto3==1.44.8")

BWRAP_HELP = (
    "bubblewrap (bwrap) is not installed; `make local` needs it to give the function a private "
    "/opt and /var/task without Docker.\n"
    "  Debian/Ubuntu: sudo apt-get install bubblewrap\n"
    "  Fedora:        sudo dnf install bubblewrap\n"
    "  Arch:          sudo pacman -S bubblewrap"
)


def _log(message: str) -> None:
    print(f"[localrun] {message}", file=sys.stderr, flush=True)


def require_linux() -> None:
    if sys.platform != "linux":
        raise LocalRunError(
            "`make local` runs the function under the Lambda Runtime Interface Emulator in a Linux "
            "mount namespace; on this system use `make image` and run the image with Docker."
        )


def bwrap() -> str:
    found = shutil.which("bwrap")
    if found is None:
        raise LocalRunError(BWRAP_HELP)
    return found


def python_packages(exporter: str) -> None:
    """The packages localrun itself needs in this interpreter (requirements-dev.txt)."""
    import importlib.util

    needed = {"boto3": "boto3", "moto": "moto[server,xray]", "flask": "moto[server,xray]"}
    if exporter == "xray-otlp":
        needed["opentelemetry.proto"] = "opentelemetry-proto"
    missing = sorted(
        {pkg for module, pkg in needed.items() if importlib.util.find_spec(module) is None}
    )
    if missing:
        raise LocalRunError(
            f"{sys.executable} lacks {', '.join(missing)}, which localrun needs (the local X-Ray "
            "and STS stand-ins): run `make venv` and use .venv/bin/python (what `make local` "
            "does), or `pip install -r requirements-dev.txt`."
        )


def host_architecture() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "aarch64": "arm64"}.get(machine, machine)


# ------------------------------------------------------------------------------------------ RIE


def rie(tools_dir: Path) -> Path:
    """build/tools/aws-lambda-rie, built with `go install` on first use."""
    exe = tools_dir / "aws-lambda-rie"
    marker = tools_dir / "aws-lambda-rie.version"
    wanted = f"{RIE_PACKAGE}@{RIE_VERSION}"
    if exe.is_file() and marker.is_file() and marker.read_text().strip() == wanted:
        return exe
    go = shutil.which("go")
    if go is None:
        raise LocalRunError(
            "the Lambda Runtime Interface Emulator is built from source with Go, and Go is not "
            "installed: install Go (https://go.dev/dl/) and run `make local` again."
        )
    tools_dir.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    _log(f"building the Runtime Interface Emulator ({wanted}) into {tools_dir}")
    env = {
        **os.environ,
        "GOBIN": str(tools_dir.resolve()),
        "CGO_ENABLED": "0",
        "GOFLAGS": "-trimpath",
    }
    env.pop("GOOS", None)
    env.pop("GOARCH", None)
    try:
        proc = subprocess.run(
            [go, "install", "-ldflags=-s -w", wanted],
            cwd=tools_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    except subprocess.TimeoutExpired:
        raise LocalRunError(
            f"building the Runtime Interface Emulator: `go install {wanted}` "
            "took more than 15 minutes"
        ) from None
    if proc.returncode != 0 or not exe.is_file():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise LocalRunError(
            f"could not build the Runtime Interface Emulator: `go install {wanted}` exited "
            f"{proc.returncode}:\n{tail}\n"
            "It needs the Go module proxy (GOPROXY) to serve that exact version; check network "
            "access and `go env GOPROXY`."
        )
    marker.write_text(wanted + "\n")
    return exe


# ------------------------------------------------------------------------------ Python runtime


def python_for(version: str) -> Path:
    """The real executable of Python ``version`` (e.g. "3.12") on this machine."""
    candidates = [f"python{version}"]
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        candidates.insert(0, sys.executable)
    for candidate in candidates:
        if os.path.sep not in candidate and shutil.which(candidate) is None:
            continue
        try:
            proc = subprocess.run(
                [
                    candidate,
                    "-c",
                    "import sys; print(sys.version_info[0], sys.version_info[1]); "
                    "print(getattr(sys, '_base_executable', sys.executable))",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
        except OSError:
            continue
        lines = proc.stdout.split("\n")
        if proc.returncode == 0 and lines[0].replace(" ", ".") == version:
            return Path(os.path.realpath(lines[1].strip()))
    raise LocalRunError(
        f"Python {version} is not installed here. The layer's OpenTelemetry packages are built for "
        f"the function's Python ({version}, copier answer python_version), so the local runtime "
        f"must be that version too: install python{version} (e.g. with pyenv or your package "
        "manager) and run `make local` again."
    )


BOOTSTRAP = """#!/bin/sh
# /var/runtime/bootstrap of the local runtime (written by localrun). Like the Lambda Python base
# image's bootstrap, it starts the runtime interface client, through AWS_LAMBDA_EXEC_WRAPPER when
# that is set (the wrapper gets the runtime's command line as its arguments).
export AWS_EXECUTION_ENV="AWS_Lambda_python{version}"
# RIE does not pass an invocation's X-Ray trace header to the runtime; localrun's Runtime API
# relay adds it (Lambda-Runtime-Trace-Id), as Lambda does. Extensions keep talking to RIE.
if [ -n "${{LOCALRUN_RUNTIME_API:-}}" ]; then
  export AWS_LAMBDA_RUNTIME_API="$LOCALRUN_RUNTIME_API"
fi
set -- /var/runtime/bin/python{version} /var/runtime/bootstrap.py
if [ -n "${{AWS_LAMBDA_EXEC_WRAPPER:-}}" ]; then
  if [ ! -f "$AWS_LAMBDA_EXEC_WRAPPER" ]; then
    echo "$AWS_LAMBDA_EXEC_WRAPPER: does not exist" >&2
    exit 127
  fi
  if [ ! -x "$AWS_LAMBDA_EXEC_WRAPPER" ]; then
    echo "$AWS_LAMBDA_EXEC_WRAPPER: is not an executable" >&2
    exit 126
  fi
  exec "$AWS_LAMBDA_EXEC_WRAPPER" "$@"
fi
exec "$@"
"""

BOOTSTRAP_PY = """\"\"\"/var/runtime/bootstrap.py of the local runtime (written by localrun).

Like the base image's: the handler comes from _HANDLER as it is once AWS_LAMBDA_EXEC_WRAPPER has
run (wrappers may swap it), and /var/task goes first on sys.path.
\"\"\"

import os
import sys

sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))

from awslambdaric.__main__ import main  # noqa: E402

main([sys.argv[0], os.environ["_HANDLER"]])
"""


def function_requirements(project: Path) -> list[str]:
    lines = (
        (project / "requirements.txt").read_text().splitlines()
        if (project / "requirements.txt").is_file()
        else []
    )
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def runtime(tools_dir: Path, python_version: str, project: Path) -> Path:
    """A venv with the runtime interface client, boto3 and requirements.txt: /var/runtime."""
    python = python_for(python_version)
    if str(python).startswith("/opt/"):
        raise LocalRunError(
            f"Python {python_version} lives in /opt ({python}), which the local Lambda sandbox "
            "replaces with the layer: install it elsewhere (e.g. /usr/local or pyenv)."
        )
    requirements = [*RUNTIME_REQUIREMENTS, *function_requirements(project)]
    key = hashlib.sha256(
        json.dumps([str(python), python_version, requirements, BOOTSTRAP, BOOTSTRAP_PY]).encode()
    ).hexdigest()[:12]
    path = tools_dir / f"runtime-python{python_version}-{key}"
    marker = path / ".complete"
    if marker.is_file():
        return path
    if path.exists():
        shutil.rmtree(path)
    tools_dir.mkdir(parents=True, exist_ok=True)
    _log(f"creating the Python {python_version} runtime ({', '.join(requirements)}) in {path}")
    steps = [
        [str(python), "-m", "venv", str(path)],
        [
            str(path / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "--only-binary=:all:",
            *requirements,
        ],
    ]
    for cmd in steps:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        except subprocess.TimeoutExpired:
            shutil.rmtree(path, ignore_errors=True)
            raise LocalRunError(
                f"creating the local runtime: `{' '.join(cmd[:4])} ...` took more than 15 minutes"
            ) from None
        if proc.returncode != 0:
            shutil.rmtree(path, ignore_errors=True)
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
            raise LocalRunError(
                f"could not create the local runtime: `{' '.join(cmd[:5])} ...` exited "
                f"{proc.returncode}:\n{tail}"
            )
    bootstrap = path / "bootstrap"
    bootstrap.write_text(BOOTSTRAP.format(version=python_version))
    bootstrap.chmod(0o755)
    (path / "bootstrap.py").write_text(BOOTSTRAP_PY)
    marker.write_text("\n".join(requirements) + "\n")
    return path
