"""The Docker runner: the service's image, run the way AWS documents local testing of images.

The image's own entrypoint (/lambda-entrypoint.sh from the Lambda base image) starts its Runtime
Interface Emulator, which starts /opt/extensions/collector and the runtime; invocations go to
port 8080. Two containers per run, sharing one network namespace and nothing else:

- the agent (`python -m lambda_otel_xray.local.agent` in a container of the same image,
  `--network none`, with the stand-ins' packages and this tool's code mounted read-only): it
  owns the namespace, so its 127.0.0.1 is the function's;
- the function (`--network container:<agent>`): its collector exports to the stand-ins on
  127.0.0.1, its AWS SDK calls go there, and nothing else is reachable. No port is published.

The function container differs from a plain `docker run` of the image only by environment
variables (function settings, fake credentials, the stand-ins' endpoints) and one read-only file:
the exec wrapper that points the runtime at the agent's Runtime API relay before the image's own
wrapper runs (RIE drops the invocation's trace header; see runtime_layout.TRACE_HEADER_WRAPPER).
`docker stop` then sends SIGTERM to RIE, which sends SHUTDOWN to the extension.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import lambda_otel_xray

from .. import platforms
from ..errors import ToolError
from ..service import Service
from . import tools
from .agentclient import AgentProcess
from .runners import Stopped, docker_problem
from .runtime_layout import TRACE_HEADER_WRAPPER

# Under CPU emulation (an image of another architecture) code runs about ten times slower.
EMULATION_SLOWDOWN = 10
# The tool's own code, mounted read-only into the agent's container (its Python runs it).
PACKAGE_DIR = Path(lambda_otel_xray.__file__).resolve().parent
# Where the agent container and the function container find what the tool mounts.
MOUNT = "/localrun"
# Run inside the function's container: VmRSS/VmHWM (kB) of the collector extension and of the
# runtime (the Python process), and the container's own peak (its memory cgroup, v1 or v2).
MEMORY_SCRIPT = """
import json, os
out = {}
for pid in os.listdir("/proc"):
    if not pid.isdigit() or int(pid) == os.getpid():
        continue
    try:
        comm = open(f"/proc/{pid}/comm").read().strip()
        role = {"collector": "extension"}.get(comm, "function" if comm.startswith("python") else "")
        if role and role not in out:
            status = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status") if ":" in l)
            out[role] = {k: int(status[k].split()[0]) for k in ("VmRSS", "VmHWM") if k in status}
    except OSError:
        pass
for path in ("/sys/fs/cgroup/memory/memory.max_usage_in_bytes", "/sys/fs/cgroup/memory.peak"):
    try:
        out["container_peak_kb"] = int(open(path).read()) // 1024
        break
    except (OSError, ValueError):
        pass
print(json.dumps(out))
"""


def _log(message: str) -> None:
    print(f"[lambda-otel-xray] {message}", file=sys.stderr, flush=True)


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    exe = shutil.which("docker")
    if exe is None:
        raise ToolError("Docker is not installed")
    try:
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolError(
            f"`docker {' '.join(args[:3])} ...` took more than {timeout:.0f} s"
        ) from None
    if check and proc.returncode != 0:
        raise ToolError(
            f"`docker {' '.join(args[:3])} ...` failed: {(proc.stderr or proc.stdout).strip()}"
        )
    return proc


def image_config(image: str) -> dict[str, Any]:
    proc = docker("image", "inspect", image, check=False)
    if proc.returncode != 0:
        raise ToolError(
            f"there is no image {image} in Docker: build it with `make image` (`make local` "
            "does that for you)."
        )
    return json.loads(proc.stdout)[0]


def ensure_base_image(dockerfile: Path, platform: str) -> None:
    """Pull the Dockerfile's base images when Docker does not have them, with a clear error
    when that fails (so `make image` does not fail later with Docker's own)."""
    bases = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "FROM" and words[1] not in bases:
            bases.append(words[1])
    for base in bases:
        found = docker("image", "inspect", "--format", "{{.Architecture}}", base, check=False)
        if found.returncode == 0 and found.stdout.strip() == platform.split("/")[1]:
            continue
        _log(f"pulling {base} ({platform})")
        pulled = docker("pull", "--platform", platform, base, timeout=1800, check=False)
        if pulled.returncode != 0:
            reason = (pulled.stderr or pulled.stdout).strip().splitlines()[-1:] or [""]
            raise ToolError(
                f"the base image {base} ({platform}) is not in Docker and cannot be pulled: "
                f"{reason[0][:300]}\nCheck network access to public.ecr.aws (a proxy needs "
                "Docker's proxy settings), or pull it on another machine and `docker load` it; "
                "or run without Docker: LOCAL_RUNNER=sandbox make local."
            )


class DockerFunction:
    """One execution environment: the function's container, from start to `docker stop`."""

    name = "docker"
    # What the agent container runs (`python3 -m <it>`).
    agent_module = "lambda_otel_xray.local.agent"
    # RIE's addresses inside the function's (and the agent's) network namespace.
    invoke_address = "127.0.0.1:8080"
    runtime_api_address = "127.0.0.1:9001"

    def __init__(
        self,
        service: Service,
        build_dir: Path,
        log_path: Path,
        *,
        image: str,
        next_wrapper: str | bool | None = True,
        cpus: float | None = None,
    ) -> None:
        problem = docker_problem()
        if problem:
            raise ToolError(f"the Docker runner cannot run: {problem}.")
        self.service = service
        self.root = service.root
        self.image = image
        self.log_path = log_path
        self.cpus = cpus
        config = image_config(image)
        self.architecture = platforms.normalize(config.get("Architecture", "") or "?")
        if self.architecture != service.architecture:
            raise ToolError(
                f"the image {image} is {config.get('Architecture')}, but the service is "
                f"{service.architecture} (copier answer architecture)",
                "rebuild it with `make image`",
            )
        env = dict(e.split("=", 1) for e in config.get("Config", {}).get("Env") or [] if "=" in e)
        # The wrapper the image itself sets (the Dockerfile's ENV); ours runs before it.
        self.next_wrapper = env.get("AWS_LAMBDA_EXEC_WRAPPER") if next_wrapper is True else None
        if isinstance(next_wrapper, str):
            self.next_wrapper = next_wrapper
        self.site = tools.agent_packages(
            tools.tools_dir(self.root), self.root, service.python_version, self.architecture
        )
        self.mounts = build_dir / "local" / "docker"
        self.mounts.mkdir(parents=True, exist_ok=True)
        wrapper = self.mounts / "trace-header-wrapper"
        wrapper.write_text(TRACE_HEADER_WRAPPER)
        wrapper.chmod(0o755)
        self.timeout_s = service.timeout_s
        host = docker("info", "--format", "{{.Architecture}}").stdout.strip()
        self.emulated = platforms.normalize(host) != self.architecture
        if self.emulated:
            self.timeout_s = min(900, service.timeout_s * EMULATION_SLOWDOWN)
            _log(
                f"the image is {self.architecture} and Docker runs on {host}: it runs under CPU "
                f"emulation, far slower than in Lambda, so this run gives the function "
                f"{self.timeout_s} s instead of its {service.timeout_s} s timeout"
            )
        self.run_id = uuid.uuid4().hex[:12]
        self.cidfile = build_dir / "local" / f"agent-{self.run_id}.cid"
        self.agent_id: str | None = None
        self.container_id: str | None = None
        self._logs: subprocess.Popen[bytes] | None = None
        self.isolation: dict[str, Any] = {}
        self.compile_site(build_dir / "local" / "agent-compile.log")

    @property
    def platform(self) -> str:
        return platforms.of(self.architecture).docker

    def _label(self) -> list[str]:
        return ["--label", f"localrun.run={self.run_id}", "--label", "localrun=1"]

    def agent_command(
        self, network: tuple[str, ...] = ("--network", "none"), *, compile_site: bool = False
    ) -> tuple[list[str], Path]:
        """The agent in a container of the function's image (its Python), owning the network
        namespace the function's container joins (or on ``network``). ``compile_site``: with
        its packages writable, as this user, so the image's Python leaves .pyc files there."""
        self.cidfile.unlink(missing_ok=True)
        exe = shutil.which("docker") or "docker"
        if compile_site:
            site = ["--user", f"{os.getuid()}:{os.getgid()}", "-v", f"{self.site}:{MOUNT}/site"]
        else:
            site = ["-e", "PYTHONDONTWRITEBYTECODE=1", "-v", f"{self.site}:{MOUNT}/site:ro"]
        return [
            exe, "run", "-i", "--rm",
            "--cidfile", str(self.cidfile),
            "--platform", self.platform,
            *network,
            *self._label(),
            "--entrypoint", "python3",
            "-e", f"PYTHONPATH={MOUNT}/code:{MOUNT}/site",
            "-e", "PYTHONUNBUFFERED=1",
            "-v", f"{PACKAGE_DIR}:{MOUNT}/code/lambda_otel_xray:ro",
            *site,
            self.image,
            "-m", self.agent_module,
        ], self.root  # fmt: skip

    def compile_site(self, log_path: Path) -> None:
        """Once per package directory: start an agent with its packages writable, so the
        image's Python byte-compiles what a run imports (moto, flask, botocore, ...). Without
        .pyc files an agent needs a minute to start under CPU emulation; with them, seconds."""
        marker = self.site / ".byte-compiled"
        if marker.is_file():
            return
        _log(f"byte-compiling the local stand-ins' packages with {self.image}'s Python (once)")
        command, cwd = self.agent_command(compile_site=True)
        agent = AgentProcess(command, cwd, log_path)
        try:
            agent.call("start", timeout=600, exporter="xray-otlp", region=self.service.region)
        finally:
            agent.close()
            self.close()
        marker.write_text(self.image + "\n")

    def environment(self) -> dict[str, str]:
        env = {"AWS_LAMBDA_EXEC_WRAPPER": f"{MOUNT}/trace-header-wrapper"}
        if self.next_wrapper:
            env["LOCALRUN_NEXT_WRAPPER"] = self.next_wrapper
        return env

    def _agent(self) -> str:
        if self.agent_id is None:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if self.cidfile.is_file() and self.cidfile.read_text().strip():
                    self.agent_id = self.cidfile.read_text().strip()
                    break
                time.sleep(0.05)
            else:
                raise ToolError(f"docker did not write the agent's id to {self.cidfile}")
        return self.agent_id

    def start(self, env: dict[str, str]) -> None:
        args = ["run", "-d", "--platform", self.platform, "--network", f"container:{self._agent()}"]
        args += self._label()
        # Lambda gives the function exactly its memory setting.
        args += ["--memory", f"{self.service.memory_mb}m"]
        if self.cpus:
            args += ["--cpus", str(self.cpus)]
        args += ["-v", f"{self.mounts}:{MOUNT}:ro"]
        for key, value in {**env, **self.environment()}.items():
            args += ["-e", f"{key}={value}"]
        self.container_id = docker(*args, self.image).stdout.strip()
        self.isolation = {
            "agent": self._network(self._agent()),
            "function": self._network(self.container_id),
            # Its containers carry the label localrun.run=<run>: what is left of it can be found.
            "run": self.run_id,
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._logs = subprocess.Popen(
                [shutil.which("docker") or "docker", "logs", "-f", self.container_id],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @staticmethod
    def _network(container: str) -> dict[str, Any]:
        """How a container is wired: its network mode and published ports."""
        host = json.loads(docker("inspect", container).stdout)[0]["HostConfig"]
        return {"network_mode": host.get("NetworkMode"), "ports": host.get("PortBindings") or {}}

    def exited(self) -> str | None:
        if self.container_id is None:
            return None
        proc = docker(
            "inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", self.container_id,
            check=False,
        )  # fmt: skip
        running, _, code = proc.stdout.strip().partition(" ")
        if proc.returncode == 0 and running == "true":
            return None
        return f"the function's container exited ({code or 'gone'})"

    def memory(self) -> dict[str, Any]:
        """VmRSS and VmHWM in kB of the collector extension ("extension") and of the runtime
        ("function"), and the container's peak ("container_peak_kb"), read inside it."""
        if self.container_id is None:
            return {}
        proc = docker("exec", self.container_id, "python3", "-c", MEMORY_SCRIPT, check=False)
        try:
            found = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {}
        return found if isinstance(found, dict) else {}

    def stop(self, timeout: float = 15.0) -> Stopped:
        """`docker stop`: SIGTERM to RIE, which sends SHUTDOWN to the extensions and waits for
        them; Docker kills the container after ``timeout``."""
        stopped = Stopped()
        if self.container_id is None:
            return stopped
        start = time.perf_counter()
        stopped.sigterm_at = time.time()
        docker("stop", "-t", str(int(timeout)), self.container_id, timeout=timeout + 60)
        stopped.shutdown_ms = (time.perf_counter() - start) * 1000
        state = docker(
            "inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", self.container_id
        ).stdout.split()
        stopped.exit_code = int(state[0])
        if stopped.exit_code == 137:
            stopped.killed.append(f"RIE did not exit within {timeout:.0f} s of SIGTERM")
        if state[1:] == ["true"]:
            stopped.killed.append(f"out of memory ({self.service.memory_mb} MB)")
        self._remove_function()
        return stopped

    def _remove_function(self) -> None:
        if self._logs is not None:
            try:
                self._logs.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._logs.kill()
                self._logs.wait(timeout=10)
            self._logs = None
        if self.container_id is not None:
            docker("rm", "-f", self.container_id, check=False)
            self.container_id = None

    def close(self) -> None:
        self._remove_function()
        if self.agent_id is None and self.cidfile.is_file():
            self.agent_id = self.cidfile.read_text().strip() or None
        if self.agent_id is not None:
            # It exits when its stdin closes (and --rm removes it); this is for a hung one.
            docker("rm", "-f", self.agent_id, check=False)
            self.agent_id = None
        self.cidfile.unlink(missing_ok=True)
