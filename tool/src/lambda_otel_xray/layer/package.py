"""Write layer.zip reproducibly and atomically, with its checksum file and build manifest."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

from .hashing import file_sha256

# Fixed timestamps: the same inputs give a byte-identical zip (and the same checksum).
EPOCH = (1980, 1, 1, 0, 0, 0)


def add_tree(entries: dict[str, Path], source: Path, prefix: str) -> None:
    for path in sorted(source.rglob("*")):
        if path.is_file():
            entries[f"{prefix}/{path.relative_to(source).as_posix()}"] = path


def write_zip(entries: dict[str, Path], executables: set[str], destination: Path) -> None:
    """Zip ``entries`` (archive name -> file); names in ``executables`` get mode 0755."""
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.create_system = 3  # unix, so `unzip` and our unpacker restore the mode
            mode = 0o755 if name in executables else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with entries[name].open("rb") as source, zf.open(info, "w") as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)


def publish(staged_zip: Path, manifest: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Move a finished zip into place with its .sha256 and manifest.

    Everything is written next to the destination first; a failure before the final renames
    leaves the previous layer untouched.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    final_zip = out_dir / "layer.zip"
    digest = file_sha256(staged_zip)
    with zipfile.ZipFile(staged_zip) as zf:
        unpacked = sum(info.file_size for info in zf.infolist())
        count = len(zf.infolist())
    manifest = {
        **manifest,
        "layer": {
            "file": final_zip.name,
            "sha256": digest,
            "size_bytes": staged_zip.stat().st_size,
            "unpacked_bytes": unpacked,
            "files": count,
        },
    }
    sums = out_dir / f".layer.zip.sha256.{os.getpid()}.tmp"
    sums.write_text(f"{digest}  layer.zip\n")
    manifest_tmp = out_dir / f".layer-manifest.json.{os.getpid()}.tmp"
    manifest_tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    # Checksum and manifest first: a crash between renames leaves a checksum that does not
    # match, which the Dockerfile's `sha256sum -c` refuses, never a silently wrong layer.
    os.replace(sums, out_dir / "layer.zip.sha256")
    os.replace(manifest_tmp, out_dir / "layer-manifest.json")
    os.replace(staged_zip, final_zip)
    return manifest
