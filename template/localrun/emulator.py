"""The Runtime Interface Emulator in a bubblewrap mount namespace, and its invocations.

Inside the namespace /opt is the unpacked layer, /var/task the function code and /var/runtime the
Python runtime (awslambdaric); the rest of the machine's filesystem and its network (127.0.0.1)
are shared. The namespace also has its own PID namespace and dies with this process, so nothing
RIE starts outlives a run, even a killed one.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


class RuntimeApiRelay:
    """Relays the runtime's Runtime API calls to RIE and adds `Lambda-Runtime-Trace-Id`.

    Lambda hands each invocation's X-Ray trace header to the runtime in that header of the
    `/invocation/next` reply (awslambdaric puts it in _X_AMZN_TRACE_ID, where the OpenTelemetry
    Lambda propagator reads it). RIE takes `X-Amzn-Trace-Id` on its invoke endpoint but never
    passes it on (its tracer is a no-op), so the local runtime talks to RIE through this relay,
    which adds the header for the request id the invocation was sent with. Extensions talk to
    RIE directly.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.trace_headers: dict[str, str] = {}
        self.relayed = 0
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in separate writes: without this, Nagle's algorithm
                # and the client's delayed ACK add ~40 ms to every reply.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _relay(self) -> None:
                body = self._body()
                skip = {"host", "content-length", "transfer-encoding", "connection"}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                # /invocation/next is a long poll: no timeout.
                conn = http.client.HTTPConnection("127.0.0.1", relay.upstream_port, timeout=None)
                try:
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    out = [
                        (k, v)
                        for k, v in resp.getheaders()
                        if k.lower() not in ("content-length", "transfer-encoding", "connection")
                    ]
                except (OSError, http.client.HTTPException):
                    # RIE is shutting down (a pending /next long poll): drop the connection, as
                    # RIE itself would.
                    self.close_connection = True
                    return
                finally:
                    conn.close()
                request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
                if self.path.endswith("/invocation/next") and request_id:
                    header = relay.trace_headers.pop(request_id, None)
                    if header and not resp.getheader("Lambda-Runtime-Trace-Id"):
                        out.append(("Lambda-Runtime-Trace-Id", header))
                        relay.relayed += 1
                self.send_response(resp.status)
                for key, value in out:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _relay

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a runtime that went away mid-request is not news

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


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
        self.relay: RuntimeApiRelay | None = None
        self.port = 0
        self.api_port = 0
        self.started_at = 0.0
        self.first_response_ms: float | None = None
        self._conn: http.client.HTTPConnection | None = None
        self._pids: dict[str, int] = {}
        self.exit_code: int | None = None
        self.sigterm_at: float | None = None
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
            "--runtime-api-address", f"127.0.0.1:{self.api_port}",
            "/var/runtime/bootstrap",
        ]  # fmt: skip

    def start(self, ready_timeout: float = 20.0) -> None:
        self.port = free_port()
        self.api_port = free_port()
        self.relay = RuntimeApiRelay(self.api_port)
        # The local bootstrap points the runtime (not the extensions) at the relay.
        self.env = {**self.env, "LOCALRUN_RUNTIME_API": f"127.0.0.1:{self.relay.port}"}
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
        if self.relay is not None:
            self.relay.trace_headers[request_id] = header
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
            self._stop_relay()
            return
        start = time.perf_counter()
        self.sigterm_at = time.time()
        rie = self.find("aws-lambda-rie")
        if rie is not None:
            os.kill(rie, signal.SIGTERM)
        else:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.killed.append(f"RIE did not exit within {timeout:.0f} s of SIGTERM")
        self._kill_session(grace=3.0 if not self.killed else 0.0)
        try:
            self.exit_code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.exit_code = -9
        self.shutdown_ms = (time.perf_counter() - start) * 1000
        self._stop_relay()

    def _stop_relay(self) -> None:
        if self.relay is not None:
            self.relay.stop()
            self.relay = None

    def _kill_session(self, grace: float = 3.0) -> None:
        """Wait ``grace`` seconds for the session to empty (bwrap's own processes exit just
        after RIE), then SIGKILL whatever is left."""
        assert self.proc is not None
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            self.proc.poll()
            if not any(session_processes(self.proc.pid)):
                return
            time.sleep(0.02)
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
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.1)
            time.sleep(0.05)
