"""Command line: `python -m layerbuild [--arch ARCH] [--force]` (what `make layer` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import Options, Project, build_layer
from .errors import LayerBuildError


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(prog="python -m layerbuild", description=__doc__)
    parser.add_argument("--arch", choices=["x86_64", "arm64"], help="default: pins.toml")
    parser.add_argument("--python-version", help="default: pins.toml")
    parser.add_argument("--out", type=Path, default=root / "build", help="default: build/")
    parser.add_argument(
        "--cache", type=Path, default=None, help="default: <out>/cache (content-addressed)"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    options = Options(
        out_dir=args.out,
        cache_dir=args.cache or args.out / "cache",
        architecture=args.arch,
        python_version=args.python_version,
        force=args.force,
    )
    try:
        build_layer(Project(root), options)
    except LayerBuildError as error:
        print(error.render(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the previous build/layer.zip (if any) is unchanged", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
