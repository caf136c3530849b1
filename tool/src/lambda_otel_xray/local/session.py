"""One local run: the agent and its stand-ins, the function's execution environment, its
invocations, SIGTERM, the traces read back; the same sequence for both runners (runners.py).

`LocalRun` is the sequence as a context manager, for callers that drive it step by step;
`run()` is what `lambda-otel-xray local` does with it.
"""

from __future__ import annotations

import base64
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ToolError
from ..service import Service
from . import traces
from .agent import Invocation
from .agentclient import AgentProcess, tail
from .runners import Function, Stopped
from .standins import FAKE_ACCESS_KEY, FAKE_SECRET_KEY

FAKE_SESSION_TOKEN = "lambda-otel-xray-session-token"
FUNCTION_LISTEN_S = 120.0


def lambda_env(service: Service, started: dict[str, Any], timeout_s: int) -> dict[str, str]:
    """The environment Lambda gives the function and its extensions, with placeholder
    credentials and the stand-ins' endpoints (``started``: the agent's answer to "start").
    Nothing of this machine's environment is passed on: the runners start the function with
    exactly this."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": service.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(service.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_s),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{service.function_name}",
        "AWS_REGION": service.region,
        "AWS_DEFAULT_REGION": service.region,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
        "AWS_SESSION_TOKEN": FAKE_SESSION_TOKEN,
        # No other credential source: no config or credentials file, no instance metadata.
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        # The function's AWS SDK calls go to moto.
        "AWS_ENDPOINT_URL_STS": started["moto"],
        # The IaC's LoggingConfig (JSON, INFO), as Lambda passes it to the runtime.
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        # As SAM CLI sets it: collectors that use Lambda's Telemetry API (which RIE lacks) skip it.
        "AWS_SAM_LOCAL": "true",
        # The runtime's Runtime API goes through the agent's relay (runtime_layout.py).
        "LOCALRUN_RUNTIME_API": started["relay"],
        **started["collector_env"],
    }


def function_logs(log_path: Path) -> list[dict[str, Any]]:
    """The function's own log lines: one JSON object each (Lambda's JSON log format), as RIE
    passed them on among its own and the extension's lines."""
    import json

    out = []
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "level" in record and "message" in record:
            out.append(record)
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def open_function(
    runner: str, service: Service, build_dir: Path, *, image: str | None, **options: Any
) -> Function:
    """The execution environment of ``runner``; ``options`` are the runner's own."""
    log_path = build_dir / "local" / "rie.log"
    if runner == "docker":
        from .container import DockerFunction

        return DockerFunction(service, build_dir, log_path, image=image or service.image, **options)
    from .sandbox import SandboxFunction

    return SandboxFunction(service, build_dir, log_path, **options)


@dataclass
class RunResult:
    exporter: str
    function: str
    region: str
    runner: str = ""
    invocations: list[Invocation] = field(default_factory=list)
    traces: list[traces.Trace] = field(default_factory=list)
    expected_trace_ids: list[str] = field(default_factory=list)
    cold_start_ms: float | None = None
    collector_memory: list[dict[str, Any]] = field(default_factory=list)
    collector_peak_kb: int | None = None
    function_memory: list[dict[str, Any]] = field(default_factory=list)
    function_peak_kb: int | None = None
    container_peak_kb: int | None = None
    stopped: Stopped = field(default_factory=Stopped)
    shutdown_logged: bool = False
    stand_ins: dict[str, Any] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)
    isolation: dict[str, Any] = field(default_factory=dict)
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
            "runner": self.runner,
            "function": self.function,
            "region": self.region,
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
            "function_memory": {
                "memory_samples": self.function_memory,
                "peak_rss_kb": self.function_peak_kb,
                "container_peak_kb": self.container_peak_kb,
            },
            "rie_exit_code": self.stopped.exit_code,
            "shutdown_ms": self.stopped.shutdown_ms,
            "killed_after_timeout": self.stopped.killed,
            "sigterm_at": self.stopped.sigterm_at,
            "front_stats": self.stand_ins.get("front_stats", {}),
            "front_requests": self.stand_ins.get("front_requests", []),
            "otlp": self.stand_ins.get("otlp", {}),
            "relayed_trace_headers": self.stand_ins.get("relayed_trace_headers"),
            "function_logs": self.logs,
            "network": {
                "interfaces": self.stand_ins.get("network_interfaces", []),
                "containers": self.isolation,
            },
            "log": self.log_path,
        }


class LocalRun:
    """The agent and the function's execution environment, from start to teardown.

    ``with LocalRun(service, function) as run: run.start(); run.invoke(...); run.stop()`` —
    leaving the block stops the agent and removes whatever the runner started, in every case.
    The result builds up in ``run.result``.
    """

    def __init__(self, service: Service, function: Function, *, runner: str = "") -> None:
        self.service = service
        self.function = function
        self.build_dir = function.log_path.parent.parent
        self.agent: AgentProcess | None = None
        self.started: dict[str, Any] = {}
        self.since = 0.0
        self._t0 = 0.0
        self.result = RunResult(
            exporter=service.exporter,
            function=service.function_name,
            region=service.region,
            runner=runner or function.name,
            log_path=str(function.log_path),
        )

    def __enter__(self) -> LocalRun:
        try:
            command, cwd = self.function.agent_command()
            self.agent = AgentProcess(command, cwd, self.build_dir / "local" / "agent.log")
            self.started = self.agent.call(
                "start",
                timeout=AgentProcess.START_S,
                exporter=self.service.exporter,
                region=self.service.region,
                runtime_api=self.function.runtime_api_address,
                invoke=self.function.invoke_address,
                timeout_s=self.function.timeout_s,
            )
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self.agent is not None:
                self.agent.close()
                self.agent = None
        finally:
            self.function.close()

    def call(self, op: str, **arguments: Any) -> dict[str, Any]:
        assert self.agent is not None, "use LocalRun as a context manager"
        return self.agent.call(op, **arguments)

    def start(self, extra_env: dict[str, str] | None = None) -> None:
        """Start the execution environment (RIE, the extension, the runtime's init)."""
        env = lambda_env(self.service, self.started, self.function.timeout_s)
        self.since = time.time()
        self._t0 = time.perf_counter()
        self.function.start({**env, **(extra_env or {})})
        deadline = time.monotonic() + FUNCTION_LISTEN_S
        while not self.call("listening")["listening"]:
            gone = self.function.exited()
            if gone:
                raise ToolError(f"{gone} before listening", "", tail(self.function.log_path))
            if time.monotonic() > deadline:
                raise ToolError(
                    f"the Runtime Interface Emulator did not listen on "
                    f"{self.function.invoke_address} within {FUNCTION_LISTEN_S:.0f} s",
                    "",
                    tail(self.function.log_path),
                )
            time.sleep(0.05)

    def invoke(self, event: bytes, *, phase: str = "healthy", sampled: bool = True) -> Invocation:
        """One invocation with a fresh X-Ray trace header; the first one's failure to start
        is an error (with the log), later ones are results."""
        index = len(self.result.invocations)
        answer = self.call(
            "invoke",
            timeout=self.function.timeout_s + 60,
            payload_b64=base64.b64encode(event).decode(),
            index=index,
            phase=phase,
            sampled=sampled,
        )
        inv = Invocation(**{k: v for k, v in answer.items() if k != "ok"})
        if index == 0:
            self.result.cold_start_ms = (time.perf_counter() - self._t0) * 1000
            log = self.function.log_path
            if inv.body.startswith("Task timed out"):
                raise ToolError(
                    f"the first invocation timed out ({inv.body.strip()}): init and the handler "
                    "took longer than the function's timeout",
                    f"see the log: {log}",
                    tail(log),
                )
            if inv.status != 200:
                raise ToolError(
                    f"the first invocation got HTTP {inv.status} from the emulator "
                    f"({inv.body.strip() or 'no body'}): the function or its extension failed "
                    "to start",
                    f"see the log: {log}",
                    tail(log),
                )
        self.result.invocations.append(inv)
        return inv

    def sample_memory(self) -> dict[str, int]:
        """The extension's and the function's RSS and peak RSS now, recorded with the
        invocation count; returns the extension's."""
        found = self.function.memory()
        after = len(self.result.invocations) - 1
        mem = found.get("extension") or {}
        if mem:
            self.result.collector_memory.append({"after_invocation": after, **mem})
            self.result.collector_peak_kb = mem.get("VmHWM", self.result.collector_peak_kb)
        runtime = found.get("function") or {}
        if runtime:
            self.result.function_memory.append({"after_invocation": after, **runtime})
            self.result.function_peak_kb = runtime.get("VmHWM", self.result.function_peak_kb)
        if found.get("container_peak_kb"):
            self.result.container_peak_kb = found["container_peak_kb"]
        return mem

    def stop(self) -> Stopped:
        """SIGTERM: RIE sends SHUTDOWN, the extension flushes and exits."""
        self.result.isolation = dict(self.function.isolation)
        stopped = self.function.stop()
        self.result.stopped = stopped
        log = self.function.log_path.read_text(errors="replace")
        self.result.shutdown_logged = "SHUTDOWN" in log
        self.result.logs = function_logs(self.function.log_path)
        return stopped

    def traces(self, trace_ids: list[str] | None, wait_s: float, count: int = 0) -> list:
        """The traces of ``trace_ids`` (or any ``count``) in the local X-Ray, waiting up to
        ``wait_s`` for them to arrive."""
        found = self.call(
            "traces",
            timeout=wait_s + 120,
            trace_ids=trace_ids,
            since=self.since,
            wait_s=wait_s,
            count=count,
        )
        return [traces.Trace(t["id"], t["duration"], t["documents"]) for t in found["traces"]]

    def finish(self, expected: list[str], wait_s: float) -> RunResult:
        """After ``stop``: wait for the ``expected`` traces, then read every invocation's."""
        self.result.expected_trace_ids = expected
        if expected:
            self.traces(expected, wait_s)
        self.result.traces = self.traces([i.trace_id for i in self.result.invocations], 0)
        self.result.stand_ins = self.call("report")
        return self.result


def run(
    service: Service,
    events: list[bytes],
    *,
    runner: str,
    image: str | None = None,
    count: int = 1,
    sampled: bool = True,
    trace_wait_s: float = 30.0,
    progress: Callable[[Invocation], None] | None = None,
    memory_every: int = 25,
    extra_env: dict[str, str] | None = None,
    expect_traces: bool = True,
    function_options: dict[str, Any] | None = None,
    build_dir: Path | None = None,
) -> RunResult:
    """Invoke the function ``count`` times (cycling through ``events``), stop it, read its
    traces back. ``sampled=False`` sends trace headers with Sampled=0 (nothing may be
    exported); ``function_options`` go to the runner (another /opt or image; CPU limits)."""
    build_dir = (build_dir or service.build_dir).resolve()
    function = open_function(runner, service, build_dir, image=image, **(function_options or {}))
    with LocalRun(service, function, runner=runner) as local:
        local.start(extra_env)
        for index in range(count):
            inv = local.invoke(events[index % len(events)], sampled=sampled)
            if progress:
                progress(inv)
            if memory_every and index % memory_every == 0:
                local.sample_memory()
        local.sample_memory()
        local.stop()
        expected = [i.trace_id for i in local.result.invocations if i.sampled]
        return local.finish(expected if expect_traces else [], trace_wait_s)
