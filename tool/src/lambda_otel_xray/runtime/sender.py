"""OTLP/HTTP requests to the collector extension's receiver, over one kept-alive connection.

`http.client` is loaded already (botocore uses it), so this costs no import at init. Retries
follow the OTLP/HTTP specification's retryable answers (429, 502, 503, 504) and connection
failures, with a short backoff, within one deadline per export.
"""

from __future__ import annotations

import http.client
import logging
import time
from urllib.parse import urlsplit

from .loopback import connection

RETRYABLE = frozenset({429, 502, 503, 504})
BACKOFF_S = (0.02, 0.05, 0.1, 0.2, 0.4)

_logger = logging.getLogger(__name__)


class OtlpHttpSender:
    """POSTs protobuf ExportTraceServiceRequests to ``endpoint`` (http://host:port/v1/traces)."""

    def __init__(self, endpoint: str, timeout_s: float) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT={endpoint!r} is not an http(s) URL: set it "
                "like http://localhost:4318/v1/traces (the collector extension's receiver)"
            )
        self.endpoint = endpoint
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.path = (parts.path or "/v1/traces") + (f"?{parts.query}" if parts.query else "")
        self.timeout_s = timeout_s
        self._connection: http.client.HTTPConnection | None = None
        self._failing = False

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._connection is None:
            self._connection = connection(self.host, self.port, timeout, tls=self.scheme == "https")
        conn = self._connection
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def send(self, body: bytes) -> bool:
        """One export; True once the receiver accepted it. Never raises."""
        deadline = time.monotonic() + self.timeout_s
        reason = ""
        for attempt in range(len(BACKOFF_S) + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                conn = self._connect(remaining)
                conn.request(
                    "POST",
                    self.path,
                    body=body,
                    headers={"Content-Type": "application/x-protobuf"},
                )
                response = conn.getresponse()
                answer = response.read()
                if response.will_close:
                    self.close()
            except (OSError, http.client.HTTPException) as error:
                # Also a kept-alive connection the collector closed while the environment was
                # frozen: the next attempt opens a new one.
                self.close()
                reason = f"{type(error).__name__}: {error}"
            else:
                if 200 <= response.status < 300:
                    if self._failing:
                        _logger.warning("spans reach %s again", self.endpoint)
                    self._failing = False
                    return True
                reason = f"HTTP {response.status}: {answer[:200]!r}"
                if response.status not in RETRYABLE:
                    break
            if attempt < len(BACKOFF_S):
                time.sleep(min(BACKOFF_S[attempt], max(0.0, deadline - time.monotonic())))
        if not self._failing:
            _logger.warning("spans could not be exported to %s: %s", self.endpoint, reason)
        self._failing = True
        return False
