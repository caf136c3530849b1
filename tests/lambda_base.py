"""Stand-ins of AWS's Lambda Python base images, built from Debian root filesystems.

`public.ecr.aws/lambda/python:<version>` cannot be pulled here, so the image tests build an image
with the base image's documented layout and give it that name; the rendered Dockerfile then
builds unchanged. The stand-in reproduces what the Dockerfile and the runtime rely on:

- Python in /var/lang/bin (with pip), `awslambdaric` and `boto3` in /var/runtime, byte-compiled
  by the image's own Python (the real image ships .pyc);
- /var/runtime/bootstrap, which honours AWS_LAMBDA_EXEC_WRAPPER, and /lambda-entrypoint.sh, which
  starts the Runtime Interface Emulator (/usr/local/bin/aws-lambda-rie) when AWS_LAMBDA_RUNTIME_API
  is unset: the bootstrap and the pins from the tool's local/runtime_layout.py (what its sandbox
  runner uses), the entrypoint from here (only the stand-ins need it);
- WORKDIR /var/task, ENTRYPOINT /lambda-entrypoint.sh, the base image's environment variables;
- no unzip and no package manager on PATH (AL2023's images have neither yum nor dnf);
- the right architecture in the image config: the image is `docker load`ed from an archive made
  here, because `docker import` records the engine's architecture whatever --platform says.

Debian suites give Python 3.11 (bookworm), 3.13 (trixie) and 3.14 (forky); no suite ships 3.10 or
3.12. Everything is cached outside the checkout (LAMBDA_STANDIN_CACHE, default
~/.cache/copier-lambda-otel-xray/lambda-standins): the debootstrap result per suite and
architecture, the finished archive, and the image in Docker's store. The stand-in lives in the
template's tests only, never in a rendered service.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from lambda_otel_xray import platforms
from lambda_otel_xray.layer.hashing import file_sha256
from lambda_otel_xray.layer.python_part import pip_command
from lambda_otel_xray.local import runtime_layout as layout_module

ROOT = Path(__file__).resolve().parent.parent

CACHE = Path(
    os.environ.get(
        "LAMBDA_STANDIN_CACHE",
        Path.home() / ".cache" / "copier-lambda-otel-xray" / "lambda-standins",
    )
)
MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_REPOSITORY = "public.ecr.aws/lambda/python"
STANDIN_REPOSITORY = "localhost/lambda-python-standin"

# Python version -> Debian suite that ships it as python3.
SUITES = {"3.11": "bookworm", "3.13": "trixie", "3.14": "forky"}
# debootstrap scripts for suites newer than this machine's debootstrap knows.
DEBOOTSTRAP_SCRIPTS = {"forky": "sid"}
# The image config's CPU variant, beside the architecture (platforms.py has the rest).
VARIANTS = {"x86_64": None, "arm64": "v8"}
# What the base image's config sets (its documentation and `docker inspect`).
IMAGE_ENV = (
    "LANG=en_US.UTF-8",
    "TZ=:/etc/localtime",
    "PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:"
    "/var/task/lib:/opt/lib",
    "LAMBDA_TASK_ROOT=/var/task",
    "LAMBDA_RUNTIME_DIR=/var/runtime",
)
PACKAGE_MANAGERS = (
    "apt",
    "apt-get",
    "apt-cache",
    "apt-cdrom",
    "apt-config",
    "apt-mark",
    "apt-key",
    "dpkg",
    "dpkg-deb",
    "dpkg-divert",
    "dpkg-maintscript-helper",
    "dpkg-query",
    "dpkg-realpath",
    "dpkg-split",
    "dpkg-statoverride",
    "dpkg-trigger",
)


class StandInError(RuntimeError):
    """A stand-in could not be built; the message says which step and why."""


# /lambda-entrypoint.sh HANDLER, as the Lambda base image's behaves: inside Lambda (and under
# SAM's RIE) the runtime API is given and the bootstrap starts directly; anywhere else the
# image's own Runtime Interface Emulator starts it and serves invocations on port 8080.
ENTRYPOINT = f"""#!/bin/sh
if [ $# -ne 1 ]; then
  echo "usage: /lambda-entrypoint.sh HANDLER (e.g. app.lambda_handler)" >&2
  exit 142
fi
export _HANDLER="$1"
if [ -z "${{AWS_LAMBDA_RUNTIME_API:-}}" ]; then
  exec {layout_module.RIE_PATH} {layout_module.BOOTSTRAP_PATH}
fi
exec {layout_module.BOOTSTRAP_PATH}
"""


def runtime_layout() -> ModuleType:
    """The tool's runtime_layout (RIE pin, /var/runtime contents, the bootstrap)."""
    return layout_module


@dataclass(frozen=True)
class StandIn:
    python: str
    architecture: str

    def __post_init__(self) -> None:
        if self.python not in SUITES:
            raise StandInError(
                f"no Debian suite ships Python {self.python} (have {', '.join(SUITES)})"
            )
        if self.architecture not in platforms.PLATFORMS:
            raise StandInError(f"unknown architecture {self.architecture}")

    @property
    def suite(self) -> str:
        return SUITES[self.python]

    @property
    def deb_arch(self) -> str:
        return platforms.of(self.architecture).debian

    @property
    def platform(self) -> str:
        return platforms.of(self.architecture).docker

    @property
    def key(self) -> str:
        """Changes whenever anything that goes into the image changes: the code that builds it
        (not this module's docs or tests), the runtime layout, the version and architecture."""
        return _recipe_key(self.python, self.architecture)

    @property
    def tag(self) -> str:
        return f"{STANDIN_REPOSITORY}:{self.python}-{self.architecture}-{self.key}"

    @property
    def base_tag(self) -> str:
        return f"{BASE_REPOSITORY}:{self.python}"


def _log(message: str) -> None:
    print(f"[lambda-standin] {message}", file=sys.stderr, flush=True)


def _recipe_key(python: str, architecture: str) -> str:
    builders = (_lay_out, _archive, _install_runtime_packages, _go_build_rie, _chroot, pip_command)
    recipe = [inspect.getsource(f) for f in builders]
    recipe += [repr((IMAGE_ENV, PACKAGE_MANAGERS, platforms.of(architecture), MIRROR))]
    recipe += [inspect.getsource(layout_module), ENTRYPOINT, python]
    return hashlib.sha256("\0".join(recipe).encode()).hexdigest()[:12]


def _run(cmd: list[str], *, timeout: float, what: str, **kwargs) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise StandInError(
            f"{what}: `{' '.join(cmd[:6])} ...` timed out ({timeout:.0f} s)"
        ) from None
    except OSError as exc:
        raise StandInError(f"{what}: `{cmd[0]}` could not start: {exc}") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise StandInError(f"{what}: `{' '.join(cmd[:6])} ...` exited {proc.returncode}:\n{tail}")
    return proc.stdout


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _docker_has(ref: str) -> bool:
    return (
        subprocess.run(
            ["docker", "image", "inspect", ref], capture_output=True, timeout=60
        ).returncode
        == 0
    )


# ------------------------------------------------------------------------ debootstrap (cached)


def debootstrap_tar(suite: str, deb_arch: str) -> Path:
    """A minimal Debian ``suite`` root filesystem for ``deb_arch`` with Python, as a tar."""
    out = CACHE / f"debootstrap-{suite}-{deb_arch}.tar"
    if out.is_file():
        return out
    with _locked(out.name):
        if out.is_file():
            return out
        if shutil.which("debootstrap") is None:
            raise StandInError("debootstrap is not installed (scripts/system-deps.sh installs it)")
        with tempfile.TemporaryDirectory(dir=CACHE, prefix="debootstrap-") as tmp:
            rootfs = Path(tmp) / "rootfs"
            _log(f"debootstrap {suite} {deb_arch} (minutes the first time; cached in {CACHE})")
            _run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--arch={deb_arch}",
                    "--include=python3,python3-venv,ca-certificates",
                    suite,
                    str(rootfs),
                    MIRROR,
                    *DEBOOTSTRAP_SCRIPTS.get(suite, "").split(),
                ],
                timeout=3600,
                what=f"debootstrap {suite} {deb_arch}",
            )
            partial = out.with_suffix(".partial")
            _run(
                ["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), "."],
                timeout=600,
                what="packing the root filesystem",
            )
            partial.rename(out)
    return out


# ---------------------------------------------------------------------------- the image layout


def _chroot(rootfs: Path, *cmd: str, timeout: float = 1800) -> str:
    env = {"PATH": "/var/lang/bin:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
    return _run(
        [shutil.which("chroot") or "/usr/sbin/chroot", str(rootfs), *cmd],
        timeout=timeout,
        what=f"in the stand-in: {cmd[0]}",
        env=env,
    )


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def _go_build_rie(layout: ModuleType, architecture: str, dest: Path) -> None:
    """Cross-compile the Runtime Interface Emulator for ``architecture`` into ``dest``."""
    go = shutil.which("go")
    if go is None:
        raise StandInError("Go is needed to build the Runtime Interface Emulator")
    goarch = platforms.of(architecture).goarch
    with tempfile.TemporaryDirectory() as gopath:
        env = {
            **os.environ,
            # A fresh GOPATH only for the output (bin/linux_<arch>/); the module and build caches
            # stay the machine's.
            "GOPATH": gopath,
            "GOMODCACHE": _go_env(go, "GOMODCACHE"),
            "GOCACHE": _go_env(go, "GOCACHE"),
            "GOOS": "linux",
            "GOARCH": goarch,
            "CGO_ENABLED": "0",
            "GOFLAGS": "-trimpath",
        }
        env.pop("GOBIN", None)
        _run(
            [go, "install", "-ldflags=-s -w", f"{layout.RIE_PACKAGE}@{layout.RIE_VERSION}"],
            timeout=1800,
            what="building the Runtime Interface Emulator",
            env=env,
            cwd=gopath,
        )
        built = Path(gopath) / "bin" / "aws-lambda-rie"
        if not built.is_file():
            built = Path(gopath) / "bin" / f"linux_{goarch}" / "aws-lambda-rie"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, dest)
        dest.chmod(0o755)


def _go_env(go: str, name: str) -> str:
    return _run([go, "env", name], timeout=60, what="go env").strip()


def _install_runtime_packages(layout: ModuleType, standin: StandIn, runtime_dir: Path) -> None:
    """awslambdaric + boto3 for the image's Python and architecture, installed from the host
    (the template's own cross-platform pip command, as the layer build uses it)."""
    command = pip_command(
        runtime_dir, standin.python, standin.architecture, *layout.RUNTIME_REQUIREMENTS
    )
    _run(command, timeout=1800, what="installing awslambdaric and boto3")
    shutil.rmtree(runtime_dir / "bin", ignore_errors=True)  # console scripts with our shebang


def _lay_out(rootfs: Path, standin: StandIn) -> None:
    """Turn a Debian root filesystem into the base image's layout."""
    layout = runtime_layout()
    python = f"python{standin.python}"
    # /var/lang: the base image's Python prefix, with pip (a venv over Debian's Python).
    _chroot(rootfs, f"/usr/bin/{python}", "-m", "venv", "/var/lang")
    if not (rootfs / "var/lang/bin/pip").exists():
        raise StandInError("the stand-in's /var/lang has no pip")
    _install_runtime_packages(layout, standin, rootfs / "var/runtime")
    _write(
        rootfs / "var/runtime/bootstrap",
        layout.bootstrap(f"/var/lang/bin/{python}", standin.python),
        0o755,
    )
    _write(rootfs / "var/runtime/bootstrap.py", layout.BOOTSTRAP_PY)
    _write(rootfs / "lambda-entrypoint.sh", ENTRYPOINT, 0o755)
    _go_build_rie(layout, standin.architecture, rootfs / layout.RIE_PATH.lstrip("/"))
    for directory in ("var/task", "opt"):
        (rootfs / directory).mkdir(parents=True, exist_ok=True)
    # LANG=en_US.UTF-8 as in the base image: minbase has only C.UTF-8, which is the same data.
    locales = rootfs / "usr/lib/locale"
    if (locales / "C.utf8").is_dir() and not (locales / "en_US.utf8").exists():
        shutil.copytree(locales / "C.utf8", locales / "en_US.utf8", symlinks=True)
    # This machine reaches PyPI through a TLS proxy with its own CA: a Dockerfile's `pip install`
    # inside the stand-in needs it (the real image trusts the public CAs).
    shutil.copy2("/etc/ssl/certs/ca-certificates.crt", rootfs / "etc/ssl/certs/ca-certificates.crt")
    # The real image ships .pyc: without them every cold start compiles boto3 (field notes).
    _chroot(
        rootfs,
        f"/var/lang/bin/{python}",
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "/var/runtime",
        f"/usr/lib/{python}",
    )
    # No package manager and no unzip on PATH, as in the base image.
    for directory in ("usr/bin", "usr/sbin", "bin", "sbin"):
        for name in (*PACKAGE_MANAGERS, "unzip"):
            target = rootfs / directory / name
            if target.is_file() or target.is_symlink():
                target.unlink()
    for junk in ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
        shutil.rmtree(rootfs / junk, ignore_errors=True)


def _archive(rootfs: Path, standin: StandIn, out: Path) -> None:
    """A `docker load` archive: one layer, a config that records the right architecture."""
    docker_arch = platforms.of(standin.architecture).goarch  # Docker names them as Go does
    variant = VARIANTS[standin.architecture]
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        work = Path(tmp)
        layer = work / "layer.tar"
        _run(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(layer), "."],
            timeout=900,
            what="packing the image layer",
        )
        diff_id = "sha256:" + file_sha256(layer)
        created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        config = {
            "architecture": docker_arch,
            **({"variant": variant} if variant else {}),
            "os": "linux",
            "created": created,
            "config": {
                "Env": list(IMAGE_ENV),
                "Entrypoint": ["/lambda-entrypoint.sh"],
                "WorkingDir": "/var/task",
                "Labels": {
                    "org.opencontainers.image.description": (
                        f"Test stand-in of {standin.base_tag} ({standin.architecture}) from "
                        f"Debian {standin.suite}; built by the template's tests/lambda_base.py"
                    ),
                    "standin.key": standin.key,
                },
            },
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": created, "created_by": "tests/lambda_base.py"}],
        }
        config_bytes = json.dumps(config, sort_keys=True).encode()
        config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
        (work / config_name).write_bytes(config_bytes)
        manifest = [{"Config": config_name, "RepoTags": [standin.tag], "Layers": ["layer.tar"]}]
        (work / "manifest.json").write_text(json.dumps(manifest))
        partial = out.with_suffix(".partial")
        with tarfile.open(partial, "w") as tar:
            for name in ("manifest.json", config_name, "layer.tar"):
                tar.add(work / name, arcname=name)
        partial.rename(out)


def image_archive(standin: StandIn) -> Path:
    out = CACHE / f"image-{standin.python}-{standin.architecture}-{standin.key}.tar"
    if out.is_file():
        return out
    base = debootstrap_tar(standin.suite, standin.deb_arch)
    with _locked(out.name):
        if out.is_file():
            return out
        for stale in CACHE.glob(f"image-{standin.python}-{standin.architecture}-*.tar"):
            stale.unlink()
        with tempfile.TemporaryDirectory(dir=CACHE, prefix="standin-") as tmp:
            rootfs = Path(tmp) / "rootfs"
            rootfs.mkdir()
            _run(
                ["tar", "-C", str(rootfs), "--numeric-owner", "-xf", str(base)],
                timeout=600,
                what="unpacking the root filesystem",
            )
            _log(
                f"laying out {standin.base_tag} ({standin.architecture}) on Debian {standin.suite}"
            )
            _lay_out(rootfs, standin)
            _archive(rootfs, standin, out)
    return out


def ensure_image(standin: StandIn) -> str:
    """The stand-in in Docker's image store (built and loaded when missing): its own tag."""
    if _docker_has(standin.tag):
        return standin.tag
    archive = image_archive(standin)
    with _locked(f"load-{standin.python}-{standin.architecture}"):
        if not _docker_has(standin.tag):
            _log(f"docker load {archive.name}")
            _run(["docker", "load", "-i", str(archive)], timeout=900, what="docker load")
    return standin.tag


@contextlib.contextmanager
def base_image(python: str, architecture: str) -> Iterator[StandIn]:
    """`public.ecr.aws/lambda/python:<python>` names the stand-in for ``architecture`` while the
    block runs (a build `FROM` it resolves the tag then). One tag names one image, so blocks for
    the same version but another architecture wait for each other."""
    standin = StandIn(python, architecture)
    ensure_image(standin)
    with _locked(f"tag-{python}"):
        _run(["docker", "tag", standin.tag, standin.base_tag], timeout=60, what="docker tag")
        yield standin
