"""What both runners share: the execution environment's interface and how it ended.

Two runners start the function's execution environment; everything else in a run (the local
stand-ins, invocations, trace read-back, printing) is the same code (session.py, agent.py):

- `docker` (container.py): the service's container image, run as AWS documents for local
  testing (the base image's /lambda-entrypoint.sh starts its Runtime Interface Emulator), in a
  network namespace of its own that only the run's agent container shares;
- `sandbox` (sandbox.py): without Docker, RIE in a bubblewrap mount namespace on this machine,
  with the layer as /opt and this machine's Python (Linux only).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

RUNNERS = ("docker", "sandbox")


@dataclass
class Stopped:
    """How an execution environment ended after SIGTERM."""

    exit_code: int | None = None
    shutdown_ms: float | None = None
    sigterm_at: float | None = None
    killed: list[str] = field(default_factory=list)


class Function(Protocol):
    """An execution environment (sandbox.SandboxFunction, container.DockerFunction)."""

    name: str
    invoke_address: str
    runtime_api_address: str
    log_path: Path
    # How the function's environment is wired to the network (the Docker runner's containers).
    isolation: dict[str, Any]
    # The function's timeout for this run: the answer's, longer under CPU emulation.
    timeout_s: int

    def agent_command(self) -> tuple[list[str], Path]: ...
    def start(self, env: dict[str, str]) -> None: ...
    def exited(self) -> str | None: ...
    def memory(self) -> dict[str, Any]: ...
    def stop(self) -> Stopped: ...
    def close(self) -> None: ...


def docker_problem() -> str | None:
    """Why Docker cannot run containers here (with what to do), or None when it can."""
    docker = shutil.which("docker")
    if docker is None:
        return (
            "Docker is not installed (https://docs.docker.com/get-started/get-docker/; on Linux "
            "the docker.io or docker-ce package)"
        )
    try:
        proc = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return "the Docker daemon did not answer within 30 s: restart Docker and try again"
    if proc.returncode == 0 and proc.stdout.strip():
        return None
    message = (proc.stderr or proc.stdout).strip()
    if "permission denied" in message.lower():
        return (
            "Docker is installed, but this user may not use its daemon (permission denied on "
            "its socket): add yourself to the docker group (`sudo usermod -aG docker $USER`, "
            "then log in again) or use rootless Docker / Docker Desktop"
        )
    return (
        "Docker is installed, but its daemon is not running (start Docker Desktop, or on "
        f"Linux `sudo systemctl start docker`); docker said: {message.splitlines()[-1][:300]}"
    )
