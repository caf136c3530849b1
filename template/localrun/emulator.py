"""The Runtime Interface Emulator in a bubblewrap mount namespace, and its invocations.

Inside the namespace /opt is the unpacked layer, /var/task the function code and /var/runtime the
Python runtime (awslambdaric); the rest of the machine's filesystem and its network (127.0.0.1)
are shared. The namespace also has its own PID namespace and dies with this process, so nothing
RIE starts outlives a run, even a killed one.
"""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import LocalRunError

INVOKE_PATH = "/2015-03-31/functions/function/invocations"


@dataclass
class Invocation:
    index: int
    phase: str
    status: int
    body: str
    latency_ms: float
    trace_id: str
    parent_id: str
    request_id: str

    def payload(self) -> object:
        import json

        try:
            return json.loads(self.body)
        except ValueError:
            return self.body


def trace_header() -> tuple[str, str, str]:
    """A sampled X-Ray trace header as Lambda's front end would send it: (header, root, parent)."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    parent = secrets.token_hex(8)
    return f"Root={root};Parent={parent};Sampled=1", root, parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


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


class LocalLambda:
    """One execution environment: RIE + extensions + runtime, from start to SIGTERM."""

    def __init__(
        self,
        *,
        bwrap: str,
        rie: Path,
        runtime: Path,
        opt: Path | None,
        task: Path,
        env: dict[str, str],
        log_path: Path,
        timeout_s: int,
    ) -> None:
        self.bwrap, self.rie, self.runtime, self.opt, self.task = bwrap, rie, runtime, opt, task
        self.env = env
        self.log_path = log_path
        self.timeout_s = timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.started_at = 0.0
        self.first_response_ms: float | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._pids: dict[str, int] = {}
        self.exit_code: int | None = None
        self.shutdown_ms: float | None = None
        self.killed: list[str] = []

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
            "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
            "--runtime-api-address", f"127.0.0.1:{free_port()}",
            "/var/runtime/bootstrap",
        ]  # fmt: skip

    def start(self, ready_timeout: float = 20.0) -> None:
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.started_at = time.perf_counter()
        try:
            self.proc = subprocess.Popen(
                self.command(),
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its session id finds every process it starts
            )
        finally:
            log.close()
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LocalRunError(
                    f"the Runtime Interface Emulator exited ({self.proc.returncode}) before "
                    f"listening:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise LocalRunError(
            f"the Runtime Interface Emulator did not listen on 127.0.0.1:{self.port} within "
            f"{ready_timeout:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join("    " + line for line in text.splitlines()[-lines:])

    # ---------------------------------------------------------------------------- invocations

    def invoke(self, payload: bytes, *, index: int = 0, phase: str = "") -> Invocation:
        header, root, parent = trace_header()
        request_id = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "X-Amzn-Trace-Id": header,  # RIE hands it to the runtime as Lambda-Runtime-Trace-Id
            "X-Amzn-RequestId": request_id,
        }
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.timeout_s + 15
                )
            start = time.perf_counter()
            try:
                self._conn.request("POST", INVOKE_PATH, body=payload, headers=headers)
                resp = self._conn.getresponse()
                body = resp.read()
            except (ConnectionError, http.client.HTTPException, TimeoutError) as exc:
                self._conn.close()
                self._conn = None
                if attempt == 2 or isinstance(exc, TimeoutError) or self.proc.poll() is not None:
                    raise LocalRunError(
                        f"invocation {index + 1} failed: {exc!r}\n{self.log_tail()}"
                    ) from None
                continue
            end = time.perf_counter()
            if self.first_response_ms is None:
                self.first_response_ms = (end - self.started_at) * 1000
            return Invocation(
                index=index,
                phase=phase,
                status=resp.status,
                body=body.decode(errors="replace"),
                latency_ms=(end - start) * 1000,
                trace_id=root,
                parent_id=parent,
                request_id=request_id,
            )
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------------------ processes

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

    def extension_memory(self, name: str = "collector") -> dict[str, int]:
        pid = self.find(name)
        return memory_kb(pid) if pid else {}

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM to RIE (it sends SHUTDOWN to the extensions and waits for them), then make
        sure nothing is left: SIGKILL to the whole session after ``timeout``."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.proc is None or self.exit_code is not None:
            return
        start = time.perf_counter()
        rie = self.find("aws-lambda-rie")
        if rie is not None:
            os.kill(rie, signal.SIGTERM)
        else:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.killed.append(f"RIE did not exit within {timeout:.0f} s of SIGTERM")
        self._kill_session()
        try:
            self.exit_code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.exit_code = -9
        self.shutdown_ms = (time.perf_counter() - start) * 1000

    def _kill_session(self) -> None:
        assert self.proc is not None
        for _ in range(50):
            self.proc.poll()  # reap bwrap if it has exited
            left = list(session_processes(self.proc.pid))
            if not left:
                return
            for pid, name in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(f"{name} ({pid})")
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.05)
