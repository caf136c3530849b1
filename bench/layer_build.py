"""Layer build benchmark: cold build (empty Go module + build caches, empty layer cache),
cached rebuild, collector binary sizes (minimal per exporter vs the all-components default
build of the same sources) and layer.zip size per architecture.

    .venv/bin/python bench/layer_build.py            # ~5-10 min on 2 cores (downloads modules)

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
        build = [sys.executable, "-m", "layerbuild"]
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

        default_binary = tmp / "collector-default"
        # The layer build's own flags (and its non-component tags), without component tags.
        flags = json.loads(
            subprocess.run(
                [sys.executable, "-c", "import json; from layerbuild.collector import "
                 "build_flags; print(json.dumps(build_flags([])))"],
                cwd=awsxray, capture_output=True, text=True, check=True,
            ).stdout
        )  # fmt: skip
        subprocess.run(
            ["go", "build", *flags, "-o", str(default_binary), "."],
            cwd=awsxray / "collector",
            env={**env, "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64"},
            check=True,
        )
        sizes["all_components_default_amd64"] = default_binary.stat().st_size
        results["collector_binary_bytes"] = sizes
        results["minimal_vs_default_ratio"] = round(
            sizes["minimal_awsxray_amd64"] / sizes["all_components_default_amd64"], 3
        )

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
        "command": "python bench/layer_build.py",
        "machine": machine(),
        "goals": {"cached_rebuild_s": 5.0, "minimal_vs_default_ratio": 0.5},
        "notes": (
            "cold = empty GOCACHE, GOMODCACHE and layer cache (modules downloaded through the Go "
            "module proxy). The default build is this template's collector built without "
            "lambdacomponents.custom (every component it ships); upstream opentelemetry-lambda's "
            "default build cannot be fetched on this machine (the module proxy refuses it)."
        ),
        "results": results,
    }
    write_results("layer_build", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
