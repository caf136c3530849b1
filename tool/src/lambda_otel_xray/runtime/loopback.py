"""HTTP/1.1 connections to the collector extension on loopback."""

from __future__ import annotations

import http.client
import socket
from typing import Any


def _create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    # A str host goes through the `idna` codec on every connect, whose first use imports
    # encodings.idna, stringprep and unicodedata (~1 ms of init for the handshake's
    # registration); the address is ASCII.
    host, port = address
    return socket.create_connection((host.encode("ascii"), port), *args, **kwargs)


def connection(
    host: str, port: int, timeout: float, *, tls: bool = False
) -> http.client.HTTPConnection:
    """A connection to ``host``:``port``; ``tls`` only for an endpoint off this machine."""
    if tls:
        return http.client.HTTPSConnection(host, port, timeout=timeout)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    if host.isascii():
        conn._create_connection = _create_connection  # type: ignore[attr-defined]
    return conn
