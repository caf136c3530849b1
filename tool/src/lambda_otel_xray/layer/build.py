"""The layer build: inputs -> cached collector binary + cached Python packages -> layer.zip.

The collector is compiled from the service's collector/ (main.go, components.go, go.mod) against
the lambdaotelxray Go module shipped in this package; the OpenTelemetry Python SDK is installed
from the service's requirements-otel.txt for the function's Python and architecture. Every cache
key is a hash of the inputs, so an unchanged service rebuilds nothing.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import platforms
from ..service import Service
from . import collector, lock, package, python_part
from .hashing import file_sha256, key, tree_key
from .steps import Steps

EXTENSION_NAME = "collector"
WRAPPER_NAME = "otel-instrument"
# The exec wrapper the image sets as AWS_LAMBDA_EXEC_WRAPPER (shipped with this package).
WRAPPER = Path(__file__).with_name(WRAPPER_NAME)
# The function's side of tracing (lambda_otel_xray.runtime: standard library and the SDK),
# shipped into the layer's python/ beside the SDK; the service's telemetry.py imports it.
PACKAGE = Path(__file__).resolve().parent.parent
RUNTIME = PACKAGE / "runtime"
# Bump when the build's output format changes, so old caches are not reused.
FORMAT = "2"
# Not compiled into the binary: the config is validated and zipped, the README is prose.
NOT_SOURCES = ("config.yaml", "README.md")


@dataclass(frozen=True)
class Options:
    out_dir: Path
    cache_dir: Path
    architecture: str | None = None
    python_version: str | None = None
    force: bool = False


def collector_key(service: Service, module: Path, goarch: str, go_label: str) -> str:
    return key(
        FORMAT,
        "collector",
        tree_key(service.collector_dir, exclude=NOT_SOURCES),
        module_key(module),
        goarch,
        go_label,
        *collector.build_flags(),
    )


def module_key(module: Path) -> str:
    """The shipped Go module's sources; its tests and test data do not change the binary."""
    return tree_key(module, exclude=("testdata",), skip_suffixes=("_test.go",))


def python_key(service: Service, python_version: str, architecture: str) -> str:
    return key(
        FORMAT,
        "python",
        service.otel_requirements,
        lock.LOCK,
        python_version,
        architecture,
        sys.version_info[:2],
    )


def layer_key(service: Service, module: Path, architecture: str, python_version: str) -> str:
    return key(
        FORMAT,
        tree_key(service.collector_dir, exclude=("README.md",)),
        module_key(module),
        architecture,
        python_version,
        service.otel_requirements,
        WRAPPER,
        tree_key(Path(__file__).parent, exclude=("__pycache__",)),
        tree_key(RUNTIME, exclude=("__pycache__",)),
        PACKAGE / "__init__.py",
    )


def runtime_entries() -> dict[str, Path]:
    """The layer's python/lambda_otel_xray/: the package's __init__ and runtime/ only (none of
    the tool's build or local-run code, which needs packages the layer does not carry)."""
    entries = {"python/lambda_otel_xray/__init__.py": PACKAGE / "__init__.py"}
    for path in sorted(RUNTIME.glob("*.py")):
        entries[f"python/lambda_otel_xray/runtime/{path.name}"] = path
    return entries


def up_to_date(out_dir: Path, wanted: str) -> bool:
    manifest = out_dir / "layer-manifest.json"
    zip_path = out_dir / "layer.zip"
    if not (manifest.is_file() and zip_path.is_file()):
        return False
    try:
        recorded = json.loads(manifest.read_text())
    except ValueError:
        return False
    return recorded.get("inputs_key") == wanted and recorded.get("layer", {}).get(
        "sha256"
    ) == file_sha256(zip_path)


def _collector(
    steps: Steps, service: Service, cache: Path, goarch: str
) -> tuple[Path, collector.GoToolchain]:
    """Compile (or reuse) the extension for ``goarch`` and validate the config with it."""
    module = collector.module_dir()
    with steps.step("Check the Go toolchain") as notes:
        go = collector.find_go(collector.go_requirement(service.collector_dir))
        notes.append(go.label)

    def binary_for(arch: str) -> Path:
        return (
            cache / f"collector-{collector_key(service, module, arch, go.label)}" / EXTENSION_NAME
        )

    binary = binary_for(goarch)
    host = platforms.of(platforms.host_architecture()).goarch
    # An arm64 binary cannot run on an x86_64 build machine: validate the config with a host
    # build of the same sources.
    validator = binary if goarch == host else binary_for(host)
    with steps.step(f"Compile the collector extension for linux/{goarch}") as notes:
        missing = [path for path in dict.fromkeys((binary, validator)) if not path.is_file()]
        if not missing:
            notes.append("cached")
        else:
            cache.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".gomod-", dir=cache) as staging:
                modfile = collector.write_modfile(service.collector_dir, module, Path(staging))
                collector.download_modules(go, service.collector_dir, modfile)
                for path in missing:
                    arch = goarch if path == binary else host
                    collector.build(go, service.collector_dir, modfile, arch, path)
            notes.append(f"{binary.stat().st_size / 1e6:.1f} MB")

    with steps.step("Validate collector/config.yaml with the built collector") as notes:
        collector.validate(validator, service.collector_config)
        if validator != binary:
            notes.append(f"checked with the linux/{host} build of the same sources")
    return binary, go


def _python(steps: Steps, service: Service, cache: Path, python_version: str, arch: str) -> Path:
    """Install (or reuse) the OpenTelemetry Python packages; returns their directory."""
    python_dir = cache / f"python-{python_key(service, python_version, arch)}"
    with steps.step(f"Install OpenTelemetry Python for {python_version} on {arch}") as notes:
        packages_file = python_dir / "packages.json"
        if packages_file.is_file():
            notes.append("cached")
        else:
            cache.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".python-", dir=cache))
            try:
                installed = python_part.install(
                    service.otel_requirements, python_version, arch, staging / "python"
                )
                compiled = python_part.precompile(staging / "python", python_version)
                (staging / "packages.json").write_text(
                    json.dumps(
                        {
                            "packages": installed,
                            "precompiled": compiled,
                            "hash_checked": True,
                        },
                        indent=2,
                    )
                )
                shutil.rmtree(python_dir, ignore_errors=True)
                staging.rename(python_dir)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        notes.append(f"{len(json.loads(packages_file.read_text())['packages'])} packages")
    return python_dir


def build_layer(service: Service, options: Options) -> dict[str, Any]:
    started = time.monotonic()
    architecture = options.architecture or service.architecture
    python_version = options.python_version or service.python_version
    goarch = platforms.of(architecture).goarch
    module = collector.module_dir()
    inputs_key = layer_key(service, module, architecture, python_version)
    if not options.force and up_to_date(options.out_dir, inputs_key):
        print(
            f"layer is up to date: {options.out_dir / 'layer.zip'} (inputs unchanged; "
            "use --force to rebuild)",
            file=sys.stderr,
        )
        return json.loads((options.out_dir / "layer-manifest.json").read_text())

    steps = Steps(total=5)
    binary, go = _collector(steps, service, options.cache_dir, goarch)
    python_dir = _python(steps, service, options.cache_dir, python_version, architecture)

    with steps.step("Package build/layer.zip") as notes:
        entries: dict[str, Path] = {
            f"extensions/{EXTENSION_NAME}": binary,
            "collector-config/config.yaml": service.collector_config,
            WRAPPER_NAME: WRAPPER,
        }
        package.add_tree(entries, python_dir / "python", "python")
        entries.update(runtime_entries())
        options.out_dir.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkstemp(prefix=".layer-", suffix=".zip.tmp", dir=options.out_dir)[1])
        try:
            package.write_zip(entries, {f"extensions/{EXTENSION_NAME}", WRAPPER_NAME}, staged)
            manifest = package.publish(
                staged,
                {
                    "inputs_key": inputs_key,
                    "architecture": architecture,
                    "python_version": python_version,
                    "collector": {
                        "extension": f"extensions/{EXTENSION_NAME}",
                        "build_flags": collector.build_flags(),
                        "go_version": go.label,
                        "goarch": goarch,
                        "sources_sha256": tree_key(service.collector_dir, exclude=NOT_SOURCES),
                        "module_sha256": module_key(module),
                        "binary_sha256": file_sha256(binary),
                        "binary_bytes": binary.stat().st_size,
                    },
                    "python": json.loads((python_dir / "packages.json").read_text()),
                    "timings_s": steps.timings,
                },
                options.out_dir,
            )
        finally:
            staged.unlink(missing_ok=True)
        notes.append(
            f"{manifest['layer']['size_bytes'] / 1e6:.1f} MB zipped, "
            f"{manifest['layer']['unpacked_bytes'] / 1e6:.1f} MB unpacked"
        )
    print(
        f"built {options.out_dir / 'layer.zip'} in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return manifest
