"""Stand-ins on 127.0.0.1 for what the function talks to in Lambda: the collector extension's
flush handshake and OTLP/HTTP receiver, and the Runtime API the runtime posts responses to.
One server plays all three, so its log orders every request the function makes."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    seq: int
    path: str
    body: bytes
    headers: dict[str, str]
    received: float
    answered: float = 0.0  # when the answer started to go out
    status: int = 0


@dataclass
class Behaviour:
    """How the fake answers: the OTLP receiver's statuses in turn (the last one repeats), how
    long it holds each export before answering, whether the handshake is served at all."""

    otlp_statuses: list[int] = field(default_factory=lambda: [200])
    otlp_delay_s: float = 0.0
    handshake: bool = True


class FakeExtension(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._otlp_count = 0
        self.stopping = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with fake._lock:
                    request = Request(
                        len(fake.requests), self.path, body, dict(self.headers), time.monotonic()
                    )
                    fake.requests.append(request)
                status = fake.answer(request)
                if status is None:
                    self.close_connection = True
                    return
                request.status = status
                # Stamped before the answer is written: the client cannot act on it earlier.
                request.answered = time.monotonic()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_port}"

    @property
    def otlp_endpoint(self) -> str:
        return f"http://{self.address}/v1/traces"

    def answer(self, request: Request) -> int | None:
        if request.path.startswith("/v1/traces"):
            with self._lock:
                statuses = self.behaviour.otlp_statuses
                status = statuses[min(self._otlp_count, len(statuses) - 1)]
                self._otlp_count += 1
            if self.behaviour.otlp_delay_s:
                self.stopping.wait(self.behaviour.otlp_delay_s)
            return status
        if request.path == "/v1/runtime" or request.path.endswith("/done"):
            return 204 if self.behaviour.handshake else 404
        if request.path.startswith("/runtime/"):
            return 202
        return 404

    def of(self, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    def wait_for(self, prefix: str, count: int, timeout: float = 10.0) -> list[Request]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in self.of(prefix) if r.status or not r.path.startswith("/v1/")]
            if len(found) >= count:
                return found
            time.sleep(0.005)
        raise AssertionError(f"{count} requests to {prefix} expected, got {self.of(prefix)}")

    def close(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
