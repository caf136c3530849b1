"""The runner's side of the agent: `python -m lambda_otel_xray.local.agent`, wherever a runner
started it (on this machine, or in a container), spoken to as JSON lines over its stdio."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any

from ..errors import ToolError


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log)"
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


class AgentProcess:
    """One agent process: ``call(op, **arguments)`` sends a command and returns its reply."""

    # Generous: under CPU emulation (an arm64 image on x86_64) the agent's Python starts slowly.
    START_S = 300.0

    def __init__(
        self, command: list[str], cwd: Path, log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as err:
            self.proc = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                bufsize=1,
            )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self._reply(self.START_S, "start")  # the agent says it is ready
        except ToolError:
            self.close()  # a hung or half-started agent is not left behind
            raise

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _reply(self, timeout: float, op: str) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise ToolError(
                f"the local stand-ins did not answer {op!r} within {timeout:.0f} s",
                f"see their log: {self.log_path}",
                tail(self.log_path),
            ) from None
        if line is None:
            hint = f"see their log: {self.log_path}"
            if "exec format error" in tail(self.log_path):
                hint = (
                    "the image is for another CPU architecture and this machine cannot "
                    "emulate it: register QEMU (`docker run --privileged --rm tonistiigi/binfmt "
                    "--install all`, or install qemu-user-static), or rebuild for this machine"
                )
            raise ToolError(
                f"the local stand-ins stopped (exit {self.proc.poll()})", hint, tail(self.log_path)
            )
        reply = json.loads(line)
        if not reply.get("ok"):
            raise ToolError(f"local stand-ins, {op}: {reply.get('error')}", "", tail(self.log_path))
        return reply

    def call(self, op: str, timeout: float = 120.0, **arguments: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise ToolError(
                "the local stand-ins are gone",
                f"see their log: {self.log_path}",
                tail(self.log_path),
            ) from None
        return self._reply(timeout, op)

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # the agent stops its stand-ins and exits
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
