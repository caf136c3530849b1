"""What the image benchmarks share: the images side by side, and runs of them as Lambda runs them.

Images (`build`):

- `new`: this checkout, rendered and built with the service's own `make image` (its `make venv`
  installs the tool from a snapshot commit of this checkout);
- `base`: the same at another revision (`--base`, default the previous commit), rendered from
  that revision (bench/revisions.py) and built with *its* service's own `make venv` and `make
  image`, whatever tooling the revision had (before the tool: its in-project layer build);
- `bare`: the same base image with the same work (the event, STS GetCallerIdentity, the log
  lines, the reply) and no OpenTelemetry: no layer, no extension, no exec wrapper.

All share one base image, the stand-in of `public.ecr.aws/lambda/python:3.13` the image tests
build (tests/lambda_base.py), since the real one cannot be pulled here.

Runs (`Bench`): the tool's Docker runner (`lambda_otel_xray.local`, what `make local` uses),
with bench/lambda_agent.py as the agent: one agent per exporter for the whole benchmark (its
local X-Ray and STS), and a new function container per cold start, in the agent's network
namespace. CPU model: a row gives the memory size; its invoke phase runs at the memory's share
of a vCPU (1 vCPU at 1,769 MB: `docker update --cpus` once init is done, which the agent's
gate holds the runtime at) and init unthrottled, as init is reported to run less throttled
than the invoke phase (field notes, "Checked 2026-12-03"); the `unthrottled` row never limits.
From RIE's log: init (INIT REPORT), each invocation's response (INVOKE RTDONE: the runtime
posted its result, when Lambda answers the caller) and billed duration (REPORT Duration: until
the runtime and every extension are back in /next; RIE answers its own caller only then).
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests"))

PYTHON = "3.13"
ARCHITECTURE = "x86_64"
EXPORTERS = ("awsxray", "xray-otlp")
LAMBDA_MB_PER_VCPU = 1769
# Memory rows (MB) and the row without any CPU limit.
UNTHROTTLED = "unthrottled"

# The bare function every benchmark compares with (bench/bare_app.py).
BARE_APP = (Path(__file__).resolve().parent / "bare_app.py").read_text(encoding="utf-8")

BARE_DOCKERFILE = f"""FROM public.ecr.aws/lambda/python:{PYTHON}
COPY bare_app.py ${{LAMBDA_TASK_ROOT}}/
CMD ["bare_app.lambda_handler"]
"""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def check_tool() -> None:
    """The benchmark must measure this checkout's tool, not another installed copy."""
    import lambda_otel_xray

    here = Path(lambda_otel_xray.__file__).resolve()
    if not here.is_relative_to(ROOT / "tool" / "src"):
        raise SystemExit(
            f"lambda_otel_xray is imported from {here}, not this checkout's tool/src: run with "
            f"PYTHONPATH={ROOT / 'tool' / 'src'} (or pip install -e {ROOT / 'tool'})"
        )


def cpu_pressure() -> str:
    """The machine's CPU pressure (`some` averages), reported with every measurement."""
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "unavailable"


def cpus_for(row: str | int) -> float | None:
    return None if row == UNTHROTTLED else round(int(row) / LAMBDA_MB_PER_VCPU, 4)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def summary(values: Sequence[float], digits: int = 1) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), digits),
        "p90": round(percentile(values, 90), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "runs": [round(v, digits) for v in values],
    }


def paired_median(ours: Sequence[float | None], bare: Sequence[float | None]) -> float | None:
    """Median of (ours - bare) per repetition: the two ran back to back, so load that drifts
    over the run cancels out of each difference."""
    deltas = [a - b for a, b in zip(ours, bare, strict=True) if a is not None and b is not None]
    return round(statistics.median(deltas), 1) if deltas else None


def git_rev(rev: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


# ------------------------------------------------------------------------------ images


@dataclass
class Variant:
    """One image and how to run it."""

    name: str
    kind: str  # bare | base | new
    image: str
    project: Path  # whose answers the runner reads (the bare image runs as the awsxray service)
    exporter: str  # the agent (local X-Ray) it runs against
    env: dict[str, str] = field(default_factory=dict)
    traced: bool = True
    size_mb: float = 0.0


def build_revision(rev: str, dest: Path, answers: dict[str, Any], image: str) -> Path:
    """Render the template at ``rev`` and build its image the way that revision's own service
    does (its `make venv`, then `make image`), which builds any revision, including those from
    before the tool existed (their Makefile ran the in-project `python -m layerbuild`)."""
    from localrun_checks import service_venv
    from render import render
    from revisions import template_at

    template = template_at(None if rev == "WORKTREE" else rev, dest / "template")
    project = dest / "svc"
    with contextlib.redirect_stdout(io.StringIO()):
        render(template, project, answers)
    venv = service_venv(project)
    name, _, tag = image.partition(":")
    proc = subprocess.run(
        ["nice", "-n", "10", "make", "--no-print-directory", "image", f"VENV={venv}",
         f"IMAGE={name}", f"TAG={tag or 'latest'}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=3600,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{rev}: make image failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return project


def image_size_mb(image: str) -> float:
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return round(int(out) / 1e6, 1)


def build(
    tmp: Path,
    *,
    base: str | None,
    exporters: Sequence[str] = EXPORTERS,
    answers: dict[str, Any] | None = None,
    bare: bool = True,
    prefix: str = "bench",
) -> dict[str, Variant]:
    """Images of this checkout (and of ``base``) per exporter, plus the bare one."""
    from lambda_base import base_image

    answers = {"python_version": PYTHON, "architecture": ARCHITECTURE, **(answers or {})}
    revisions = {"new": "WORKTREE", **({"base": base} if base else {})}
    variants: dict[str, Variant] = {}
    with base_image(PYTHON, ARCHITECTURE):
        for kind, rev in revisions.items():
            for exporter in exporters:
                name = f"{kind}-{exporter}"
                image = f"{prefix}-{name}:latest"
                log(f"building {name} ({rev}) ...")
                project = build_revision(
                    rev, tmp / name, {**answers, "trace_exporter": exporter}, image
                )
                variants[name] = Variant(name, kind, image, project, exporter)
        if bare:
            context = tmp / "bare"
            context.mkdir()
            (context / "bare_app.py").write_text(BARE_APP)
            (context / "Dockerfile").write_text(BARE_DOCKERFILE)
            image = f"{prefix}-bare:latest"
            subprocess.run(["docker", "build", "-q", "-t", image, str(context)], check=True,
                           capture_output=True)  # fmt: skip
            first = next(iter(variants.values()))
            variants = {
                "bare": Variant("bare", "bare", image, first.project, first.exporter, traced=False),
                **variants,
            }
    for variant in variants.values():
        variant.size_mb = image_size_mb(variant.image)
    return variants


def remove_images(variants: dict[str, Variant]) -> None:
    subprocess.run(
        ["docker", "image", "rm", *{v.image for v in variants.values()}], capture_output=True
    )


# ------------------------------------------------------------------------------- runs


def rie_log(path: Path) -> dict[str, Any]:
    """INIT REPORT, and per request id the response (INVOKE RTDONE) and billed duration
    (REPORT Duration), from RIE's log of one container."""
    text = path.read_text(errors="replace")
    init = re.search(r"INIT REPORT\(durationMs: ([0-9.]+)\)", text)
    started: list[str] = re.findall(r"INVOKE START\(requestId: ([0-9a-f-]+)\)", text)
    rtdone = [
        float(v) for v in re.findall(r"INVOKE RTDONE\(status: \w+.*?duration: ([0-9.]+)ms", text)
    ]
    report = dict(re.findall(r"REPORT RequestId: ([0-9a-f-]+)\t(?:Init Duration: [0-9.]+ ms\t)?"
                             r"Duration: ([0-9.]+) ms", text))  # fmt: skip
    return {
        "init_ms": float(init.group(1)) if init else None,
        "response_ms": dict(zip(started, rtdone, strict=False)),
        "billed_ms": {k: float(v) for k, v in report.items()},
    }


@dataclass
class ColdRun:
    variant: str
    row: str
    cold_start_ms: float
    init_ms: float | None
    held_ms: float
    invocations: list[dict[str, Any]]
    memory: dict[str, Any]  # the runner's memory(): extension, function, container_peak_kb
    traces_expected: int
    traces_found: int
    oom_killed: bool
    load: str


class Bench:
    """One agent (local X-Ray and STS) per exporter for the whole benchmark; each run starts a
    new function container in its network namespace."""

    def __init__(self, variants: dict[str, Variant], work: Path) -> None:
        from lambda_otel_xray.local.container import MOUNT, DockerFunction, image_config
        from lambda_otel_xray.local.session import LocalRun
        from lambda_otel_xray.service import Service

        check_tool()
        agent_file = BENCH / "lambda_agent.py"

        class BenchFunction(DockerFunction):
            agent_module = "lambda_agent"

            def agent_command(self, *args: Any, **kwargs: Any) -> tuple[list[str], Path]:
                command, cwd = super().agent_command(*args, **kwargs)
                at = command.index(self.image)
                command[at:at] = ["-v", f"{agent_file}:{MOUNT}/code/lambda_agent.py:ro"]
                return command, cwd

            def use(self, variant: Variant, memory_mb: int) -> None:
                """The next start runs ``variant``'s image with ``memory_mb``."""
                self.image = variant.image
                env = image_config(variant.image).get("Config", {}).get("Env") or []
                wrapper = dict(e.split("=", 1) for e in env if "=" in e)
                self.next_wrapper = wrapper.get("AWS_LAMBDA_EXEC_WRAPPER")
                answers = {**self.service.answers, "memory_size": memory_mb}
                self.service = Service(self.service.root, answers)

        self.variants = variants
        self.stack = contextlib.ExitStack()
        self.runs: dict[str, Any] = {}
        self.functions: dict[str, Any] = {}
        os.environ.setdefault("LOCALRUN_TOOLS_DIR", str(_tools_dir()))
        for exporter in {v.exporter for v in variants.values()}:
            owner = next(v for v in variants.values() if v.exporter == exporter and v.traced)
            service = Service.load(owner.project)
            build_dir = work / f"agent-{exporter}"
            function = BenchFunction(
                service, build_dir, build_dir / "local" / "rie.log", image=owner.image
            )
            self.functions[exporter] = function
            self.runs[exporter] = self.stack.enter_context(LocalRun(service, function))

    def close(self) -> None:
        self.stack.close()

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        name: str,
        row: str | int,
        *,
        event: bytes,
        warm: int = 0,
        sampled: bool = True,
        memory_mb: int | None = None,
        check_traces: bool = True,
    ) -> ColdRun:
        """One cold start of ``name`` in ``row`` (then ``warm`` invocations, same limits)."""
        from lambda_otel_xray.local.container import docker

        variant = self.variants[name]
        local, function = self.runs[variant.exporter], self.functions[variant.exporter]
        memory = memory_mb or (512 if row == UNTHROTTLED else int(row))
        function.use(variant, memory)
        cpus = cpus_for(row)
        env = {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory), **variant.env}
        payload = base64.b64encode(event).decode()
        load = cpu_pressure()
        local.call("arm_gate")
        t0 = time.perf_counter()
        local.start(env)
        local.call("start_invoke", payload_b64=payload, index=0, phase="cold", sampled=sampled)
        reached = local.call("gate_reached", timeout=400, timeout_s=300)["reached"]
        if reached and cpus:
            docker("update", "--cpus", f"{cpus:g}", function.container_id)
        first = local.call("finish_invoke", timeout=function.timeout_s + 120)
        cold_ms = (time.perf_counter() - t0) * 1000 - first.pop("held_ms")
        held = (time.perf_counter() - t0) * 1000 - cold_ms
        invocations = [first]
        for index in range(1, warm + 1):
            answer = local.call(
                "invoke",
                timeout=function.timeout_s + 60,
                payload_b64=payload,
                index=index,
                phase="warm",
                sampled=sampled,
            )
            invocations.append({k: v for k, v in answer.items() if k != "ok"})
        memory_use = function.memory()
        stopped = function.stop()
        parsed = rie_log(function.log_path)
        for inv in invocations:
            inv["response_ms"] = parsed["response_ms"].get(inv["request_id"])
            inv["billed_ms"] = parsed["billed_ms"].get(inv["request_id"])
        bad = [i for i in invocations if i["status"] != 200 or '"statusCode": 200' not in i["body"]]
        if bad:
            raise SystemExit(f"{name}: {bad[0]['body'][:300]} (see {function.log_path})")
        expected = [i["trace_id"] for i in invocations] if variant.traced and sampled else []
        found = 0
        if expected and check_traces:
            found = len(local.traces(expected, wait_s=60))
        return ColdRun(
            variant=name,
            row=str(row),
            cold_start_ms=cold_ms,
            init_ms=parsed["init_ms"],
            held_ms=held,
            invocations=invocations,
            memory=memory_use,
            traces_expected=len(expected),
            traces_found=found,
            oom_killed=any("out of memory" in k for k in stopped.killed),
            load=load,
        )


def _tools_dir() -> Path:
    from localrun_checks import LOCALRUN_TOOLS

    return LOCALRUN_TOOLS


def event_bytes(variant: Variant) -> bytes:
    return (variant.project / "events" / "sample.json").read_bytes()


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        yield Path(tmp)
