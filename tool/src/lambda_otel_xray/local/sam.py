"""`lambda-otel-xray sam-local` (`make sam-local`): AWS SAM CLI's own local run, traced into the
local X-Ray.

`sam local invoke` starts the image `sam build` made, with SAM's own copy of the Runtime
Interface Emulator, on a Docker network of our choosing; its `--env-vars` can only set variables
the template declares. So template.yaml declares the variables that point the function's AWS SDK
(AWS_ENDPOINT_URL) and the collector's exporter at an endpoint, empty or AWS's own by default,
and this command sets them to the run's agent container (the local X-Ray and STS, the same
stand-ins `make local` uses) on an `--internal` network of its own: no route out, no published
port but the one SAM publishes on 127.0.0.1 for its invoke.

SAM runs without this machine's AWS credentials (so it makes no AWS call of its own, such as
looking up the account id); it then gives the function its documented placeholder keys, which
the stand-ins accept and check the OTLP signatures with. SAM invokes without an X-Ray trace
header, so the handler's segment starts a new trace; and only with `--shutdown` does it stop
its container gracefully (SIGTERM, so the extension gets SHUTDOWN and flushes its spans) rather
than removing it by force.
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

from ..errors import ToolError
from ..service import Service
from . import traces
from .agentclient import AgentProcess
from .container import DockerFunction, docker

# What `sam local invoke` gives a function when SAM has no AWS session (samcli's env_vars.py).
SAM_PLACEHOLDER_CREDENTIALS = ("defaultkey", "defaultsecret")
ALIAS = "localrun-xray"
FUNCTION_ID = "Function"  # the function's logical id in template.yaml


def sam_environment(region: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """SAM's own environment: this one without any AWS setting. Every variable botocore's
    credential chain reads starts with AWS_ (keys, profiles, SSO, container and web-identity
    credentials, config and credentials files, instance metadata), so none is passed on; the
    files and instance metadata are then switched off explicitly."""
    env = {k: v for k, v in (os.environ if environ is None else environ).items()}
    env = {k: v for k, v in env.items() if not k.upper().startswith("AWS_")}
    env.update(
        {
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }
    )
    return env


def env_vars(started: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The `--env-vars` file: the template's declared endpoints, pointed at the agent."""
    return {FUNCTION_ID: {"AWS_ENDPOINT_URL": started["moto"], **started["collector_env"]}}


def sam_invoke(service: Service, event: Path, image: str, report: Path | None) -> int:
    root, build_dir = service.root, service.build_dir
    if service.iac != "sam":
        raise ToolError(
            f"sam-local runs `sam local invoke`, and this service deploys with {service.iac}",
            "use `make local` (the image as Lambda runs it)",
        )
    sam = shutil.which(os.environ.get("SAM", "sam"))
    if sam is None:
        raise ToolError(
            "the AWS SAM CLI is not installed",
            "`pip install aws-sam-cli` (or see https://docs.aws.amazon.com/serverless-"
            "application-model/latest/developerguide/install-sam-cli.html); `make local` runs "
            "the image without it",
        )
    if not (root / ".aws-sam" / "build" / "template.yaml").is_file():
        raise ToolError("there is no `sam build` output", "run `sam build` (`make sam-local` does)")
    local = build_dir / "local"
    function = DockerFunction(service, build_dir, local / "sam.log", image=image)
    network = f"localrun-sam-{uuid.uuid4().hex[:12]}"
    agent: AgentProcess | None = None
    docker("network", "create", "--internal", "--label", "localrun=1", network)
    try:
        command, cwd = function.agent_command(("--network", network, "--network-alias", ALIAS))
        agent = AgentProcess(command, cwd, local / "agent.log")
        started = agent.call(
            "start",
            timeout=AgentProcess.START_S,
            exporter=service.exporter,
            region=service.region,
            listen="0.0.0.0",  # reachable on the run's own network only
            advertise=ALIAS,
            credentials=list(SAM_PLACEHOLDER_CREDENTIALS),
        )
        env_file = local / "sam-env-vars.json"
        env_file.write_text(json.dumps(env_vars(started), indent=1) + "\n")
        since = time.time()
        proc = subprocess.run(
            [
                *(sam, "local", "invoke", FUNCTION_ID, "--event", str(event)),
                *("--docker-network", network, "--env-vars", str(env_file), "--skip-pull-image"),
                # Without --shutdown SAM force-removes the container after the invoke: the
                # extension never gets SHUTDOWN and the spans in its batch are lost. With it,
                # SAM `docker stop`s it.
                "--shutdown",
            ],
            cwd=root,
            env=sam_environment(service.region),
            capture_output=True,
            text=True,
            timeout=service.timeout_s + 600,
        )
        (local / "sam.log").write_text(proc.stderr)
        print(proc.stdout.strip())
        # SAM stops its container after the invoke (SHUTDOWN: the collector flushes).
        found = agent.call("traces", timeout=180, since=since, wait_s=60, count=1)["traces"]
        stand_ins = agent.call("report")
    finally:
        try:
            if agent is not None:
                agent.close()
        finally:
            function.close()
            docker("network", "rm", network, check=False)
    found_traces = [traces.Trace(t["id"], t["duration"], t["documents"]) for t in found]
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(
            json.dumps(
                {
                    "sam_exit_code": proc.returncode,
                    "response": proc.stdout,
                    "traces": [t.as_dict() for t in found_traces],
                    "otlp": stand_ins.get("otlp", {}),
                    "front_requests": stand_ins.get("front_requests", []),
                    "network": network,
                    "log": str(local / "sam.log"),
                },
                indent=1,
            )
        )
    print(f"\ntraces read back from the local X-Ray API: {len(found_traces)}")
    for trace in found_traces:
        print(traces.format_tree(trace))
    print(f"\nSAM's log (its RIE, the extension and the function): {local / 'sam.log'}")
    if proc.returncode != 0:
        print(f"lambda-otel-xray: sam local invoke exited {proc.returncode}", file=sys.stderr)
        return 1
    if not found_traces:
        print("lambda-otel-xray: no trace reached the local X-Ray", file=sys.stderr)
        return 1
    return 0
