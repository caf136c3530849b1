"""Local stand-ins for AWS, all on 127.0.0.1 with fake credentials.

- `MotoServer`: moto's X-Ray and STS APIs, in a child process. The function's GetCallerIdentity
  goes here (AWS_ENDPOINT_URL_STS) and the traces are read back from here (GetTraceSummaries +
  BatchGetTraces), whichever exporter the collector uses.
- `Front`: the endpoint the collector exports to; it records every request (when, which status).
- For the awsxray exporter the front forwards PutTraceSegments to moto. For xray-otlp it is an
  OTLP/HTTP receiver (`OtlpReceiver`): it checks the SigV4 signature (service `xray`, the
  function's region), decodes the protobuf, keeps the spans, and stores them in moto as X-Ray
  segment documents, the way X-Ray's OTLP endpoint makes them visible to the X-Ray API.
"""

from __future__ import annotations

import gzip
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import sigv4

FAKE_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documentation example
HOST = "127.0.0.1"
MAX_DOCUMENTS_PER_CALL = 50

Response = tuple[int, dict[str, str], bytes]
Handler = Callable[[str, str, str, dict[str, str], bytes], Response]


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL when the parent (the tool) dies."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class MotoServer:
    """moto's server (X-Ray, STS, ...) as a child process on 127.0.0.1.

    A separate process, so its work (storing segments) never competes for this process's GIL
    with the invocations and the Runtime API relay that latencies are measured through.
    """

    def __init__(self, log_path: Path | None = None, host: str = HOST, advertise: str = "") -> None:
        self.log_path = log_path
        self.host = host
        self.advertise = advertise or HOST
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint = ""  # for this process
        self.advertised = ""  # for the function (its name for this machine)

    def start(self, timeout: float = 240.0) -> str:  # minutes under CPU emulation
        from .net import free_port

        port = free_port()
        # Without a log file its request log goes where this process's stderr goes.
        out = self.log_path.open("wb") if self.log_path else None
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out if out else sys.stderr,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        finally:
            if out:
                out.close()
        self.endpoint = f"http://{HOST}:{port}"
        self.advertised = f"http://{self.advertise}:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"moto server exited ({self.proc.returncode}); see {self.log_path}"
                )
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=1)
                conn.request("GET", "/moto-api/")
                conn.getresponse().read()
                conn.close()
                return self.endpoint
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto server did not start within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        self.endpoint = self.advertised = ""


def forward_to(endpoint: str) -> Handler:
    """A handler that passes requests on to ``endpoint`` (moto) unchanged."""
    target = urlsplit(endpoint)

    def handle(method: str, path: str, query: str, headers: dict[str, str], body: bytes):
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            skip = {"connection", "keep-alive", "transfer-encoding", "content-length"}
            out = {k: v for k, v in headers.items() if k not in skip}
            conn.request(method, path + (f"?{query}" if query else ""), body=body, headers=out)
            resp = conn.getresponse()
            data = resp.read()
            kept = {"content-type": resp.getheader("content-type", "application/json")}
            return resp.status, kept, data
        finally:
            conn.close()

    return handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class Front:
    """The collector's export endpoint: every request is recorded, then answered by
    ``respond`` (the handler given: moto's API, or the OTLP receiver)."""

    def __init__(
        self, handler: Handler, path_hint: str = "", host: str = HOST, advertise: str = ""
    ) -> None:
        self.handler = handler
        self._host = host
        self._advertise = advertise or HOST
        self._path_hint = path_hint
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.stats: Counter[str] = Counter()
        # Every request that reached the port: arrival time, status (None until answered).
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://{self._advertise}:{self.port}{self._path_hint}"

    def start(self) -> str:
        self.listen()
        return self.url

    def stop(self) -> None:
        self.stopping.set()  # releases requests a subclass holds
        self.close()

    def respond(
        self,
        record: dict[str, Any],
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
    ) -> Response | None:
        """The answer to one request (``record``: its entry in ``requests``, which a subclass
        may annotate); None drops the connection unanswered."""
        return self.handler(method, path, query, headers, body)

    def listen(self) -> None:
        """Serve on ``self.port`` (0: a free port, kept for later calls)."""
        front = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                record: dict[str, Any] = {"time": time.time(), "status": None}
                front.requests.append(record)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                front.stats[self.command] += 1
                url = urlsplit(self.path)
                lowered = {k.lower(): v for k, v in self.headers.items()}
                try:
                    answer = front.respond(record, self.command, url.path, url.query, lowered, body)
                except Exception as exc:  # the stand-in must answer, not die
                    answer = (
                        500,
                        {"content-type": "text/plain"},
                        f"stand-in error: {exc!r}\n".encode(),
                    )
                if answer is None:
                    self.close_connection = True
                    return
                status, headers, data = answer
                front.stats[f"status {status}"] += 1
                record["status"] = status
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up

            do_POST = do_PUT = do_GET = _serve

        with self._lock:
            if self._server is not None:
                return
            self._server = _Server((self._host, self.port), RequestHandler)
            self.port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop listening (the port is kept for a later ``listen``)."""
        with self._lock:
            if self._server is None:
                return
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
            self._thread = None


# ------------------------------------------------------------------------------ OTLP receiver

SPAN_KINDS = {
    0: "UNSPECIFIED",
    1: "INTERNAL",
    2: "SERVER",
    3: "CLIENT",
    4: "PRODUCER",
    5: "CONSUMER",
}
STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR"}


def any_value(value: Any) -> Any:
    """An OTLP AnyValue as a plain Python value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def attributes(kvs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in kvs}


def decode_spans(request: Any) -> list[dict[str, Any]]:
    """Flatten an ExportTraceServiceRequest into one dict per span."""
    spans = []
    for rs in request.resource_spans:
        resource = attributes(rs.resource.attributes)
        for ss in rs.scope_spans:
            for span in ss.spans:
                spans.append(
                    {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": SPAN_KINDS.get(span.kind, str(span.kind)),
                        "start_time_unix_nano": span.start_time_unix_nano,
                        "end_time_unix_nano": span.end_time_unix_nano,
                        "status": {
                            "code": STATUS_CODES.get(span.status.code, str(span.status.code)),
                            "message": span.status.message,
                        },
                        "attributes": attributes(span.attributes),
                        "events": [
                            {
                                "name": ev.name,
                                "time_unix_nano": ev.time_unix_nano,
                                "attributes": attributes(ev.attributes),
                            }
                            for ev in span.events
                        ],
                        "links": [
                            {
                                "trace_id": link.trace_id.hex(),
                                "span_id": link.span_id.hex(),
                                "attributes": attributes(link.attributes),
                            }
                            for link in span.links
                        ],
                        "resource": resource,
                        "scope": ss.scope.name,
                    }
                )
    return spans


def _first(attrs: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if attrs.get(key) not in (None, ""):
            return attrs[key]
    return None


def segment_document(span: dict[str, Any]) -> dict[str, Any]:
    """An X-Ray segment document for one decoded span (the rules X-Ray's OTLP ingestion and the
    awsxray exporter follow: server spans and roots are segments, the rest subsegments)."""
    attrs, resource = span["attributes"], span["resource"]
    kind = span["kind"]
    is_segment = kind in ("SERVER", "CONSUMER") or not span["parent_span_id"]
    trace = span["trace_id"]
    doc: dict[str, Any] = {
        "name": span["name"],
        "id": span["span_id"],
        "trace_id": f"1-{trace[:8]}-{trace[8:]}",
        "start_time": span["start_time_unix_nano"] // 1000 / 1e6,
        "end_time": span["end_time_unix_nano"] // 1000 / 1e6,
    }
    if span["parent_span_id"]:
        doc["parent_id"] = span["parent_span_id"]
    if not is_segment:
        doc["type"] = "subsegment"
    if attrs.get("rpc.system") == "aws-api":
        doc["name"] = attrs.get("rpc.service") or doc["name"]
        doc["namespace"] = "aws"
        doc["aws"] = {
            k: v
            for k, v in {
                "operation": attrs.get("rpc.method"),
                "request_id": _first(attrs, "aws.request_id", "aws.requestId"),
                "region": resource.get("cloud.region"),
            }.items()
            if v
        }
    elif is_segment:
        # No origin on a Lambda handler's segment: Lambda's own function segment carries
        # AWS::Lambda::Function under the same name (the exporter's decision, docs/decisions.md).
        doc["name"] = resource.get("service.name") or doc["name"]
    elif kind in ("CLIENT", "PRODUCER"):
        doc["name"] = _first(attrs, "peer.service", "server.address") or doc["name"]
        doc["namespace"] = "remote"
    status = _first(attrs, "http.response.status_code", "http.status_code")
    if status:
        doc["http"] = {"response": {"status": int(status)}}
        status = int(status)
    if status == 429:
        doc["error"] = doc["throttle"] = True
    elif status and 400 <= status < 500:
        doc["error"] = True
    elif (status and status >= 500) or span["status"]["code"] == "ERROR":
        doc["fault"] = True
    if doc.get("error") or doc.get("fault"):
        exceptions = [
            {
                "id": span["span_id"][:8] + f"{i:08x}",
                "type": ev["attributes"].get("exception.type", ""),
                "message": ev["attributes"].get("exception.message", ""),
            }
            for i, ev in enumerate(span["events"])
            if ev["name"] == "exception"
        ]
        if not exceptions and span["status"]["message"]:
            exceptions = [{"id": span["span_id"], "message": span["status"]["message"]}]
        if exceptions:
            doc["cause"] = {"exceptions": exceptions}
    if span["links"]:
        doc["links"] = [
            {
                "trace_id": f"1-{link['trace_id'][:8]}-{link['trace_id'][8:]}",
                "id": link["span_id"],
                **({"attributes": link["attributes"]} if link["attributes"] else {}),
            }
            for link in span["links"][:20]  # X-Ray keeps at most 20 links
        ]
    if attrs:
        doc["metadata"] = {"default": attrs}
    return doc


class OtlpReceiver:
    """OTLP/HTTP traces endpoint that checks SigV4 and stores spans as X-Ray segments in moto."""

    path = "/v1/traces"

    def __init__(
        self,
        *,
        region: str,
        moto_endpoint: str,
        service: str = "xray",
        credentials: tuple[str, str] = (FAKE_ACCESS_KEY, FAKE_SECRET_KEY),
    ) -> None:
        import boto3

        self.region = region
        # The key pair the function signs with (the signature is recomputed with its secret).
        self.access_key, self.secret_key = credentials
        self.service = service
        self.spans: list[dict[str, Any]] = []
        self.auth: list[dict[str, Any]] = []
        self.unprocessed: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._xray = boto3.client(
            "xray",
            endpoint_url=moto_endpoint,
            region_name=region,
            aws_access_key_id=FAKE_ACCESS_KEY,
            aws_secret_access_key=FAKE_SECRET_KEY,
        )

    def handle(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes):
        from google.protobuf import json_format
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as pb

        if path != self.path or method != "POST":
            return 404, {"content-type": "text/plain"}, b"not found\n"
        check = sigv4.verify(
            method,
            path,
            query,
            headers,
            body,
            secret_key=self.secret_key,
            access_key=self.access_key,
            region=self.region,
            service=self.service,
        )
        with self._lock:
            self.auth.append({**check.as_dict(), "time": time.time()})
        if not check.ok:
            message = json.dumps({"message": f"SigV4 check failed: {check.reason}"}).encode()
            return 403, {"content-type": "application/json"}, message
        if headers.get("content-encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        request = pb.ExportTraceServiceRequest()
        content_type = headers.get("content-type", "application/x-protobuf")
        if content_type.startswith("application/json"):
            json_format.Parse(body, request)
        else:
            request.ParseFromString(body)
        spans = decode_spans(request)
        docs = [json.dumps(segment_document(span)) for span in spans]
        for start in range(0, len(docs), MAX_DOCUMENTS_PER_CALL):
            out = self._xray.put_trace_segments(
                TraceSegmentDocuments=docs[start : start + MAX_DOCUMENTS_PER_CALL]
            )
            with self._lock:
                self.unprocessed.extend(out.get("UnprocessedTraceSegments", []))
        with self._lock:
            self.spans.extend(spans)
        response = pb.ExportTraceServiceResponse()
        if content_type.startswith("application/json"):
            return (
                200,
                {"content-type": "application/json"},
                json_format.MessageToJson(response).encode(),
            )
        return 200, {"content-type": "application/x-protobuf"}, response.SerializeToString()


class XRayStandIn:
    """moto plus the collector's export endpoint for ``exporter`` (awsxray or xray-otlp)."""

    def __init__(
        self,
        exporter: str,
        region: str,
        log_path: Path | None = None,
        host: str = HOST,
        advertise: str = "",
        credentials: tuple[str, str] = (FAKE_ACCESS_KEY, FAKE_SECRET_KEY),
    ) -> None:
        """``host``: where to listen (127.0.0.1: only the function's own namespace); on a
        network of containers, 0.0.0.0, with ``advertise`` the name the others use for it.
        ``credentials``: the key pair the function has (its OTLP signatures are checked)."""
        self.exporter = exporter
        self.credentials = credentials
        self.region = region
        self.host, self.advertise = host, advertise
        self.moto = MotoServer(log_path, host, advertise)
        self.otlp: OtlpReceiver | None = None
        self.front: Front | None = None

    # The export endpoint's class (a subclass may answer differently).
    front_class: type[Front] = Front

    def start(self) -> None:
        moto = self.moto.start()
        self._warm_up(moto)
        if self.exporter == "xray-otlp":
            self.otlp = OtlpReceiver(
                region=self.region, moto_endpoint=moto, credentials=self.credentials
            )
            self.front = self.front_class(
                self.otlp.handle, OtlpReceiver.path, self.host, self.advertise
            )
        else:
            self.front = self.front_class(forward_to(moto), "", self.host, self.advertise)
        self.front.start()

    def _warm_up(self, endpoint: str) -> None:
        """moto loads each service's backend on its first request, holding up every other
        request meanwhile (~200 ms): load X-Ray's and STS's now, not during an invocation."""
        import boto3

        session = boto3.session.Session(
            aws_access_key_id=FAKE_ACCESS_KEY,
            aws_secret_access_key=FAKE_SECRET_KEY,
            region_name=self.region,
        )
        session.client("sts", endpoint_url=endpoint).get_caller_identity()
        now = time.time()
        session.client("xray", endpoint_url=endpoint).get_trace_summaries(
            StartTime=now - 60, EndTime=now
        )

    @property
    def moto_endpoint(self) -> str:
        """moto's API for this process (reading traces back)."""
        return self.moto.endpoint

    @property
    def moto_advertised(self) -> str:
        """moto's API for the function (its AWS SDK calls)."""
        return self.moto.advertised

    @property
    def export_url(self) -> str:
        assert self.front is not None
        return self.front.url

    def collector_env(self) -> dict[str, str]:
        """What points the collector's exporter at the front (see collector/config.yaml)."""
        if self.exporter == "xray-otlp":
            return {"OTEL_XRAY_OTLP_ENDPOINT": self.export_url}
        return {"OTEL_XRAY_ENDPOINT": self.export_url}

    def stop(self) -> None:
        if self.front is not None:
            self.front.stop()
        self.moto.stop()
