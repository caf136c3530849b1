"""Time `copier copy` of one project (tasks skipped), per IaC tool; goal: <= 2 s each.

    .venv/bin/python bench/render_time.py [--repeat 5]

Writes bench/results/render_time.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from render import render  # noqa: E402
from results_file import machine, write_results  # noqa: E402
from template_repo import snapshot  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        repo = snapshot(Path(tmp) / "template")
        for iac in ("sam", "cdk", "terraform"):
            times = []
            for i in range(args.repeat):
                dest = Path(tmp) / f"{iac}-{i}"
                started = time.perf_counter()
                render(repo, dest, {"iac": iac, "project_slug": "bench-service"})
                times.append(time.perf_counter() - started)
            results[iac] = {
                "median_s": round(statistics.median(times), 3),
                "max_s": round(max(times), 3),
                "runs": len(times),
            }
    payload = {
        "command": f"python bench/render_time.py --repeat {args.repeat}",
        "machine": machine(),
        "goal_s": 2.0,
        "results": results,
    }
    write_results("render_time", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
