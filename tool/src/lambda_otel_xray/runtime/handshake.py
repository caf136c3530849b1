"""The function's side of the flush handshake with the collector extension.

The extension serves it on 127.0.0.1:4319 (OTEL_LAMBDA_HANDSHAKE_ENDPOINT, host:port, on both
sides). The function registers once at init (`POST /v1/runtime`); from then on the extension
holds each invocation's `/next` until the function has posted `POST
/v1/invocations/{request_id}/done`, which it does once the invocation's spans have been
answered by the collector's OTLP receiver (or failed, or there were none), so the response
never waits for them and no span is left behind when Lambda freezes the environment. An
extension that never got the registration never waits. docs/decisions.md, decision 14.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
from urllib.parse import quote

from .loopback import connection

ENDPOINT_ENV = "OTEL_LAMBDA_HANDSHAKE_ENDPOINT"
DEFAULT_ENDPOINT = "127.0.0.1:4319"
# How long the extension waits for an invocation's `done`, counted from its INVOKE event (read
# by both sides): milliseconds, or a duration with its unit ("1s", "250ms"); 0 turns it off.
FLUSH_TIMEOUT_ENV = "OTEL_LAMBDA_FLUSH_TIMEOUT"
DEFAULT_FLUSH_TIMEOUT_S = 1.0
_UNITS = (("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1.0), ("m", 60.0))
# Loopback answers in well under a millisecond; these only bound a stuck extension.
REGISTER_TIMEOUT_S = 0.25
DONE_TIMEOUT_S = 0.5

_logger = logging.getLogger(__name__)


def handshake_address() -> tuple[str, int]:
    """(host, port) of the extension's handshake listener."""
    value = os.environ.get(ENDPOINT_ENV, "").strip() or DEFAULT_ENDPOINT
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(
            f"{ENDPOINT_ENV}={value!r} is not host:port: set it like {DEFAULT_ENDPOINT} "
            "(the collector extension's handshake address), or unset it"
        )
    return host.strip("[]"), int(port)


def flush_timeout_s() -> float:
    """The extension's wait for `done` (OTEL_LAMBDA_FLUSH_TIMEOUT), as the extension reads it;
    the default when it is not a timeout (the extension logs that)."""
    value = os.environ.get(FLUSH_TIMEOUT_ENV, "").strip()
    if not value:
        return DEFAULT_FLUSH_TIMEOUT_S
    seconds = None
    try:
        seconds = int(value) / 1000
    except ValueError:
        for unit, scale in _UNITS:
            if value.endswith(unit):
                with contextlib.suppress(ValueError):
                    seconds = float(value[: -len(unit)]) * scale
                break
    # Negative or unreadable: the extension falls back to its default too.
    return DEFAULT_FLUSH_TIMEOUT_S if seconds is None or seconds < 0 else seconds


class Handshake:
    """A keep-alive HTTP/1.1 connection to the extension's handshake listener."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._connection: http.client.HTTPConnection | None = None
        self._failing = False

    def _post(self, path: str, timeout: float) -> int:
        """POST ``path`` (empty body); the status, or raises OSError/HTTPException. A kept-alive
        connection the extension closed meanwhile is retried once on a fresh one."""
        for attempt in (0, 1):
            if self._connection is None:
                self._connection = connection(self.host, self.port, timeout)
            conn = self._connection
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            try:
                conn.request("POST", path, body=b"", headers={"Content-Length": "0"})
                response = conn.getresponse()
                response.read()
                if response.will_close:
                    self.close()
                return response.status
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                self.close()
                if attempt:
                    raise
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    def register(self) -> bool:
        """Tell the extension a runtime will post `done` for each invocation; False when no
        extension answers (no handshake: export synchronously instead)."""
        try:
            status = self._post("/v1/runtime", REGISTER_TIMEOUT_S)
        except (OSError, http.client.HTTPException) as error:
            _logger.debug("no flush handshake at %s:%s: %s", self.host, self.port, error)
            return False
        if status != 204:
            _logger.warning(
                "the collector extension refused the flush handshake (HTTP %s): spans are "
                "exported before each response instead",
                status,
            )
            return False
        return True

    def done(self, request_id: str) -> bool:
        """This invocation's spans are out: the extension may let Lambda freeze us."""
        try:
            status = self._post(
                f"/v1/invocations/{quote(request_id, safe='')}/done", DONE_TIMEOUT_S
            )
        except (OSError, http.client.HTTPException) as error:
            status, reason = 0, str(error)
        else:
            reason = f"HTTP {status}"
        ok = status == 204
        if not ok and not self._failing:
            # Once per failure streak: the extension then waits out its deadline per invocation.
            _logger.warning(
                "the collector extension did not take `done` for %s: %s", request_id, reason
            )
        self._failing = not ok
        return ok

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
