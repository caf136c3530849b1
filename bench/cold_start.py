"""Cold start, warm latency and collector memory of the rendered function, side by side.

    .venv/bin/python bench/cold_start.py [--cold-repeat 5] [--warm 1000] [--base REV]

Renders one service per exporter (Python 3.11, x86_64, the layer built by the post-copy hook)
and runs it under the Lambda Runtime Interface Emulator with the tool's sandbox runner
(`lambda_otel_xray.local`, what `make local` uses without Docker: bubblewrap, local X-Ray and
STS on 127.0.0.1). Variants:

- bare: the same work (validate the event, STS GetCallerIdentity, reply) in a handler without
  OpenTelemetry, no layer (/opt empty), no exec wrapper;
- instrumented (per exporter): the template's function: layer in /opt, collector extension,
  AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument, explicit instrumentors in telemetry.configure();
- auto-instrument baseline: the bare handler instrumented the way upstream's Python layer does
  it, `opentelemetry-instrument` with entry-point auto-discovery behind an exec wrapper that
  swaps _HANDLER for an otel_wrapper module, sending to this template's collector (awsxray);
  its /opt/python is the layer's packages plus the distro and the OTLP/HTTP exporter it loads
  (the template's layer carries neither), installed for this run at the template's pins.

With --base REV, the instrumented function of commit REV (rendered from `git archive REV`, its own
layer) runs too, per exporter, in the same rotation: before and after in one run.

Cold start = RIE process start to the first response; RIE's "INIT REPORT" duration is recorded
too. Warm = the invocations after the first, back to back. The runs alternate: --cold-repeat
rounds, each starting one new execution environment per variant (the order rotated from round
to round), whose first invocation is that round's cold sample and whose next --warm/rounds
invocations are warm samples. Collector peak RSS = VmHWM of /opt/extensions/collector at the end
of the warm run. Writes bench/results/cold_start.json.

Every side runs under this checkout's tool (run with PYTHONPATH=tool/src); the base side's
layer is that revision's own build (its post-copy hook).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # render, template_repo, toolenv (driver side only)

from results_file import machine, write_results  # noqa: E402

EXPORTERS = ("awsxray", "xray-otlp")
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"

# The bare function every benchmark compares with (bench/bare_app.py).
BARE_APP = (Path(__file__).resolve().parent / "bare_app.py").read_text(encoding="utf-8")

# Upstream's Python layer pattern (opentelemetry-lambda python/src/otel/otel_sdk): the exec
# wrapper sets OTEL_* defaults, swaps _HANDLER for otel_wrapper.lambda_handler and execs
# opentelemetry-instrument (console scripts are not shipped in our layer, so its module runs).
AUTO_WRAPPER = """#!/bin/sh
set -eu
export PYTHONPATH="/opt/python${PYTHONPATH:+:${PYTHONPATH}}"
export OTEL_SERVICE_NAME="${OTEL_SERVICE_NAME:-${AWS_LAMBDA_FUNCTION_NAME}}"
export OTEL_TRACES_EXPORTER=otlp
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces
export OTEL_PROPAGATORS=xray-lambda
export OTEL_PYTHON_ID_GENERATOR=xray
export OTEL_METRICS_EXPORTER=none
export OTEL_LOGS_EXPORTER=none
export ORIG_HANDLER="$_HANDLER"
export _HANDLER=otel_wrapper.lambda_handler
exec "$1" -c 'from opentelemetry.instrumentation.auto_instrumentation import run; run()' "$@"
"""

OTEL_WRAPPER = '''"""Upstream-style handler wrapper: instrument, then hand over to ORIG_HANDLER."""

import os
from importlib import import_module

from opentelemetry.instrumentation.aws_lambda import AwsLambdaInstrumentor

AwsLambdaInstrumentor().instrument()
_module, _, _name = os.environ["ORIG_HANDLER"].rpartition(".")
lambda_handler = getattr(import_module(_module), _name)
'''

BASELINE_NOTE = (
    "The issue's 'upstream default' baseline (upstream opentelemetry-lambda collector layer "
    "plus its Python layer) cannot be built here: upstream's collector sources cannot be "
    "fetched (GitHub is unreachable from this machine, and the Go module proxy does not serve "
    "its nested modules). The baseline measured instead is the Python side of upstream's "
    "approach: opentelemetry-instrument with entry-point auto-discovery of instrumentations and "
    "the distro configurator, behind an exec wrapper that swaps _HANDLER for an otel_wrapper "
    "module, running the bare handler against this template's collector extension (awsxray)."
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
        "runs": [round(v, 2) for v in values],
    }


# ------------------------------------------------------------------------------ worker


def init_duration_ms(log_path: str) -> float | None:
    match = re.search(r"INIT REPORT\(durationMs: ([0-9.]+)\)", Path(log_path).read_text())
    return float(match.group(1)) if match else None


def auto_instrument_packages(project: Path, target: Path) -> None:
    """What upstream-style auto-instrumentation loads beyond the layer: the distro and the
    OTLP/HTTP exporter, at the template's pins, for the sandbox's Python."""
    import yaml
    from lambda_otel_xray.layer import python_part

    pins = {k: v["default"] for k, v in yaml.safe_load((ROOT / "pins.yml").read_text()).items()}
    requirements = target.parent / "auto-requirements.txt"
    requirements.write_text(
        (project / "requirements-otel.txt").read_text()
        + f"opentelemetry-distro=={pins['pin_otel_python_contrib']}\n"
        + f"opentelemetry-exporter-otlp-proto-http=={pins['pin_otel_python']}\n"
    )
    shutil.rmtree(target, ignore_errors=True)
    python_part.install(requirements, PYTHON_VERSION, "x86_64", target)


def worker(project: Path, warm: int, variants: list[str]) -> dict[str, Any]:
    """One new execution environment per variant with the tool's sandbox runner."""
    from lambda_otel_xray.local.session import run
    from lambda_otel_xray.local.stage import stage
    from lambda_otel_xray.service import Service

    service = Service.load(project)
    build = project / "build"
    staged = stage(project, build, service.code)
    bench = build / "bench"
    bare_task = bench / "task-bare"
    auto_opt = bench / "opt-auto"
    if not (bench / ".ready").is_file():
        shutil.rmtree(bench, ignore_errors=True)
        bare_task.mkdir(parents=True)
        (bare_task / "bare_app.py").write_text(BARE_APP)
        shutil.copytree(staged.opt, auto_opt, copy_function=os.link)  # hard links: no copy
        (auto_opt / "otel-auto-instrument").write_text(AUTO_WRAPPER)
        (auto_opt / "otel-auto-instrument").chmod(0o755)
        if "auto_instrument_baseline" in variants:
            auto_instrument_packages(project, auto_opt / "python")
        (auto_opt / "python" / "otel_wrapper.py").write_text(OTEL_WRAPPER)
        (bench / ".ready").write_text("")

    event = (project / "events" / "sample.json").read_bytes()
    # The sandbox runner's own /opt, /var/task, handler and exec wrapper for the variants.
    setups: dict[str, dict[str, Any]] = {
        "bare": {
            "function_options": {
                "opt": None, "task": bare_task, "handler": "bare_app.lambda_handler",
                "next_wrapper": None,
            },
            "expect_traces": False,
        },
        "instrumented": {},
        "auto_instrument_baseline": {
            "function_options": {
                "opt": auto_opt, "task": bare_task, "handler": "bare_app.lambda_handler",
                "next_wrapper": "/opt/otel-auto-instrument",
            },
            "expect_traces": True,
        },
    }  # fmt: skip
    out: dict[str, Any] = {}
    for name in variants:
        # One new execution environment: its first invocation is the cold sample, the rest warm.
        result = run(
            service, [event], runner="sandbox", count=warm + 1, trace_wait_s=10.0, **setups[name]
        )
        assert result.invocations[0].status == 200, result.invocations[0]
        entry: dict[str, Any] = {
            "cold_start_ms": [result.cold_start_ms],
            "init_duration_ms": [d for d in [init_duration_ms(result.log_path)] if d is not None],
            "warm_ms": result.latencies("healthy"),
            "status_codes": sorted({json.loads(i.body)["statusCode"] for i in result.invocations}),
        }
        if name != "bare":
            entry["collector_peak_kib"] = [result.collector_peak_kb or 0]
            entry["traces"] = [len(result.traces), len(result.invocations)]
        out[name] = entry
    return out


def merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    """Add one environment's samples to a variant's."""
    for key, values in part.items():
        if key == "status_codes":
            into[key] = sorted(set(into.get(key, [])) | set(values))
        elif key == "traces":
            found, sent = into.get(key, [0, 0])
            into[key] = [found + values[0], sent + values[1]]
        else:
            into.setdefault(key, []).extend(values)


def summarize(samples: dict[str, Any], name: str) -> dict[str, Any]:
    warm = samples["warm_ms"]
    entry: dict[str, Any] = {
        "cold_start_ms": summary(samples["cold_start_ms"]),
        "init_duration_ms": summary(samples["init_duration_ms"]),
        "warm_ms": {
            "p50": round(percentile(warm, 50), 3),
            "p99": round(percentile(warm, 99), 3),
            "mean": round(statistics.fmean(warm), 3),
            "invocations": len(warm),
        },
        "status_codes": samples["status_codes"],
    }
    if name != "bare":
        entry["collector_peak_rss_mib"] = round(max(samples["collector_peak_kib"]) / 1024, 1)
        entry["traces_read_back"] = "{}/{}".format(*samples["traces"])
    return entry


# -------------------------------------------------------------------------------- driver


def render_projects(repo: Path, dest_root: Path) -> dict[str, Path]:
    from render import render

    projects = {}
    for exporter in EXPORTERS:
        dest = dest_root / exporter / "svc"
        answers = {
            "project_name": "Order Service",
            "project_slug": "order-service",
            "trace_exporter": exporter,
            "python_version": PYTHON_VERSION,
            "architecture": "x86_64",
            # Plain JSON events, the same handler as before the trigger question (an older
            # template, for --base, ignores the answer).
            "trigger": "none",
        }
        with contextlib.redirect_stdout(io.StringIO()):
            render(repo, dest, answers, skip_tasks=False)  # the hook builds build/layer.zip
        if not (dest / "build" / "layer.zip").is_file():
            raise SystemExit(f"the layer was not built in {dest}")
        projects[exporter] = dest
    return projects


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold-repeat", type=int, default=5)
    parser.add_argument("--warm", type=int, default=1000)
    parser.add_argument(
        "--base",
        help="also run the instrumented function of this commit (e.g. main), alternating with "
        "the working tree's, as base_instrumented_<exporter>",
    )
    args = parser.parse_args()
    from image_harness import check_tool

    check_tool()

    if platform.machine() not in ("x86_64", "AMD64"):
        raise SystemExit("this benchmark renders x86_64 services; run it on an x86_64 machine")
    started = time.perf_counter()
    from localrun_checks import LOCALRUN_TOOLS

    os.environ.setdefault("LOCALRUN_TOOLS_DIR", str(LOCALRUN_TOOLS))
    samples: dict[tuple[str, str, str], dict[str, Any]] = {}
    chunk = -(-args.warm // args.cold_repeat)  # warm invocations per environment
    with tempfile.TemporaryDirectory() as tmp:
        from revisions import resolve_base, template_at

        sides = {
            "new": render_projects(template_at(None, Path(tmp) / "template"), Path(tmp) / "new")
        }
        if args.base:
            base_repo = template_at(resolve_base(args.base), Path(tmp) / "template-base")
            sides["base"] = render_projects(base_repo, Path(tmp) / "base")
        plan = [("new", "awsxray", "bare"), ("new", "awsxray", "instrumented"),
                ("new", "awsxray", "auto_instrument_baseline"),
                ("new", "xray-otlp", "instrumented")]  # fmt: skip
        if args.base:
            plan += [("base", e, "instrumented") for e in EXPORTERS]
        # Round-robin, one new environment per variant per round, the order rotated from round
        # to round: load on the (shared) machine drifts over minutes, and running one variant's
        # repeats back to back turned that drift into differences between variants.
        for rnd in range(args.cold_repeat):
            shift = rnd % len(plan)
            for side, exporter, variant in plan[shift:] + plan[:shift]:
                data = worker(sides[side][exporter], chunk, [variant])[variant]
                merge(samples.setdefault((side, exporter, variant), {}), data)
            print(f"[bench] round {rnd + 1}/{args.cold_repeat} done", file=sys.stderr)
    results: dict[str, dict[str, Any]] = {}
    base_results: dict[str, dict[str, Any]] = {}
    for (side, exporter, variant), data in samples.items():
        target = results if side == "new" else base_results
        target.setdefault(exporter, {})[variant] = summarize(data, variant)

    bare = results["awsxray"]["bare"]
    baseline = results["awsxray"]["auto_instrument_baseline"]
    variants = {
        "bare": bare,
        **{f"instrumented_{e}": results[e]["instrumented"] for e in EXPORTERS},
        "auto_instrument_baseline": baseline,
        **{f"base_instrumented_{e}": base_results[e]["instrumented"] for e in base_results},
    }

    def minus(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
        return {
            "cold_start_ms": round(a["cold_start_ms"]["median"] - b["cold_start_ms"]["median"], 1),
            "init_duration_ms": round(
                a["init_duration_ms"]["median"] - b["init_duration_ms"]["median"], 1
            ),
            "warm_p50_ms": round(a["warm_ms"]["p50"] - b["warm_ms"]["p50"], 3),
            "warm_p99_ms": round(a["warm_ms"]["p99"] - b["warm_ms"]["p99"], 3),
        }

    payload = {
        "command": "PYTHONPATH=tool/src .venv/bin/python bench/cold_start.py "
        f"--cold-repeat {args.cold_repeat} "
        f"--warm {args.warm}" + (f" --base {args.base}" if args.base else ""),
        "machine": machine(),
        "function": f"order-service, Python {PYTHON_VERSION}, x86_64, 512 MB (not enforced)",
        "method": (
            "Runtime Interface Emulator (built from its Go module) in a bubblewrap sandbox, "
            "layer in /opt, moto for STS and X-Ray on 127.0.0.1, via the tool's sandbox runner. "
            "No CPU or memory limit is applied (Lambda scales CPU with memory), so compare the "
            "variants with each other, not with Lambda's own numbers. Variants alternate: "
            "one new environment per variant per round, order rotated."
        ),
        "definitions": {
            "cold_start_ms": "RIE process start to the first response (new environment)",
            "init_duration_ms": "RIE's INIT REPORT: extensions + runtime init phase",
            "warm_ms": "client-measured invoke latency of the invocations after the first",
            "collector_peak_rss_mib": "VmHWM of /opt/extensions/collector after the warm run",
        },
        "baseline": BASELINE_NOTE,
        "variants": variants,
        "instrumented_minus_bare": {e: minus(results[e]["instrumented"], bare) for e in EXPORTERS},
        **(
            {
                "base_instrumented_minus_bare": {
                    e: minus(base_results[e]["instrumented"], bare) for e in base_results
                },
                "base": resolve_base(args.base)[:12],
            }
            if args.base
            else {}
        ),
        "auto_instrument_baseline_minus_instrumented": minus(
            baseline, results["awsxray"]["instrumented"]
        ),
        "collector_peak_rss_mib": {
            e: results[e]["instrumented"]["collector_peak_rss_mib"] for e in EXPORTERS
        },
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_results("cold_start", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
