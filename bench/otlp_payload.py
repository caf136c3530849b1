"""OTLP/HTTP protobuf bodies shaped like the template's function sends them, and span counting.

`trace_request()` encodes one ExportTraceServiceRequest holding the 3-span trace an invocation
of the rendered handler produces (the aws-lambda instrumentation's SERVER span, named after the
function; the service's `greet` span; botocore's STS GetCallerIdentity CLIENT span), with the
resource attributes the AwsLambdaResourceDetector adds. Ids follow the X-Ray id generator
(epoch-seconds prefix), so the awsxray exporter converts them as it would in Lambda.
Hand-encoded (protobuf wire format) so the benchmark needs no protobuf package; `count_spans()`
walks the same format back.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator

SERVER, CLIENT, INTERNAL = 2, 3, 1
LEN, VARINT, FIXED64 = 2, 0, 1

Value = str | int | bool | float | list[str]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes | int) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == LEN:
        assert isinstance(payload, bytes)
        return key + _varint(len(payload)) + payload
    if wire == FIXED64:
        assert isinstance(payload, int)
        return key + struct.pack("<Q", payload)
    assert isinstance(payload, int)
    return key + _varint(payload)


def _any_value(value: Value) -> bytes:
    if isinstance(value, bool):
        return _field(2, VARINT, int(value))
    if isinstance(value, int):
        return _field(3, VARINT, value)
    if isinstance(value, float):
        return _varint(4 << 3 | FIXED64) + struct.pack("<d", value)
    if isinstance(value, list):
        items = b"".join(_field(1, LEN, _any_value(v)) for v in value)
        return _field(5, LEN, items)
    return _field(1, LEN, value.encode())


def _attributes(number: int, attrs: dict[str, Value]) -> bytes:
    return b"".join(
        _field(number, LEN, _field(1, LEN, k.encode()) + _field(2, LEN, _any_value(v)))
        for k, v in attrs.items()
    )


def _span(
    trace_id: bytes,
    span_id: bytes,
    parent: bytes,
    name: str,
    kind: int,
    start_ns: int,
    end_ns: int,
    attrs: dict[str, Value],
) -> bytes:
    body = _field(1, LEN, trace_id) + _field(2, LEN, span_id)
    if parent:
        body += _field(4, LEN, parent)
    body += _field(5, LEN, name.encode()) + _field(6, VARINT, kind)
    body += _field(7, FIXED64, start_ns) + _field(8, FIXED64, end_ns)
    body += _attributes(9, attrs)
    body += _field(15, LEN, b"")  # status: unset
    return body


def _scope(name: str, version: str, spans: list[bytes]) -> bytes:
    """A ScopeSpans message body."""
    scope = _field(1, LEN, name.encode()) + _field(2, LEN, version.encode())
    return _field(1, LEN, scope) + b"".join(_field(2, LEN, s) for s in spans)


RESOURCE: dict[str, Value] = {
    "telemetry.sdk.language": "python",
    "telemetry.sdk.name": "opentelemetry",
    "telemetry.sdk.version": "1.45.1",
    "service.name": "order-service",
    "cloud.provider": "aws",
    "cloud.platform": "aws_lambda",
    "cloud.region": "us-east-1",
    "faas.name": "order-service",
    "faas.version": "$LATEST",
    "faas.instance": "2026/12/01/[$LATEST]4f2c1e0d9b8a7f6e5d4c3b2a19081726",
    "faas.max_memory": 536870912,
}
SPANS_PER_TRACE = 3


def trace_request(now_ns: int | None = None) -> bytes:
    """One ExportTraceServiceRequest: the three spans of one invocation, a fresh trace."""
    end = now_ns or time.time_ns()
    start = end - 9_000_000
    trace_id = struct.pack(">I", end // 1_000_000_000) + os.urandom(12)
    handler, greet, sts = os.urandom(8), os.urandom(8), os.urandom(8)
    request_id = os.urandom(16).hex()
    handler_span = _span(
        trace_id, handler, b"", "order-service", SERVER, start, end,
        {
            "faas.invocation_id": request_id,
            "cloud.account.id": "123456789012",
            "cloud.resource_id": "arn:aws:lambda:us-east-1:123456789012:function:order-service",
            "faas.trigger": "other",
        },
    )  # fmt: skip
    greet_span = _span(
        trace_id, greet, handler, "order_service.greet", INTERNAL, start + 500_000, end - 500_000,
        {
            "app.greeting.name": "Ada",
            "app.event.keys": ["name"],
            "aws.account.id": "123456789012",
        },
    )  # fmt: skip
    sts_span = _span(
        trace_id, sts, greet, "STS.GetCallerIdentity", CLIENT, start + 1_000_000, end - 1_000_000,
        {
            "rpc.system": "aws-api",
            "rpc.service": "STS",
            "rpc.method": "GetCallerIdentity",
            "cloud.region": "us-east-1",
            "server.address": "sts.us-east-1.amazonaws.com",
            "server.port": 443,
            "aws.request_id": os.urandom(16).hex(),
            "retry_attempts": 0,
            "http.status_code": 200,
        },
    )  # fmt: skip
    resource = _field(1, LEN, _attributes(1, RESOURCE))
    scopes = [
        _scope("opentelemetry.instrumentation.aws_lambda", "0.66b1", [handler_span]),
        _scope("order_service", "", [greet_span]),
        _scope("opentelemetry.instrumentation.botocore", "0.66b1", [sts_span]),
    ]
    resource_spans = resource + b"".join(_field(2, LEN, scope) for scope in scopes)
    return _field(1, LEN, resource_spans)


def _walk(blob: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, offset of the field's key, offset after it) at one level."""
    i = 0
    while i < len(blob):
        begin = i
        key, i = _read_varint(blob, i)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            _, i = _read_varint(blob, i)
        elif wire == FIXED64:
            i += 8
        elif wire == LEN:
            size, i = _read_varint(blob, i)
            i += size
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, begin, i


def _read_varint(blob: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = blob[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


def _submessages(blob: bytes, number: int) -> Iterator[bytes]:
    for field, wire, begin, end in _walk(blob):
        if field == number and wire == LEN:
            _, start = _read_varint(blob, _read_varint(blob, begin)[1])
            yield blob[start:end]


def count_spans(request: bytes) -> int:
    """Spans in an ExportTraceServiceRequest (resource_spans=1 > scope_spans=2 > spans=2)."""
    return sum(
        1
        for rs in _submessages(request, 1)
        for ss in _submessages(rs, 2)
        for _ in _submessages(ss, 2)
    )
