"""The function side of the overhead: init and warm invocations, bare vs instrumented, base vs new.

    .venv/bin/python bench/python_overhead.py [--rounds 20] [--invocations 200] [--base REV]

Method
------
The end-to-end figures (bench/cold_start.py) add RIE, the Runtime API and the extension to the
function's own work, and vary with the machine's load by more than the changes they are meant to
show. This benchmark isolates what the OpenTelemetry set-up costs the Python process, the base
commit beside the working tree, all in one alternating run:

- each side ("base": `git archive REV`, default the fork point from main; "new": the working
  tree) is rendered (trace_exporter awsxray, Python of this interpreter, x86_64) and its layer
  built by its own layer build (bench/extension.py's `build`); the layer's python/ directory is
  what /opt/python holds in Lambda, and the function's environment is what that side's
  layer/otel-instrument exports (run as `otel-instrument env`), with PYTHONPATH pointing at the
  unpacked layer instead of /opt/python;
- the runtime's Python is a venv with the tool's stand-in runtime packages (awslambdaric, boto3
  at the versions the Lambda base image carries), byte-compiled as the real image is;
- every sample is a new process (bench/handler_worker.py): boto3 imported first (every handler,
  bare or not, loads it), then the handler module imported under the clock, which for the
  instrumented service runs `telemetry.configure()`: that is `init_ms` (wall) and `init_cpu_ms`
  (process CPU time, less disturbed by other load), followed by --invocations calls of
  lambda_handler: the first is `first_invocation_ms` (a cold start is init plus that call),
  the others make the warm figures;
- the bare handler is bench/cold_start.py's: the same event check, STS call and reply, no
  OpenTelemetry;
- each side's own collector extension runs as in Lambda (against bench/extension_standins.py's
  Extensions API, exporting to its sink), and the instrumented function sends its spans to it;
  STS is a stand-in on 127.0.0.1 (AWS_ENDPOINT_URL_STS), so a call costs the same everywhere;
- --rounds rounds, each running bare, base and new once, in rotated order.

Writes bench/results/python_overhead.json: per variant median/p90 of init, p50/p90/p99 of the
warm latency, and each instrumented side minus bare.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from cold_start import BARE_APP, PYTHON_VERSION  # noqa: E402
from extension import Built, build, extension_env, trial_config  # noqa: E402
from extension_standins import ExportSink, ExtensionsAPI, STSStandIn  # noqa: E402
from results_file import machine, write_results  # noqa: E402
from revisions import resolve_base, template_at  # noqa: E402
from toolenv import tool_venv, venv_bin  # noqa: E402

WORKER = Path(__file__).resolve().parent / "handler_worker.py"
SIDES = ("base", "new")
# The targets, applied to the function's share: a cold start is init plus the first
# invocation (the extension starts beside it, bench/extension.py).
GOALS = {"cold_overhead_ms": 60.0, "warm_p50_overhead_ms": 1.0, "warm_p99_overhead_ms": 3.0}


def runtime_python() -> Path:
    """A venv with the packages the tool's sandbox runner gives its stand-in of the Lambda
    runtime (awslambdaric, boto3 at the base image's versions)."""
    from lambda_otel_xray.local.runtime_layout import RUNTIME_REQUIREMENTS

    return venv_bin(tool_venv("handler-runtime", list(RUNTIME_REQUIREMENTS)), "python")


def function_env(built: Built, layer: Path, otlp_port: int, sts: STSStandIn, home: Path):
    base = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_FUNCTION_NAME": "order-service",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/01/[$LATEST]0123456789abcdef",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_STS": sts.url,
        "_HANDLER": "app.lambda_handler",
        "LAMBDA_TASK_ROOT": str(built.project),
    }
    # The side's own exec wrapper, from its layer.zip (next to python/).
    wrapper = layer.parent / "otel-instrument"
    out = subprocess.run(
        ["sh", str(wrapper), "env"], env=base, capture_output=True, text=True, check=True
    ).stdout
    env = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    # The runtime puts the task root (the function's code) on sys.path after the layer.
    env["PYTHONPATH"] = env["PYTHONPATH"].replace("/opt/python", str(layer)) + f":{built.project}"
    env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = f"http://localhost:{otlp_port}/v1/traces"
    return env


@contextlib.contextmanager
def running_collector(
    built: Built, api: ExtensionsAPI, sink: ExportSink, work: Path
) -> Iterator[int]:
    """The side's collector extension, running as in Lambda; yields its OTLP/HTTP port."""
    config = work / f"collector-{built.side}.yaml"
    port = trial_config(built, config)
    log_path = work / f"collector-{built.side}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(built.binary)], env=extension_env(api, sink, config, work), stdout=log, stderr=log
        )
    try:
        deadline = time.monotonic() + 10
        while api.first_next_at is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"the {built.side} collector did not start:\n{log_path.read_text()}"
                )
            time.sleep(0.01)
        yield port
    finally:
        api.send_shutdown()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sample(python: Path, module: str, cwd: Path, env: dict[str, str], n: int) -> dict[str, Any]:
    result = subprocess.run(
        [str(python), str(WORKER), module, str(n)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"{module} in {cwd} failed:\n{result.stderr[-3000:]}")
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    init = [r["init_ms"] for r in runs]
    cpu = [r["init_cpu_ms"] for r in runs]
    first = [r["latency_ms"][0] for r in runs]
    warm = [x for r in runs for x in r["latency_ms"][1:]]
    return {
        "init_ms": {"median": round(statistics.median(init), 2), "p90": round(pct(init, 90), 2)},
        "first_invocation_ms": {
            "median": round(statistics.median(first), 2),
            "p90": round(pct(first, 90), 2),
        },
        "init_cpu_ms": {"median": round(statistics.median(cpu), 2), "p90": round(pct(cpu, 90), 2)},
        "warm_ms": {
            "p50": round(pct(warm, 50), 3),
            "p90": round(pct(warm, 90), 3),
            "p99": round(pct(warm, 99), 3),
            "invocations": len(warm),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--invocations", type=int, default=200)
    parser.add_argument("--base", help="base commit (default: the fork point from main)")
    args = parser.parse_args()
    from image_harness import check_tool

    check_tool()
    base = resolve_base(args.base)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-python-") as tmp_name:
        tmp = Path(tmp_name)
        templates = {"base": template_at(base, tmp / "template-base"),
                     "new": template_at(None, tmp / "template-new")}  # fmt: skip
        builds = {
            # Plain JSON events: the workload is the handler before the trigger question (an
            # older template, for --base, ignores the answer).
            side: build(
                templates[side], "awsxray", side, tmp, python_version=PYTHON_VERSION, trigger="none"
            )
            for side in SIDES
        }
        layers = {}
        for side, built in builds.items():
            layers[side] = tmp / f"opt-{side}"
            with zipfile.ZipFile(built.project / "build" / "layer.zip") as zf:
                zf.extractall(layers[side])
        python = runtime_python()
        bare_task = tmp / "task-bare"
        bare_task.mkdir()
        (bare_task / "bare_app.py").write_text(BARE_APP)
        samples: dict[str, list[dict[str, Any]]] = {"bare": [], "base": [], "new": []}
        with contextlib.ExitStack() as stack:
            sts = stack.enter_context(STSStandIn())
            stand_ins = {
                side: (stack.enter_context(ExtensionsAPI()), stack.enter_context(ExportSink()))
                for side in SIDES
            }
            envs = {}
            for side, built in builds.items():
                api, sink = stand_ins[side]
                port = stack.enter_context(running_collector(built, api, sink, tmp))
                envs[side] = function_env(built, layers[side] / "python", port, sts, tmp)
            bare_env = {k: v for k, v in envs["new"].items() if not k.startswith("OTEL_")}
            bare_env["PYTHONPATH"] = str(bare_task)
            plan = [
                ("bare", "bare_app", bare_task, bare_env),
                ("base", "app", builds["base"].project, envs["base"]),
                ("new", "app", builds["new"].project, envs["new"]),
            ]
            for rnd in range(args.rounds):
                shift = rnd % len(plan)
                for name, module, cwd, env in plan[shift:] + plan[:shift]:
                    samples[name].append(sample(python, module, cwd, env, args.invocations))
                print(f"[bench] round {rnd + 1}/{args.rounds} done", file=sys.stderr)
        exported = {side: sink.spans for side, (_, sink) in stand_ins.items()}
    expected = args.rounds * (args.invocations * 3)
    for side, spans in exported.items():
        if spans < expected:
            raise SystemExit(f"{side}: the collector exported {spans} of {expected} spans")

    variants = {name: summary(runs) for name, runs in samples.items()}
    bare = variants["bare"]

    def minus_bare(v: dict[str, Any]) -> dict[str, float]:
        init = v["init_ms"]["median"] - bare["init_ms"]["median"]
        first = v["first_invocation_ms"]["median"] - bare["first_invocation_ms"]["median"]
        return {
            "cold_overhead_ms": round(init + first, 1),
            "init_overhead_ms": round(init, 1),
            "init_cpu_overhead_ms": round(
                v["init_cpu_ms"]["median"] - bare["init_cpu_ms"]["median"], 1
            ),
            "first_invocation_overhead_ms": round(first, 1),
            "warm_p50_overhead_ms": round(v["warm_ms"]["p50"] - bare["warm_ms"]["p50"], 3),
            "warm_p99_overhead_ms": round(v["warm_ms"]["p99"] - bare["warm_ms"]["p99"], 3),
        }

    payload = {
        "command": "PYTHONPATH=tool/src .venv/bin/python bench/python_overhead.py "
        f"--rounds {args.rounds} "
        f"--invocations {args.invocations}" + (f" --base {args.base}" if args.base else ""),
        "machine": machine(),
        "base": f"{base[:12]} (base side)",
        "method": (
            "Each sample a new Python process: boto3 imported, then the handler module timed "
            "(init: for the instrumented service, telemetry.configure()), then warm invocations "
            "of lambda_handler; the layer and environment of each side's own build and "
            "otel-instrument; spans sent to each side's own collector extension; STS a local "
            f"stand-in. {args.rounds} rounds of bare/base/new in rotated order. See "
            "bench/python_overhead.py."
        ),
        "goals": GOALS,
        "results": variants,
        "instrumented_minus_bare": {s: minus_bare(variants[s]) for s in SIDES},
        "spans_exported": exported,
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_results("python_overhead", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
