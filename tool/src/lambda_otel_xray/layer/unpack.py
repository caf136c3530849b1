"""Unpack layer.zip into a directory (e.g. /opt), keeping execute bits.

Python's zipfile drops file modes on extraction; Lambda needs /opt/extensions/* and
/opt/otel-instrument executable. Used by the Dockerfile's build stage (the base image has no
`unzip`) and by `make local`. Standard library only.

    python3 -m layerbuild.unpack build/layer.zip /opt
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path


def unpack(archive: Path, destination: Path) -> int:
    destination = destination.resolve()
    count = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = (destination / info.filename).resolve()
            if not target.is_relative_to(destination):
                raise ValueError(f"{archive}: entry {info.filename!r} escapes {destination}")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            zf.extract(info, destination)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                target.chmod(mode)
            count += 1
    return count


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python3 -m layerbuild.unpack LAYER_ZIP DESTINATION", file=sys.stderr)
        return 2
    count = unpack(Path(argv[0]), Path(argv[1]))
    print(f"unpacked {count} files from {argv[0]} into {argv[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
