"""One local run: stand-ins up, RIE up, invocations, SIGTERM, traces read back, all torn down."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import project, tools, traces
from .emulator import Invocation, LocalLambda, port_in_use
from .errors import LocalRunError
from .stage import stage
from .standins import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, XRayStandIn

# The collector's OTLP receiver listens on these (collector/config.yaml): a machine can run one
# local function at a time, so runs take a machine-wide lock.
COLLECTOR_PORTS = (4317, 4318)
FAKE_SESSION_TOKEN = "localrun-session-token"
LOCK_PATH = Path(tempfile.gettempdir()) / f"localrun-collector-ports-{os.getuid()}.lock"


def log(message: str) -> None:
    print(f"[localrun] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def collector_ports(wait_s: float = 900.0) -> Iterator[None]:
    """Hold the machine-wide lock, then check that the collector's ports are free."""
    with LOCK_PATH.open("a") as lock:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    log("another local run holds localhost:4317/4318; waiting for it")
                    told = True
                if time.monotonic() > deadline:
                    raise LocalRunError(
                        f"another local run kept {LOCK_PATH} locked for {wait_s:.0f} s"
                    ) from None
                time.sleep(0.2)
        busy = [p for p in COLLECTOR_PORTS if port_in_use(p)]
        if busy:
            raise LocalRunError(
                f"localhost:{busy[0]} is in use by another program; the collector extension "
                "listens there (collector/config.yaml). Stop that program (often a local "
                "OpenTelemetry Collector or another emulator) and run again."
            )
        yield


def tools_dir(root: Path) -> Path:
    """build/tools, or $LOCALRUN_TOOLS_DIR (to share one RIE and runtime between projects)."""
    override = os.environ.get("LOCALRUN_TOOLS_DIR")
    return Path(override).resolve() if override else root.resolve() / "build" / "tools"


@contextlib.contextmanager
def _tools_lock(path: Path) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    with (path / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def prepare_tools(root: Path) -> tuple[str, Path, Path]:
    """(bwrap, RIE binary, runtime dir), building what is missing."""
    tools.require_linux()
    bwrap = tools.bwrap()
    tools.python_packages(project.TRACE_EXPORTER)
    where = tools_dir(root)
    with _tools_lock(where):
        rie = tools.rie(where)
        runtime = tools.runtime(where, project.PYTHON_VERSION, root)
    return bwrap, rie, runtime


def lambda_env(
    standin: XRayStandIn, *, handler: str = project.HANDLER, wrapper: str | None = None
) -> dict[str, str]:
    """The environment RIE gets (and forwards to the extensions and the runtime): what Lambda
    sets, the image's ENV lines, fake credentials, and the stand-in endpoints."""
    env = {
        "PATH": "/var/runtime/bin:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": handler,
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_LAMBDA_FUNCTION_NAME": project.FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(project.MEMORY_SIZE_MB),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(project.TIMEOUT_S),
        "AWS_REGION": project.AWS_REGION,
        "AWS_DEFAULT_REGION": project.AWS_REGION,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
        "AWS_SESSION_TOKEN": FAKE_SESSION_TOKEN,
        # Nothing from this machine's AWS set-up may leak in.
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        # The function's AWS SDK calls go to moto.
        "AWS_ENDPOINT_URL_STS": standin.moto_endpoint,
        # The Dockerfile's ENV lines.
        "OPENTELEMETRY_COLLECTOR_CONFIG_URI": "/opt/collector-config/config.yaml",
        # As SAM CLI sets it: collectors that use Lambda's Telemetry API (which RIE lacks) skip it.
        "AWS_SAM_LOCAL": "true",
        **standin.collector_env(),
    }
    if wrapper:
        env["AWS_LAMBDA_EXEC_WRAPPER"] = wrapper
    return env


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class RunResult:
    exporter: str
    invocations: list[Invocation] = field(default_factory=list)
    traces: list[traces.Trace] = field(default_factory=list)
    expected_trace_ids: list[str] = field(default_factory=list)
    cold_start_ms: float | None = None
    collector_memory: list[dict[str, Any]] = field(default_factory=list)
    collector_peak_kb: int | None = None
    rie_exit_code: int | None = None
    shutdown_ms: float | None = None
    killed: list[str] = field(default_factory=list)
    shutdown_logged: bool = False
    front_stats: dict[str, int] = field(default_factory=dict)
    front_requests: list[dict[str, Any]] = field(default_factory=list)
    sigterm_at: float | None = None
    otlp_spans: list[dict[str, Any]] = field(default_factory=list)
    otlp_auth: list[dict[str, Any]] = field(default_factory=list)
    otlp_unprocessed: list[dict[str, Any]] = field(default_factory=list)
    otlp_requests: list[dict[str, Any]] = field(default_factory=list)
    log_path: str = ""

    @property
    def missing(self) -> list[str]:
        found = {t.id for t in self.traces}
        return [i for i in self.expected_trace_ids if i not in found]

    def latencies(self, phase: str | None = None, warm: bool = True) -> list[float]:
        return [
            i.latency_ms
            for i in self.invocations
            if (phase is None or i.phase == phase) and not (warm and i.index == 0)
        ]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for phase in dict.fromkeys(i.phase for i in self.invocations):
            warm = self.latencies(phase)
            out[phase] = {
                "invocations": sum(1 for i in self.invocations if i.phase == phase),
                "warm_p50_ms": round(percentile(warm, 50), 3) if warm else None,
                "warm_p99_ms": round(percentile(warm, 99), 3) if warm else None,
                "warm_mean_ms": round(statistics.fmean(warm), 3) if warm else None,
            }
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "exporter": self.exporter,
            "function": project.FUNCTION_NAME,
            "region": project.AWS_REGION,
            "cold_start_ms": self.cold_start_ms,
            "latency": self.summary(),
            "invocations": [i.__dict__ for i in self.invocations],
            "expected_trace_ids": self.expected_trace_ids,
            "missing_trace_ids": self.missing,
            "traces": [t.as_dict() for t in self.traces],
            "collector": {
                "memory_samples": self.collector_memory,
                "peak_rss_kb": self.collector_peak_kb,
                "shutdown_logged": self.shutdown_logged,
            },
            "rie_exit_code": self.rie_exit_code,
            "shutdown_ms": self.shutdown_ms,
            "killed_after_timeout": self.killed,
            "sigterm_at": self.sigterm_at,
            "front_stats": self.front_stats,
            "front_requests": self.front_requests,
            "otlp": {
                "spans": self.otlp_spans,
                "auth": self.otlp_auth,
                "unprocessed": self.otlp_unprocessed,
                "requests": self.otlp_requests,
            },
            "log": self.log_path,
        }


def wait_for_traces(
    standin: XRayStandIn, trace_ids: list[str], since: dt.datetime, wait_s: float
) -> list[traces.Trace]:
    """Poll the stand-in's X-Ray API until every id is there (or ``wait_s`` passed)."""
    client = traces.xray_client(
        project.AWS_REGION,
        standin.moto_endpoint,
        {"aws_access_key_id": FAKE_ACCESS_KEY, "aws_secret_access_key": FAKE_SECRET_KEY},
    )
    deadline = time.monotonic() + wait_s
    while True:
        found = traces.lookup(
            client,
            start=since - dt.timedelta(minutes=1),
            end=traces.utcnow() + dt.timedelta(minutes=1),
            trace_ids=trace_ids,
        )
        if {t.id for t in found} >= set(trace_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


def run(
    root: Path,
    build_dir: Path,
    events: list[bytes],
    *,
    count: int = 1,
    fault: str = "ok",
    recover: int = 0,
    fault_hold_s: float = 1.0,
    trace_wait_s: float = 30.0,
    progress: Callable[[Invocation], None] | None = None,
    memory_every: int = 25,
    opt: Path | None | str = "layer",
    task: Path | None = None,
    handler: str = project.HANDLER,
    wrapper: str | None = "/opt/otel-instrument",
    extra_env: dict[str, str] | None = None,
    expect_traces: bool = True,
) -> RunResult:
    """Invoke the function ``count`` times (cycling through ``events``) with the X-Ray stand-in
    in ``fault`` mode, then ``recover`` more times with it healthy; stop RIE; read traces back.
    A fault lasts at least ``fault_hold_s`` (longer than the collector's batch timeout), so the
    collector surely tries to export into it.

    ``opt``/``task``/``handler``/``wrapper`` default to the project's layer, code, handler and
    exec wrapper; benchmarks pass others (``opt=None``: an empty /opt).
    """
    root, build_dir = root.resolve(), build_dir.resolve()
    bwrap, rie, runtime = prepare_tools(root)
    staged = stage(root, build_dir, project.CODE)
    opt_dir = staged.opt if opt == "layer" else opt
    task_dir = task or staged.task
    result = RunResult(exporter=project.TRACE_EXPORTER)
    log_path = build_dir / "local" / "rie.log"
    result.log_path = str(log_path)
    since = traces.utcnow()
    standin = XRayStandIn(
        project.TRACE_EXPORTER, project.AWS_REGION, log_path=build_dir / "local" / "moto.log"
    )
    lam: LocalLambda | None = None
    with collector_ports():
        try:
            standin.start()
            assert standin.front is not None
            if fault != "ok":
                standin.front.set_mode(fault)
            env = {**lambda_env(standin, handler=handler, wrapper=wrapper), **(extra_env or {})}
            lam = LocalLambda(
                bwrap=bwrap,
                rie=rie,
                runtime=runtime,
                opt=opt_dir,
                task=task_dir,
                env=env,
                log_path=log_path,
                timeout_s=project.TIMEOUT_S,
            )
            lam.start()
            phases = [("healthy" if fault == "ok" else fault, count)]
            if recover:
                phases.append(("recovered", recover))
            index = 0
            fault_started = time.monotonic()
            for phase, n in phases:
                if phase == "recovered":
                    time.sleep(max(0.0, fault_started + fault_hold_s - time.monotonic()))
                    standin.front.set_mode("ok")
                for _ in range(n):
                    inv = lam.invoke(events[index % len(events)], index=index, phase=phase)
                    result.invocations.append(inv)
                    if index == 0 and inv.status != 200:
                        raise LocalRunError(
                            f"the first invocation got HTTP {inv.status} from the emulator "
                            f"({inv.body.strip() or 'no body'}): the function or its extension "
                            f"failed to start. Log ({log_path}):\n{lam.log_tail()}"
                        )
                    if progress:
                        progress(inv)
                    if index % memory_every == 0:
                        mem = lam.extension_memory()
                        if mem:
                            result.collector_memory.append({"after_invocation": index, **mem})
                    index += 1
            result.cold_start_ms = lam.first_response_ms
            mem = lam.extension_memory()
            if mem:
                result.collector_memory.append({"after_invocation": index - 1, **mem})
                result.collector_peak_kb = mem.get("VmHWM")
            expected = [
                i.trace_id for i in result.invocations if fault == "ok" or i.phase == "recovered"
            ]
            result.expected_trace_ids = expected if expect_traces else []
            if recover and expect_traces:
                # A recovered endpoint gets the new traces while the function is still up
                # (the exporter retries in the background), before any SHUTDOWN flush.
                recovered = [i.trace_id for i in result.invocations if i.phase == "recovered"]
                wait_for_traces(standin, recovered, since, trace_wait_s)
            lam.stop()
            result.rie_exit_code, result.shutdown_ms = lam.exit_code, lam.shutdown_ms
            result.sigterm_at = lam.sigterm_at
            result.killed = lam.killed
            result.shutdown_logged = "SHUTDOWN" in log_path.read_text(errors="replace")
            all_ids = [i.trace_id for i in result.invocations]
            if result.expected_trace_ids:
                wait_for_traces(standin, result.expected_trace_ids, since, trace_wait_s)
            # One lookup of every invocation's trace (a fault phase's may have arrived too).
            result.traces = wait_for_traces(standin, all_ids, since, 0)
            result.front_stats = dict(standin.front.stats)
            result.front_requests = [dict(r) for r in standin.front.requests]
            if standin.otlp is not None:
                result.otlp_spans = list(standin.otlp.spans)
                result.otlp_auth = list(standin.otlp.auth)
                result.otlp_unprocessed = list(standin.otlp.unprocessed)
                result.otlp_requests = list(standin.otlp.raw_requests)
        finally:
            if lam is not None:
                lam.stop()
            standin.stop()
    return result
