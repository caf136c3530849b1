"""The span processor and the handshake client against a fake extension on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from lambda_otel_xray.runtime.handshake import Handshake, flush_timeout_s, handshake_address
from lambda_otel_xray.runtime.otlp import Encoder
from lambda_otel_xray.runtime.processor import LambdaSpanProcessor
from lambda_otel_xray.runtime.sender import OtlpHttpSender
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from runtime_fakes import Behaviour, FakeExtension

# A span named "s" in the protobuf payload: field 5 (name), length 1.
SPAN_NAMED_S = b"\x2a\x01s"


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeExtension]:
    behaviour = getattr(request, "param", None)
    server = FakeExtension(behaviour)
    yield server
    server.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processor_for(
    fake: FakeExtension, *, handshake: bool, hold: bool = False, timeout_s: float = 2.0, **kw
) -> LambdaSpanProcessor:
    sender = OtlpHttpSender(fake.otlp_endpoint, timeout_s)
    encoder = Encoder()
    client = None
    if handshake:
        client = Handshake("127.0.0.1", fake.server_port)
        assert client.register()
    return LambdaSpanProcessor(
        lambda spans: sender.send(encoder.encode(spans)), client, hold_until_released=hold, **kw
    )


def traced(processor: LambdaSpanProcessor, sampler=None) -> TracerProvider:
    provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
    provider.add_span_processor(processor)
    return provider


def invocation(provider: TracerProvider, processor: LambdaSpanProcessor, request_id: str) -> None:
    """What the aws-lambda instrumentation and the handler hook do for one invocation."""
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("handler"), tracer.start_as_current_span("inner"):
        pass
    assert provider.force_flush(30_000)
    processor.invocation_done(request_id)


def test_with_the_handshake_the_flush_returns_before_the_export(fake: FakeExtension) -> None:
    fake.behaviour.otlp_delay_s = 0.3  # a slow receiver: the flush must not wait for it
    processor = processor_for(fake, handshake=True)
    provider = traced(processor)
    started = time.monotonic()
    invocation(provider, processor, "req-1")
    assert time.monotonic() - started < 0.1
    [done] = fake.wait_for("/v1/invocations/", 1)
    [export] = fake.of("/v1/traces")
    assert fake.of("/v1/runtime") and done.path == "/v1/invocations/req-1/done"
    # `done` only once the export has been answered.
    assert done.received >= export.answered
    assert b"handler" in export.body and b"inner" in export.body
    assert export.headers["Content-Type"] == "application/x-protobuf"
    processor.shutdown()


def test_held_work_starts_only_when_released(fake: FakeExtension) -> None:
    """What the runtime hook does: nothing leaves until the runtime has posted the response."""
    processor = processor_for(fake, handshake=True, hold=True)
    provider = traced(processor)
    invocation(provider, processor, "req-1")
    time.sleep(0.2)
    assert fake.of("/v1/traces") == [] and fake.of("/v1/invocations/") == []
    assert processor.held() == 2  # the spans, then `done`
    processor.release()
    fake.wait_for("/v1/invocations/req-1/done", 1)
    assert len(fake.of("/v1/traces")) == 1
    processor.shutdown()


def test_unsampled_invocations_post_done_without_an_export(fake: FakeExtension) -> None:
    processor = processor_for(fake, handshake=True)
    provider = traced(processor, sampler=ALWAYS_OFF)
    for n in range(3):
        invocation(provider, processor, f"req-{n}")
    done = fake.wait_for("/v1/invocations/", 3)
    assert [d.path for d in done] == [f"/v1/invocations/req-{n}/done" for n in range(3)]
    assert fake.of("/v1/traces") == []
    processor.shutdown()


def test_every_invocation_is_done_after_its_own_spans(fake: FakeExtension) -> None:
    processor = processor_for(fake, handshake=True)
    provider = traced(processor)
    for n in range(20):
        invocation(provider, processor, f"req-{n}")
    fake.wait_for("/v1/invocations/", 20)
    exports = fake.of("/v1/traces")
    spans_before = 0
    for request in fake.requests:
        if request.path.startswith("/v1/traces"):
            spans_before += request.body.count(b"handler")
        elif request.path.endswith("/done"):
            n = int(request.path.split("/")[3].split("-")[1])
            assert spans_before >= n + 1, f"done for req-{n} before its spans"
    assert sum(e.body.count(b"handler") for e in exports) == 20
    processor.shutdown()


@pytest.mark.parametrize("fake", [Behaviour(otlp_statuses=[503, 503, 200])], indirect=True)
def test_retryable_answers_are_retried(fake: FakeExtension) -> None:
    processor = processor_for(fake, handshake=True)
    invocation(traced(processor), processor, "req-1")
    fake.wait_for("/v1/invocations/", 1)
    assert [r.status for r in fake.of("/v1/traces")] == [503, 503, 200]
    processor.shutdown()


@pytest.mark.parametrize("fake", [Behaviour(otlp_statuses=[400])], indirect=True)
def test_a_refused_export_still_posts_done(
    fake: FakeExtension, caplog: pytest.LogCaptureFixture
) -> None:
    processor = processor_for(fake, handshake=True)
    invocation(traced(processor), processor, "req-1")
    fake.wait_for("/v1/invocations/", 1)
    assert [r.status for r in fake.of("/v1/traces")] == [400]  # not retried
    assert "could not be exported" in caplog.text
    processor.shutdown()


def test_a_hanging_receiver_costs_the_export_timeout_then_done(fake: FakeExtension) -> None:
    fake.behaviour.otlp_delay_s = 5.0
    processor = processor_for(fake, handshake=True, timeout_s=0.3)
    started = time.monotonic()
    invocation(traced(processor), processor, "req-1")
    [done] = fake.wait_for("/v1/invocations/", 1)
    assert 0.3 <= done.received - started < 1.5
    processor.shutdown()


def test_without_a_handshake_the_flush_waits_for_the_export(fake: FakeExtension) -> None:
    fake.behaviour.otlp_delay_s = 0.2
    processor = processor_for(fake, handshake=False)
    provider = traced(processor)
    started = time.monotonic()
    invocation(provider, processor, "req-1")
    assert time.monotonic() - started >= 0.2
    [export] = fake.of("/v1/traces")
    assert export.status == 200
    assert fake.of("/v1/invocations/") == [] and fake.of("/v1/runtime") == []
    processor.shutdown()


def test_without_a_handshake_a_hung_receiver_bounds_the_flush(fake: FakeExtension) -> None:
    fake.behaviour.otlp_delay_s = 5.0
    processor = processor_for(fake, handshake=False, timeout_s=0.3)
    provider = traced(processor)
    started = time.monotonic()
    invocation(provider, processor, "req-1")
    assert time.monotonic() - started < 1.5
    processor.shutdown()


def test_registration_without_an_extension_is_refused_fast() -> None:
    client = Handshake("127.0.0.1", free_port())
    started = time.monotonic()
    assert client.register() is False
    assert time.monotonic() - started < 0.25


@pytest.mark.parametrize("fake", [Behaviour(handshake=False)], indirect=True)
def test_an_extension_that_does_not_know_the_handshake_is_no_handshake(
    fake: FakeExtension,
) -> None:
    assert Handshake("127.0.0.1", fake.server_port).register() is False


def test_a_full_queue_drops_spans_with_a_warning(
    fake: FakeExtension, caplog: pytest.LogCaptureFixture
) -> None:
    processor = processor_for(fake, handshake=True, hold=True, max_queue_size=5)
    provider = traced(processor)
    tracer = provider.get_tracer("t")
    for _ in range(8):
        with tracer.start_as_current_span("s"):
            pass
    provider.force_flush()
    processor.invocation_done("req-1")
    processor.release()
    fake.wait_for("/v1/invocations/", 1)
    assert sum(r.body.count(SPAN_NAMED_S) for r in fake.of("/v1/traces")) == 5
    assert "span queue full" in caplog.text
    processor.shutdown()


def test_big_invocations_go_in_batches_as_they_fill(fake: FakeExtension) -> None:
    processor = processor_for(fake, handshake=True, hold=True, max_export_batch_size=10)
    provider = traced(processor)
    tracer = provider.get_tracer("t")
    for _ in range(25):
        with tracer.start_as_current_span("s"):
            pass
    fake.wait_for("/v1/traces", 2)  # two full batches left before the handler returned
    provider.force_flush()
    processor.invocation_done("req-1")
    processor.release()
    fake.wait_for("/v1/invocations/", 1)
    assert sorted(r.body.count(SPAN_NAMED_S) for r in fake.of("/v1/traces")) == [5, 10, 10]
    processor.shutdown()


def test_a_kept_alive_connection_the_collector_closed_is_reopened(fake: FakeExtension) -> None:
    sender = OtlpHttpSender(fake.otlp_endpoint, 2.0)
    assert sender.send(b"")
    assert sender._connection is not None and sender._connection.sock is not None
    sender._connection.sock.shutdown(socket.SHUT_RDWR)  # as after the collector's idle timeout
    assert sender.send(b"")
    assert len(fake.of("/v1/traces")) == 2


def test_shutdown_exports_what_is_still_held(fake: FakeExtension) -> None:
    processor = processor_for(fake, handshake=True, hold=True)
    invocation(traced(processor), processor, "req-1")
    processor.shutdown()
    assert len(fake.of("/v1/traces")) == 1 and len(fake.of("/v1/invocations/")) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", ("127.0.0.1", 4319)), ("localhost:5000", ("localhost", 5000)), ("[::1]:7", ("::1", 7))],
)
def test_the_handshake_address(monkeypatch: pytest.MonkeyPatch, value: str, expected) -> None:
    monkeypatch.setenv("OTEL_LAMBDA_HANDSHAKE_ENDPOINT", value)
    assert handshake_address() == expected


def test_a_bad_handshake_address_says_how_to_write_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_LAMBDA_HANDSHAKE_ENDPOINT", "localhost")
    with pytest.raises(ValueError, match=r"not host:port.*127\.0\.0\.1:4319"):
        handshake_address()


def test_an_invocation_late_in_the_extensions_wait_exports_before_it_returns(
    fake: FakeExtension,
) -> None:
    """A slow handler: the extension would stop waiting before an export after the response,
    so this one goes before, and `done` still follows."""
    processor = processor_for(fake, handshake=True, hold=True)
    provider = traced(processor)
    processor.invocation_started(0.2)  # less than the export margin left
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("s"):
        pass
    assert provider.force_flush(5000)
    assert [r.status for r in fake.of("/v1/traces")] == [200]  # exported before returning
    processor.invocation_done("req-1")
    processor.release()
    fake.wait_for("/v1/invocations/req-1/done", 1)
    # The next invocation, in time, hands over again.
    processor.invocation_started(1.0)
    with tracer.start_as_current_span("s"):
        pass
    provider.force_flush(5000)
    assert len(fake.of("/v1/traces")) == 1
    processor.invocation_done("req-2")
    processor.release()
    fake.wait_for("/v1/invocations/req-2/done", 1)
    assert len(fake.of("/v1/traces")) == 2
    processor.shutdown()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("", 1.0), ("250", 0.25), ("0", 0.0), ("1s", 1.0), ("1.5s", 1.5), ("300ms", 0.3),
     ("2m", 120.0), ("soon", 1.0), ("-5", 1.0)],
)  # fmt: skip
def test_the_flush_timeout_reads_as_the_extension_reads_it(
    monkeypatch: pytest.MonkeyPatch, value: str, seconds: float
) -> None:
    monkeypatch.setenv("OTEL_LAMBDA_FLUSH_TIMEOUT", value)
    assert flush_timeout_s() == pytest.approx(seconds)
