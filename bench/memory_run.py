"""The smallest function: 1,000 invocations under 128 MB (and 512 MB), memory recorded.

    PYTHONPATH=tool/src .venv/bin/python bench/memory_run.py [--invocations 1000] \
        [--memory 128,512] [--base REV]

A service rendered with `memory_size=128` (default answers otherwise), built with its own
`make image`, runs in the image under the tool's Docker runner, which limits the container to
the answer's memory (`docker run --memory`); the 512 MB rows run the same image with 512 MB.
The invoke phase runs at the memory's share of a vCPU as in image_cold_start.py (128 MB: 0.072
vCPU), init unthrottled. Per row and variant (bare, the previous commit, this one; per
exporter): OOM kills, traces read back of the invocations sent, and the peak resident memory
(VmHWM) of the function's runtime process and of the collector extension apart, plus the
container's (cgroup) peak, read inside the container after the last invocation.

Writes bench/results/memory_run.json.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from image_harness import (
    EXPORTERS,
    Bench,
    build,
    check_tool,
    cpu_pressure,
    event_bytes,
    git_rev,
    log,
    percentile,
    remove_images,
    workdir,
)
from results_file import machine, write_results


def label(name: str) -> str:
    kind, _, exporter = name.partition("-")
    return {"bare": "bare", "base": f"{exporter} base", "new": exporter}[kind]


def mib(kb: int | None) -> float | None:
    return round(kb / 1024, 1) if kb else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invocations", type=int, default=1000)
    parser.add_argument("--memory", default="128,512")
    parser.add_argument("--base", default="HEAD~1")
    parser.add_argument("--exporters", default=",".join(EXPORTERS))
    args = parser.parse_args()
    check_tool()
    sizes = [int(m) for m in args.memory.split(",") if m.strip()]
    exporters = [e.strip() for e in args.exporters.split(",") if e.strip()]
    base = git_rev(args.base)
    started = time.perf_counter()
    loads = [cpu_pressure()]
    rows: dict[str, Any] = {}
    with workdir() as tmp:
        variants = build(tmp, base=base, exporters=exporters, answers={"memory_size": min(sizes)})
        event = event_bytes(variants[f"new-{exporters[0]}"])
        with Bench(variants, tmp) as bench:
            for size in sizes:
                out: dict[str, Any] = {}
                for name in variants:
                    run = bench.run(
                        name, str(size), event=event, warm=args.invocations - 1, memory_mb=size
                    )
                    billed = [i["billed_ms"] for i in run.invocations[1:] if i["billed_ms"]]
                    out[label(name)] = {
                        "invocations": len(run.invocations),
                        "http_200": sum(1 for i in run.invocations if i["status"] == 200),
                        "oom_killed": run.oom_killed,
                        "traces_read_back": (
                            f"{run.traces_found}/{run.traces_expected}"
                            if run.traces_expected
                            else "n/a (bare)"
                        ),
                        "function_peak_rss_mib": mib(run.memory.get("function", {}).get("VmHWM")),
                        "extension_peak_rss_mib": mib(run.memory.get("extension", {}).get("VmHWM")),
                        "container_peak_mib": mib(run.memory.get("container_peak_kb")),
                        "warm_billed_p50_ms": round(percentile(billed, 50), 2),
                        "cpu_pressure": run.load,
                    }
                    log(f"{size} MB {name}: {out[label(name)]}")
                    lost = run.traces_expected - run.traces_found
                    if run.oom_killed or lost:
                        log(f"{size} MB {name}: OOM {run.oom_killed}, {lost} traces lost")
                rows[f"{size} MB"] = out
                loads.append(cpu_pressure())
        remove_images(variants)
    payload = {
        "command": "PYTHONPATH=tool/src .venv/bin/python bench/memory_run.py "
        f"--invocations {args.invocations} --memory {args.memory} --base {args.base}",
        "machine": machine(),
        "base": f"{base} ({args.base})",
        "function": f"my-traced-service rendered with memory_size={min(sizes)}, Python 3.13, "
        "x86_64, trigger rest-api",
        "cpu_pressure": " | ".join(loads),
        "method": __doc__.split("\n\n", 2)[2].split("\n\nWrites")[0],
        "rows": rows,
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_results("memory_run", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
