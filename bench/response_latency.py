"""Warm response latency and billed duration of the image: bare, the previous commit, this one.

    PYTHONPATH=tool/src .venv/bin/python bench/response_latency.py [--rounds 6] [--warm 100] \
        [--rows unthrottled,512] [--base REV]

What a Lambda user pays for per warm invocation, two figures (bench/image_harness.py builds the
images and says how runs are made and what RIE's log gives):

- response latency: invoke -> the runtime has posted its response (RIE's INVOKE RTDONE), which
  is when Lambda answers the caller;
- billed duration: invoke -> the runtime and every extension are back in `/next` (RIE's REPORT
  Duration); with the flush handshake it includes the export the extension waits for.

Variants: bare (no OpenTelemetry), per exporter the previous commit and this one, and this one
with the handshake switched off (`OTEL_LAMBDA_HANDSHAKE_ENDPOINT=none`: the export happens
before the response, as before); and this one exporting nothing (`OTEL_TRACES_EXPORTER=none`:
the instrumentation's own cost). The local X-Ray and STS are one moto server: the collector's
background exports to it slow its STS answers a little, which bare and "no export" never see.
Each round starts one container per variant in turn and sends it one cold and ``--warm`` warm
invocations back to back; rows as in image_cold_start.py (the
invoke phase at the memory's share of a vCPU). Overheads: this variant's percentile minus the
bare one's over all warm invocations, and the median over rounds of the per-round p50
difference (rounds ran side by side, so drifting load cancels out). Every trace is read back.

Writes bench/results/response_latency.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
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
    percentile,
    remove_images,
    workdir,
)
from results_file import machine, write_results

# Issue 18: over bare, in the image, for this commit with the handshake.
GOALS = {"response_p50_ms": 0.3, "response_p99_ms": 1.0}
NO_HANDSHAKE = {"OTEL_LAMBDA_HANDSHAKE_ENDPOINT": "none"}
# The instrumentation alone: spans made, none exported (what the rest costs is the export).
NO_EXPORT = {"OTEL_TRACES_EXPORTER": "none"}


def label(name: str) -> str:
    kind, _, exporter = name.partition("-")
    if kind == "nohs":
        return f"{exporter} no handshake"
    if kind == "noexp":
        return f"{exporter} no export"
    return {"bare": "bare", "base": f"{exporter} base", "new": exporter}[kind]


def stats(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 3),
        "p99": round(percentile(values, 99), 3),
        "mean": round(statistics.fmean(values), 3),
        "invocations": len(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--warm", type=int, default=100, help="warm invocations per round")
    parser.add_argument("--rows", default=f"{UNTHROTTLED},512")
    parser.add_argument("--base", default="HEAD~1")
    parser.add_argument("--exporters", default=",".join(EXPORTERS))
    args = parser.parse_args()
    check_tool()
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    exporters = [e.strip() for e in args.exporters.split(",") if e.strip()]
    base = git_rev(args.base)
    started = time.perf_counter()
    loads = [cpu_pressure()]
    collected: dict[str, dict[str, dict[str, Any]]] = {}
    with workdir() as tmp:
        variants = build(tmp, base=base, exporters=exporters)
        for exporter in exporters:
            new = variants[f"new-{exporter}"]
            variants[f"nohs-{exporter}"] = dataclasses.replace(
                new, name=f"nohs-{exporter}", kind="nohs", env=NO_HANDSHAKE
            )
        first = exporters[0]
        variants[f"noexp-{first}"] = dataclasses.replace(
            variants[f"new-{first}"],
            name=f"noexp-{first}",
            kind="noexp",
            env=NO_EXPORT,
            traced=False,
        )
        names = list(variants)
        event = event_bytes(variants[f"new-{exporters[0]}"])
        with Bench(variants, tmp) as bench:
            for row in rows:
                per = {
                    n: {"response": [], "billed": [], "caller": [], "rounds": [], "traces": [0, 0]}
                    for n in names
                }
                for rnd in range(args.rounds):
                    order = names[rnd % len(names) :] + names[: rnd % len(names)]
                    for name in order:
                        run = bench.run(name, row, event=event, warm=args.warm)
                        warm = run.invocations[1:]
                        response = [i["response_ms"] for i in warm if i["response_ms"] is not None]
                        billed = [i["billed_ms"] for i in warm if i["billed_ms"] is not None]
                        per[name]["response"] += response
                        per[name]["billed"] += billed
                        per[name]["caller"] += [i["latency_ms"] for i in warm]
                        per[name]["rounds"].append(
                            (percentile(response, 50), percentile(billed, 50))
                        )
                        per[name]["traces"][0] += run.traces_found
                        per[name]["traces"][1] += run.traces_expected
                        log(
                            f"{row} round {rnd + 1} {name}: response p50 "
                            f"{percentile(response, 50):.2f} ms, billed p50 "
                            f"{percentile(billed, 50):.2f} ms, traces {run.traces_found}/"
                            f"{run.traces_expected}; {run.load}"
                        )
                collected[row] = per
                loads.append(cpu_pressure())
        remove_images(variants)

    rows_out: dict[str, Any] = {}
    overheads: dict[str, Any] = {}
    for row, per in collected.items():
        key = UNTHROTTLED if row == UNTHROTTLED else f"{row} MB ({cpus_for(row):g} vCPU)"
        bare = per["bare"]
        out: dict[str, Any] = {}
        over: dict[str, Any] = {}
        for name, values in per.items():
            found, expected = values["traces"]
            out[label(name)] = {
                "warm_ms": stats(values["response"]),
                "billed_ms": stats(values["billed"]),
                "caller_ms": stats(values["caller"]),
                "traces_read_back": f"{found}/{expected}" if expected else "n/a (bare)",
            }
            if name == "bare":
                continue
            paired = [
                (a[0] - b[0], a[1] - b[1])
                for a, b in zip(values["rounds"], bare["rounds"], strict=True)
            ]
            over[label(name)] = {
                "response_p50_ms": round(
                    percentile(values["response"], 50) - percentile(bare["response"], 50), 3
                ),
                "response_p99_ms": round(
                    percentile(values["response"], 99) - percentile(bare["response"], 99), 3
                ),
                "response_p50_ms_paired": round(statistics.median(p[0] for p in paired), 3),
                "billed_p50_ms": round(
                    percentile(values["billed"], 50) - percentile(bare["billed"], 50), 3
                ),
                "billed_p99_ms": round(
                    percentile(values["billed"], 99) - percentile(bare["billed"], 99), 3
                ),
                "billed_p50_ms_paired": round(statistics.median(p[1] for p in paired), 3),
            }
        rows_out[key] = out
        overheads[key] = over
    payload = {
        "command": "PYTHONPATH=tool/src .venv/bin/python bench/response_latency.py "
        f"--rounds {args.rounds} --warm {args.warm} --rows {args.rows} --base {args.base}",
        "machine": machine(),
        "base": f"{base} ({args.base})",
        "function": "my-traced-service (default answers), Python 3.13, x86_64, trigger rest-api",
        "cpu_pressure": " | ".join(loads),
        "method": __doc__.split("\n\n", 2)[2].split("\n\nWrites")[0],
        "goals": {f"{e}.{metric}": goal for e in exporters for metric, goal in GOALS.items()},
        "instrumented_minus_bare": overheads,
        "rows": rows_out,
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_results("response_latency", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
