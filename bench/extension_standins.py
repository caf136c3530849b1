"""In-process stand-ins for the extension benchmark, all on 127.0.0.1.

- `ExtensionsAPI`: the Lambda Extensions API (2020-01-01) as an extension sees it: register,
  event/next (held until the benchmark asks for SHUTDOWN), init/error and exit/error. It notes
  when each call arrives on the benchmark's clock (time.perf_counter).
- `STSStandIn`: STS GetCallerIdentity, the one AWS call the template's handler makes
  (bench/python_overhead.py points AWS_ENDPOINT_URL_STS at it).
- `ExportSink`: where the collector's exporter sends: X-Ray's PutTraceSegments
  (`POST /TraceSegments`, what the awsxray exporter calls) and OTLP/HTTP (`POST /v1/traces`,
  what xray-otlp's otlp_http exporter calls). It counts the spans that arrive, so a run proves
  the pipeline delivered every span it was sent.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from otlp_payload import count_spans

EXTENSION_ID = "bench-extension-id"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK can hold a reply back ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Background:
    """An HTTP server on 127.0.0.1:<free port>, served from a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.owner = self  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


class ExtensionsAPI(_Background):
    """One execution environment's Extensions API; `reset()` before each extension start."""

    def __init__(self) -> None:
        super().__init__(_ExtensionsHandler)
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.registered_at: float | None = None
            self.registered_name: str | None = None
            self.first_next_at: float | None = None
            self.errors: list[dict[str, Any]] = []
            self.shutdown = threading.Event()
            self.deadline_ms = 0

    def send_shutdown(self, budget_s: float = 2.0) -> None:
        """Answer the pending /event/next with SHUTDOWN, as Lambda does when it ends the
        environment (deadlineMs = now + budget, Lambda's 2 s for extensions)."""
        self.deadline_ms = int((time.time() + budget_s) * 1000)
        self.shutdown.set()


class _ExtensionsHandler(_Quiet):
    @property
    def api(self) -> ExtensionsAPI:
        return self.server.owner  # type: ignore[attr-defined,no-any-return]

    def do_POST(self) -> None:
        now = time.perf_counter()
        body = self._body()
        api = self.api
        if self.path == "/2020-01-01/extension/register":
            with api.lock:
                api.registered_at = now
                api.registered_name = self.headers.get("Lambda-Extension-Name")
            reply = {"functionName": "order-service", "functionVersion": "$LATEST",
                     "handler": "app.lambda_handler"}  # fmt: skip
            self._reply(
                200,
                json.dumps(reply).encode(),
                {"Lambda-Extension-Identifier": EXTENSION_ID, "Content-Type": "application/json"},
            )
        elif self.path in ("/2020-01-01/extension/init/error", "/2020-01-01/extension/exit/error"):
            with api.lock:
                api.errors.append({"path": self.path, "body": body.decode(errors="replace")})
            self._reply(202, b"{}", {"Content-Type": "application/json"})
        else:
            self._reply(404)

    def do_GET(self) -> None:
        now = time.perf_counter()
        api = self.api
        if self.path != "/2020-01-01/extension/event/next":
            self._reply(404)
            return
        if self.headers.get("Lambda-Extension-Identifier") != EXTENSION_ID:
            self._reply(403, b'{"errorType":"Extension.Forbidden"}')
            return
        with api.lock:
            if api.first_next_at is None:
                api.first_next_at = now
            shutdown = api.shutdown
        # Lambda holds /event/next until there is an event; the benchmark's only event is the
        # SHUTDOWN that ends a trial (the collector treats INVOKE as a no-op).
        if not shutdown.wait(timeout=120):
            self._reply(500, b'{"errorType":"Bench.Timeout"}')
            return
        event = {"eventType": "SHUTDOWN", "shutdownReason": "spindown",
                 "deadlineMs": api.deadline_ms}  # fmt: skip
        self._reply(200, json.dumps(event).encode(), {"Content-Type": "application/json"})


class ExportSink(_Background):
    """Receives the exporter's requests; `spans` counts what arrived since `reset()`."""

    def __init__(self) -> None:
        super().__init__(_SinkHandler)
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.spans = 0
            self.requests = 0
            self.unexpected: list[str] = []

    def add(self, spans: int) -> None:
        with self.lock:
            self.spans += spans
            self.requests += 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _xray_documents(body: bytes) -> int:
    """Segments plus their embedded subsegments in a PutTraceSegments request."""

    def count(doc: dict[str, Any]) -> int:
        return 1 + sum(count(sub) for sub in doc.get("subsegments") or [])

    documents = json.loads(body)["TraceSegmentDocuments"]
    return sum(count(json.loads(d)) for d in documents)


class _SinkHandler(_Quiet):
    def do_POST(self) -> None:
        sink: ExportSink = self.server.owner  # type: ignore[attr-defined]
        body = self._body()
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path == "/TraceSegments":
            sink.add(_xray_documents(body))
            reply = b'{"UnprocessedTraceSegments":[]}'
            self._reply(200, reply, {"Content-Type": "application/json"})
        elif self.path == "/v1/traces":
            sink.add(count_spans(body))
            self._reply(200, b"", {"Content-Type": "application/x-protobuf"})
        else:
            with sink.lock:
                sink.unexpected.append(self.path)
            self._reply(404)


_IDENTITY = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/bench</Arn>"
    b"<UserId>AIDABENCH</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
    b"<ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId>"
    b"</ResponseMetadata></GetCallerIdentityResponse>"
)


class STSStandIn(_Background):
    def __init__(self) -> None:
        super().__init__(_STSHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class _STSHandler(_Quiet):
    def do_POST(self) -> None:
        body = self._body()
        if b"Action=GetCallerIdentity" not in body:
            self._reply(400, b"<Error><Code>Bench.Unsupported</Code></Error>")
            return
        self._reply(200, _IDENTITY, {"Content-Type": "text/xml"})
