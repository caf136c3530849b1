"""The layer build: inputs -> cached collector binary + cached Python packages -> layer.zip."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import collector, components, package, python_part
from .errors import LayerBuildError
from .hashing import file_sha256, key, tree_key
from .steps import Steps

EXTENSION_NAME = "collector"
WRAPPER_NAME = "otel-instrument"
# Bump when the build's output format changes, so old caches are not reused.
FORMAT = "1"


try:  # the build runs on the developer's machine, which needs Python 3.11+
    import tomllib
except ModuleNotFoundError as error:  # pragma: no cover - depends on the machine
    raise SystemExit("the layer build needs Python 3.11 or newer (for tomllib)") from error


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def pins_file(self) -> Path:
        return self.root / "pins.toml"

    @property
    def collector_dir(self) -> Path:
        return self.root / "collector"

    @property
    def config(self) -> Path:
        return self.collector_dir / "config.yaml"

    @property
    def requirements(self) -> Path:
        return self.root / "requirements-otel.txt"

    @property
    def wrapper(self) -> Path:
        return self.root / "layer" / WRAPPER_NAME

    def pins(self) -> dict[str, Any]:
        try:
            return tomllib.loads(self.pins_file.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise LayerBuildError(
                f"{self.pins_file} is missing", "restore it with `copier update`"
            ) from error


@dataclass(frozen=True)
class Options:
    out_dir: Path
    cache_dir: Path
    architecture: str | None = None
    python_version: str | None = None
    force: bool = False


def collector_key(project: Project, tags: list[str], goarch: str, go_label: str) -> str:
    sources = tree_key(project.collector_dir, exclude=("config.yaml", "README.md"))
    return key(FORMAT, "collector", sources, goarch, go_label, *collector.build_flags(tags))


def python_key(project: Project, python_version: str, architecture: str) -> str:
    return key(
        FORMAT, "python", project.requirements, python_version, architecture, sys.version_info[:2]
    )


def layer_key(project: Project, tags: list[str], architecture: str, python_version: str) -> str:
    return key(
        FORMAT,
        tree_key(project.collector_dir, exclude=("README.md",)),
        ",".join(tags),
        architecture,
        python_version,
        project.requirements,
        project.wrapper,
        project.pins_file,
        tree_key(Path(__file__).parent, exclude=("__pycache__",)),
    )


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


def build_layer(project: Project, options: Options) -> dict[str, Any]:
    started = time.monotonic()
    pins = project.pins()
    function = pins.get("function", {})
    architecture = options.architecture or function.get("architecture", "x86_64")
    python_version = options.python_version or function.get("python_version", "3.13")
    if architecture not in collector.GOARCH:
        raise LayerBuildError(
            f"unknown architecture {architecture!r}", "use x86_64 or arm64 (pins.toml or --arch)"
        )
    goarch = collector.GOARCH[architecture]
    steps = Steps(total=6)

    with steps.step("Read collector config and derive build tags") as notes:
        tags = components.build_tags(project.config)
        notes.append(" ".join(t.removeprefix("lambdacomponents.") for t in tags[1:]))
    inputs_key = layer_key(project, tags, architecture, python_version)
    if not options.force and up_to_date(options.out_dir, inputs_key):
        print(
            f"layer is up to date: {options.out_dir / 'layer.zip'} (inputs unchanged; "
            "use --force to rebuild)",
            file=sys.stderr,
        )
        return json.loads((options.out_dir / "layer-manifest.json").read_text())

    with steps.step("Check the Go toolchain") as notes:
        go = collector.find_go(pins["collector"]["go"])
        notes.append(go.label)

    cache = options.cache_dir
    binary = cache / f"collector-{collector_key(project, tags, goarch, go.label)}" / EXTENSION_NAME
    host_goarch = collector.host_goarch()
    validator = (
        binary
        if goarch == host_goarch
        else cache
        / f"collector-{collector_key(project, tags, host_goarch, go.label)}"
        / EXTENSION_NAME
    )
    with steps.step(f"Compile the collector extension for linux/{goarch}") as notes:
        missing = [path for path in {binary, validator} if not path.is_file()]
        if not missing:
            notes.append("cached")
        else:
            collector.download_modules(go, project.collector_dir)
            for path in missing:
                arch = goarch if path == binary else host_goarch
                collector.build(go, project.collector_dir, arch, tags, path)
            notes.append(f"{binary.stat().st_size / 1e6:.1f} MB")

    with steps.step("Validate collector/config.yaml with the built collector") as notes:
        collector.validate(validator, project.config)
        if validator != binary:
            notes.append(f"checked with the linux/{host_goarch} build of the same sources and tags")

    python_dir = cache / f"python-{python_key(project, python_version, architecture)}"
    title = f"Install OpenTelemetry Python for {python_version} on {architecture}"
    with steps.step(title) as notes:
        packages_file = python_dir / "packages.json"
        if packages_file.is_file():
            notes.append("cached")
        else:
            cache.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".python-", dir=cache))
            try:
                installed = python_part.install(
                    project.requirements, python_version, architecture, staging / "python"
                )
                compiled = python_part.precompile(staging / "python", python_version)
                (staging / "packages.json").write_text(
                    json.dumps({"packages": installed, "precompiled": compiled}, indent=2)
                )
                shutil.rmtree(python_dir, ignore_errors=True)
                staging.rename(python_dir)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        python_info = json.loads(packages_file.read_text())
        notes.append(f"{len(python_info['packages'])} packages")

    with steps.step("Package build/layer.zip") as notes:
        entries: dict[str, Path] = {
            f"extensions/{EXTENSION_NAME}": binary,
            "collector-config/config.yaml": project.config,
            WRAPPER_NAME: project.wrapper,
        }
        package.add_tree(entries, python_dir / "python", "python")
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
                        "build_tags": tags,
                        "build_flags": collector.build_flags(tags),
                        "go_version": go.label,
                        "goarch": goarch,
                        "module_versions": pins["collector"],
                        "sources_sha256": tree_key(
                            project.collector_dir, exclude=("config.yaml", "README.md")
                        ),
                        "binary_sha256": file_sha256(binary),
                        "binary_bytes": binary.stat().st_size,
                    },
                    "python": python_info,
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
