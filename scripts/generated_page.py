"""The shared command line of the doc-page generators: write the page, or `--check` it."""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable
from pathlib import Path


def run(
    argv: list[str] | None,
    *,
    description: str,
    output: Path,
    generate: Callable[[], str],
    source: str,
    regenerate: str,
) -> int:
    return run_files(
        argv,
        description=description,
        output=output,
        generate=lambda page: {page: generate()},
        source=source,
        regenerate=regenerate,
    )


def run_files(
    argv: list[str] | None,
    *,
    description: str,
    output: Path,
    generate: Callable[[Path], dict[Path, str]],
    source: str,
    regenerate: str,
    owned_dir: Callable[[Path], Path] | None = None,
) -> int:
    """`generate(page)` gives every file to write for the page at `page` (the page itself and
    files beside it, such as its charts). Files in `owned_dir(page)` that it no longer gives
    are stale: `--check` reports them, a write removes them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is out of date")
    parser.add_argument("--output", type=Path, default=output)
    args = parser.parse_args(argv)
    files = generate(args.output)
    directory = owned_dir(args.output) if owned_dir else None
    leftover = (
        sorted(p for p in directory.iterdir() if p.is_file() and p not in files)
        if directory is not None and directory.is_dir()
        else []
    )
    if args.check:
        stale = [path for path, content in files.items() if not _up_to_date(path, content, source)]
        for path in leftover:
            print(f"{path} is no longer generated from {source}", file=sys.stderr)
        if stale or leftover:
            names = ", ".join(str(p) for p in [*stale, *leftover])
            print(f"\nout of date: {names}: run `{regenerate}`", file=sys.stderr)
            return 1
        return 0
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != content:
            path.write_text(content, encoding="utf-8")
            print(f"wrote {path}")
    for path in leftover:
        path.unlink()
        print(f"removed {path} (no longer generated)")
    return 0


def _up_to_date(path: Path, content: str, source: str) -> bool:
    current = path.read_text(encoding="utf-8") if path.is_file() else ""
    if current == content:
        return True
    if path.suffix == ".svg":
        # A diff of path data says nothing; the size says roughly how much changed.
        state = f"{len(current)} bytes checked in" if current else "missing"
        print(f"{path} ({state}) differs from {source} ({len(content)} bytes)", file=sys.stderr)
        return False
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        content.splitlines(keepends=True),
        fromfile=f"{path} (checked in)",
        tofile=f"{path} (from {source})",
    )
    sys.stderr.writelines(list(diff)[:60])
    return False
