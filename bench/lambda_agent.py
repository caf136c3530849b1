"""The benchmarks' agent: the tool's agent with a gate in its Runtime API relay (never shipped).

Run as the agent of a local run (`python -m lambda_agent` in the agent's container, mounted by
bench/image_harness.py), it adds commands that let the benchmark model Lambda's CPU: init is
reported to run less throttled than the invoke phase, which gets the memory's share of a vCPU
(docs/benchmarks.md). The Runtime Interface Emulator runs init when the first invocation
arrives, so the runtime's first `GET /invocation/next` (init done) is held here until the
benchmark has limited the container's CPU (`docker update --cpus`); the time held is reported
and left out of the cold start.

- ``arm_gate()``: hold the next `/invocation/next` the runtime sends;
- ``start_invoke(...)``: send an invocation without waiting for its answer;
- ``gate_reached(timeout_s)``: wait until the runtime is held at the gate;
- ``finish_invoke()``: open the gate, wait for the invocation's answer; the invocation and the
  milliseconds held.

Standard library and the tool only: it runs inside the function's image.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import asdict
from typing import Any

from lambda_otel_xray.local.agent import Agent, serve


class Gate:
    def __init__(self) -> None:
        self.armed = False
        self.reached = threading.Event()
        self.opened = threading.Event()
        self.held_s = 0.0

    def arm(self) -> None:
        self.reached.clear()
        self.opened.clear()
        self.held_s = 0.0
        self.armed = True

    def pass_through(self) -> None:
        if not self.armed:
            return
        self.armed = False
        start = time.monotonic()
        self.reached.set()
        self.opened.wait(300)
        self.held_s = time.monotonic() - start

    def open(self) -> None:
        self.armed = False
        self.opened.set()


class BenchAgent(Agent):
    COMMANDS = (*Agent.COMMANDS, "arm_gate", "start_invoke", "gate_reached", "finish_invoke")

    def __init__(self) -> None:
        super().__init__()
        self.gate = Gate()
        self._pending: threading.Thread | None = None
        self._result: dict[str, Any] | None = None
        self._error: BaseException | None = None

    def start(self, **arguments: Any) -> dict[str, Any]:
        answer = super().start(**arguments)
        if self.relay is not None:
            server = self.relay._server  # the relay's HTTP server: its handler gets the gate
            base = server.RequestHandlerClass
            gate = self.gate

            class Gated(base):  # type: ignore[misc, valid-type]
                def _relay(self) -> None:
                    if self.command == "GET" and self.path.endswith("/invocation/next"):
                        gate.pass_through()
                    base._relay(self)

                do_GET = do_POST = do_PUT = _relay

            server.RequestHandlerClass = Gated
        return answer

    def arm_gate(self) -> dict[str, Any]:
        self.gate.arm()
        return {}

    def start_invoke(
        self, *, payload_b64: str, index: int, phase: str, sampled: bool = True
    ) -> dict[str, Any]:
        assert self.invoker is not None and self._pending is None
        invoker = self.invoker
        payload = base64.b64decode(payload_b64)
        self._result, self._error = None, None

        def run() -> None:
            try:
                self._result = asdict(
                    invoker.invoke(payload, index=index, phase=phase, sampled=sampled)
                )
            except BaseException as error:
                self._error = error
                self.gate.reached.set()  # do not leave gate_reached waiting

        self._pending = threading.Thread(target=run, daemon=True)
        self._pending.start()
        return {}

    def gate_reached(self, *, timeout_s: float = 300) -> dict[str, Any]:
        return {"reached": self.gate.reached.wait(timeout_s) and self._error is None}

    def finish_invoke(self) -> dict[str, Any]:
        assert self._pending is not None
        self.gate.open()
        self._pending.join()
        self._pending = None
        if self._error is not None:
            raise RuntimeError(f"the invocation failed: {self._error!r}")
        assert self._result is not None
        return {**self._result, "held_ms": self.gate.held_s * 1000}


if __name__ == "__main__":
    raise SystemExit(serve(BenchAgent()))
