"""End to end: the rendered function run as Lambda runs it, its traces read back from X-Ray.

Each case is rendered with tasks on (the post-copy hook builds build/layer.zip), then driven
through the generated project's own entry point, `python -m localrun invoke` (what `make local`
runs), with the Python environment `make venv` would create (the project's requirements-dev.txt,
cached in .cache/toolenvs). localrun starts the Runtime Interface Emulator in a bubblewrap mount
namespace with the layer as /opt, so RIE launches the collector extension and the runtime goes
through /opt/otel-instrument; the X-Ray and STS APIs are moto on 127.0.0.1, and for xray-otlp an
OTLP/HTTP receiver that checks SigV4 and decodes the protobuf. Nothing else is stubbed.

Cases: both exporters, x86_64, Python 3.11 (the host's Python, which the layer's packages and
the local runtime must match). arm64 is not run: this machine cannot execute arm64 binaries (no
emulation), and the collector extension is a native binary; test_layer.py checks the arm64
builds statically.

The RIE binary and the awslambdaric runtime are built once and shared by every case and session
(LOCALRUN_TOOLS_DIR under .cache/); each localrun run holds a machine-wide lock because the
collector's OTLP ports (4317/4318) are fixed, so runs never overlap even under pytest-xdist.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from render import Case, render
from toolenv import CACHE_DIR, tool_venv, venv_bin

pytestmark = pytest.mark.e2e

CASES = {
    "awsxray": Case("sam", "awsxray", "x86_64", {"python_version": "3.11"}),
    "xray-otlp": Case("terraform", "xray-otlp", "x86_64", {"python_version": "3.11"}),
}
EXPORTERS = list(CASES)
SLUG = "order-service"
PACKAGE = "order_service"
REGION = "us-east-1"
# localrun's fake credentials (AWS's documentation examples).
FAKE_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

# Test (b): invocations back to back. 500 (the number) takes ~5-10 s here.
BURST = 500
# Test (c): invocations while X-Ray misbehaves, then after it recovers.
FAULT_INVOCATIONS = 30
RECOVERED_INVOCATIONS = 5
P50_TOLERANCE_MS = 25.0
RSS_LIMIT_MIB = 128
RSS_GROWTH_LIMIT_MIB = 32

TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
MEASURED: dict[str, Any] = {}


def measured(key: str, value: Any) -> None:
    """Numbers worth reading in the output (pytest -s) and in the summary at the end."""
    MEASURED[key] = value
    print(f"[e2e] {key}: {value}")


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def localrun_tools() -> Path:
    """One RIE build and one awslambdaric runtime for every case and session."""
    path = CACHE_DIR / "localrun-tools"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def e2e_projects(template_repo: Path, tmp_path_factory: pytest.TempPathFactory):
    """Render (the hook builds the layer) once per exporter per session."""
    cache: dict[str, Path] = {}

    def _project(exporter: str) -> Path:
        if exporter not in cache:
            dest = tmp_path_factory.mktemp(f"e2e-{exporter}") / "svc"
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                render(template_repo, dest, CASES[exporter].answers(), skip_tasks=False)
            assert (dest / "build" / "layer.zip").is_file(), out.getvalue()
            cache[exporter] = dest
        return cache[exporter]

    return _project


def dev_requirements(project: Path) -> list[str]:
    """requirements-dev.txt with its `-r` includes expanded: what `make venv` installs."""
    out: list[str] = []
    for line in (project / "requirements-dev.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            out += dev_requirements_file(project / line[3:].strip())
        elif line:
            out.append(line)
    return out


def dev_requirements_file(path: Path) -> list[str]:
    return [
        line.split("#", 1)[0].strip()
        for line in path.read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]


@pytest.fixture(scope="session")
def dev_python(e2e_projects) -> Path:
    """The project's .venv python (same requirements for both exporters: one cached venv)."""
    requirements = sorted({r for e in EXPORTERS for r in dev_requirements(e2e_projects(e))})
    return venv_bin(tool_venv("localrun-dev", requirements), "python")


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    report: dict[str, Any]
    log: str
    seconds: float

    @property
    def output(self) -> str:
        return f"--- stdout\n{self.proc.stdout}\n--- stderr\n{self.proc.stderr}"

    def invocations(self, phase: str | None = None) -> list[dict[str, Any]]:
        return [i for i in self.report["invocations"] if phase is None or i["phase"] == phase]

    def warm_latencies(self, phase: str) -> list[float]:
        return [i["latency_ms"] for i in self.invocations(phase) if i["index"] > 0]

    def traces(self) -> dict[str, list[dict[str, Any]]]:
        return {t["id"]: [json.loads(d) for d in t["documents"]] for t in self.report["traces"]}


def localrun(
    project: Path,
    python: Path,
    tools: Path,
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    report: bool = True,
    timeout: float = 600,
) -> Run:
    report_path = tmp_path / f"report-{time.monotonic_ns()}.json"
    cmd = [str(python), "-m", "localrun", *args]
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
    seconds = time.monotonic() - start
    log_file = project / "build" / "local" / "rie.log"
    log = log_file.read_text(errors="replace") if log_file.is_file() else ""
    data = json.loads(report_path.read_text()) if report_path.is_file() else {}
    return Run(proc, data, log, seconds)


@pytest.fixture(scope="session")
def runs(e2e_projects, dev_python: Path, localrun_tools: Path, tmp_path_factory):
    """`localrun invoke` runs, cached by (exporter, arguments) for the session."""
    cache: dict[tuple[str, tuple[str, ...]], Run] = {}

    def _run(exporter: str, *args: str) -> Run:
        key = (exporter, args)
        if key not in cache:
            project = e2e_projects(exporter)
            cache[key] = localrun(
                project,
                dev_python,
                localrun_tools,
                tmp_path_factory.mktemp("run"),
                "invoke",
                *args,
            )
        return cache[key]

    return _run


@pytest.fixture(scope="module", autouse=True)
def write_measurements():
    """Every number measured, in one file: .cache/e2e-measurements.json."""
    yield
    if MEASURED:
        out = CACHE_DIR.parent / "e2e-measurements.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(MEASURED, indent=1) + "\n")


@pytest.fixture(params=EXPORTERS)
def exporter(request: pytest.FixtureRequest) -> str:
    return request.param


# ------------------------------------------------------------------------------ helpers


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def assert_xray_document(raw: str) -> None:
    """X-Ray's documented rules for a segment document."""
    assert len(raw.encode()) <= 64 * 1024, f"document over 64 KB: {len(raw)} bytes"
    doc = json.loads(raw)
    assert HEX16.match(doc["id"]), doc
    assert TRACE_ID.match(doc["trace_id"]), doc
    epoch = int(doc["trace_id"].split("-")[1], 16)
    assert abs(time.time() - epoch) < 3600, f"trace id epoch {epoch} is not recent"
    assert isinstance(doc["start_time"], int | float)
    assert isinstance(doc["end_time"], int | float)
    assert doc["start_time"] <= doc["end_time"], doc
    assert 0 < len(doc["name"]) <= 200, doc
    if "parent_id" in doc:
        assert HEX16.match(doc["parent_id"]), doc
    if doc.get("type") == "subsegment":
        assert "parent_id" in doc, f"independent subsegment without parent_id: {doc}"


def assert_handler_trace(docs: list[dict[str, Any]], invocation: dict[str, Any]) -> dict:
    """The handler segment, the custom greet subsegment and the STS call, correctly parented."""
    by_name = {d["name"]: d for d in docs}
    assert sorted(by_name) == sorted([SLUG, f"{PACKAGE}.greet", "STS"]), docs
    assert len(docs) == 3
    handler, greet, sts = by_name[SLUG], by_name[f"{PACKAGE}.greet"], by_name["STS"]
    for doc in docs:
        assert doc["trace_id"] == invocation["trace_id"]  # = Root of the incoming header
    # The handler span is a segment of service SLUG, parented under the caller's segment (the
    # Parent of the trace header, which is Lambda's own segment in AWS).
    assert "type" not in handler
    assert handler["parent_id"] == invocation["parent_id"]
    assert handler["origin"] == "AWS::Lambda::Function"
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


def assert_otlp_spans(run: Run, invocation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The same tree on the OTLP spans that reached the xray-otlp endpoint."""
    spans = otlp_spans_of(run, invocation["trace_id"])
    assert sorted(spans) == sorted([SLUG, f"{PACKAGE}.greet", "STS.GetCallerIdentity"])
    handler, greet = spans[SLUG], spans[f"{PACKAGE}.greet"]
    sts = spans["STS.GetCallerIdentity"]
    for span in spans.values():
        assert re.fullmatch(r"[0-9a-f]{32}", span["trace_id"])
        assert HEX16.match(span["span_id"])
        assert span["start_time_unix_nano"] <= span["end_time_unix_nano"]
        assert span["resource"]["service.name"] == SLUG
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
    the signatures of the requests kept verbatim match botocore's independent computation."""
    auth = run.report["otlp"]["auth"]
    assert auth, "the OTLP endpoint got no request"
    for check in auth:
        assert check["ok"], check["reason"]
        assert check["service"] == "xray"
        assert check["region"] == REGION
        assert check["access_key"] == FAKE_ACCESS_KEY
        assert {"host", "x-amz-date", "content-type"} <= set(check["signed_headers"])
    requests = run.report["otlp"]["requests"]
    assert requests
    for request in requests:
        match = SIGV4.match(request["headers"]["authorization"])
        assert match, request["headers"]["authorization"]
        assert (match["service"], match["region"]) == ("xray", REGION)
        assert match["key"] == FAKE_ACCESS_KEY
        assert request["headers"]["x-amz-date"].startswith(match["date"])
        signed = match["signed"].split(";")
        assert botocore_signature(request, signed) == match["signature"]


def payload(invocation: dict[str, Any]) -> dict[str, Any]:
    return json.loads(invocation["body"])


# ---------------------------------------------------------------- (a) one invocation, one trace


def test_one_invocation_one_trace(exporter: str, runs) -> None:
    run = runs(exporter, "--event", "events/sample.json")
    assert run.proc.returncode == 0, run.output
    [invocation] = run.invocations()
    assert invocation["status"] == 200
    response = payload(invocation)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {
        "message": "Hello, OpenTelemetry!",
        "account": "123456789012",  # moto's account: the STS call really happened
    }

    # Lambda's lifecycle, as RIE ran it: the extension registered, got SHUTDOWN on SIGTERM.
    assert "External agent collector" in run.log and "registered" in run.log
    assert "[collector] SHUTDOWN" in run.log
    assert run.report["rie_exit_code"] == 0
    assert run.report["killed_after_timeout"] == []

    # Exactly one trace read back through GetTraceSummaries + BatchGetTraces, the invocation's.
    traces = run.traces()
    assert list(traces) == [invocation["trace_id"]]
    for raw in run.report["traces"][0]["documents"]:
        assert_xray_document(raw)
    tree = assert_handler_trace(traces[invocation["trace_id"]], invocation)
    if exporter == "awsxray":  # collector/config.yaml indexes this attribute
        assert tree["greet"]["annotations"] == {"app_greeting_name": "OpenTelemetry"}
    # The printed tree names every segment.
    for name in (SLUG, f"{PACKAGE}.greet", "STS"):
        assert name in run.proc.stdout

    # With one invocation the spans sit in the batch processor (timeout 200 ms) when SIGTERM
    # arrives a few ms after the response: the SHUTDOWN flush is what delivers them.
    exports = [r for r in run.report["front_requests"] if r["status"] == 200]
    assert exports and min(r["time"] for r in exports) >= run.report["sigterm_at"]

    if exporter == "xray-otlp":
        spans = assert_otlp_spans(run, invocation)
        assert spans[f"{PACKAGE}.greet"]["attributes"]["app.greeting.name"] == "OpenTelemetry"
        assert_sigv4(run)
    measured(
        f"{exporter} cold start (RIE start to first response) ms",
        round(run.report["cold_start_ms"], 1),
    )
    measured(
        f"{exporter} collector peak RSS MiB (1 invocation)",
        round(run.report["collector"]["peak_rss_kb"] / 1024, 1),
    )


# --------------------------------------------------------------------- (b) nothing lost


def test_burst_then_shutdown_loses_nothing(exporter: str, runs) -> None:
    run = runs(exporter, "--event", "events/sample.json", "--count", str(BURST))
    assert run.proc.returncode == 0, run.output
    invocations = run.invocations()
    assert len(invocations) == BURST
    assert all(i["status"] == 200 and payload(i)["statusCode"] == 200 for i in invocations)
    traces = run.traces()
    expected = {i["trace_id"] for i in invocations}
    assert len(expected) == BURST
    assert set(traces) == expected, f"{len(expected - set(traces))} traces lost"
    assert invocations[-1]["trace_id"] in traces  # the last one, sent just before SIGTERM
    by_id = {i["trace_id"]: i for i in invocations}
    for trace_id, docs in traces.items():
        assert_handler_trace(docs, by_id[trace_id])
    for trace in run.report["traces"]:
        for raw in trace["documents"]:
            assert_xray_document(raw)
    assert run.report["rie_exit_code"] == 0
    assert "[collector] SHUTDOWN" in run.log
    if exporter == "xray-otlp":
        assert len(run.report["otlp"]["spans"]) == 3 * BURST
        assert_sigv4(run)
    after_sigterm = sum(
        1 for r in run.report["front_requests"] if r["time"] >= run.report["sigterm_at"]
    )
    warm = run.warm_latencies("healthy")
    measured(f"{exporter} burst: invocations / traces read back", f"{BURST} / {len(traces)}")
    measured(
        f"{exporter} burst: wall time s (incl. RIE start, shutdown, read-back)",
        round(run.seconds, 1),
    )
    measured(f"{exporter} burst: export requests after SIGTERM (SHUTDOWN flush)", after_sigterm)
    measured(
        f"{exporter} healthy warm p50/p99 ms",
        (round(percentile(warm, 50), 2), round(percentile(warm, 99), 2)),
    )
    measured(
        f"{exporter} collector peak RSS MiB after {BURST} invocations",
        round(run.report["collector"]["peak_rss_kb"] / 1024, 1),
    )


# ---------------------------------------------------------------------------- (c) faults


@pytest.mark.parametrize("fault", ["refuse", "500", "hang"])
def test_xray_faults_never_reach_the_function(exporter: str, fault: str, runs) -> None:
    healthy = runs(exporter, "--event", "events/sample.json", "--count", str(BURST))
    assert healthy.proc.returncode == 0, healthy.output
    run = runs(
        exporter,
        "--event",
        "events/sample.json",
        "--count",
        str(FAULT_INVOCATIONS),
        "--recover",
        str(RECOVERED_INVOCATIONS),
        "--xray-fault",
        fault,
        "--trace-wait",
        "60",
    )
    assert run.proc.returncode == 0, run.output

    # Every invocation answers normally, during the fault and after.
    normal = payload(healthy.invocations()[0])
    faulty = run.invocations(fault)
    assert len(faulty) == FAULT_INVOCATIONS
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
    assert fault_p50 <= healthy_p50 + P50_TOLERANCE_MS, (fault_p50, healthy_p50)
    assert fault_max < 1000, f"an invocation took {fault_max:.0f} ms during the fault"

    # The collector's memory stays bounded.
    rss = max(s["VmRSS"] for s in run.report["collector"]["memory_samples"]) / 1024
    healthy_peak = healthy.report["collector"]["peak_rss_kb"] / 1024
    assert rss < RSS_LIMIT_MIB
    assert rss < healthy_peak + RSS_GROWTH_LIMIT_MIB

    # Once the endpoint recovers, new traces arrive (whole and valid).
    recovered = run.invocations("recovered")
    assert len(recovered) == RECOVERED_INVOCATIONS
    assert run.report["missing_trace_ids"] == []
    traces = run.traces()
    for invocation in recovered:
        assert invocation["trace_id"] in traces
        assert_handler_trace(traces[invocation["trace_id"]], invocation)
    if exporter == "xray-otlp":
        assert_sigv4(run)
    arrived_from_fault = sum(1 for i in faulty if i["trace_id"] in traces)
    measured(
        f"{exporter} fault={fault}",
        {
            "warm_p50_ms": round(fault_p50, 2),
            "healthy_warm_p50_ms": round(healthy_p50, 2),
            "warm_max_ms": round(fault_max, 1),
            "collector_rss_max_mib": round(rss, 1),
            "recovered_traces": f"{RECOVERED_INVOCATIONS}/{RECOVERED_INVOCATIONS}",
            "fault_phase_traces_delivered_later": f"{arrived_from_fault}/{FAULT_INVOCATIONS}",
        },
    )


# --------------------------------------------------------------------------- (d) bad event


def test_bad_event_is_a_400_recorded_on_the_span(exporter: str, runs, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('["not", "an", "object"]')
    run = runs(exporter, "--event", str(bad))
    assert run.proc.returncode == 0, run.output
    [invocation] = run.invocations()
    assert invocation["status"] == 200  # the function answered; its answer is the 400
    response = payload(invocation)
    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {"error": "expected a JSON object, got list"}

    traces = run.traces()
    assert list(traces) == [invocation["trace_id"]]
    docs = {d["name"]: d for d in traces[invocation["trace_id"]]}
    for raw in run.report["traces"][0]["documents"]:
        assert_xray_document(raw)
    assert sorted(docs) == sorted([SLUG, f"{PACKAGE}.greet"])  # no STS call was made
    handler, greet = docs[SLUG], docs[f"{PACKAGE}.greet"]
    assert handler["parent_id"] == invocation["parent_id"]
    assert greet["parent_id"] == handler["id"]
    for doc in (handler, greet):
        assert doc.get("fault") or doc.get("error"), doc
        [cause] = doc["cause"]["exceptions"]
        assert cause["type"].endswith("BadEventError")
        assert cause["message"] == "expected a JSON object, got list"
    if exporter == "xray-otlp":
        spans = otlp_spans_of(run, invocation["trace_id"])
        handler_span = spans[SLUG]
        assert handler_span["status"]["code"] == "ERROR"
        assert "expected a JSON object" in handler_span["status"]["message"]
        [event] = [e for e in handler_span["events"] if e["name"] == "exception"]
        assert event["attributes"]["exception.type"].endswith("BadEventError")
        assert_sigv4(run)


# ------------------------------------------------------------ verify-traces (shared lookup)


def test_verify_traces_reads_an_xray_endpoint(
    runs, e2e_projects, dev_python: Path, localrun_tools: Path, tmp_path: Path
) -> None:
    """`make verify-traces` against an X-Ray API that holds the traces (moto, as AWS would)."""
    import boto3
    from moto.server import ThreadedMotoServer

    source = runs("awsxray", "--event", "events/sample.json")
    assert source.proc.returncode == 0, source.output
    [trace] = source.report["traces"]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client(
            "xray",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        client.put_trace_segments(TraceSegmentDocuments=trace["documents"])
        run = localrun(
            e2e_projects("awsxray"),
            dev_python,
            localrun_tools,
            tmp_path,
            "verify-traces",
            "--endpoint",
            endpoint,
            "--region",
            REGION,
            "--since",
            "30",
            report=False,
            timeout=120,
        )
    finally:
        server.stop()
    assert run.proc.returncode == 0, run.output
    assert trace["id"] in run.proc.stdout
    for name in (SLUG, f"{PACKAGE}.greet", "STS"):
        assert name in run.proc.stdout
    assert "└──" in run.proc.stdout  # printed as a tree


# ------------------------------------------------------------------------- clear errors


def _copy(project: Path, dest: Path, *, with_build: bool) -> Path:
    shutil.copytree(
        project,
        dest,
        symlinks=True,
        ignore=None if with_build else shutil.ignore_patterns("build"),
    )
    return dest


def test_missing_layer_says_make_layer(
    e2e_projects, dev_python: Path, localrun_tools: Path, tmp_path: Path
) -> None:
    project = _copy(e2e_projects("awsxray"), tmp_path / "svc", with_build=False)
    run = localrun(
        project,
        dev_python,
        localrun_tools,
        tmp_path,
        "invoke",
        "--event",
        "events/sample.json",
        timeout=300,
    )
    assert run.proc.returncode == 1
    assert "layer.zip does not exist" in run.proc.stderr
    assert "make layer" in run.proc.stderr
    assert "Traceback" not in run.proc.stderr


def test_missing_bwrap_says_how_to_install(
    e2e_projects, dev_python: Path, localrun_tools: Path, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with go but without bwrap
    bin_dir.mkdir()
    go = shutil.which("go")
    if go:
        (bin_dir / "go").symlink_to(go)
    run = localrun(
        e2e_projects("awsxray"),
        dev_python,
        localrun_tools,
        tmp_path,
        "invoke",
        "--event",
        "events/sample.json",
        env={"PATH": str(bin_dir)},
    )
    assert run.proc.returncode == 1
    assert "bubblewrap (bwrap) is not installed" in run.proc.stderr
    assert "apt-get install bubblewrap" in run.proc.stderr
    assert "Traceback" not in run.proc.stderr


def test_rie_build_failure_is_explained(e2e_projects, dev_python: Path, tmp_path: Path) -> None:
    empty_cache = tmp_path / "gomodcache"
    empty_cache.mkdir()
    run = localrun(
        e2e_projects("awsxray"),
        dev_python,
        tmp_path / "tools",
        tmp_path,
        "invoke",
        "--event",
        "events/sample.json",
        env={"GOPROXY": "off", "GOMODCACHE": str(empty_cache), "GOFLAGS": "-mod=mod"},
        timeout=300,
    )
    assert run.proc.returncode == 1
    assert "could not build the Runtime Interface Emulator" in run.proc.stderr
    assert "aws-lambda-runtime-interface-emulator" in run.proc.stderr
    assert "Traceback" not in run.proc.stderr
    assert not (tmp_path / "tools" / "aws-lambda-rie.version").exists()
    subprocess.run(["chmod", "-R", "u+w", str(empty_cache)], check=False)  # go's cache is r/o
