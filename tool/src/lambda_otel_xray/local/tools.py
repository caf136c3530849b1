"""Build-once tools under build/tools/ (or $LOCALRUN_TOOLS_DIR).

For the sandbox runner: the Runtime Interface Emulator and a Python runtime like the base image's
/var/runtime. For the Docker runner: the local stand-ins' Python packages, for the image's own
Python and architecture. All pinned and built on first use; a marker file beside each records what
was built, so a changed pin rebuilds and an interrupted build is redone rather than trusted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from .. import platforms
from ..errors import ToolError
from ..layer.python_part import pip_command
from .runtime_layout import (
    BOOTSTRAP_PY,
    RIE_PACKAGE,
    RIE_VERSION,
    RUNTIME_REQUIREMENTS,
    bootstrap,
)

BWRAP_HELP = (
    "bubblewrap (bwrap) is not installed; `make local` needs it to give the function a private "
    "/opt and /var/task without Docker.\n"
    "  Debian/Ubuntu: sudo apt-get install bubblewrap\n"
    "  Fedora:        sudo dnf install bubblewrap\n"
    "  Arch:          sudo pacman -S bubblewrap"
)


def tools_dir(root: Path) -> Path:
    """build/tools, or $LOCALRUN_TOOLS_DIR (to share one RIE and runtime between projects)."""
    override = os.environ.get("LOCALRUN_TOOLS_DIR")
    return Path(override).resolve() if override else root.resolve() / "build" / "tools"


@contextlib.contextmanager
def tools_lock(path: Path) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    with (path / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _log(message: str) -> None:
    print(f"[lambda-otel-xray] {message}", file=sys.stderr, flush=True)


def require_linux() -> None:
    if sys.platform != "linux":
        raise ToolError(
            "`make local` runs the function under the Lambda Runtime Interface Emulator in a Linux "
            "mount namespace; on this system use `make image` and run the image with Docker."
        )


def bwrap() -> str:
    found = shutil.which("bwrap")
    if found is None:
        raise ToolError(BWRAP_HELP)
    return found


def python_packages(exporter: str) -> None:
    """What the agent imports on this machine (the sandbox runner runs it here)."""
    import importlib.util

    needed = {"boto3": "boto3", "moto": "moto[server,xray]", "flask": "moto[server,xray]"}
    if exporter == "xray-otlp":
        needed["opentelemetry.proto"] = "opentelemetry-proto"
    missing = sorted(
        {pkg for module, pkg in needed.items() if importlib.util.find_spec(module) is None}
    )
    if missing:
        raise ToolError(
            f"{sys.executable} lacks {', '.join(missing)} (the local X-Ray and STS stand-ins)",
            "run the tool from the service's venv (`make venv`; the Makefile uses .venv/bin)",
        )


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
        raise ToolError(
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
        raise ToolError(
            f"building the Runtime Interface Emulator: `go install {wanted}` "
            "took more than 15 minutes"
        ) from None
    if proc.returncode != 0 or not exe.is_file():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise ToolError(
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
    raise ToolError(
        f"Python {version} is not installed here. The layer's OpenTelemetry packages are built for "
        f"the function's Python ({version}, copier answer python_version), so the local runtime "
        f"must be that version too: install python{version} (e.g. with pyenv or your package "
        "manager) and run `make local` again."
    )


def function_requirements(project: Path) -> list[str]:
    return function_requirements_file(project / "requirements.txt")


def _build_step(cmd: list[str], path: Path, what: str, hint: str = "") -> None:
    """Run one step of building ``path``; on failure remove it and say what failed."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        shutil.rmtree(path, ignore_errors=True)
        raise ToolError(
            f"could not {what}: `{' '.join(cmd[:4])} ...` took more than 15 minutes"
        ) from None
    if proc.returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise ToolError(
            f"could not {what}: `{' '.join(cmd[:5])} ...` exited {proc.returncode}:\n{tail}{hint}"
        )


def runtime(tools_dir: Path, python_version: str, project: Path) -> Path:
    """A venv with the runtime interface client, boto3 and requirements.txt: /var/runtime."""
    python = python_for(python_version)
    if str(python).startswith("/opt/"):
        raise ToolError(
            f"Python {python_version} lives in /opt ({python}), which the local Lambda sandbox "
            "replaces with the layer: install it elsewhere (e.g. /usr/local or pyenv)."
        )
    requirements = [*RUNTIME_REQUIREMENTS, *function_requirements(project)]
    script = bootstrap(f"/var/runtime/bin/python{python_version}", python_version)
    key = hashlib.sha256(
        json.dumps([str(python), python_version, requirements, script, BOOTSTRAP_PY]).encode()
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
        _build_step(cmd, path, "create the local runtime")
    (path / "bootstrap").write_text(script)
    (path / "bootstrap").chmod(0o755)
    (path / "bootstrap.py").write_text(BOOTSTRAP_PY)
    marker.write_text("\n".join(requirements) + "\n")
    return path


# --------------------------------------------------------------------- the agent's packages


def function_requirements_file(path: Path) -> list[str]:
    if not path.is_file():
        return []
    lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("-")]


def agent_requirements(project: Path) -> list[str]:
    """What the agent imports beyond the standard library, at the versions this tool runs with
    (moto, boto3) and the service's requirements-otel.txt pins (the OTLP protobufs)."""
    sdk = ""
    for line in function_requirements_file(project / "requirements-otel.txt"):
        name, _, version = line.partition("==")
        if name.strip().lower() == "opentelemetry-sdk":
            sdk = version.split(";")[0].split()[0]
    if not sdk:
        raise ToolError(
            f"{project / 'requirements-otel.txt'} does not pin opentelemetry-sdk",
            "restore it with `copier update`",
        )
    return [
        f"moto[server,xray]=={importlib.metadata.version('moto')}",
        f"boto3=={importlib.metadata.version('boto3')}",
        f"opentelemetry-proto=={sdk}",
    ]


def agent_packages(tools_dir: Path, project: Path, python_version: str, architecture: str) -> Path:
    """The agent's packages for the image's Python and architecture, installed from this
    machine's pip (`--platform`: nothing runs in the image to install them, and under emulation
    pip would be slow)."""
    requirements = agent_requirements(project)
    material = json.dumps([requirements, platforms.of(architecture).pip, python_version])
    key = hashlib.sha256(material.encode()).hexdigest()[:12]
    path = tools_dir / f"agent-python{python_version}-{architecture}-{key}"
    marker = path / ".complete"
    if marker.is_file():
        return path
    if path.exists():
        shutil.rmtree(path)
    _log(f"installing the local stand-ins' packages for Python {python_version} {architecture}")
    _build_step(
        pip_command(path, python_version, architecture, *requirements),
        path,
        f"install the local stand-ins' packages ({', '.join(requirements)}) for Python "
        f"{python_version} {architecture}",
        "\nThey come from PyPI: check network access (or pip's index settings).",
    )
    shutil.rmtree(path / "bin", ignore_errors=True)  # console scripts with this machine's shebang
    marker.write_text("\n".join(requirements) + "\n")
    return path
