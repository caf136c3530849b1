"""An X-Ray that misbehaves on purpose, for the template's own tests (never shipped).

Run as the agent of a local run (`python faults.py`, or `python -m faults` in the agent's
container), it is the tool's agent with two more commands:

- ``set_fault(mode)``: the collector's export endpoint refuses connections (``refuse``: the port
  is closed), answers every request with a 500 (``500``), holds every request unanswered for 10
  s (``hang``), or serves normally (``ok``); each request records the mode it met;
- ``raw_requests()``: the first OTLP requests as they arrived (headers and body), so a test can
  check their SigV4 signatures with botocore's own signer.

Standard library and the tool only: it runs inside the function's image too.
"""

from __future__ import annotations

import base64
from typing import Any

from lambda_otel_xray.local.agent import Agent, serve
from lambda_otel_xray.local.standins import Front, Response, XRayStandIn

FAULT_MODES = ("ok", "refuse", "500", "hang")
HANG_SECONDS = 10.0
RAW_REQUESTS_KEPT = 5


class FaultyFront(Front):
    mode = "ok"

    def set_mode(self, mode: str) -> None:
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; choose one of {FAULT_MODES}")
        if mode == "refuse":
            self.close()  # the port stays reserved for this front: `listen` reopens it
        else:
            self.listen()
        self.mode = mode

    def respond(self, record: dict[str, Any], method: str, *args: Any) -> Response | None:
        record["mode"] = mode = self.mode
        if mode == "refuse":
            # A keep-alive connection opened before the port was closed: drop it, so the
            # client's next attempt meets the closed port.
            return None
        if mode == "500":
            body = b'{"__type":"InternalFailure","message":"injected fault"}'
            return 500, {"content-type": "application/json"}, body
        if mode == "hang":
            self.stopping.wait(HANG_SECONDS)
            return 504, {"content-type": "text/plain"}, b"timed out\n"
        return super().respond(record, method, *args)


class RecordingStandIn(XRayStandIn):
    front_class = FaultyFront

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.raw: list[dict[str, Any]] = []

    def start(self) -> None:
        super().start()
        assert self.front is not None
        handler = self.front.handler

        def recording(method: str, path: str, query: str, headers: dict, body: bytes):
            if len(self.raw) < RAW_REQUESTS_KEPT:
                self.raw.append(
                    {
                        "method": method,
                        "path": path,
                        "query": query,
                        "headers": headers,
                        "body_b64": base64.b64encode(body).decode(),
                    }
                )
            return handler(method, path, query, headers, body)

        self.front.handler = recording


class FaultAgent(Agent):
    COMMANDS = (*Agent.COMMANDS, "set_fault", "raw_requests")

    def make_standin(self, exporter: str, region: str, **options: Any) -> XRayStandIn:
        return RecordingStandIn(exporter, region, **options)

    def set_fault(self, *, mode: str) -> dict[str, Any]:
        assert isinstance(self.standin, RecordingStandIn) and self.standin.front is not None
        self.standin.front.set_mode(mode)  # type: ignore[attr-defined]
        return {}

    def raw_requests(self) -> dict[str, Any]:
        assert isinstance(self.standin, RecordingStandIn)
        return {"requests": list(self.standin.raw)}


if __name__ == "__main__":
    raise SystemExit(serve(FaultAgent()))
