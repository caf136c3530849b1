"""What the end-to-end and image tests share: a rendered service's own venv and Makefile, its
tool (`lambda-otel-xray local`, what `make local` runs), the fault harness (the tool's session
API with tests/faults.py as the agent), and checks of what they report (the invocations, the
traces read back from the local X-Ray, the OTLP requests and their SigV4 signatures).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from project_checks import missing_tool
from toolenv import CACHE_DIR
from xray_schema import SchemaUnavailable, document_errors

REGION = "us-east-1"
# The tool's placeholder credentials (AWS's documentation examples).
FAKE_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HEX16 = re.compile(r"^[0-9a-f]{16}$")
# Shared by every run of every test module, like a developer's build/tools (LOCALRUN_TOOLS_DIR).
LOCALRUN_TOOLS = CACHE_DIR / "localrun-tools"
FAULTS = Path(__file__).with_name("faults.py")
MEASURED: dict[str, Any] = {}


def measured(key: str, value: Any) -> None:
    """Numbers worth reading in the output (pytest -s) and in .cache/e2e-measurements.json."""
    MEASURED[key] = value
    print(f"[e2e] {key}: {value}")
    out = CACHE_DIR.parent / "e2e-measurements.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(out.read_text()) if out.is_file() else {}
    out.write_text(json.dumps({**known, key: value}, indent=1) + "\n")


# ------------------------------------------------------------------ the service's venv and make


def service_venv(project: Path) -> Path:
    """The venv `make venv` makes for ``project`` (its requirements-dev.txt: the test tools and
    the tool, a pip VCS requirement at the template snapshot's commit), made by that recipe,
    once per requirements content: services rendered from the same snapshot share it."""
    material = b"".join(
        (project / name).read_bytes() for name in ("requirements-dev.txt", "requirements-otel.txt")
    )
    venv = CACHE_DIR / f"service-venv-{hashlib.sha256(material).hexdigest()[:16]}"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".installed").is_file():
            proc = subprocess.run(
                ["make", "--no-print-directory", "venv", f"VENV={venv}"],
                cwd=project,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return venv


def make(
    project: Path,
    *targets: str,
    timeout: float = 3600,
    env: dict[str, str] | None = None,
    **variables: str,
) -> subprocess.CompletedProcess[str]:
    """The service's own Makefile with its venv (``service_venv``)."""
    assigns = [f"VENV={service_venv(project)}", *(f"{k}={v}" for k, v in variables.items())]
    return subprocess.run(
        ["make", "--no-print-directory", *targets, *assigns],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "LOCALRUN_TOOLS_DIR": str(LOCALRUN_TOOLS), **(env or {})},
    )


def tool_path(project: Path) -> Path:
    return service_venv(project) / "bin" / "lambda-otel-xray"


# ------------------------------------------------------------------------------------ runs


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any]
    log: str
    seconds: float
    raw_requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def output(self) -> str:
        return f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"

    def invocations(self, phase: str | None = None) -> list[dict[str, Any]]:
        return [i for i in self.report["invocations"] if phase is None or i["phase"] == phase]

    def warm_latencies(self, phase: str) -> list[float]:
        return [i["latency_ms"] for i in self.invocations(phase) if i["index"] > 0]

    def traces(self) -> dict[str, list[dict[str, Any]]]:
        return {t["id"]: [json.loads(d) for d in t["documents"]] for t in self.report["traces"]}


def _log(project: Path) -> str:
    log_file = project / "build" / "local" / "rie.log"
    return log_file.read_text(errors="replace") if log_file.is_file() else ""


def tool(
    project: Path,
    tmp_path: Path,
    *args: str,
    tools: Path = LOCALRUN_TOOLS,
    env: dict[str, str] | None = None,
    report: bool = True,
    timeout: float = 600,
) -> Run:
    """The service's `lambda-otel-xray ARGS` (from its venv), as its Makefile runs it."""
    report_path = tmp_path / f"report-{time.monotonic_ns()}.json"
    cmd = [str(tool_path(project)), *args]
    if report:
        cmd += ["--report", str(report_path)]
    start = time.monotonic()
    proc = subprocess.run(
        cmd,
        cwd=project,
        env={**os.environ, "LOCALRUN_TOOLS_DIR": str(tools), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    data = json.loads(report_path.read_text()) if report_path.is_file() else {}
    return Run(
        proc.returncode, proc.stdout, proc.stderr, data, _log(project), time.monotonic() - start
    )


def fault_run(
    project: Path,
    *,
    runner: str,
    events: list[bytes],
    count: int,
    fault: str = "ok",
    recover: int = 0,
    fault_hold_s: float = 1.0,
    trace_wait_s: float = 30.0,
    extra_env: dict[str, str] | None = None,
    image: str | None = None,
    memory_every: int = 10,
    region: str | None = None,
) -> Run:
    """Invoke ``count`` times with the X-Ray stand-in in ``fault`` mode (tests/faults.py), then,
    after at least ``fault_hold_s`` (longer than the collector's batch timeout, so it surely
    tries to export into the fault), ``recover`` more times with it healthy; stop the function;
    read the traces back. The tool's own session API drives it, with the fault agent.
    ``region``: run the function as deployed there (`lambda-otel-xray local --region`)."""
    from lambda_otel_xray.local.container import MOUNT, DockerFunction
    from lambda_otel_xray.local.sandbox import SandboxFunction
    from lambda_otel_xray.local.session import LocalRun
    from lambda_otel_xray.service import Service

    class FaultSandbox(SandboxFunction):
        def agent_command(self) -> tuple[list[str], Path]:
            return [sys.executable, str(FAULTS)], self.root

    class FaultDocker(DockerFunction):
        agent_module = "faults"

        def agent_command(self, *args: Any, **kwargs: Any) -> tuple[list[str], Path]:
            command, cwd = super().agent_command(*args, **kwargs)
            at = command.index(self.image)
            command[at:at] = ["-v", f"{FAULTS}:{MOUNT}/code/faults.py:ro"]
            return command, cwd

    service = Service.load(project).in_region(region)
    build_dir = service.build_dir
    log_path = build_dir / "local" / "rie.log"
    os.environ.setdefault("LOCALRUN_TOOLS_DIR", str(LOCALRUN_TOOLS))
    if runner == "docker":
        function = FaultDocker(service, build_dir, log_path, image=image or service.image)
    else:
        function = FaultSandbox(service, build_dir, log_path)
    start = time.monotonic()
    with LocalRun(service, function, runner=runner) as local:
        if fault != "ok":
            local.call("set_fault", mode=fault)
        local.start(extra_env)
        fault_started = time.monotonic()
        phases = [("healthy" if fault == "ok" else fault, count)]
        if recover:
            phases.append(("recovered", recover))
        for phase, n in phases:
            if phase == "recovered":
                time.sleep(max(0.0, fault_started + fault_hold_s - time.monotonic()))
                local.call("set_fault", mode="ok")
            for _ in range(n):
                local.invoke(events[len(local.result.invocations) % len(events)], phase=phase)
                if len(local.result.invocations) % memory_every == 1:
                    local.sample_memory()
        local.sample_memory()
        recovered = [i.trace_id for i in local.result.invocations if i.phase == "recovered"]
        if recovered:
            # A recovered endpoint gets the new traces while the function is still up (the
            # exporter retries in the background), before any SHUTDOWN flush.
            local.traces(recovered, trace_wait_s)
        local.stop()
        expected = [
            i.trace_id for i in local.result.invocations if fault == "ok" or i.phase == "recovered"
        ]
        result = local.finish(expected, trace_wait_s)
        raw = local.call("raw_requests")["requests"]
    report = result.as_dict()
    return Run(0, "", "", report, _log(project), time.monotonic() - start, raw)


def check_fault_run(
    run: Run,
    healthy: Run,
    *,
    fault: str,
    exporter: str,
    slug: str,
    package: str,
    fault_invocations: int,
    recovered_invocations: int,
    p50_tolerance_ms: float,
    rss_limit_mib: float,
    rss_growth_limit_mib: float,
) -> dict[str, Any]:
    """What `fault_run` with an X-Ray that refuses, fails or hangs must show, whatever the
    runner: every invocation answers as when healthy, the fault really happened, warm latency
    stays near the ``healthy`` run's, the collector's memory stays bounded, and once X-Ray
    recovers new traces arrive whole. Returns the figures worth recording."""
    normal = payload(healthy.invocations()[0])
    faulty = run.invocations(fault)
    assert len(faulty) == fault_invocations
    for invocation in run.invocations():
        assert invocation["status"] == 200
        assert payload(invocation) == normal

    # The fault really happened.
    requests = run.report["front_requests"]
    during = [r for r in requests if r["mode"] == fault]
    if fault == "refuse":
        assert during == []
        assert "connection refused" in run.log.lower()
    elif fault == "500":
        assert during and all(r["status"] == 500 for r in during)
    else:
        # Held for 10 s (then 504), so most are still unanswered when the run ends.
        assert during and all(r["status"] in (None, 504) for r in during)

    # Warm latency stays where the healthy run's is.
    healthy_p50 = percentile(healthy.warm_latencies("healthy"), 50)
    fault_warm = run.warm_latencies(fault)
    fault_p50, fault_max = percentile(fault_warm, 50), max(fault_warm)
    assert fault_p50 <= healthy_p50 + p50_tolerance_ms, (fault_p50, healthy_p50)
    assert fault_max < 1000, f"an invocation took {fault_max:.0f} ms during the fault"

    # The collector's memory stays bounded.
    rss = max(s["VmRSS"] for s in run.report["collector"]["memory_samples"]) / 1024
    healthy_peak = healthy.report["collector"]["peak_rss_kb"] / 1024
    assert rss < rss_limit_mib
    assert rss < healthy_peak + rss_growth_limit_mib

    # Once the endpoint recovers, new traces arrive (whole and valid).
    recovered = run.invocations("recovered")
    assert len(recovered) == recovered_invocations
    assert run.report["missing_trace_ids"] == []
    traces = run.traces()
    for invocation in recovered:
        assert invocation["trace_id"] in traces
        assert_handler_trace(traces[invocation["trace_id"]], invocation, slug, package)
    if exporter == "xray-otlp":
        assert_sigv4(run)
    arrived_from_fault = sum(1 for i in faulty if i["trace_id"] in traces)
    return {
        "warm_p50_ms": round(fault_p50, 2),
        "healthy_warm_p50_ms": round(healthy_p50, 2),
        "warm_max_ms": round(fault_max, 1),
        "collector_rss_max_mib": round(rss, 1),
        "recovered_traces": f"{recovered_invocations}/{recovered_invocations}",
        "fault_phase_traces_delivered_later": f"{arrived_from_fault}/{fault_invocations}",
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def assert_xray_document(raw: str) -> None:
    """Valid against AWS's segment-document schema and the rules it leaves out (xray_schema),
    finished (an end time, not in progress), and of a trace id minted around now."""
    try:
        problems = document_errors(raw)
    except SchemaUnavailable as exc:
        missing_tool(str(exc))
    assert problems == [], f"{problems}: {raw[:2000]}"
    doc = json.loads(raw)
    assert isinstance(doc.get("end_time"), int | float), doc
    epoch = int(doc["trace_id"].split("-")[1], 16)
    assert abs(time.time() - epoch) < 3600, f"trace id epoch {epoch} is not recent"


def assert_handler_trace(
    docs: list[dict[str, Any]], invocation: dict[str, Any], slug: str, package: str
) -> dict:
    """The handler segment, the custom greet subsegment and the STS call, correctly parented."""
    by_name = {d["name"]: d for d in docs}
    assert sorted(by_name) == sorted([slug, f"{package}.greet", "STS"]), docs
    assert len(docs) == 3
    handler, greet, sts = by_name[slug], by_name[f"{package}.greet"], by_name["STS"]
    for doc in docs:
        assert doc["trace_id"] == invocation["trace_id"]  # = Root of the incoming header
    # The handler span is a segment of service SLUG, parented under the caller's segment (the
    # Parent of the trace header, which is Lambda's own segment in AWS).
    assert "type" not in handler
    assert handler["parent_id"] == invocation["parent_id"]
    # No origin: Lambda's own function segment has this name with AWS::Lambda::Function, and
    # the console would merge the two nodes (decision 9 in docs/decisions.md).
    assert "origin" not in handler
    assert greet["type"] == "subsegment" and greet["parent_id"] == handler["id"]
    assert sts["type"] == "subsegment" and sts["parent_id"] == greet["id"]
    assert sts["namespace"] == "aws"
    assert sts["aws"]["operation"] == "GetCallerIdentity"
    eps = 2e-6  # documents carry microseconds
    assert handler["start_time"] - eps <= greet["start_time"] <= sts["start_time"] + eps
    assert sts["end_time"] <= greet["end_time"] + eps <= handler["end_time"] + 2 * eps
    return {"handler": handler, "greet": greet, "sts": sts}


def otlp_spans_of(run: Run, trace_id: str) -> dict[str, dict[str, Any]]:
    hex_id = trace_id[2:].replace("-", "")
    spans = [s for s in run.report["otlp"]["spans"] if s["trace_id"] == hex_id]
    by_name = {s["name"]: s for s in spans}
    assert len(by_name) == len(spans), spans
    return by_name


def assert_otlp_spans(
    run: Run, invocation: dict[str, Any], slug: str, package: str
) -> dict[str, dict[str, Any]]:
    """The same tree on the OTLP spans that reached the xray-otlp endpoint."""
    spans = otlp_spans_of(run, invocation["trace_id"])
    assert sorted(spans) == sorted([slug, f"{package}.greet", "STS.GetCallerIdentity"])
    handler, greet = spans[slug], spans[f"{package}.greet"]
    sts = spans["STS.GetCallerIdentity"]
    for span in spans.values():
        assert re.fullmatch(r"[0-9a-f]{32}", span["trace_id"])
        assert HEX16.match(span["span_id"])
        assert span["start_time_unix_nano"] <= span["end_time_unix_nano"]
        assert span["resource"]["service.name"] == slug
        assert span["resource"]["cloud.platform"] == "aws_lambda"
    assert handler["kind"] == "SERVER"
    assert handler["parent_span_id"] == invocation["parent_id"]
    assert greet["kind"] == "INTERNAL" and greet["parent_span_id"] == handler["span_id"]
    assert sts["kind"] == "CLIENT" and sts["parent_span_id"] == greet["span_id"]
    assert sts["attributes"]["rpc.system"] == "aws-api"
    assert sts["attributes"]["rpc.method"] == "GetCallerIdentity"
    return spans


SIGV4 = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


def botocore_signature(request: dict[str, Any], signed: list[str]) -> str:
    """The signature botocore's own SigV4 signer computes for the request as it arrived."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {name: request["headers"][name] for name in signed}
    aws_request = AWSRequest(
        method=request["method"],
        url=f"http://{headers['host']}{request['path']}",
        data=base64.b64decode(request["body_b64"]),
        headers=headers,
    )
    aws_request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(FAKE_ACCESS_KEY, FAKE_SECRET_KEY), "xray", REGION)
    canonical = signer.canonical_request(aws_request)
    return signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)


def assert_sigv4(run: Run) -> None:
    """Every export was signed for X-Ray in the function's region (the stand-in's check), and
    the signatures of the requests kept verbatim (fault_run) match botocore's independent
    computation."""
    auth = run.report["otlp"]["auth"]
    assert auth, "the OTLP endpoint got no request"
    for check in auth:
        assert check["ok"], check["reason"]
        assert check["service"] == "xray"
        assert check["region"] == REGION
        assert check["access_key"] == FAKE_ACCESS_KEY
        assert {"host", "x-amz-date", "content-type"} <= set(check["signed_headers"])
    # The requests kept verbatim (fault_run's agent records them).
    for request in run.raw_requests:
        match = SIGV4.match(request["headers"]["authorization"])
        assert match, request["headers"]["authorization"]
        assert (match["service"], match["region"]) == ("xray", REGION)
        assert match["key"] == FAKE_ACCESS_KEY
        assert request["headers"]["x-amz-date"].startswith(match["date"])
        signed = match["signed"].split(";")
        assert botocore_signature(request, signed) == match["signature"]


def payload(invocation: dict[str, Any]) -> dict[str, Any]:
    return json.loads(invocation["body"])
