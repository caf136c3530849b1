"""Compile the collector extension with Go and validate the config against the binary."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import LayerBuildError

GOARCH = {"x86_64": "amd64", "arm64": "arm64"}
NETWORK_HINTS = (
    "dial tcp",
    "no such host",
    "i/o timeout",
    "connection refused",
    "TLS handshake timeout",
    "403 Forbidden",
    "404 Not Found",
    "410 Gone",
    "proxyconnect",
    "server response",
    "disabled by GOPROXY=off",
)
INSTALL_GO = (
    "install Go {need} or newer (https://go.dev/dl/ or your package manager), "
    "or run `make layer-docker`, which runs this build inside the official golang image"
)


@dataclass(frozen=True)
class GoToolchain:
    executable: str
    version: tuple[int, int, int]

    @property
    def label(self) -> str:
        return "go" + ".".join(str(n) for n in self.version)


def host_goarch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )


def _parse_version(text: str) -> tuple[int, int, int] | None:
    match = re.search(r"go(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def find_go(required: str) -> GoToolchain:
    """The machine's Go, checked against the version the collector's go.mod declares."""
    need = tuple(int(n) for n in required.split("."))
    executable = shutil.which("go")
    if executable is None:
        raise LayerBuildError(
            "Go is not installed (no `go` on PATH)", INSTALL_GO.format(need=required)
        )
    out = subprocess.run(
        [executable, "env", "GOVERSION"], capture_output=True, text=True, check=False
    ).stdout
    version = _parse_version(out)
    if version is None:
        raise LayerBuildError(
            f"could not tell the Go version from `go env GOVERSION` ({out.strip()!r})",
            INSTALL_GO.format(need=required),
        )
    if version[: len(need)] < need:
        found = ".".join(str(n) for n in version)
        raise LayerBuildError(
            f"Go {found} is too old: the collector needs Go {required} or newer",
            INSTALL_GO.format(need=required),
        )
    return GoToolchain(executable, version)


def go_env(goarch: str, cache_root: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CGO_ENABLED": "0",
            "GOOS": "linux",
            "GOARCH": goarch,
            # Never fetch a different toolchain behind the user's back.
            "GOTOOLCHAIN": "local",
            "GOFLAGS": (env.get("GOFLAGS", "") + " -mod=readonly").strip(),
        }
    )
    return env


def _run_go(go: GoToolchain, args: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [go.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        if any(hint in output for hint in NETWORK_HINTS):
            raise LayerBuildError(
                f"`go {' '.join(args[:2])}` could not download Go modules",
                "check the network and GOPROXY (`go env GOPROXY`); behind a corporate proxy set "
                "GOPROXY to it. The module versions come from pins.toml via collector/go.mod.",
                output,
            )
        if "checksum mismatch" in output or "SECURITY ERROR" in output:
            raise LayerBuildError(
                "a downloaded Go module does not match collector/go.sum",
                "do not edit go.sum by hand; restore it with `copier update` and clear the "
                "module cache entry (`go clean -modcache`) if it was tampered with",
                output,
            )
        raise LayerBuildError(f"`go {' '.join(args)}` failed", "see the Go output above", output)
    return result.stdout


def download_modules(go: GoToolchain, collector_dir: Path) -> None:
    """Fetch (and verify against go.sum / the checksum database) every module the build needs."""
    _run_go(go, ["mod", "download"], collector_dir, go_env(host_goarch()))


# Build tags that select no component: `grpcnotrace` compiles gRPC without its
# golang.org/x/net/trace debug pages (HTML templates and an event log the extension never
# serves), which made up ~8 MB of the binary. The OTLP receiver's gRPC server still works.
NON_COMPONENT_TAGS = ("grpcnotrace",)
# No symbol table or DWARF (-s -w), no build paths (-trimpath): a smaller binary to map.
BUILD_FLAGS = ("-trimpath", "-ldflags", "-s -w")


def build_flags(tags: list[str]) -> list[str]:
    """`go build` arguments before `-o`; also part of the build cache key."""
    return [*BUILD_FLAGS, "-tags", ",".join([*tags, *NON_COMPONENT_TAGS])]


def build(go: GoToolchain, collector_dir: Path, goarch: str, tags: list[str], output: Path) -> None:
    """Compile a static extension binary into ``output`` (written atomically)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    args = ["build", *build_flags(tags), "-o", str(partial), "."]
    try:
        _run_go(go, args, collector_dir, go_env(goarch))
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def validate(binary: Path, config: Path) -> str:
    """Let the collector load the config exactly as it will in Lambda; fail with its message."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AWS_"))}
    # sigv4auth resolves credentials while validating; validation never calls AWS, so it gets
    # placeholders rather than whatever credentials this machine has.
    env.update(
        AWS_ACCESS_KEY_ID="validate-only",
        AWS_SECRET_ACCESS_KEY="validate-only",
        AWS_EC2_METADATA_DISABLED="true",
    )
    result = subprocess.run(
        [str(binary), "validate", f"--config=file:{config.resolve()}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise LayerBuildError(
            f"the collector rejects {config.name} (in Lambda the extension would fail at init, "
            "and every invoke with it)",
            "fix the component or field the collector names above; a component type it does "
            "not know needs a `<kind>_<type>.go` file in collector/ (see collector/README.md)",
            output,
        )
    return output
