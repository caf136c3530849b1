"""The sandbox runner: the Runtime Interface Emulator in a bubblewrap mount namespace.

Without Docker: inside the namespace /opt is the unpacked layer, /var/task the function code and
/var/runtime a Python runtime like the base image's (awslambdaric; tools.py); the rest of the
machine's filesystem and its network (127.0.0.1) are shared, so the agent runs on this machine
too. The namespace has its own PID namespace and dies with this process, so nothing RIE starts
outlives a run, even a killed one. Linux only; the function's Python must be installed here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ToolError
from ..service import Service
from . import tools
from .net import free_port, port_in_use
from .runners import Stopped
from .runtime_layout import BOOTSTRAP_PATH, TRACE_HEADER_WRAPPER
from .stage import stage

# The collector's OTLP receiver listens on these (collector/config.yaml), here on this machine's
# loopback: a machine runs one sandboxed function at a time, so runs take a machine-wide lock.
COLLECTOR_PORTS = (4317, 4318)
LOCK_PATH = Path(tempfile.gettempdir()) / f"localrun-collector-ports-{os.getuid()}.lock"


def _log(message: str) -> None:
    print(f"[lambda-otel-xray] {message}", file=sys.stderr, flush=True)


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
                    _log("another local run holds localhost:4317/4318; waiting for it")
                    told = True
                if time.monotonic() > deadline:
                    raise ToolError(
                        f"another local run kept {LOCK_PATH} locked for {wait_s:.0f} s"
                    ) from None
                time.sleep(0.2)
        busy = [p for p in COLLECTOR_PORTS if port_in_use(p)]
        if busy:
            raise ToolError(
                f"localhost:{busy[0]} is in use by another program; the collector extension "
                "listens there (collector/config.yaml). Stop that program (often a local "
                "OpenTelemetry Collector or another emulator) and run again, or use the Docker "
                "runner (LOCAL_RUNNER=docker), which gives the function its own network."
            )
        yield


def check(python_version: str) -> None:
    """What the sandbox needs of this machine; raises with what to do."""
    tools.require_linux()
    tools.bwrap()
    tools.python_for(python_version)


def _var_overlay() -> list[str]:
    """bwrap arguments that put a tmpfs on /var holding the machine's /var entries, so /var/task
    and /var/runtime can be mount points without creating them on the real filesystem."""
    args = ["--tmpfs", "/var"]
    with os.scandir("/var") as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name in ("task", "runtime"):
                continue
            path = f"/var/{entry.name}"
            if entry.is_symlink():
                args += ["--symlink", os.readlink(path), path]
            elif entry.is_dir():
                args += ["--dev-bind", path, path]
            else:
                args += ["--bind", path, path]
    return args


def _proc_stat(pid: int) -> tuple[str, str, int] | None:
    """(comm, state, session id) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return comm, fields[0], int(fields[3])


def session_processes(sid: int) -> Iterator[tuple[int, str]]:
    """Live (not zombie) processes of session ``sid``: (pid, comm)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _proc_stat(int(entry))
            if stat is not None and stat[2] == sid and stat[1] not in ("Z", "X"):
                yield int(entry), stat[0]


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB; empty if it is gone."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except OSError:
        return {}
    return out


class SandboxFunction:
    """One execution environment: RIE + extensions + runtime, from start to SIGTERM."""

    name = "sandbox"

    def __init__(
        self,
        service: Service,
        build_dir: Path,
        log_path: Path,
        *,
        opt: Path | str | None = "layer",
        task: Path | None = None,
        handler: str | None = None,
        next_wrapper: str | None = "/opt/otel-instrument",
    ) -> None:
        """``opt``, ``task`` and ``handler`` default to the service's layer, code and handler;
        ``next_wrapper`` is the image's own exec wrapper (the Dockerfile's)."""
        root = service.root
        check(service.python_version)
        self.bwrap = tools.bwrap()
        tools.python_packages(service.exporter)
        where = tools.tools_dir(root)
        with tools.tools_lock(where):
            self.rie = tools.rie(where)
            self.runtime = tools.runtime(where, service.python_version, root)
        staged = stage(root, build_dir, service.code)
        self.opt = staged.opt if opt == "layer" else opt
        self.task = task or staged.task
        self.handler = handler or service.handler
        self.next_wrapper = next_wrapper
        self.root = root
        self.log_path = log_path
        self.wrapper = build_dir / "local" / "trace-header-wrapper"
        self.wrapper.write_text(TRACE_HEADER_WRAPPER)
        self.wrapper.chmod(0o755)
        self.invoke_address = f"127.0.0.1:{free_port()}"
        self.runtime_api_address = f"127.0.0.1:{free_port()}"
        self.proc: subprocess.Popen[bytes] | None = None
        # The sandbox shares this machine's network (its loopback).
        self.isolation: dict[str, object] = {}
        self.timeout_s = service.timeout_s
        self._pids: dict[str, int] = {}
        self._ports = collector_ports()
        self._ports.__enter__()

    def agent_command(self) -> tuple[list[str], Path]:
        """The agent runs on this machine, in this Python (the service's venv: moto, boto3)."""
        return [sys.executable, "-m", "lambda_otel_xray.local.agent"], self.root

    def environment(self) -> dict[str, str]:
        """What the base image's config and entrypoint would set."""
        env = {
            "PATH": "/var/runtime/bin:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "_HANDLER": self.handler,
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            # The Dockerfile's ENV line.
            "OPENTELEMETRY_COLLECTOR_CONFIG_URI": "/opt/collector-config/config.yaml",
            "AWS_LAMBDA_EXEC_WRAPPER": str(self.wrapper),
        }
        if self.next_wrapper:
            env["LOCALRUN_NEXT_WRAPPER"] = self.next_wrapper
        return env

    def command(self) -> list[str]:
        mounts = ["--ro-bind", str(self.opt), "/opt"] if self.opt else ["--tmpfs", "/opt"]
        return [
            self.bwrap,
            "--die-with-parent",
            "--unshare-pid",
            "--dev-bind", "/", "/",
            "--proc", "/proc",
            *_var_overlay(),
            *mounts,
            "--bind", str(self.task), "/var/task",
            "--ro-bind", str(self.runtime), "/var/runtime",
            "--chdir", "/var/task",
            "--",
            str(self.rie),
            "--runtime-interface-emulator-address", self.invoke_address,
            "--runtime-api-address", self.runtime_api_address,
            BOOTSTRAP_PATH,
        ]  # fmt: skip

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command(),
                env={**env, **self.environment()},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its session id finds every process it starts
            )

    def exited(self) -> str | None:
        """Why the function's environment is gone, or None while it runs."""
        if self.proc is not None and self.proc.poll() is not None:
            return f"the Runtime Interface Emulator exited ({self.proc.returncode})"
        return None

    def find(self, comm: str) -> int | None:
        """Host pid of the process named ``comm`` (e.g. "collector", "aws-lambda-rie")."""
        if self.proc is None:
            return None
        pid = self._pids.get(comm)
        if pid is not None and (_proc_stat(pid) or ("",))[0] == comm:
            return pid
        for pid, name in session_processes(self.proc.pid):
            if name == comm:
                self._pids[comm] = pid
                return pid
        return None

    def memory(self) -> dict[str, Any]:
        """VmRSS and VmHWM in kB of the collector extension ("extension") and the runtime, the
        sandbox's Python process ("function")."""
        out: dict[str, Any] = {}
        extension = self.find("collector")
        if extension:
            out["extension"] = memory_kb(extension)
        if self.proc is not None:
            for pid, name in session_processes(self.proc.pid):
                if name.startswith("python"):
                    out["function"] = memory_kb(pid)
                    break
        return out

    def stop(self, timeout: float = 15.0) -> Stopped:
        """SIGTERM to RIE (it sends SHUTDOWN to the extensions and waits for them), then make
        sure nothing is left: SIGKILL to the whole session after ``timeout``."""
        stopped = Stopped()
        if self.proc is None:
            return stopped
        start = time.perf_counter()
        stopped.sigterm_at = time.time()
        rie = self.find("aws-lambda-rie")
        if rie is not None:
            os.kill(rie, signal.SIGTERM)
        else:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stopped.killed.append(f"RIE did not exit within {timeout:.0f} s of SIGTERM")
        stopped.killed += self._kill_session(grace=3.0 if not stopped.killed else 0.0)
        try:
            stopped.exit_code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stopped.exit_code = -9
        stopped.shutdown_ms = (time.perf_counter() - start) * 1000
        self.proc = None
        return stopped

    def _kill_session(self, grace: float = 3.0) -> list[str]:
        """Wait ``grace`` seconds for the session to empty (bwrap's own processes exit just
        after RIE), then SIGKILL whatever is left; return what was killed."""
        assert self.proc is not None
        killed: list[str] = []
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            self.proc.poll()
            if not any(session_processes(self.proc.pid)):
                return killed
            time.sleep(0.02)
        for _ in range(50):
            self.proc.poll()  # reap bwrap if it has exited
            left = list(session_processes(self.proc.pid))
            if not left:
                return killed
            for pid, name in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(f"{name} ({pid})")
                except ProcessLookupError:
                    pass
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.1)
            time.sleep(0.05)
        return killed

    def close(self) -> None:
        if self.proc is not None:
            self.stop()
        self._ports.__exit__(None, None, None)
