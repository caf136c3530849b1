"""Cold start of the container image: bare, the previous commit and this one, side by side.

    PYTHONPATH=tool/src .venv/bin/python bench/image_cold_start.py [--pairs 20] \
        [--rows unthrottled,128,512,1769] [--base REV]

Renders one service per exporter (default answers otherwise: Python 3.13, x86_64) at this
checkout and at ``--base`` (default: the previous commit), builds each with its own `make
image`, plus a bare image (bench/image_harness.py says how, and how the runs are made). Each
repetition starts a new container of every variant in turn (the order rotating), so load on
this shared machine spreads over all of them; overheads are the median of the paired
differences (each instrumented run minus the bare run of the same repetition).

- cold start: `docker run` of the function's container to its first response (Docker's
  container start is in every variant alike), the time the CPU model's gate held the runtime
  left out;
- init: RIE's INIT REPORT (extensions and runtime init, unthrottled in the model);
- first response: RIE's INVOKE RTDONE of the first invocation (at the row's CPU share).

Rows: `unthrottled` (no CPU limit) and one per memory size: init unthrottled, then the
invoke phase at the memory's share of one vCPU (1,769 MB = 1 vCPU; `docker update --cpus`),
the container's memory limited to the size (`--memory`, as the tool's runner always does).

Writes bench/results/image_cold_start.json.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from image_harness import (
    EXPORTERS,
    UNTHROTTLED,
    Bench,
    build,
    check_tool,
    cpu_pressure,
    cpus_for,
    event_bytes,
    git_rev,
    log,
    paired_median,
    remove_images,
    summary,
    workdir,
)
from results_file import machine, write_results

GOAL_MS = 60.0
STRETCH_MS = 40.0


def label(name: str) -> str:
    """Variant names as the charts colour them: 'base-awsxray' -> 'awsxray base'."""
    kind, _, exporter = name.partition("-")
    return {"bare": "bare", "base": f"{exporter} base", "new": exporter}[kind]


def row_label(row: str) -> str:
    return UNTHROTTLED if row == UNTHROTTLED else f"{row} MB ({cpus_for(row):g} vCPU)"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=20, help="cold starts per variant and row")
    parser.add_argument("--rows", default=f"{UNTHROTTLED},128,512,1769")
    parser.add_argument("--base", default="HEAD~1", help="the revision to compare with")
    parser.add_argument("--exporters", default=",".join(EXPORTERS))
    args = parser.parse_args()
    check_tool()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    exporters = [e.strip() for e in args.exporters.split(",") if e.strip()]
    base = git_rev(args.base)
    started = time.perf_counter()
    loads = [cpu_pressure()]
    results: dict[str, dict[str, dict[str, list[Any]]]] = {}
    with workdir() as tmp:
        variants = build(tmp, base=base, exporters=exporters)
        names = list(variants)
        event = event_bytes(variants[names[1]])
        with Bench(variants, tmp) as bench:
            for row in rows:
                per: dict[str, dict[str, list[Any]]] = {
                    n: {"cold": [], "init": [], "first": [], "traces": [], "load": []}
                    for n in names
                }
                for rep in range(args.pairs):
                    order = names[rep % len(names) :] + names[: rep % len(names)]
                    for name in order:
                        run = bench.run(name, row, event=event)
                        per[name]["cold"].append(run.cold_start_ms)
                        per[name]["init"].append(run.init_ms)
                        per[name]["first"].append(run.invocations[0]["response_ms"])
                        per[name]["traces"].append((run.traces_found, run.traces_expected))
                        per[name]["load"].append(run.load)
                        log(
                            f"{row} #{rep + 1} {name}: cold {run.cold_start_ms:.0f} ms, init "
                            f"{run.init_ms} ms, first response {run.invocations[0]['response_ms']}"
                            f" ms; {run.load}"
                        )
                results[row] = per
                loads.append(cpu_pressure())
        remove_images(variants)

    rows_out: dict[str, Any] = {}
    overheads: dict[str, Any] = {}
    for row, per in results.items():
        out: dict[str, Any] = {}
        bare = per["bare"]
        for name, values in per.items():
            found = sum(f for f, _ in values["traces"])
            expected = sum(e for _, e in values["traces"])
            entry: dict[str, Any] = {
                "cold_start_ms": summary(values["cold"]),
                "init_duration_ms": summary([v for v in values["init"] if v is not None]),
                "first_response_ms": summary([v for v in values["first"] if v is not None]),
                "traces_read_back": f"{found}/{expected}" if expected else "n/a (bare)",
            }
            if name != "bare":
                entry["paired_minus_bare_ms"] = {
                    "cold_start": paired_median(values["cold"], bare["cold"]),
                    "init_duration": paired_median(values["init"], bare["init"]),
                    "first_response": paired_median(values["first"], bare["first"]),
                }
            out[label(name)] = entry
        rows_out[row_label(row)] = out
        overheads[row_label(row)] = {
            f"{label(name)}.cold_start_ms_paired": out[label(name)]["paired_minus_bare_ms"][
                "cold_start"
            ]
            for name in per
            if name != "bare"
        }
    payload = {
        "command": "PYTHONPATH=tool/src .venv/bin/python bench/image_cold_start.py "
        f"--pairs {args.pairs} --rows {args.rows} --base {args.base}",
        "machine": machine(),
        "base": f"{base} ({args.base})",
        "function": "my-traced-service (default answers), Python 3.13, x86_64, trigger rest-api",
        "base_image": "stand-in of public.ecr.aws/lambda/python:3.13 (Debian trixie, "
        "tests/lambda_base.py)",
        "cpu_pressure": " | ".join(loads),
        "method": __doc__.split("\n\n", 2)[2].split("\n\nWrites")[0],
        "image_size_mb": {label(n): v.size_mb for n, v in variants.items()},
        "goals": {f"{e}.cold_start_ms_paired": GOAL_MS for e in exporters},
        "stretch_goal_ms": STRETCH_MS,
        "instrumented_minus_bare": overheads,
        "rows": rows_out,
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_results("image_cold_start", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
