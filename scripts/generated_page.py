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
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    parser.add_argument("--output", type=Path, default=output)
    args = parser.parse_args(argv)
    content = generate()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != content:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                content.splitlines(keepends=True),
                fromfile=f"{args.output} (checked in)",
                tofile=f"{args.output} (from {source})",
            )
            sys.stderr.writelines(list(diff)[:60])
            print(f"\n{args.output} is out of date: run `{regenerate}`", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(content, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0
