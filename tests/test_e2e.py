"""End to end with the sandbox runner: the rendered function run as Lambda runs it, without
Docker, its traces read back from X-Ray (the Docker runner's image tests are test_image.py).

Each case is rendered, its layer built with its own `make layer` (the venv `make venv` creates,
with the tool installed from the template snapshot's commit), then driven through the service's
own tool, `lambda-otel-xray local --runner sandbox` (what `make local` runs where Docker is
missing). The tool starts the Runtime Interface Emulator in a bubblewrap mount namespace with the
layer as /opt, so RIE launches the collector extension and the runtime goes through
/opt/otel-instrument; the X-Ray and STS APIs are moto on 127.0.0.1, and for xray-otlp an
OTLP/HTTP receiver that checks SigV4 and decodes the protobuf. Nothing else is stubbed. The
fault cases drive the same run through the tool's session API with tests/faults.py as the agent
(an X-Ray that refuses, fails or hangs on purpose: test-only, so not in the tool).

Cases: both exporters, x86_64, Python 3.11: the sandbox runs the host's Python, which the
layer's packages must match (arm64 and other Pythons run in the image tests).

The RIE binary and the awslambdaric runtime are built once and shared by every case and session
(LOCALRUN_TOOLS_DIR under .cache/); each sandboxed run holds a machine-wide lock because the
collector's OTLP ports (4317/4318) are fixed on this machine's loopback, so runs never overlap
even under pytest-xdist.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from localrun_checks import (
    REGION,
    Run,
    assert_handler_trace,
    assert_otlp_spans,
    assert_sigv4,
    assert_xray_document,
    check_fault_run,
    fault_run,
    make,
    measured,
    otlp_spans_of,
    payload,
    percentile,
    tool,
)
from render import Case, render

pytestmark = pytest.mark.e2e

CASES = {
    # trigger none: plain JSON events, so the faults and bad events are the handler's own (the
    # triggers' event formats run in test_image.py).
    "awsxray": Case("sam", "awsxray", "x86_64", {"python_version": "3.11"}, trigger="none"),
    "xray-otlp": Case(
        "terraform", "xray-otlp", "x86_64", {"python_version": "3.11"}, trigger="none"
    ),
}
EXPORTERS = list(CASES)
SLUG = "order-service"
PACKAGE = "order_service"

# Test (b): invocations back to back. 500 (the number) takes ~5-10 s here.
BURST = 500
# Test (c): invocations while X-Ray misbehaves, then after it recovers.
FAULT_INVOCATIONS = 30
RECOVERED_INVOCATIONS = 5
P50_TOLERANCE_MS = 25.0
RSS_LIMIT_MIB = 128
RSS_GROWTH_LIMIT_MIB = 32

# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def e2e_projects(template_repo: Path, tmp_path_factory: pytest.TempPathFactory):
    """Render and `make layer` once per exporter per session."""
    cache: dict[str, Path] = {}

    def _project(exporter: str) -> Path:
        if exporter not in cache:
            dest = tmp_path_factory.mktemp(f"e2e-{exporter}") / "svc"
            render(template_repo, dest, CASES[exporter].answers())
            built = make(dest, "layer")
            assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
            assert (dest / "build" / "layer.zip").is_file()
            cache[exporter] = dest
        return cache[exporter]

    return _project


@pytest.fixture(scope="session")
def runs(e2e_projects, tmp_path_factory):
    """`lambda-otel-xray local --runner sandbox` runs, cached by (exporter, arguments)."""
    cache: dict[tuple[str, tuple[str, ...]], Run] = {}

    def _run(exporter: str, *args: str) -> Run:
        key = (exporter, args)
        if key not in cache:
            cache[key] = tool(
                e2e_projects(exporter),
                tmp_path_factory.mktemp("run"),
                "local",
                "--runner",
                "sandbox",
                *args,
            )
        return cache[key]

    return _run


@pytest.fixture(params=EXPORTERS)
def exporter(request: pytest.FixtureRequest) -> str:
    return request.param


# ------------------------------------------------------------------------------ helpers


# ---------------------------------------------------------------- (a) one invocation, one trace


def test_one_invocation_one_trace(exporter: str, runs) -> None:
    run = runs(exporter, "--event", "events/sample.json")
    assert run.returncode == 0, run.output
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
    tree = assert_handler_trace(traces[invocation["trace_id"]], invocation, SLUG, PACKAGE)
    if exporter == "awsxray":  # collector/config.yaml indexes this attribute
        # Annotation keys keep their dots (contrib's default, allow_dots_in_annotation_keys).
        assert tree["greet"]["annotations"] == {"app.greeting.name": "OpenTelemetry"}
    # The printed tree names every segment.
    for name in (SLUG, f"{PACKAGE}.greet", "STS"):
        assert name in run.stdout

    if exporter == "xray-otlp":
        spans = assert_otlp_spans(run, invocation, SLUG, PACKAGE)
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


def test_shutdown_flushes_the_spans_still_batched(
    exporter: str, e2e_projects, tmp_path: Path
) -> None:
    """With the batch processor told to hold spans for a minute (a team's edit of
    collector/config.yaml, rebuilt with `make layer`), only the SHUTDOWN flush that `SIGTERM` to
    RIE triggers can deliver the invocation's trace."""
    project = _copy(e2e_projects(exporter), tmp_path / "svc", with_build=True)
    config = project / "collector" / "config.yaml"
    config.write_text(config.read_text().replace("timeout: 200ms", "timeout: 60s", 1))
    build = make(project, "layer", timeout=900)
    assert build.returncode == 0, build.stdout + build.stderr
    run = tool(project, tmp_path, "local", "--runner", "sandbox", "--event", "events/sample.json")
    assert run.returncode == 0, run.output
    [invocation] = run.invocations()
    assert [t["id"] for t in run.report["traces"]] == [invocation["trace_id"]]
    exports = [r for r in run.report["front_requests"] if r["status"] == 200]
    assert exports and min(r["time"] for r in exports) >= run.report["sigterm_at"]
    assert run.report["shutdown_ms"] < 60_000  # it did not wait out the batch timeout


# --------------------------------------------------------------------- (b) nothing lost


def test_burst_then_shutdown_loses_nothing(exporter: str, runs) -> None:
    run = runs(exporter, "--event", "events/sample.json", "--count", str(BURST))
    assert run.returncode == 0, run.output
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
        assert_handler_trace(docs, by_id[trace_id], SLUG, PACKAGE)
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
def test_xray_faults_never_reach_the_function(
    exporter: str, fault: str, runs, e2e_projects
) -> None:
    healthy = runs(exporter, "--event", "events/sample.json", "--count", str(BURST))
    assert healthy.returncode == 0, healthy.output
    project = e2e_projects(exporter)
    run = fault_run(
        project,
        runner="sandbox",
        events=[(project / "events" / "sample.json").read_bytes()],
        count=FAULT_INVOCATIONS,
        recover=RECOVERED_INVOCATIONS,
        fault=fault,
        trace_wait_s=60,
    )

    figures = check_fault_run(
        run,
        healthy,
        fault=fault,
        exporter=exporter,
        slug=SLUG,
        package=PACKAGE,
        fault_invocations=FAULT_INVOCATIONS,
        recovered_invocations=RECOVERED_INVOCATIONS,
        p50_tolerance_ms=P50_TOLERANCE_MS,
        rss_limit_mib=RSS_LIMIT_MIB,
        rss_growth_limit_mib=RSS_GROWTH_LIMIT_MIB,
    )
    measured(f"{exporter} fault={fault}", figures)


# ------------------------------------------------------------- (c2) the region at run time


def test_the_collector_follows_the_functions_region(exporter: str, e2e_projects) -> None:
    """Deployed to another region than the rendered one (`make deploy AWS_REGION=...`), the
    collector sends to and signs for the region Lambda tells it (AWS_REGION), with both
    exporters: a trace split across regions (awsxray) or refused signatures (xray-otlp) would
    show here."""
    project = e2e_projects(exporter)
    other = "eu-central-1"
    assert f"aws_region: {REGION}" in (project / ".copier-answers.yml").read_text()
    run = fault_run(
        project,
        runner="sandbox",
        events=[(project / "events" / "sample.json").read_bytes()],
        count=1,
        region=other,
    )
    assert run.report["region"] == other
    [invocation] = run.invocations()
    assert list(run.traces()) == [invocation["trace_id"]]
    assert run.raw_requests, "the collector exported nothing"
    for request in run.raw_requests:
        scope = request["headers"]["authorization"].split("Credential=", 1)[1].split(",")[0]
        assert scope.split("/")[2:4] == [other, "xray"], scope
    if exporter == "xray-otlp":
        assert {a["region"] for a in run.report["otlp"]["auth"]} == {other}
        assert all(a["ok"] for a in run.report["otlp"]["auth"])


# --------------------------------------------------------------------------- (d) bad event


def test_bad_event_is_a_400_recorded_on_the_span(exporter: str, runs, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('["not", "an", "object"]')
    run = runs(exporter, "--event", str(bad))
    assert run.returncode == 0, run.output
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


# ------------------------------------------------------------------ (e) unsampled: nothing


def test_unsampled_invocations_export_nothing(exporter: str, runs) -> None:
    """Lambda samples: an invocation whose trace header says Sampled=0 must not reach X-Ray
    (no PutTraceSegments, no OTLP request), and X-Ray bills per trace recorded."""
    run = runs(exporter, "--event", "events/sample.json", "--count", "5", "--unsampled")
    assert run.returncode == 0, run.output
    invocations = run.invocations()
    assert len(invocations) == 5
    assert all(i["status"] == 200 and payload(i)["statusCode"] == 200 for i in invocations)
    assert all(not i["sampled"] for i in invocations)
    assert run.report["relayed_trace_headers"] == 5  # the runtime got each Sampled=0 header
    assert run.report["expected_trace_ids"] == []
    assert run.report["front_requests"] == []  # the collector sent nothing at all
    assert run.report["otlp"]["auth"] == [] and run.report["otlp"]["spans"] == []
    assert run.report["traces"] == []
    assert "[collector] SHUTDOWN" in run.log  # and it did get to flush


# ------------------------------------------------------------ verify-traces (shared lookup)


def test_verify_traces_reads_an_xray_endpoint(runs, e2e_projects, tmp_path: Path) -> None:
    """`make verify-traces` against an X-Ray API that holds the traces (moto, as AWS would)."""
    import boto3
    from moto.server import ThreadedMotoServer

    source = runs("awsxray", "--event", "events/sample.json")
    assert source.returncode == 0, source.output
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
        run = tool(
            e2e_projects("awsxray"),
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
    assert run.returncode == 0, run.output
    assert trace["id"] in run.stdout
    for name in (SLUG, f"{PACKAGE}.greet", "STS"):
        assert name in run.stdout
    assert "└──" in run.stdout  # printed as a tree


# ------------------------------------------------------------------------- clear errors


def _copy(project: Path, dest: Path, *, with_build: bool) -> Path:
    shutil.copytree(
        project,
        dest,
        symlinks=True,
        ignore=None if with_build else shutil.ignore_patterns("build"),
    )
    return dest


def test_missing_layer_says_make_layer(e2e_projects, tmp_path: Path) -> None:
    project = _copy(e2e_projects("awsxray"), tmp_path / "svc", with_build=False)
    run = tool(
        project,
        tmp_path,
        "local",
        "--runner",
        "sandbox",
        "--event",
        "events/sample.json",
        timeout=300,
    )
    assert run.returncode == 1
    assert "layer.zip does not exist" in run.stderr
    assert "make layer" in run.stderr
    assert "Traceback" not in run.stderr


def test_no_docker_and_no_bwrap_says_how_to_install_either(e2e_projects, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with go but without docker or bwrap
    bin_dir.mkdir()
    go = shutil.which("go")
    if go:
        (bin_dir / "go").symlink_to(go)
    run = tool(
        e2e_projects("awsxray"),
        tmp_path,
        "local",
        "--event",
        "events/sample.json",
        env={"PATH": str(bin_dir)},
    )
    assert run.returncode == 1
    assert "runs the function's image with Docker, but Docker is not installed" in run.stderr
    assert "falls back to a bubblewrap sandbox" in run.stderr
    assert "bubblewrap (bwrap) is not installed" in run.stderr
    assert "apt-get install bubblewrap" in run.stderr
    assert "Traceback" not in run.stderr


def test_rie_build_failure_is_explained(e2e_projects, tmp_path: Path) -> None:
    empty_cache = tmp_path / "gomodcache"
    empty_cache.mkdir()
    run = tool(
        e2e_projects("awsxray"),
        tmp_path,
        "local",
        "--runner",
        "sandbox",
        "--event",
        "events/sample.json",
        env={"GOPROXY": "off", "GOMODCACHE": str(empty_cache), "GOFLAGS": "-mod=mod"},
        tools=tmp_path / "tools",
        timeout=300,
    )
    assert run.returncode == 1
    assert "could not build the Runtime Interface Emulator" in run.stderr
    assert "aws-lambda-runtime-interface-emulator" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "tools" / "aws-lambda-rie.version").exists()
    subprocess.run(["chmod", "-R", "u+w", str(empty_cache)], check=False)  # go's cache is r/o
