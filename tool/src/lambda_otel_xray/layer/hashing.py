"""Content hashes: cache keys are hashes of every input, never timestamps."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_files(
    root: Path, exclude: Iterable[str] = (), skip_suffixes: tuple[str, ...] = ()
) -> list[Path]:
    """Files under ``root``, minus any under a path part named in ``exclude`` and any whose name
    ends with one of ``skip_suffixes``."""
    skip = set(exclude)
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and not (set(p.relative_to(root).parts) & skip)
        and not (skip_suffixes and p.name.endswith(skip_suffixes))
    )


def key(*parts: object) -> str:
    """A stable key over strings, bytes and files (by relative name and content)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            digest.update(b"file\0" + part.name.encode() + b"\0" + file_sha256(part).encode())
        elif isinstance(part, bytes):
            digest.update(b"bytes\0" + hashlib.sha256(part).hexdigest().encode())
        else:
            digest.update(b"str\0" + str(part).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def tree_key(root: Path, exclude: Iterable[str] = (), skip_suffixes: tuple[str, ...] = ()) -> str:
    digest = hashlib.sha256()
    for path in tree_files(root, exclude, skip_suffixes):
        rel = path.relative_to(root).as_posix()
        digest.update(f"{rel}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()
