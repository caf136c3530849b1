"""One local run: agent and stand-ins up, the function up, invocations, SIGTERM, traces read
back, all torn down. The same sequence for both runners (backend.py)."""

from __future__ import annotations

import base64
import contextlib
import json
import queue
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import project, traces
from .agent import Invocation
from .backend import Stopped
from .errors import LocalRunError
from .standins import FAKE_ACCESS_KEY, FAKE_SECRET_KEY

FAKE_SESSION_TOKEN = "localrun-session-token"
# Generous: under CPU emulation (an arm64 image on x86_64) the agent's Python starts slowly.
AGENT_START_S = 300.0
FUNCTION_LISTEN_S = 120.0


class Function(Protocol):
    """An execution environment (sandbox.SandboxFunction, container.DockerFunction)."""

    name: str
    invoke_address: str
    runtime_api_address: str
    log_path: Path
    # How the function's environment is wired to the network (the Docker runner's containers).
    isolation: dict[str, Any]
    # The function's timeout for this run: the answer's, longer under CPU emulation.
    timeout_s: int

    def agent_command(self) -> tuple[list[str], Path]: ...
    def start(self, env: dict[str, str]) -> None: ...
    def exited(self) -> str | None: ...
    def extension_memory(self) -> dict[str, int]: ...
    def stop(self) -> Stopped: ...
    def close(self) -> None: ...


class AgentProcess:
    """`python -m localrun.agent`, wherever the runner started it, spoken to over its stdio."""

    def __init__(self, command: list[str], cwd: Path, log_path: Path) -> None:
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as err:
            self.proc = subprocess.Popen(
                command,
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                bufsize=1,
            )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self._reply(AGENT_START_S, "start")
        except LocalRunError:
            self.close()  # a hung or half-started agent is not left behind
            raise

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _reply(self, timeout: float, op: str) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise LocalRunError(
                f"the local stand-ins did not answer {op!r} within {timeout:.0f} s; their log "
                f"({self.log_path}):\n{tail(self.log_path)}"
            ) from None
        if line is None:
            hint = ""
            if "exec format error" in tail(self.log_path):
                hint = (
                    "\nThe image is for another CPU architecture and this machine cannot "
                    "emulate it: register QEMU (`docker run --privileged --rm tonistiigi/binfmt "
                    "--install all`, or install qemu-user-static), or rebuild for this machine."
                )
            raise LocalRunError(
                f"the local stand-ins stopped (exit {self.proc.poll()}); their log "
                f"({self.log_path}):\n{tail(self.log_path)}{hint}"
            )
        reply = json.loads(line)
        if not reply.get("ok"):
            raise LocalRunError(f"local stand-ins, {op}: {reply.get('error')}")
        return reply

    def call(self, op: str, timeout: float = 120.0, **arguments: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise LocalRunError(
                f"the local stand-ins are gone; their log ({self.log_path}):\n{tail(self.log_path)}"
            ) from None
        return self._reply(timeout, op)

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # the agent stops its stand-ins and exits
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log)"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def lambda_env(started: dict[str, Any], timeout_s: int) -> dict[str, str]:
    """The environment Lambda gives the function and its extensions, plus fake credentials and
    the stand-ins' endpoints (``started``: the agent's answer to "start")."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": project.FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(project.MEMORY_SIZE_MB),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_s),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{project.FUNCTION_NAME}",
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


@dataclass
class RunResult:
    exporter: str
    runner: str = ""
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
    sigterm_at: float | None = None
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


def _wait_listening(agent: AgentProcess, function: Function) -> None:
    deadline = time.monotonic() + FUNCTION_LISTEN_S
    while time.monotonic() < deadline:
        if agent.call("listening")["listening"]:
            return
        gone = function.exited()
        if gone:
            raise LocalRunError(f"{gone} before listening:\n{tail(function.log_path)}")
        time.sleep(0.05)
    raise LocalRunError(
        f"the Runtime Interface Emulator did not listen on {function.invoke_address} within "
        f"{FUNCTION_LISTEN_S:.0f} s:\n{tail(function.log_path)}"
    )


def _traces(agent: AgentProcess, ids: list[str], since: float, wait_s: float) -> list:
    found = agent.call("traces", timeout=wait_s + 120, trace_ids=ids, since=since, wait_s=wait_s)
    return [traces.Trace(t["id"], t["duration"], t["documents"]) for t in found["traces"]]


def open_function(
    runner: str, root: Path, build_dir: Path, *, image: str | None, **options: Any
) -> Function:
    """The execution environment of ``runner``; ``options`` are the runner's own."""
    log_path = build_dir / "local" / "rie.log"
    if runner == "docker":
        from .container import DockerFunction

        if not image:
            raise LocalRunError("the Docker runner needs the image to run (--image)")
        return DockerFunction(root, build_dir, log_path, image=image, **options)
    from .sandbox import SandboxFunction

    return SandboxFunction(root, build_dir, log_path, **options)


def run(
    root: Path,
    build_dir: Path,
    events: list[bytes],
    *,
    runner: str = "sandbox",
    image: str | None = None,
    count: int = 1,
    fault: str = "ok",
    recover: int = 0,
    fault_hold_s: float = 1.0,
    trace_wait_s: float = 30.0,
    sampled: bool = True,
    progress: Callable[[Invocation], None] | None = None,
    memory_every: int = 25,
    extra_env: dict[str, str] | None = None,
    expect_traces: bool = True,
    function_options: dict[str, Any] | None = None,
) -> RunResult:
    """Invoke the function ``count`` times (cycling through ``events``) with the X-Ray stand-in
    in ``fault`` mode, then ``recover`` more times with it healthy; stop the function; read the
    traces back. A fault lasts at least ``fault_hold_s`` (longer than the collector's batch
    timeout), so the collector surely tries to export into it. ``sampled=False`` sends trace
    headers with Sampled=0 (nothing may be exported). ``function_options`` go to the runner
    (benchmarks: another /opt, handler or image; CPU limits).
    """
    root, build_dir = root.resolve(), build_dir.resolve()
    result = RunResult(exporter=project.TRACE_EXPORTER, runner=runner)
    function = open_function(runner, root, build_dir, image=image, **(function_options or {}))
    result.log_path = str(function.log_path)
    agent: AgentProcess | None = None
    try:
        command, cwd = function.agent_command()
        agent = AgentProcess(command, cwd, build_dir / "local" / "agent.log")
        started = agent.call(
            "start",
            timeout=AGENT_START_S,
            exporter=project.TRACE_EXPORTER,
            region=project.AWS_REGION,
            runtime_api=function.runtime_api_address,
            invoke=function.invoke_address,
            timeout_s=function.timeout_s,
        )
        if fault != "ok":
            agent.call("set_fault", mode=fault)
        since = time.time()
        t0 = time.perf_counter()
        function.start({**lambda_env(started, function.timeout_s), **(extra_env or {})})
        _wait_listening(agent, function)
        phases = [("healthy" if fault == "ok" else fault, count)]
        if recover:
            phases.append(("recovered", recover))
        index = 0
        fault_started = time.monotonic()
        for phase, n in phases:
            if phase == "recovered":
                time.sleep(max(0.0, fault_started + fault_hold_s - time.monotonic()))
                agent.call("set_fault", mode="ok")
            for _ in range(n):
                payload = base64.b64encode(events[index % len(events)]).decode()
                answer = agent.call(
                    "invoke",
                    timeout=function.timeout_s + 60,
                    payload_b64=payload,
                    index=index,
                    phase=phase,
                    sampled=sampled,
                )
                inv = Invocation(**{k: v for k, v in answer.items() if k != "ok"})
                if index == 0:
                    result.cold_start_ms = (time.perf_counter() - t0) * 1000
                    if inv.body.startswith("Task timed out"):
                        raise LocalRunError(
                            f"the first invocation timed out ({inv.body.strip()}): init and "
                            f"the handler took longer than the function's timeout. Log "
                            f"({function.log_path}):\n{tail(function.log_path)}"
                        )
                    if inv.status != 200:
                        raise LocalRunError(
                            f"the first invocation got HTTP {inv.status} from the emulator "
                            f"({inv.body.strip() or 'no body'}): the function or its extension "
                            f"failed to start. Log ({function.log_path}):\n"
                            f"{tail(function.log_path)}"
                        )
                result.invocations.append(inv)
                if progress:
                    progress(inv)
                if memory_every and index % memory_every == 0:
                    mem = function.extension_memory()
                    if mem:
                        result.collector_memory.append({"after_invocation": index, **mem})
                index += 1
        mem = function.extension_memory()
        if mem:
            result.collector_memory.append({"after_invocation": index - 1, **mem})
            result.collector_peak_kb = mem.get("VmHWM")
        expected = [
            i.trace_id
            for i in result.invocations
            if i.sampled and (fault == "ok" or i.phase == "recovered")
        ]
        result.expected_trace_ids = expected if expect_traces else []
        if recover and expect_traces:
            # A recovered endpoint gets the new traces while the function is still up (the
            # exporter retries in the background), before any SHUTDOWN flush.
            recovered = [i.trace_id for i in result.invocations if i.phase == "recovered"]
            _traces(agent, recovered, since, trace_wait_s)
        result.isolation = dict(function.isolation)
        stopped = function.stop()
        result.rie_exit_code, result.shutdown_ms = stopped.exit_code, stopped.shutdown_ms
        result.sigterm_at, result.killed = stopped.sigterm_at, stopped.killed
        result.shutdown_logged = "SHUTDOWN" in function.log_path.read_text(errors="replace")
        result.logs = function_logs(function.log_path)
        if result.expected_trace_ids:
            _traces(agent, result.expected_trace_ids, since, trace_wait_s)
        # One lookup of every invocation's trace (a fault phase's may have arrived too).
        result.traces = _traces(agent, [i.trace_id for i in result.invocations], since, 0)
        result.stand_ins = agent.call("report")
    finally:
        try:
            if agent is not None:
                agent.close()
        finally:
            function.close()
    return result
