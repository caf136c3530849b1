"""The part of a local run that lives in the function's network namespace.

`python -m lambda_otel_xray.local.agent` starts the local AWS stand-ins (standins.py), relays
the runtime's Runtime API calls (adding the trace header RIE drops), invokes the function and
reads its traces back, on commands from the runner: one JSON object per line on stdin, one
reply per line on stdout (logs go to stderr). The runner starts it where the function's
127.0.0.1 is: on this machine for the sandbox runner, in a container whose network namespace
the function's container joins for the Docker runner. Either way the function reaches X-Ray,
STS and the relay on 127.0.0.1, and nothing else.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import secrets
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import traces
from .runtime_layout import INVOKE_PATH
from .standins import FAKE_ACCESS_KEY, FAKE_SECRET_KEY, XRayStandIn


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
    sampled: bool = True

    def payload(self) -> object:
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body


def trace_header(sampled: bool = True) -> tuple[str, str, str]:
    """An X-Ray trace header as Lambda's front end would send it: (header, root, parent)."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    parent = secrets.token_hex(8)
    return f"Root={root};Parent={parent};Sampled={1 if sampled else 0}", root, parent


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


class RuntimeApiRelay:
    """Relays the runtime's Runtime API calls to RIE and adds `Lambda-Runtime-Trace-Id`.

    Lambda hands each invocation's X-Ray trace header to the runtime in that header of the
    `/invocation/next` reply (awslambdaric puts it in _X_AMZN_TRACE_ID, where the OpenTelemetry
    Lambda propagator reads it). RIE takes `X-Amzn-Trace-Id` on its invoke endpoint but never
    passes it on, so the runtime talks to RIE through this relay (runtime_layout's
    TRACE_HEADER_WRAPPER points it here), which adds the header for the request id the
    invocation was sent with. Extensions talk to RIE directly.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = split_address(upstream)
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
                conn = http.client.HTTPConnection(*relay.upstream, timeout=None)
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
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class Invoker:
    """Invokes the function on RIE's invocation endpoint, one keep-alive connection."""

    def __init__(self, address: str, relay: RuntimeApiRelay, timeout_s: float) -> None:
        self.address = split_address(address)
        self.relay = relay
        self.timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None

    def listening(self) -> bool:
        try:
            with socket.create_connection(self.address, timeout=0.2):
                return True
        except OSError:
            return False

    def invoke(self, payload: bytes, *, index: int, phase: str, sampled: bool) -> Invocation:
        header, root, parent = trace_header(sampled)
        request_id = str(uuid.uuid4())
        self.relay.trace_headers[request_id] = header
        headers = {
            "Content-Type": "application/json",
            "X-Amzn-Trace-Id": header,
            "X-Amzn-RequestId": request_id,
        }
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(*self.address, timeout=self.timeout_s)
            start = time.perf_counter()
            try:
                self._conn.request("POST", INVOKE_PATH, body=payload, headers=headers)
                resp = self._conn.getresponse()
                body = resp.read()
            except (ConnectionError, http.client.HTTPException, TimeoutError) as exc:
                self.close()
                if attempt == 2 or isinstance(exc, TimeoutError):
                    raise RuntimeError(f"invocation {index + 1} failed: {exc!r}") from None
                continue
            return Invocation(
                index=index,
                phase=phase,
                status=resp.status,
                body=body.decode(errors="replace"),
                latency_ms=(time.perf_counter() - start) * 1000,
                trace_id=root,
                parent_id=parent,
                request_id=request_id,
                sampled=sampled,
            )
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def wait_for_traces(
    standin: XRayStandIn,
    region: str,
    trace_ids: list[str] | None,
    since: float,
    wait_s: float,
    count: int = 0,
) -> list[traces.Trace]:
    """Poll the stand-in's X-Ray API until every id is there, or with ``trace_ids=None`` until
    ``count`` traces are (or ``wait_s`` passed)."""
    client = traces.xray_client(
        region,
        standin.moto_endpoint,
        {"aws_access_key_id": FAKE_ACCESS_KEY, "aws_secret_access_key": FAKE_SECRET_KEY},
    )
    start = dt.datetime.fromtimestamp(since, traces.UTC) - dt.timedelta(minutes=1)
    deadline = time.monotonic() + wait_s
    while True:
        found = traces.lookup(
            client,
            start=start,
            end=traces.utcnow() + dt.timedelta(minutes=1),
            trace_ids=trace_ids,
        )
        done = len(found) >= count if trace_ids is None else {t.id for t in found} >= set(trace_ids)
        if done or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


class Agent:
    """The commands the runner sends (see `serve`): each name in COMMANDS is a method taking
    keyword arguments and returning a JSON-serialisable dict."""

    COMMANDS: tuple[str, ...] = ("start", "listening", "invoke", "traces", "report")

    def __init__(self) -> None:
        self.standin: XRayStandIn | None = None
        self.relay: RuntimeApiRelay | None = None
        self.invoker: Invoker | None = None
        self.region = ""

    def start(
        self,
        *,
        exporter: str,
        region: str,
        runtime_api: str = "",
        invoke: str = "",
        timeout_s: float = 900,
        listen: str = "127.0.0.1",
        advertise: str = "",
        credentials: tuple[str, str] = (FAKE_ACCESS_KEY, FAKE_SECRET_KEY),
    ) -> dict[str, Any]:
        """Stand-ins up, listening on ``listen`` (see XRayStandIn); with ``runtime_api``, the
        relay in front of RIE's Runtime API there, and the invoker for RIE at ``invoke``."""
        self.region = region
        self.standin = self.make_standin(
            exporter, region, host=listen, advertise=advertise, credentials=tuple(credentials)
        )
        self.standin.start()
        if runtime_api:
            self.relay = RuntimeApiRelay(runtime_api)
            self.invoker = Invoker(invoke, self.relay, timeout_s + 15)
        return {
            "moto": self.standin.moto_advertised,
            "relay": self.relay.address if self.relay else "",
            "collector_env": self.standin.collector_env(),
        }

    def make_standin(self, exporter: str, region: str, **options: Any) -> XRayStandIn:
        """The local AWS stand-ins (a subclass may give them another export endpoint)."""
        return XRayStandIn(exporter, region, **options)

    def listening(self) -> dict[str, Any]:
        assert self.invoker is not None
        return {"listening": self.invoker.listening()}

    def invoke(self, *, payload_b64: str, index: int, phase: str, sampled: bool = True) -> dict:
        assert self.invoker is not None
        payload = base64.b64decode(payload_b64)
        return asdict(self.invoker.invoke(payload, index=index, phase=phase, sampled=sampled))

    def traces(
        self, *, since: float, wait_s: float, trace_ids: list[str] | None = None, count: int = 0
    ) -> dict[str, Any]:
        """Traces since ``since``: those of ``trace_ids``, or any ``count`` (waiting up to
        ``wait_s`` for them)."""
        assert self.standin is not None
        found = wait_for_traces(self.standin, self.region, trace_ids, since, wait_s, count)
        return {"traces": [t.as_dict() for t in found]}

    def report(self) -> dict[str, Any]:
        """What the stand-ins saw: export requests, and for xray-otlp the spans and signatures."""
        assert self.standin is not None and self.standin.front is not None
        otlp = self.standin.otlp
        return {
            "front_stats": dict(self.standin.front.stats),
            "front_requests": [dict(r) for r in self.standin.front.requests],
            "otlp": {
                "spans": list(otlp.spans) if otlp else [],
                "auth": list(otlp.auth) if otlp else [],
                "unprocessed": list(otlp.unprocessed) if otlp else [],
            },
            "relayed_trace_headers": self.relay.relayed if self.relay else 0,
            # The namespace's network interfaces: only "lo" when the runner isolated it.
            "network_interfaces": [name for _, name in socket.if_nameindex()],
        }

    def stop(self) -> None:
        if self.invoker is not None:
            self.invoker.close()
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        if self.standin is not None:
            self.standin.stop()
            self.standin = None


def serve(agent: Agent | None = None, stdin: Any = sys.stdin, stdout: Any = sys.stdout) -> int:
    """Answer commands until stdin closes: {"op": name, **arguments} -> {"ok": ..., ...}."""
    agent = agent or Agent()
    ops: dict[str, Callable[..., dict[str, Any]]] = {
        name: getattr(agent, name) for name in agent.COMMANDS
    }
    try:
        print(json.dumps({"ok": True, "ready": True}), file=stdout, flush=True)
        for line in stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            op = ops.get(request.pop("op", ""))
            try:
                if op is None:
                    raise ValueError(f"unknown command {line.strip()[:80]}")
                reply = {"ok": True, **op(**request)}
            except Exception as exc:  # the runner reports it; the agent keeps serving
                traceback.print_exc(file=sys.stderr)
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), file=stdout, flush=True)
    finally:
        agent.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(serve())
