"""Compile a service's collector/ against the shipped Go module, and validate its config.

A service's collector/ is a thin distribution: main.go, components.go (the explicit component
list), go.mod and go.sum. Its go.mod requires `lambdaotelxray` (the extension lifecycle and the
awsxray exporter), a module no proxy serves: it ships inside this package (`module_dir()`),
and the build wires it in with a `replace` written into a copy of the service's go.mod
(`write_modfile()`, used with `go build -modfile`). The service's files are never modified.

The build contract, in order:

    go = find_go(go_requirement(collector_dir))
    modfile = write_modfile(collector_dir, module_dir(), staging)
    download_modules(go, collector_dir, modfile)
    build(go, collector_dir, modfile, goarch, output)   # cache key: build_flags() + inputs
    validate(output, collector_dir / "config.yaml")
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import platforms
from ..errors import ToolError

# The collector module's path: dotless, so no proxy is ever asked for it.
MODULE_PATH = "lambdaotelxray"
# What refreshes collector/go.mod and go.sum after a team changed the component list.
TIDY_COMMAND = "lambda-otel-xray collector-tidy"

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
# What Go says when go.mod or go.sum does not cover what components.go imports.
INCOMPLETE_HINTS = (
    "missing go.sum entry",
    "updates to go.mod needed",
    "no required module provides package",
    "go.mod file indicates replacement",
)
INSTALL_GO = (
    "install Go {need} or newer (https://go.dev/dl/ or your package manager), "
    "or run `make layer-docker`, which runs this build inside the official golang image"
)

# Build tags that select no component: `grpcnotrace` compiles gRPC without its
# golang.org/x/net/trace debug pages (HTML templates and an event log the extension never
# serves), which made up ~8 MB of the binary. The OTLP receiver's gRPC server still works.
BUILD_TAGS = ("grpcnotrace",)
# No symbol table or DWARF (-s -w), no build paths (-trimpath): a smaller binary to map.
BUILD_FLAGS = ("-trimpath", "-ldflags", "-s -w")


@dataclass(frozen=True)
class GoToolchain:
    executable: str
    version: tuple[int, int, int]

    @property
    def label(self) -> str:
        return "go" + ".".join(str(n) for n in self.version)


def module_dir() -> Path:
    """The collector module this tool ships: `<package>/collector` in an installed wheel,
    `tool/collector` when the tool runs from the template's checkout (an editable install)."""
    package = Path(__file__).resolve().parent.parent
    candidates = (package / "collector", Path(__file__).resolve().parents[3] / "collector")
    for candidate in candidates:
        if (candidate / "go.mod").is_file():
            return candidate
    raise ToolError(
        f"the collector module ({MODULE_PATH}) is missing from this installation of the tool: "
        f"no go.mod in {' or '.join(str(c) for c in candidates)}",
        "reinstall the tool (`make venv`); a wheel built from tool/ ships tool/collector as "
        "lambda_otel_xray/collector",
    )


def _go_mod(collector_dir: Path) -> str:
    path = collector_dir / "go.mod"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ToolError(f"{path} is missing", "restore it with `copier update`") from None


def go_requirement(collector_dir: Path) -> str:
    """The Go version the service's collector/go.mod declares (its `go` line), e.g. "1.26.0"."""
    match = re.search(r"^go\s+(\d+\.\d+(?:\.\d+)?)\s*$", _go_mod(collector_dir), re.MULTILINE)
    if match is None:
        raise ToolError(
            f"{collector_dir / 'go.mod'} has no `go` line",
            "restore it with `copier update`, or add `go <version>` as in a fresh render",
        )
    return match[1]


def _parse_version(text: str) -> tuple[int, int, int] | None:
    match = re.search(r"go(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def find_go(required: str) -> GoToolchain:
    """The machine's Go, checked against ``required`` (the collector's go.mod `go` line)."""
    need = tuple(int(n) for n in required.split("."))
    executable = shutil.which("go")
    if executable is None:
        raise ToolError("Go is not installed (no `go` on PATH)", INSTALL_GO.format(need=required))
    out = subprocess.run(
        [executable, "env", "GOVERSION"], capture_output=True, text=True, check=False
    ).stdout
    version = _parse_version(out)
    if version is None:
        raise ToolError(
            f"could not tell the Go version from `go env GOVERSION` ({out.strip()!r})",
            INSTALL_GO.format(need=required),
        )
    if version[: len(need)] < need:
        found = ".".join(str(n) for n in version)
        raise ToolError(
            f"Go {found} is too old: the collector needs Go {required} or newer",
            INSTALL_GO.format(need=required),
        )
    return GoToolchain(executable, version)


def go_env(goarch: str) -> dict[str, str]:
    """The environment of every Go command: a static linux/``goarch`` build with the machine's
    own toolchain, go.mod and go.sum taken as they are."""
    env = dict(os.environ)
    env.update(
        {
            "CGO_ENABLED": "0",
            "GOOS": "linux",
            "GOARCH": goarch,
            # Never fetch a different toolchain behind the user's back.
            "GOTOOLCHAIN": "local",
            # A go.work above the service must not change what is built.
            "GOWORK": "off",
            "GOFLAGS": (env.get("GOFLAGS", "") + " -mod=readonly").strip(),
        }
    )
    return env


def write_modfile(collector_dir: Path, module: Path, staging: Path) -> Path:
    """``staging``/collector.mod: the service's go.mod with `replace lambdaotelxray =>
    <module>`, and collector.sum beside it (a copy of go.sum; Go reads `<modfile>.sum`).
    Returns the modfile, for `go ... -modfile=`."""
    text = _go_mod(collector_dir)
    if re.search(rf"^\s*(replace\s+)?{MODULE_PATH}(\s+v\S+)?\s*=>", text, re.MULTILINE):
        raise ToolError(
            f"{collector_dir / 'go.mod'} replaces {MODULE_PATH} itself",
            f"remove that replace: the layer build wires {MODULE_PATH} to the module the pinned "
            "tool ships (install the tool from a checkout to build against changed module code)",
        )
    go_sum = collector_dir / "go.sum"
    if not go_sum.is_file():
        raise ToolError(
            f"{go_sum} is missing",
            f"restore it with `copier update`, or regenerate it with `{TIDY_COMMAND}`",
        )
    staging.mkdir(parents=True, exist_ok=True)
    modfile = staging / "collector.mod"
    # Quoted: Go's go.mod syntax takes a string literal there (spaces and all).
    replace = f"replace {MODULE_PATH} => {json.dumps(_replacement(collector_dir, module))}\n"
    modfile.write_text(text.rstrip("\n") + "\n\n" + replace, encoding="utf-8")
    shutil.copyfile(go_sum, modfile.with_suffix(".sum"))
    return modfile


def _replacement(collector_dir: Path, module: Path) -> str:
    """The module's directory relative to collector/ (Go resolves a relative replacement from
    the main module's directory, not the modfile's): the binary's build information records
    this path, and a relative one names no user's home or checkout."""
    module, collector_dir = module.resolve(), collector_dir.resolve()
    try:
        relative = os.path.relpath(module, collector_dir)
    except ValueError:  # another drive (Windows): only an absolute path reaches it
        return str(module)
    return relative if relative.startswith("..") else f"./{relative}"


def _run_go(go: GoToolchain, args: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        [go.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        command = f"go {' '.join(a for a in args[:2] if not a.startswith('-'))}"
        if "checksum mismatch" in output or "SECURITY ERROR" in output:
            raise ToolError(
                "a downloaded Go module does not match collector/go.sum",
                "do not edit go.sum by hand; restore it with `copier update` and clear the "
                "module cache entry (`go clean -modcache`) if it was tampered with",
                output,
            )
        if any(hint in output for hint in INCOMPLETE_HINTS):
            raise ToolError(
                f"`{command}`: collector/go.mod or go.sum does not cover what "
                "collector/components.go imports",
                "after adding a component to components.go, require its module in "
                "collector/go.mod (at the release of the other collector modules there) and run "
                f"`{TIDY_COMMAND}` to complete go.mod and go.sum (collector/README.md)",
                output,
            )
        if any(hint in output for hint in NETWORK_HINTS):
            raise ToolError(
                f"`{command}` could not download Go modules",
                "check the network and GOPROXY (`go env GOPROXY`); behind a corporate proxy set "
                "GOPROXY to it. The module versions are collector/go.mod's.",
                output,
            )
        raise ToolError(f"`go {' '.join(args)}` failed", "see the Go output above", output)
    return result.stdout


def download_modules(go: GoToolchain, collector_dir: Path, modfile: Path) -> None:
    """Fetch (and verify against go.sum / the checksum database) every module the build needs."""
    goarch = platforms.of(platforms.host_architecture()).goarch
    _run_go(go, ["mod", "download", f"-modfile={modfile}"], collector_dir, go_env(goarch))


def build_flags() -> list[str]:
    """`go build` arguments that shape the binary (before `-o`); part of the cache key."""
    return [*BUILD_FLAGS, "-tags", ",".join(BUILD_TAGS)]


def build(go: GoToolchain, collector_dir: Path, modfile: Path, goarch: str, output: Path) -> None:
    """Compile the static extension binary for linux/``goarch`` into ``output`` (written
    atomically: a failed build leaves no partial file there)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    args = ["build", f"-modfile={modfile}", *build_flags(), "-o", str(partial), "."]
    try:
        _run_go(go, args, collector_dir, go_env(goarch))
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def tidy(go: GoToolchain, collector_dir: Path, module: Path, staging: Path) -> None:
    """Rewrite collector/go.mod and go.sum with `go mod tidy` against ``module`` (after a team
    changed components.go): requirements completed, checksums added, the replace left out."""
    modfile = write_modfile(collector_dir, module, staging)
    goarch = platforms.of(platforms.host_architecture()).goarch
    env = {**go_env(goarch), "GOFLAGS": os.environ.get("GOFLAGS", "")}
    _run_go(go, ["mod", "tidy", f"-modfile={modfile}"], collector_dir, env)
    _run_go(go, ["mod", "edit", f"-dropreplace={MODULE_PATH}", str(modfile)], collector_dir, env)
    shutil.copyfile(modfile, collector_dir / "go.mod")
    shutil.copyfile(modfile.with_suffix(".sum"), collector_dir / "go.sum")


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
        raise ToolError(
            f"the collector rejects {config.name} (in Lambda the extension would fail at init, "
            "and every invoke with it)",
            "fix the component or field the collector names above; a component type it does "
            "not know must be added to collector/components.go and its module to "
            "collector/go.mod (see collector/README.md)",
            output,
        )
    return output
