"""Layer build benchmark: cold build (empty Go module + build caches, empty layer cache),
cached rebuild, the collector binary per exporter and architecture, and layer.zip's size.

    PYTHONPATH=tool/src .venv/bin/python bench/layer_build.py   # ~5-10 min on 2 cores

The build is the tool's (`python -m lambda_otel_xray layer`, what `make layer` runs) in a
service rendered from this checkout.

Writes bench/results/layer_build.json. All figures come from one run, side by side.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from render import render  # noqa: E402
from results_file import machine, write_results  # noqa: E402
from template_repo import snapshot  # noqa: E402


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    return round(elapsed, 2)


def main() -> int:
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        repo = snapshot(tmp / "template")
        env = {
            **os.environ,
            "GOCACHE": str(tmp / "gocache"),
            "GOMODCACHE": str(tmp / "gomodcache"),
            "GOFLAGS": "-modcacherw",
        }
        env["PYTHONPATH"] = str(ROOT / "tool" / "src")
        build = [sys.executable, "-m", "lambda_otel_xray", "layer"]
        projects = {}
        for exporter in ("awsxray", "xray-otlp"):
            projects[exporter] = render(
                repo, tmp / exporter, {"trace_exporter": exporter, "architecture": "x86_64"}
            )
        awsxray = projects["awsxray"]
        results["cold_build_s"] = timed(build, awsxray, env)
        results["cached_rebuild_s"] = timed(build, awsxray, env)
        results["warm_go_cache_other_exporter_s"] = timed(build, projects["xray-otlp"], env)
        sizes: dict[str, int] = {}
        for exporter, project in projects.items():
            manifest = json.loads((project / "build" / "layer-manifest.json").read_text())
            sizes[f"minimal_{exporter}_amd64"] = manifest["collector"]["binary_bytes"]
        results["other_architecture_arm64_s"] = timed([*build, "--arch", "arm64"], awsxray, env)
        arm64 = json.loads((awsxray / "build" / "layer-manifest.json").read_text())
        sizes["minimal_awsxray_arm64"] = arm64["collector"]["binary_bytes"]

        results["collector_binary_bytes"] = sizes

        zips: dict[str, int] = {}
        zips["awsxray_arm64"] = arm64["layer"]["size_bytes"]
        shutil.rmtree(awsxray / "build" / "cache", ignore_errors=True)
        for name, project in projects.items():
            subprocess.run(
                [*build, "--arch", "x86_64"], cwd=project, env=env, check=True, capture_output=True
            )
            manifest = json.loads((project / "build" / "layer-manifest.json").read_text())
            zips[f"{name}_x86_64"] = manifest["layer"]["size_bytes"]
        results["layer_zip_bytes"] = zips

    payload = {
        "command": "PYTHONPATH=tool/src .venv/bin/python bench/layer_build.py",
        "machine": machine(),
        "goals": {"cached_rebuild_s": 5.0},
        "notes": (
            "cold = empty GOCACHE, GOMODCACHE and layer cache (modules downloaded through the Go "
            "module proxy). The collector holds exactly the components of the service's "
            "collector/components.go (one exporter each)."
        ),
        "results": results,
    }
    write_results("layer_build", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
