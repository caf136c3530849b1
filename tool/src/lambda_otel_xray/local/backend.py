"""Which runner a local run uses, and what both runners share.

Two runners start the function's execution environment; everything else in a run (the local
stand-ins, invocations, trace read-back, printing) is the same code, in agent.py and run.py:

- `docker`: the service's container image, run as AWS documents for local testing (the base
  image's /lambda-entrypoint.sh starts its Runtime Interface Emulator, invocations on port 8080),
  in a network namespace of its own that only the run's agent container shares (container.py);
- `sandbox`: without Docker, RIE in a bubblewrap mount namespace on this machine, with the layer
  as /opt and this machine's Python (Linux only; sandbox.py).

`LOCAL_RUNNER=docker|sandbox` chooses; unset, Docker is used when its daemon answers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from .errors import LocalRunError

RUNNERS = ("docker", "sandbox")


@dataclass
class Stopped:
    """How an execution environment ended after SIGTERM."""

    exit_code: int | None = None
    shutdown_ms: float | None = None
    sigterm_at: float | None = None
    killed: list[str] = field(default_factory=list)


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


def choose(requested: str | None = None) -> str:
    """The runner to use: ``requested`` (or $LOCAL_RUNNER) if set, else docker when its daemon
    answers, else the sandbox. Raises with what to do when the choice cannot run."""
    from . import sandbox

    requested = (requested or os.environ.get("LOCAL_RUNNER", "")).strip().lower()
    if requested and requested not in RUNNERS:
        raise LocalRunError(
            f"LOCAL_RUNNER={requested!r} is not a runner: use docker (the container image) or "
            "sandbox (bubblewrap, no Docker), or leave it unset to pick automatically."
        )
    if requested == "sandbox":
        sandbox.check()
        return "sandbox"
    problem = docker_problem()
    if requested == "docker":
        if problem:
            raise LocalRunError(f"LOCAL_RUNNER=docker, but {problem}.")
        return "docker"
    if problem is None:
        return "docker"
    try:
        sandbox.check()
    except LocalRunError as exc:
        raise LocalRunError(
            f"`make local` runs the function's image with Docker, but {problem}.\n"
            f"Without Docker it falls back to a bubblewrap sandbox, which cannot run here: {exc}"
        ) from None
    return "sandbox"
