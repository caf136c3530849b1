"""The hand-written OTLP encoder gives the bytes the SDK's own protobuf encoder gives.

`opentelemetry-exporter-otlp-proto-common` (the test group's pin, the layer's version) encodes
the same spans through protobuf; the two payloads must be identical byte for byte, and parse
back to the spans' content.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from lambda_otel_xray.runtime import otlp
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common._internal import _encode_value
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState


def provider_spans(resource: Resource, limits: SpanLimits | None = None):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=resource, span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def rich_spans() -> list[ReadableSpan]:
    """Every field the encoder writes, with edge values."""
    resource = Resource.create({"service.name": "order-service", "faas.max_memory": 512})
    provider, exporter = provider_spans(resource, SpanLimits(max_attributes=8, max_events=2))
    tracer = provider.get_tracer("app.tracer", "1.2.3", schema_url="https://x/schemas/1.11.0")
    other = provider.get_tracer("other", attributes={"scope.attr": "s", "n": 3})
    remote = SpanContext(
        trace_id=0x5759E988BD862E3FE1BE46A994272793,
        span_id=0x53995C3F42CD8AD8,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "value"), ("other", "x")]),
    )
    linked = SpanContext(0x1, 0x2, is_remote=False)
    parent = trace.set_span_in_context(trace.NonRecordingSpan(remote))
    with tracer.start_as_current_span(
        "handler",
        context=parent,
        kind=SpanKind.SERVER,
        attributes={
            "s": "ünïcode ✓",
            "empty": "",
            "t": True,
            "f": False,
            "i": 42,
            "neg": -7,
            "zero": 0,
            "big": (1 << 63) - 1,
            "d": 3.5,
            "nan": math.nan,
        },
        links=[Link(linked, {"link.attr": 1}), Link(remote)],
    ) as root:
        root.add_event("e1", {"k": "v"}, timestamp=1_700_000_000_000_000_000)
        root.add_event("e2")
        root.add_event("e3 (over the limit)")
        root.set_attribute("seq.s", ["a", "b"])
        root.set_attribute("seq.i", [1, 2, 3])
        root.set_attribute("seq.empty", [])
        with tracer.start_as_current_span("child", kind=SpanKind.CLIENT) as child:
            child.set_status(Status(StatusCode.ERROR, "it broke"))
            child.record_exception(ValueError("bad"))
        with other.start_as_current_span("internal") as internal:
            internal.set_status(StatusCode.OK)
        with tracer.start_as_current_span("producer", kind=SpanKind.PRODUCER):
            pass
        with tracer.start_as_current_span("consumer", kind=SpanKind.CONSUMER, start_time=1):
            pass
    # A second provider: another resource in the same request.
    provider2, exporter2 = provider_spans(Resource({"service.name": "b"}, "https://x/res"))
    with provider2.get_tracer("t2").start_as_current_span(""):
        pass
    return [*exporter.get_finished_spans(), *exporter2.get_finished_spans()]


def test_the_request_is_byte_for_byte_the_sdk_encoders() -> None:
    spans = rich_spans()
    ours = otlp.Encoder().encode(spans)
    assert ours == encode_spans(spans).SerializeToString()


def test_a_reused_encoder_gives_the_same_bytes() -> None:
    """Resources and scopes are cached between requests; the cache must not change them."""
    spans = rich_spans()
    encoder = otlp.Encoder()
    first = encoder.encode(spans)
    assert encoder.encode(spans) == first
    assert encoder.encode(spans[:2]) == encode_spans(spans[:2]).SerializeToString()
    assert encoder.encode([]) == b""


def test_the_payload_parses_back_to_the_spans() -> None:
    spans = rich_spans()
    request = ExportTraceServiceRequest()
    request.ParseFromString(otlp.Encoder().encode(spans))
    assert len(request.resource_spans) == 2
    parsed = {s.name: s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans}
    assert sorted(parsed) == sorted(s.name for s in spans)
    handler = parsed["handler"]
    assert handler.kind == handler.SPAN_KIND_SERVER
    assert handler.parent_span_id == (0x53995C3F42CD8AD8).to_bytes(8, "big")
    assert handler.flags == otlp.HAS_IS_REMOTE | otlp.IS_REMOTE
    assert handler.dropped_attributes_count > 0 and handler.dropped_events_count == 1
    assert parsed["child"].status.code == parsed["child"].status.STATUS_CODE_ERROR
    assert parsed["child"].status.message == "it broke"
    assert parsed["child"].flags == otlp.HAS_IS_REMOTE  # a local parent


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "x",
        True,
        False,
        0,
        1,
        -1,
        127,
        128,
        (1 << 63) - 1,
        -(1 << 63),
        0.0,
        -2.5,
        math.inf,
        b"",
        b"\x00\xff",
        ("a", 1, True, 2.0),
        (),
        {"k": "v", "n": {"inner": [1, 2]}},
    ],
)
def test_any_value_matches_protobuf(value: Any) -> None:
    assert otlp.any_value(value) == _encode_value(value).SerializeToString()
    parsed = AnyValue()
    parsed.ParseFromString(otlp.any_value(value))


def test_values_protobuf_cannot_hold_are_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    encoded = otlp.attributes(b"\x0a", {"ok": 1, "huge": 1 << 64, "obj": object()})
    assert encoded == otlp.attributes(b"\x0a", {"ok": 1})
    assert "huge" in caplog.text and "obj" in caplog.text


def test_varint() -> None:
    assert otlp.varint(0) == b"\x00"
    assert otlp.varint(300) == b"\xac\x02"
    assert otlp.varint((1 << 64) - 1) == b"\xff" * 9 + b"\x01"
