"""OTLP/protobuf encoding of finished SDK spans, by hand, with the standard library.

The OTLP/HTTP exporter package encodes through `protobuf` and the generated `opentelemetry-proto`
classes, which cost ~19 ms of every cold start to import (docs/decisions.md, decision 12) and
several MB of the layer. The payload is small and its schema stable, so it is written here
directly: the same `ExportTraceServiceRequest` bytes the SDK's encoder produces (fields in
number order, proto3 defaults left out, the same grouping by resource and scope), checked
against it in tool/tests/test_runtime_otlp.py and against the collector's receiver in
tests/test_runtime_collector.py.

Field numbers: opentelemetry/proto/{collector/trace/v1/trace_service,trace/v1/trace,
common/v1/common,resource/v1/resource}.proto.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

_logger = logging.getLogger(__name__)

# OTLP's SpanFlags: bit 8 says whether the parent's remoteness is known, bit 9 that it is remote.
HAS_IS_REMOTE = 0x100
IS_REMOTE = 0x200
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_pack_double = struct.Struct("<d").pack
_pack_fixed64 = struct.Struct("<Q").pack
_pack_fixed32 = struct.Struct("<I").pack


def varint(value: int) -> bytes:
    """Base-128 varint of a non-negative int (negative int64s are passed as their 64-bit two's
    complement)."""
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _len(tag: bytes, data: bytes) -> bytes:
    """A length-delimited field: tag, length, bytes."""
    return tag + varint(len(data)) + data


def _string(tag: bytes, text: str | None) -> bytes:
    if not text:
        return b""
    return _len(tag, text.encode("utf-8"))


def any_value(value: Any) -> bytes:
    """An AnyValue message's bytes (without its own tag); the oneof member is written even when
    it holds its type's default, as protobuf does for oneofs."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _len(b"\x0a", value.encode("utf-8"))
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"{value} does not fit an OTLP int64")
        return b"\x18" + varint(value & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, float):
        return b"\x21" + _pack_double(value)
    if isinstance(value, bytes):
        return _len(b"\x3a", value)
    if isinstance(value, Sequence):
        return _len(b"\x2a", b"".join(_len(b"\x0a", any_value(v)) for v in value))
    if isinstance(value, Mapping):
        return _len(
            b"\x32", b"".join(_len(b"\x0a", key_value(str(k), v)) for k, v in value.items())
        )
    raise TypeError(f"invalid type {type(value).__name__} of value {value!r}")


def key_value(key: str, value: Any) -> bytes:
    return _string(b"\x0a", key) + _len(b"\x12", any_value(value))


def attributes(tag: bytes, attrs: Mapping[str, Any] | None) -> bytes:
    """Repeated KeyValue under ``tag``; an attribute that cannot be encoded is logged and left
    out (as the SDK's encoder does), never the whole payload."""
    if not attrs:
        return b""
    parts = []
    for key, value in attrs.items():
        try:
            parts.append(_len(tag, key_value(key, value)))
        except (TypeError, ValueError) as error:
            _logger.warning("attribute %s left out of the export: %s", key, error)
    return b"".join(parts)


def _uint(tag: bytes, value: int) -> bytes:
    return tag + varint(value) if value else b""


def _flags(context: Any) -> int:
    flags = HAS_IS_REMOTE
    if context is not None and context.is_remote:
        flags |= IS_REMOTE
    return flags


def _trace_state(state: Any) -> str:
    return ",".join(f"{key}={value}" for key, value in state.items()) if state else ""


def _event(event: Any) -> bytes:
    return (
        (b"\x09" + _pack_fixed64(event.timestamp) if event.timestamp else b"")
        + _string(b"\x12", event.name)
        + attributes(b"\x1a", event.attributes)
        + _uint(b"\x20", event.dropped_attributes)
    )


def _link(link: Any) -> bytes:
    context = link.context
    return (
        _len(b"\x0a", context.trace_id.to_bytes(16, "big"))
        + _len(b"\x12", context.span_id.to_bytes(8, "big"))
        + attributes(b"\x22", link.attributes)
        + _uint(b"\x28", link.dropped_attributes)
        + b"\x35"
        + _pack_fixed32(_flags(context))
    )


def _status(status: Any) -> bytes:
    if status is None:
        return b""
    return _len(
        b"\x7a", _string(b"\x12", status.description) + _uint(b"\x18", status.status_code.value)
    )


def span(sdk_span: Any) -> bytes:
    """One Span message (without its tag) from an SDK ReadableSpan."""
    context = sdk_span.get_span_context()
    parent = sdk_span.parent
    out = [
        _len(b"\x0a", context.trace_id.to_bytes(16, "big")),
        _len(b"\x12", context.span_id.to_bytes(8, "big")),
        _string(b"\x1a", _trace_state(context.trace_state)),
    ]
    if parent is not None:
        out.append(_len(b"\x22", parent.span_id.to_bytes(8, "big")))
    out.append(_string(b"\x2a", sdk_span.name))
    # The SDK's SpanKind counts from INTERNAL = 0; OTLP's from SPAN_KIND_INTERNAL = 1.
    out.append(b"\x30" + varint(sdk_span.kind.value + 1))
    if sdk_span.start_time:
        out.append(b"\x39" + _pack_fixed64(sdk_span.start_time))
    if sdk_span.end_time:
        out.append(b"\x41" + _pack_fixed64(sdk_span.end_time))
    out.append(attributes(b"\x4a", sdk_span.attributes))
    out.append(_uint(b"\x50", sdk_span.dropped_attributes))
    out.extend(_len(b"\x5a", _event(e)) for e in sdk_span.events or ())
    out.append(_uint(b"\x60", sdk_span.dropped_events))
    out.extend(_len(b"\x6a", _link(link)) for link in sdk_span.links or ())
    out.append(_uint(b"\x70", sdk_span.dropped_links))
    out.append(_status(sdk_span.status))
    out.append(b"\x85\x01" + _pack_fixed32(_flags(parent)))
    return b"".join(out)


class Encoder:
    """Spans -> ExportTraceServiceRequest bytes. Resources and scopes repeat in every request
    of an execution environment, so their encodings are kept."""

    def __init__(self) -> None:
        self._resources: dict[int, tuple[Any, bytes]] = {}
        self._scopes: dict[Any, bytes] = {}

    def _resource(self, resource: Any) -> bytes:
        # Keyed by identity (a provider's spans share its Resource; hashing one serializes all
        # its attributes), holding the object so its id is not reused.
        known = self._resources.get(id(resource))
        if known is None or known[0] is not resource:
            encoded = _len(b"\x0a", attributes(b"\x0a", resource.attributes))
            if len(self._resources) > 64:
                self._resources.clear()
            self._resources[id(resource)] = known = (resource, encoded)
        return known[1]

    def _scope(self, scope: Any) -> bytes:
        encoded = self._scopes.get(scope)
        if encoded is None:
            body = b""
            if scope is not None:
                body = (
                    _string(b"\x0a", scope.name)
                    + _string(b"\x12", scope.version)
                    + attributes(b"\x1a", scope.attributes)
                )
            if len(self._scopes) > 256:
                self._scopes.clear()
            encoded = self._scopes[scope] = _len(b"\x0a", body)
        return encoded

    def encode(self, spans: Sequence[Any]) -> bytes:
        # Resource -> scope -> spans, in the order first seen, as the SDK's encoder groups them.
        groups: dict[int, tuple[Any, dict[Any, list[bytes]]]] = {}
        for sdk_span in spans:
            resource = sdk_span.resource
            scopes = groups.setdefault(id(resource), (resource, {}))[1]
            scopes.setdefault(sdk_span.instrumentation_scope or None, []).append(
                _len(b"\x12", span(sdk_span))
            )
        out = []
        for resource, scopes in groups.values():
            scope_spans = b"".join(
                _len(
                    b"\x12",
                    self._scope(scope)
                    + b"".join(encoded)
                    + _string(b"\x1a", scope.schema_url if scope is not None else None),
                )
                for scope, encoded in scopes.items()
            )
            body = self._resource(resource) + scope_spans + _string(b"\x1a", resource.schema_url)
            out.append(_len(b"\x0a", body))
        return b"".join(out)
