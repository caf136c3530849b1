"""Build a rendered service's collector the way its layer build does: the tool's collector
functions (the shipped lambdaotelxray module wired in with a `replace` in a copy of go.mod)."""

from __future__ import annotations

import shutil
from pathlib import Path

from project_checks import missing_tool


def require_go() -> None:
    if shutil.which("go") is None:
        missing_tool("Go is not installed: the collector is compiled with it")


def build_collector(service: Path, output: Path, goarch: str | None = None) -> Path:
    """Compile ``service``/collector for linux/``goarch`` (default: this machine's) into
    ``output``; the modfile is staged beside it (``output``'s directory / gomod)."""
    from lambda_otel_xray import platforms
    from lambda_otel_xray.layer import collector

    require_go()
    collector_dir = service / "collector"
    go = collector.find_go(collector.go_requirement(collector_dir))
    modfile = collector.write_modfile(
        collector_dir, collector.module_dir(), output.parent / "gomod"
    )
    collector.download_modules(go, collector_dir, modfile)
    arch = goarch or platforms.of(platforms.host_architecture()).goarch
    collector.build(go, collector_dir, modfile, arch, output)
    return output
