"""The function's private filesystem in build/local/: the layer as /opt, the code as /var/task."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from layerbuild.hashing import file_sha256

from .errors import LocalRunError
from .tools import host_architecture


@dataclass(frozen=True)
class Stage:
    opt: Path  # mounted read-only at /opt
    task: Path  # mounted at /var/task


def check_layer(build_dir: Path) -> Path:
    layer = build_dir / "layer.zip"
    if not layer.is_file():
        raise LocalRunError(
            f"{layer} does not exist: build the layer first with `make layer` "
            "(`make local` does that for you)."
        )
    manifest = build_dir / "layer-manifest.json"
    if manifest.is_file():
        arch = json.loads(manifest.read_text()).get("architecture")
        if arch and arch != host_architecture():
            raise LocalRunError(
                f"{layer} is built for {arch}, and this machine is {host_architecture()}: its "
                "collector extension cannot run here. Build a layer for this machine into a "
                f"separate directory, e.g. `python -m layerbuild --arch {host_architecture()} "
                "--out build/host`, and pass `--build-dir build/host`."
            )
    return layer


def unpack_layer(layer: Path, dest: Path) -> Path:
    """Unpack ``layer`` into ``dest`` (execute bits kept), unless it already holds that layer."""
    from layerbuild.unpack import unpack  # the project's own unpacker (also used by the image)

    marker = dest.parent / f".{dest.name}.sha256"
    digest = file_sha256(layer)
    if dest.is_dir() and marker.is_file() and marker.read_text().strip() == digest:
        return dest
    marker.unlink(missing_ok=True)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    unpack(layer, dest)
    for required in ("extensions/collector", "otel-instrument"):
        if not (dest / required).is_file():
            raise LocalRunError(f"{layer} has no {required}: rebuild it with `make layer`")
    marker.write_text(digest + "\n")
    return dest


def copy_code(project: Path, names: tuple[str, ...], dest: Path) -> Path:
    """Copy the function code (as the Dockerfile does) into a fresh ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in names:
        src = project / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        elif src.is_file():
            shutil.copy2(src, dest / name)
        else:
            raise LocalRunError(f"function code {src} is missing")
    return dest


def stage(project: Path, build_dir: Path, code: tuple[str, ...]) -> Stage:
    layer = check_layer(build_dir)
    local = build_dir / "local"
    return Stage(
        opt=unpack_layer(layer, local / "opt"),
        task=copy_code(project, code, local / "task"),
    )
