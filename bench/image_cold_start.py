"""Cold start and warm latency of the container image, bare vs instrumented, side by side.

    .venv/bin/python bench/image_cold_start.py [--cold-repeat 10] [--warm 300] [--cpus A,B]

Renders one service per exporter (the default answers: Python 3.13, x86_64; the layer built by
the post-copy hook), builds each image with the service's own `make image`, plus a bare image:
the same base, the same work (the event, STS GetCallerIdentity, the log lines, the reply)
without OpenTelemetry, no layer, no exec wrapper (bench/cold_start.py's bare handler). All
three share one base image, the stand-in of `public.ecr.aws/lambda/python:3.13` the image tests
build (tests/lambda_base.py), since the real one cannot be pulled here.

Each variant runs through the service's own Docker runner (`localrun`, as `make local` does):
a new container per cold start, in a private network namespace with the local X-Ray and STS.
Repetitions alternate the variants (bare, awsxray, xray-otlp, bare, ...) so load on this noisy
machine spreads over all of them. `--cpus` adds rows with the function's container limited to
that many CPUs (`docker run --cpus`): Lambda gives 128 MB about 1/14 of a vCPU (0.072) and
512 MB about 0.29 (CPU scales with memory; 1,769 MB = one vCPU).

- cold start: `docker run` of the function's container to its first response (includes
  Docker's container start, the same for every variant);
- init: RIE's INIT REPORT (extensions and runtime init, as Lambda bills it);
- warm: the invocations after the first, back to back, measured in the namespace.

Overheads are given two ways: the difference of the medians, and the median of the paired
differences (each repetition's instrumented run minus the bare run beside it), which drift in
the machine's load over the run does not bias.

Writes bench/results/image_cold_start.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from cold_start import BARE_APP, init_duration_ms, percentile  # noqa: E402  (the same bare handler)
from results_file import machine, write_results  # noqa: E402

EXPORTERS = ("awsxray", "xray-otlp")
PYTHON = "3.13"
ARCHITECTURE = "x86_64"
# Lambda's CPU share: one vCPU at 1,769 MB, proportional below.
LAMBDA_MB_PER_VCPU = 1769

BARE_DOCKERFILE = f"""FROM public.ecr.aws/lambda/python:{PYTHON}
COPY bare_app.py ${{LAMBDA_TASK_ROOT}}/
CMD ["bare_app.lambda_handler"]
"""


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 1),
        "p90": round(percentile(values, 90), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "runs": [round(v, 1) for v in values],
    }


# --------------------------------------------------------------------------------- runs


def invoke(
    project: Path,
    python: Path,
    image: str,
    report: Path,
    count: int,
    cpus: float | None,
    bare: bool,
) -> dict[str, Any]:
    """One run of the service's own `python -m localrun invoke --runner docker` (make local)."""
    from localrun_checks import LOCALRUN_TOOLS

    cmd = [str(python), "-m", "localrun", "invoke", "--runner", "docker", "--image", image]
    cmd += ["--event", "events/sample.json", "--count", str(count), "--report", str(report)]
    cmd += ["--trace-wait", "10"]
    if cpus:
        cmd += ["--cpus", f"{cpus:g}"]
    if bare:
        cmd += ["--expect-no-traces"]
    proc = subprocess.run(
        cmd,
        cwd=project,
        capture_output=True,
        text=True,
        timeout=3600,
        env={**os.environ, "LOCALRUN_TOOLS_DIR": str(LOCALRUN_TOOLS)},
    )
    if proc.returncode != 0:
        raise SystemExit(f"{image}: localrun failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    data = json.loads(report.read_text())
    statuses = {json.loads(i["body"])["statusCode"] for i in data["invocations"]}
    if statuses != {200}:
        raise SystemExit(f"{image}: the function answered {statuses}")
    return data


def measure(
    projects: dict[str, Path],
    python: Path,
    images: dict[str, str],
    cold: int,
    warm: int,
    cpus: float | None,
    tmp: Path,
) -> dict[str, Any]:
    """``cold`` new containers per variant, alternating, then one warm run per variant."""
    colds: dict[str, list[float]] = {v: [] for v in images}
    # None when RIE printed no INIT REPORT; kept, so repetition i stays at index i.
    inits: dict[str, list[float | None]] = {v: [] for v in images}
    for repetition in range(cold):
        for variant, image in images.items():
            report = tmp / f"{variant}-{cpus}-{repetition}.json"
            data = invoke(projects[variant], python, image, report, 1, cpus, variant == "bare")
            colds[variant].append(data["cold_start_ms"])
            init = init_duration_ms(data["log"])
            inits[variant].append(init)
            print(
                f"[bench] cpus={cpus} {variant} #{repetition + 1}: cold "
                f"{data['cold_start_ms']:.0f} ms, init {init} ms",
                file=sys.stderr,
                flush=True,
            )
    out: dict[str, Any] = {}
    for variant, image in images.items():
        reported = [v for v in inits[variant] if v is not None]
        report = tmp / f"{variant}-{cpus}-warm.json"
        data = invoke(projects[variant], python, image, report, warm + 1, cpus, variant == "bare")
        latencies = [i["latency_ms"] for i in data["invocations"][1:]]
        out[variant] = {
            "cold_start_ms": summary(colds[variant]),
            "init_duration_ms": summary(reported) if reported else None,
            "warm_ms": {
                "p50": round(percentile(latencies, 50), 3),
                "p99": round(percentile(latencies, 99), 3),
                "mean": round(statistics.fmean(latencies), 3),
                "invocations": len(latencies),
            },
            "traces_read_back": f"{len(data['traces'])}/{len(data['invocations'])}",
            "collector_peak_rss_mib": round((data["collector"]["peak_rss_kb"] or 0) / 1024, 1),
        }
        if variant != "bare":
            out[variant]["paired_minus_bare_ms"] = {
                "cold_start": paired_median(colds[variant], colds["bare"]),
                "init_duration": paired_median(inits[variant], inits["bare"]),
            }
    return out


def paired_median(ours: Sequence[float | None], bare: Sequence[float | None]) -> float | None:
    """Median of (ours - bare) per repetition: the two ran back to back, so load that drifts
    over the run cancels out of each difference (None: RIE printed no INIT REPORT)."""
    deltas = [a - b for a, b in zip(ours, bare, strict=True) if a is not None and b is not None]
    return round(statistics.median(deltas), 1) if deltas else None


# -------------------------------------------------------------------------------- driver


def build_images(tmp: Path) -> tuple[dict[str, Path], dict[str, str], dict[str, int], Path]:
    from lambda_base import base_image
    from localrun_checks import dev_python
    from render import render
    from template_repo import snapshot

    repo = snapshot(tmp / "template")
    projects: dict[str, Path] = {}
    for exporter in EXPORTERS:
        dest = tmp / exporter / "svc"
        answers = {"trace_exporter": exporter, "python_version": PYTHON}
        with contextlib.redirect_stdout(io.StringIO()):
            render(repo, dest, answers, skip_tasks=False)  # the hook builds build/layer.zip
        projects[exporter] = dest
    python = dev_python(projects["awsxray"])
    images = {"bare": "bench-bare:latest", **{e: f"bench-{e}:latest" for e in EXPORTERS}}
    bare = tmp / "bare"
    bare.mkdir()
    (bare / "bare_app.py").write_text(BARE_APP)
    (bare / "Dockerfile").write_text(BARE_DOCKERFILE)
    with base_image(PYTHON, ARCHITECTURE):
        subprocess.run(["docker", "build", "-q", "-t", images["bare"], str(bare)], check=True)
        for exporter in EXPORTERS:
            venv = python.parent.parent
            (venv / ".installed").touch()
            name = images[exporter].split(":")[0]
            subprocess.run(
                ["make", "--no-print-directory", "image", f"VENV={venv}", f"IMAGE={name}"],
                cwd=projects[exporter],
                check=True,
                stdout=subprocess.DEVNULL,
            )
    sizes = {
        v: int(
            subprocess.run(
                ["docker", "image", "inspect", "--format", "{{.Size}}", image],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for v, image in images.items()
    }
    # The bare variant runs through the awsxray project's localrun (its image has no layer).
    return {"bare": projects["awsxray"], **projects}, images, sizes, python


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold-repeat", type=int, default=10)
    parser.add_argument("--warm", type=int, default=300)
    parser.add_argument(
        "--cpus",
        default=f"{128 / LAMBDA_MB_PER_VCPU:.4f},{512 / LAMBDA_MB_PER_VCPU:.4f}",
        help="comma-separated CPU limits for extra rows ('' for none)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    rows: dict[str, Any] = {}
    limits: list[float | None] = [None] + [float(c) for c in args.cpus.split(",") if c]
    with tempfile.TemporaryDirectory() as tmp:
        projects, images, sizes, python = build_images(Path(tmp))
        for cpus in limits:
            # Fewer warm invocations under a CPU limit: each takes ten times as long.
            warm = args.warm if cpus is None else max(30, args.warm // 10)
            label = "unlimited" if cpus is None else f"{cpus:g} CPUs"
            rows[label] = measure(projects, python, images, args.cold_repeat, warm, cpus, Path(tmp))
        subprocess.run(["docker", "image", "rm", *images.values()], capture_output=True)

    def overhead(row: dict[str, Any], variant: str) -> dict[str, float | None]:
        bare, ours = row["bare"], row[variant]

        def diff(key: str) -> float | None:
            if ours[key] is None or bare[key] is None:
                return None
            return round(ours[key]["median"] - bare[key]["median"], 1)

        return {
            "cold_start_ms": diff("cold_start_ms"),
            "cold_start_ms_paired": ours["paired_minus_bare_ms"]["cold_start"],
            "init_duration_ms": diff("init_duration_ms"),
            "init_duration_ms_paired": ours["paired_minus_bare_ms"]["init_duration"],
            "warm_p50_ms": round(ours["warm_ms"]["p50"] - bare["warm_ms"]["p50"], 3),
            "warm_p99_ms": round(ours["warm_ms"]["p99"] - bare["warm_ms"]["p99"], 3),
        }

    payload = {
        "command": f"python bench/image_cold_start.py --cold-repeat {args.cold_repeat} "
        f"--warm {args.warm} --cpus '{args.cpus}'",
        "machine": machine(),
        "function": f"my-traced-service, Python {PYTHON}, {ARCHITECTURE}, 512 MB (docker --memory)",
        "base_image": "stand-in of public.ecr.aws/lambda/python:3.13 (Debian trixie, "
        "tests/lambda_base.py)",
        "method": __doc__.split("\n\n", 2)[2].split("\n\nWrites")[0],
        "image_size_mb": {v: round(s / 1e6, 1) for v, s in sizes.items()},
        "rows": rows,
        "instrumented_minus_bare": {
            label: {e: overhead(row, e) for e in EXPORTERS} for label, row in rows.items()
        },
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    write_results("image_cold_start", payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
