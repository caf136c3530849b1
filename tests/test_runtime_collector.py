"""The function's hand-encoded OTLP payloads, through the real collector.

A rendered xray-otlp service's collector, built as its `make layer` builds it, runs standalone
with the service's own config.yaml on free 127.0.0.1 ports, exporting (OTLP/HTTP, gzip, SigV4)
to a receiver in this test. The function's sender (`lambda_otel_xray.runtime`) posts spans of
every field and value type to the collector's OTLP receiver, which must accept them; what the
collector passes on must be, span by span, what the SDK's own protobuf encoder makes of the same
spans: nothing lost or changed between the function's encoding and the collector's decoding.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from collector_build import build_collector, require_go
from render import Case

pytestmark = pytest.mark.e2e

CASE = Case("terraform", "xray-otlp", "x86_64")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver(ThreadingHTTPServer):
    """Stands in for X-Ray's OTLP endpoint: keeps every request body, gunzipped."""

    daemon_threads = True

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver.bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def collector(render_case, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Any]]:
    """(the collector's OTLP/HTTP port, the receiver it exports to)."""
    require_go()
    project: Path = render_case(CASE)
    work = tmp_path_factory.mktemp("runtime-collector")
    binary = build_collector(project, work / "bin" / "collector")
    receiver = Receiver()
    port = free_port()
    config = yaml.safe_load((project / "collector" / "config.yaml").read_text())
    config["receivers"]["otlp"]["protocols"] = {"http": {"endpoint": f"127.0.0.1:{port}"}}
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        "OTEL_XRAY_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver.server_port}/v1/traces",
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    log = (work / "collector.log").open("w")
    proc = subprocess.Popen(
        [str(binary), f"--config=file:{path}"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"the collector did not listen:\n{(work / 'collector.log').read_text()}"
                )
            time.sleep(0.1)
        yield port, receiver
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        receiver.shutdown()
        receiver.server_close()


def spans_of_every_kind() -> list[Any]:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode, TraceFlags

    exporter = InMemorySpanExporter()
    resource = Resource({"service.name": "order-service", "faas.max_memory": 128})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("app", "1.0", schema_url="https://opentelemetry.io/schemas/1.11.0")
    now = time.time_ns()
    remote = SpanContext(
        int(f"{now // 1_000_000_000:08x}" + "be46a994272793e1be46a994", 16),
        0x53995C3F42CD8AD8,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with tracer.start_as_current_span(
        "order-service",
        context=trace.set_span_in_context(trace.NonRecordingSpan(remote)),
        kind=SpanKind.SERVER,
        attributes={
            "s": "ünïcode ✓", "empty": "", "t": True, "f": False, "i": -42,
            "big": (1 << 63) - 1, "d": 2.5, "nan": math.nan, "list": ["a", "b"], "ints": [1, 2],
        },
        links=[Link(remote, {"link.kind": "producer"})],
    ) as root:  # fmt: skip
        root.add_event("checkpoint", {"n": 1})
        with tracer.start_as_current_span("STS.GetCallerIdentity", kind=SpanKind.CLIENT) as call:
            call.set_status(StatusCode.ERROR, "denied")
            call.record_exception(PermissionError("denied"))
        for kind in (SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL):
            with tracer.start_as_current_span(f"{kind.name.lower()} span", kind=kind):
                pass
    return list(exporter.get_finished_spans())


def by_span_id(payloads: list[bytes]) -> dict[bytes, dict[str, Any]]:
    """Every span of the payloads with its resource and scope, keyed by span id."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    out: dict[bytes, dict[str, Any]] = {}
    for payload in payloads:
        request = ExportTraceServiceRequest()
        request.ParseFromString(payload)
        for rs in request.resource_spans:
            attrs = [MessageToDict(a) for a in rs.resource.attributes]
            resource = sorted(attrs, key=lambda a: a["key"])
            for ss in rs.scope_spans:
                for span in ss.spans:
                    out[span.span_id] = {
                        "resource": resource,
                        "scope": MessageToDict(ss.scope),
                        "schema_url": ss.schema_url,
                        "span": MessageToDict(span),
                    }
    return out


def test_the_collector_takes_the_functions_payload_unchanged(collector) -> None:
    from lambda_otel_xray.runtime.otlp import Encoder
    from lambda_otel_xray.runtime.sender import OtlpHttpSender
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    port, receiver = collector
    spans = spans_of_every_kind()
    sender = OtlpHttpSender(f"http://127.0.0.1:{port}/v1/traces", timeout_s=10)
    assert sender.send(Encoder().encode(spans)), "the collector's receiver refused the payload"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        received = by_span_id(receiver.bodies)
        if len(received) >= len(spans):
            break
        time.sleep(0.1)
    expected = by_span_id([encode_spans(spans).SerializeToString()])
    assert received == expected
