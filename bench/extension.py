"""The collector as a Lambda extension: start time, memory and size, base commit beside this one.

    .venv/bin/python bench/extension.py [--runs 30] [--base REV] [--posts 1000]

Method
------
Builds, for every component set the template renders (trace_exporter awsxray and xray-otlp), the
collector extension twice: from the working tree ("new") and from a base commit ("base"; default:
where this branch left main, or HEAD^ on main itself). Each side is rendered with tests/render.py
from its own template sources (the base from `git archive REV`) and built by that side's own
layer build (bench/revisions.py: this checkout's tool, or the base revision's own; nice -n 10),
so build-flag changes count too; the binary and config.yaml are taken out of its
build/layer.zip.

Every trial starts one binary as Lambda would (no arguments, file name `collector`, the
environment of a function) against in-process stand-ins on 127.0.0.1 (bench/extension_standins.py):
the Lambda Extensions API (AWS_LAMBDA_RUNTIME_API points at it) and an export sink standing in
for X-Ray (PutTraceSegments for awsxray, OTLP/HTTP for xray-otlp, via OTEL_XRAY_ENDPOINT /
OTEL_XRAY_OTLP_ENDPOINT), with placeholder AWS credentials and EC2 metadata disabled, so nothing
leaves the machine. The config is the rendered config.yaml with one change: the OTLP receiver's
ports are free ports picked per trial instead of 4317/4318, and so is the flush handshake's
(OTEL_LAMBDA_HANDSHAKE_ENDPOINT, default 4319; a base without the handshake ignores it), so
trials never collide with a local run holding those ports. No runtime registers for the
handshake here, so INVOKE never waits: the trials measure start, memory and size.

Measured per trial, on the benchmark's clock (time.perf_counter):
- register_ms: exec -> the extension's POST /extension/register arrives;
- next_ms: exec -> its first GET /extension/event/next (it tells Lambda its init is done);
- ready_ms: exec -> the first OTLP/HTTP POST /v1/traces answered 200 (a connect is retried
  every 0.5 ms until the receiver listens);
- ready_cpu_ms: CPU time the extension used (all threads, /proc/PID/task/*/schedstat) up to
  that first 200: what its start costs where CPU is scarce (Lambda gives a 128 MB function
  about 1/14 of a vCPU), and less disturbed than wall time by other load on this machine;
- peak_rss_100_mb / peak_rss_1000_mb: VmHWM from /proc/PID/status after 100 and after --posts
  requests (MB = 10^6 bytes), each request one 3-span trace like the template's handler sends
  (bench/otlp_payload.py), back to back on one keep-alive connection as the SDK's exporter does;
- then SHUTDOWN (deadline 2 s): the extension must exit 0 and the sink must have received every
  span sent, or the benchmark fails.
Sizes: the binary, and binary + config.yaml zipped at level 9 like build/layer.zip.

The trials alternate: each of --runs rounds runs every (component set, side) once, the order
rotated from round to round, so machine noise (2 shared cores) hits every binary alike. Results:
median, p90, min, max and interquartile range per metric, and new/base ratios of the medians.
Writes bench/results/extension.json.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from extension_standins import ExportSink, ExtensionsAPI  # noqa: E402
from otlp_payload import SPANS_PER_TRACE, trace_request  # noqa: E402
from render import render  # noqa: E402
from results_file import machine, write_results  # noqa: E402
from revisions import layer_command, resolve_base, template_at  # noqa: E402
from template_repo import git  # noqa: E402

SETS = ("awsxray", "xray-otlp")
SIDES = ("base", "new")
# Issue 18 item 4 (Rotel's figures, awsxray): ready <= 12 ms, peak RSS after 1,000 posts
# <= 20 MB, binary <= 18 MB and zipped <= 6.5 MB.
GOALS = {
    "ready_ms.median": 12.0,
    "peak_rss_1000_mb.median": 20.0,
    "binary_bytes": 18_000_000,
    "zipped_bytes": 6_500_000,
}
CACHE = ROOT / ".cache" / "bench-extension"
MEMORY_SIZE_MB = "512"  # the template's default memory_size
READY_TIMEOUT_S = 10.0
EXIT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Built:
    component_set: str
    side: str
    project: Path
    binary: Path
    config: Path
    binary_bytes: int
    zipped_bytes: int

    @property
    def label(self) -> str:
        return f"{self.component_set} {self.side}"


# ------------------------------------------------------------------------------ building


def level9_zip_bytes(files: dict[str, Path]) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, path in files.items():
            zf.write(path, name)
    return len(buffer.getvalue())


def build(template: Path, component_set: str, side: str, work: Path, **answers_extra: str) -> Built:
    """Render the service and build its layer with that side's tool (its collector module)."""
    project = work / f"{component_set}-{side}" / "svc"
    answers = {"project_name": "Order Service", "project_slug": "order-service",
               "trace_exporter": component_set, "architecture": "x86_64",
               **answers_extra}  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        render(template, project, answers)
    out = project / "build"
    started = time.perf_counter()
    command, env = layer_command(project, current=side == "new")
    result = subprocess.run(
        ["nice", "-n", "10", *command, "--out", str(out), "--cache", str(CACHE / "layer-cache")],
        cwd=project, env=env, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"layer build of {component_set} ({side}) failed:\n{result.stderr}")
    print(f"[bench] built {component_set} {side} in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)  # fmt: skip
    where = work / "bin" / f"{component_set}-{side}"
    with zipfile.ZipFile(out / "layer.zip") as zf:
        binary = Path(zf.extract("extensions/collector", where))
        config = Path(zf.extract("collector-config/config.yaml", where))
    binary.chmod(0o755)
    zipped = level9_zip_bytes(
        {"extensions/collector": binary, "collector-config/config.yaml": config}
    )
    return Built(component_set, side, project, binary, config, binary.stat().st_size, zipped)


# ------------------------------------------------------------------------------ one trial


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def trial_config(built: Built, dest: Path) -> int:
    """The rendered config with the OTLP receiver on free ports; returns the HTTP port."""
    config = yaml.safe_load(built.config.read_text())
    protocols = config["receivers"]["otlp"]["protocols"]
    http_port = free_port()
    for name, settings in protocols.items():
        port = http_port if name == "http" else free_port()
        (settings or {})["endpoint"] = f"localhost:{port}"
    dest.write_text(yaml.safe_dump(config, sort_keys=False))
    return http_port


def extension_env(api: ExtensionsAPI, sink: ExportSink, config: Path, home: Path) -> dict[str, str]:
    return {
        "OTEL_LAMBDA_HANDSHAKE_ENDPOINT": f"127.0.0.1:{free_port()}",
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}",
        "OPENTELEMETRY_COLLECTOR_CONFIG_URI": str(config),
        "AWS_LAMBDA_FUNCTION_NAME": "order-service",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": MEMORY_SIZE_MB,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        "OTEL_XRAY_ENDPOINT": sink.url,
        "OTEL_XRAY_OTLP_ENDPOINT": f"{sink.url}/v1/traces",
    }


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no VmHWM for pid {pid}")


def cpu_ms(pid: int) -> float:
    """CPU time the process has used so far, all threads (schedstat: ns on a CPU)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(FileNotFoundError):
            total += int(stat.read_text().split()[0])
    return total / 1e6


def post(conn: http.client.HTTPConnection) -> int:
    conn.request("POST", "/v1/traces", trace_request(), {"Content-Type": "application/x-protobuf"})
    response = conn.getresponse()
    response.read()
    return response.status


def first_post(port: int, started: float, proc: subprocess.Popen[bytes]) -> tuple[float, Any]:
    """Retry until the receiver answers 200; returns (ms since exec, the open connection)."""
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            if post(conn) == 200:
                return (time.perf_counter() - started) * 1000, conn
        except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
            pass
        conn.close()
        if proc.poll() is not None:
            raise RuntimeError(f"the extension exited with {proc.returncode} before it was ready")
        if time.perf_counter() - started > READY_TIMEOUT_S:
            raise RuntimeError(f"no OTLP 200 on port {port} within {READY_TIMEOUT_S} s")
        time.sleep(0.0005)


def trial(built: Built, api: ExtensionsAPI, sink: ExportSink, posts: int, work: Path) -> dict:
    api.reset()
    sink.reset()
    config = work / "trial-config.yaml"
    port = trial_config(built, config)
    log = work / "trial.log"
    env = extension_env(api, sink, config, work)
    with log.open("wb") as log_file:
        started = time.perf_counter()
        proc = subprocess.Popen([str(built.binary)], env=env, stdout=log_file, stderr=log_file)
        try:
            ready_ms, conn = first_post(port, started, proc)
            ready_cpu_ms = cpu_ms(proc.pid)
            rss: dict[int, float] = {}
            for n in range(2, posts + 1):
                if post(conn) != 200:
                    raise RuntimeError(f"OTLP post {n} was refused")
                if n in (100, posts):
                    rss[n] = vm_hwm_mb(proc.pid)
            conn.close()
            api.send_shutdown()
            code = proc.wait(timeout=EXIT_TIMEOUT_S)
        except BaseException as error:
            proc.kill()
            proc.wait()
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{built.label}: {error}\nextension log:\n{tail}") from error
    problems = []
    if code != 0:
        problems.append(f"exit code {code}")
    if api.registered_at is None or api.first_next_at is None:
        problems.append("never registered / never called event/next")
    if api.errors:
        problems.append(f"reported errors {api.errors}")
    if sink.spans < posts * SPANS_PER_TRACE:
        problems.append(f"exported {sink.spans} of {posts * SPANS_PER_TRACE} spans")
    if problems:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{built.label}: {'; '.join(problems)}\nextension log:\n{tail}")
    assert api.registered_at is not None and api.first_next_at is not None
    return {
        "register_ms": (api.registered_at - started) * 1000,
        "next_ms": (api.first_next_at - started) * 1000,
        "ready_ms": ready_ms,
        "ready_cpu_ms": ready_cpu_ms,
        "peak_rss_100_mb": rss[100],
        f"peak_rss_{posts}_mb": rss[posts],
    }


# ------------------------------------------------------------------------------ summary


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    return {
        "median": round(statistics.median(ordered), 2),
        "p90": round(pct(90), 2),
        "min": round(ordered[0], 2),
        "max": round(ordered[-1], 2),
        "iqr": round(pct(75) - pct(25), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--posts", type=int, default=1000, help="at least 100")
    parser.add_argument("--base", help="base commit (default: the fork point from main)")
    parser.add_argument("--sets", default=",".join(SETS), help="component sets to run")
    args = parser.parse_args()
    if args.posts < 100:
        parser.error("--posts must be at least 100 (RSS is read after 100 posts)")
    sets = [s for s in args.sets.split(",") if s]
    base = resolve_base(args.base)
    started = time.perf_counter()
    CACHE.mkdir(parents=True, exist_ok=True)
    samples: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-extension-") as tmp_name:
        tmp = Path(tmp_name)
        templates = {"base": template_at(base, tmp / "template-base"),
                     "new": template_at(None, tmp / "template-new")}  # fmt: skip
        builds = [build(templates[side], s, side, tmp) for s in sets for side in SIDES]
        trial_dir = tmp / "trial"
        trial_dir.mkdir()
        with ExtensionsAPI() as api, ExportSink() as sink:
            for built in builds:  # one untimed start each: page cache warm for every binary
                trial(built, api, sink, 100, trial_dir)
            for run in range(args.runs):
                shift = run % len(builds)
                for built in builds[shift:] + builds[:shift]:
                    sample = trial(built, api, sink, args.posts, trial_dir)
                    samples.setdefault(built.label, []).append(sample)
                print(f"[bench] round {run + 1}/{args.runs} done", file=sys.stderr)
        shutil.rmtree(trial_dir, ignore_errors=True)

    results: dict[str, dict[str, Any]] = {}
    for built in builds:
        runs = samples[built.label]
        row: dict[str, Any] = {m: stats([r[m] for r in runs]) for m in runs[0]}
        row["binary_bytes"] = built.binary_bytes
        row["zipped_bytes"] = built.zipped_bytes
        results[built.label] = row
    ratios: dict[str, dict[str, float]] = {}
    for s in sets:
        new, old = results[f"{s} new"], results[f"{s} base"]
        # "<metric>_ratio": new median / base median (sizes: new / base).
        ratios[s] = {
            **{
                f"{m}_ratio": round(new[m]["median"] / old[m]["median"], 3)
                for m in samples[f"{s} new"][0]
            },
            "binary_bytes_ratio": round(new["binary_bytes"] / old["binary_bytes"], 3),
            "zipped_bytes_ratio": round(new["zipped_bytes"] / old["zipped_bytes"], 3),
        }
    head = git(ROOT, "rev-parse", "--short", "HEAD").strip()
    sources = ("template", "bench", ":!bench/results")
    dirty = bool(git(ROOT, "status", "--porcelain", "--", *sources).strip())
    payload = {
        "command": "PYTHONPATH=tool/src .venv/bin/python bench/extension.py "
        f"--runs {args.runs} --posts {args.posts}" + (f" --base {args.base}" if args.base else ""),
        "machine": machine(),
        "base": f"{base[:12]} (base side)",
        "new": f"working tree at {head}{' with uncommitted changes' if dirty else ''} (new side)",
        "method": (
            "Each binary started as Lambda starts an extension, against an in-process Extensions "
            "API stand-in and an export sink on 127.0.0.1 (placeholder credentials, EC2 metadata "
            "off); the rendered config.yaml with the OTLP receiver moved to free ports. "
            f"{args.runs} alternating rounds; in each, every binary once, order rotated. Timings "
            "from exec; RSS is VmHWM; each post is one 3-span trace. See bench/extension.py."
        ),
        "function_memory_mb": int(MEMORY_SIZE_MB),
        "goals": GOALS,
        "results": results,
        "new_over_base": ratios,
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_results("extension", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
