"""The span processor: an invocation's spans leave after its response, from a thread of their own.

The aws-lambda instrumentation force-flushes the tracer provider after every handler call and
waits for it, on the response path. With the extension's flush handshake (handshake.py) this
processor's `force_flush` only hands the finished spans over and returns; the export thread
sends them once the runtime has posted the response (runtime_hook.py), then posts `done` for the
invocation, which lets the extension call `/next`. Unsampled invocations record no span and
still post `done`. Without a handshake (no extension answers: unit tests, another runtime) it
behaves as a batch processor flushed synchronously: the export finishes before `force_flush`
returns, so nothing is lost when Lambda freezes the environment.

The extension waits for `done` a bounded time from the INVOKE event (OTEL_LAMBDA_FLUSH_TIMEOUT,
and never past the invocation's deadline). An invocation whose handler has used up most of that
(a slow handler, or a cold start at a small memory size's CPU share) exports synchronously
instead, before its response: the extension would otherwise stop waiting while its spans are
still in this process, and Lambda could freeze them there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from .handshake import Handshake

_logger = logging.getLogger(__name__)

Export = Callable[[Sequence[ReadableSpan]], bool]

# As the SDK's BatchSpanProcessor: spans held at most, and per OTLP request.
MAX_QUEUE_SIZE = 2048
MAX_EXPORT_BATCH_SIZE = 512
# Time the export and `done` need after the response, kept free within the extension's wait.
EXPORT_MARGIN_S = 0.25

_SPANS, _DONE, _MARK, _STOP = "spans", "done", "mark", "stop"


class LambdaSpanProcessor(SpanProcessor):
    """Hands each invocation's spans to an export thread.

    ``handshake``: the registered handshake (export after the response, then `done`), or None
    (export before `force_flush` returns). ``hold_until_released``: with a handshake, keep the
    invocation's work until `release()` (the runtime posted its response) instead of starting
    it when the handler returns.
    """

    def __init__(
        self,
        export: Export,
        handshake: Handshake | None = None,
        *,
        hold_until_released: bool = False,
        max_queue_size: int = MAX_QUEUE_SIZE,
        max_export_batch_size: int = MAX_EXPORT_BATCH_SIZE,
    ) -> None:
        self._export = export
        self.handshake = handshake
        self.hold = handshake is not None and hold_until_released
        self._max_queue = max_queue_size
        self._max_batch = max_export_batch_size
        self._lock = threading.Condition(threading.Lock())
        self._pending: list[ReadableSpan] = []  # ended, not yet handed over
        self._held: list[tuple[str, Any]] = []  # handed over, waiting for the response
        self._queue: deque[tuple[str, Any]] = deque()  # for the export thread
        self._spans_waiting = 0  # in _pending + _held + _queue
        self._dropped = 0
        self._stopped = False
        # When the current invocation must have handed its spans over by (time.monotonic()),
        # for the extension's wait to cover their export; None outside an invocation.
        self._handover_by: float | None = None
        self._thread = threading.Thread(target=self._work, name="otel-lambda-export", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the SDK's interface
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        if not span.context.trace_flags.sampled:
            return
        with self._lock:
            if self._stopped or self._spans_waiting >= self._max_queue:
                self._dropped += 1
                if self._dropped in (1, 100, 10_000):
                    _logger.warning(
                        "span queue full (%s spans waiting for export): %s spans dropped so far",
                        self._max_queue,
                        self._dropped,
                    )
                return
            self._pending.append(span)
            self._spans_waiting += 1
            if len(self._pending) >= self._max_batch:
                # A big invocation: send full batches as they fill, as the SDK's batch processor
                # does, instead of holding them all in memory until the handler returns.
                self._queue.append((_SPANS, self._pending))
                self._pending = []
                self._lock.notify()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """With the handshake: hand the spans over and return at once. Without (or too late in
        the extension's wait): export them and wait (up to ``timeout_millis``)."""
        late = self._handover_by is not None and time.monotonic() > self._handover_by
        if self.handshake is not None and not late:
            with self._lock:
                self._hand_over_pending()
            return True
        marker = threading.Event()
        with self._lock:
            if self._stopped:
                return False
            if self._pending:
                # Straight to the export thread, even when holding: it must go now.
                self._queue.append((_SPANS, self._pending))
                self._pending = []
            self._queue.extend(self._held)
            self._held = []
            self._queue.append((_MARK, marker))
            self._lock.notify()
        return marker.wait(timeout_millis / 1000)

    def shutdown(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._hand_over_pending()
            self._queue.extend(self._held)
            self._held = []
            self._stopped = True
            self._queue.append((_STOP, None))
            self._lock.notify()
        self._thread.join(timeout=5)
        if self.handshake is not None:
            self.handshake.close()

    # -------------------------------------------------------- the invocation's start and end
    def invocation_started(self, wait_s: float) -> None:
        """An invocation starts; the extension waits for its `done` at most ``wait_s`` from
        now (its flush timeout, or less when the invocation's own deadline is nearer)."""
        self._handover_by = time.monotonic() + wait_s - EXPORT_MARGIN_S

    def invocation_done(self, request_id: str | None) -> None:
        """The handler returned (the aws-lambda instrumentation has flushed): after this
        invocation's spans, tell the extension it may go on."""
        self._handover_by = None
        if self.handshake is None or not request_id:
            return
        with self._lock:
            self._hand_over_pending()
            self._add((_DONE, request_id))

    def release(self) -> None:
        """The runtime has posted the response: start on what the invocation handed over."""
        with self._lock:
            if self._held:
                self._queue.extend(self._held)
                self._held = []
                self._lock.notify()

    def held(self) -> int:
        with self._lock:
            return len(self._held)

    def _hand_over_pending(self) -> None:
        # Caller holds the lock.
        if self._pending:
            self._add((_SPANS, self._pending))
            self._pending = []

    def _add(self, item: tuple[str, Any]) -> None:
        # Caller holds the lock.
        if self.hold:
            self._held.append(item)
        else:
            self._queue.append(item)
            self._lock.notify()

    # ---------------------------------------------------------------- the export thread
    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    self._lock.wait()
                kind, value = self._queue.popleft()
                if kind == _SPANS:
                    # Consecutive batches (several flushes before the thread ran) go as one.
                    while (
                        self._queue
                        and self._queue[0][0] == _SPANS
                        and len(value) + len(self._queue[0][1]) <= self._max_batch
                    ):
                        value = value + self._queue.popleft()[1]
            try:
                if kind == _SPANS:
                    self._export(value)
                elif kind == _DONE:
                    assert self.handshake is not None
                    self.handshake.done(value)
                elif kind == _MARK:
                    value.set()
                else:
                    return
            except Exception:
                _logger.exception("the span export thread failed on %s", kind)
            finally:
                if kind == _SPANS:
                    with self._lock:
                        self._spans_waiting -= len(value)
