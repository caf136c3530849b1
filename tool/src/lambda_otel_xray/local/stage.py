"""The function's private filesystem in build/local/: the layer as /opt, the code as /var/task."""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import platforms
from ..errors import ToolError
from ..layer.hashing import file_sha256


@dataclass(frozen=True)
class Stage:
    opt: Path  # mounted read-only at /opt
    task: Path  # mounted at /var/task


def check_layer(build_dir: Path) -> Path:
    layer = build_dir / "layer.zip"
    if not layer.is_file():
        raise ToolError(
            f"{layer} does not exist", "build it with `make layer` (`make local` does that)"
        )
    manifest = build_dir / "layer-manifest.json"
    if manifest.is_file():
        arch = json.loads(manifest.read_text()).get("architecture")
        host = platforms.host_architecture()
        if arch and arch != host:
            raise ToolError(
                f"{layer} is built for {arch}, and this machine is {host}: its collector "
                "extension cannot run in the sandbox here",
                f"build a layer for this machine into a separate directory "
                f"(`lambda-otel-xray layer --arch {host} --out build/host`) and pass "
                "`--build-dir build/host`, or use the Docker runner (it emulates the CPU)",
            )
    return layer


def unpack(archive: Path, destination: Path) -> int:
    """Extract ``archive`` with the file modes it records (Python's zipfile drops them), so
    /opt/extensions/collector and /opt/otel-instrument stay executable."""
    destination = destination.resolve()
    count = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = (destination / info.filename).resolve()
            if not target.is_relative_to(destination):
                raise ToolError(f"{archive}: entry {info.filename!r} escapes {destination}")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            zf.extract(info, destination)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)
            count += 1
    return count


def unpack_layer(layer: Path, dest: Path) -> Path:
    """Unpack ``layer`` into ``dest`` (execute bits kept), unless it already holds that layer."""
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
            raise ToolError(f"{layer} has no {required}", "rebuild it with `make layer`")
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
            raise ToolError(f"function code {src} is missing", "restore it from git")
    return dest


def stage(project: Path, build_dir: Path, code: tuple[str, ...]) -> Stage:
    """The layer unpacked as /opt and the function code copied as /var/task, in build_dir."""
    layer = check_layer(build_dir)
    local = build_dir / "local"
    return Stage(
        opt=unpack_layer(layer, local / "opt"),
        task=copy_code(project, code, local / "task"),
    )
