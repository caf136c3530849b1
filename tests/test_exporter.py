"""The awsxray exporter's documents against AWS's X-Ray segment schema, and what they carry.

- The schema helper (tests/xray_schema.py) rejects what X-Ray rejects.
- Every document the exporter's Go unit tests produce (they write them to $XRAY_DOCS_DIR)
  validates: conformance of the unit tests' output is part of the suite.
- A rendered project's collector, built as its `make layer` builds it (the tool's collector
  functions: collector/ against the shipped lambdaotelxray module), run standalone on free
  127.0.0.1 ports with the project's exporter configuration, receives the real span shapes
  (tool/collector/awsxrayexporter/testdata/shapes, from scripts/gen_span_shapes.py) over
  OTLP/HTTP and exports them to moto's X-Ray; every document read back with GetTraceSummaries +
  BatchGetTraces validates and carries the fields the X-Ray console shows.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from collector_build import build_collector, require_go
from project_checks import missing_tool
from render import Case
from xray_schema import SchemaUnavailable, document_errors, schema

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "tool/collector"
SHAPES = MODULE / "awsxrayexporter/testdata/shapes"
CASE = Case("sam", "awsxray", "x86_64")
REGION = "us-east-1"
FUNCTION = "order-service"  # render.BASE_ANSWERS' project_slug
ACCOUNT = "123456789012"
# AWS_LAMBDA_FUNCTION_NAME in the collector's environment (differs from the slug on purpose).
LIVE_FUNCTION = "order-service-live"
# Attributes another field already uses, indexed on top of the project's configuration.
EXTRA_INDEXED = ["rpc.method", "aws.request_id", "otel.resource.service.name"]


@pytest.fixture(scope="module", autouse=True)
def xray_schema() -> dict[str, Any]:
    try:
        return schema()
    except SchemaUnavailable as exc:
        missing_tool(str(exc))
        raise


def shape_names() -> list[str]:
    return sorted(p.stem for p in SHAPES.glob("*.json") if p.name != "manifest.json")


def test_span_shapes_come_from_the_pinned_packages() -> None:
    """The committed shapes were generated with the template's current pins; after a pin bump,
    regenerate them (python scripts/gen_span_shapes.py)."""
    pins = {k: v["default"] for k, v in yaml.safe_load((ROOT / "pins.yml").read_text()).items()}
    manifest = json.loads((SHAPES / "manifest.json").read_text())
    packages = manifest["packages"]
    assert packages["opentelemetry-sdk"] == pins["pin_otel_python"]
    for name, version in packages.items():
        if name.startswith("opentelemetry-instrumentation-"):
            assert version == pins["pin_otel_python_contrib"], name
    assert packages["opentelemetry-propagator-aws-xray"] == pins["pin_otel_propagator_aws_xray"]
    assert packages["opentelemetry-sdk-extension-aws"] == pins["pin_otel_sdk_extension_aws"]
    assert sorted(manifest["scenarios"]) == shape_names()


# ---------------------------------------------------------------------- the helper itself

VALID = {
    "name": "order-service",
    "id": "70de5b6f19ff9a0a",
    "trace_id": "1-581cf771-a006649127e371903a2de979",
    "start_time": 1478293361.271,
    "end_time": 1478293361.449,
}


def variant(**changes: Any) -> str:
    doc = {**VALID, **changes}
    return json.dumps({k: v for k, v in doc.items() if v is not None})


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (variant(metadata={"default": {"big": "x" * 70_000}}), "over X-Ray's 65536"),
        (variant(id="zzzzzzzzzzzzzzzz"), "id 'zzzzzzzzzzzzzzzz' is not 16 hex digits"),
        (variant(parent_id="0123456789abcdeX"), "parent_id"),
        (variant(trace_id="1-581cf77-1a006649127e371903a2de979"), "trace_id"),
        (variant(end_time=None), "neither end_time nor in_progress"),
        (variant(in_progress=True), "both end_time and in_progress"),
        (variant(end_time=1478293360.0), "before start_time"),
        (variant(type="subsegment"), "independent subsegment without parent_id"),
        (variant(type="segment"), "only 'subsegment'"),
        (variant(namespace="local"), "namespace 'local'"),
        (variant(name="tab\there"), "schema: name"),
        (variant(name="x" * 201), "schema: name"),
        (variant(http={"request": {"url": "https://a/" + "p" * 250}}), "schema: http/request/url"),
        (variant(annotations={"app-name": "x"}), "schema: annotations"),
        (variant(annotations={"app name": "x"}), "schema: annotations"),
        (variant(annotations={"a" * 501: "x"}), "schema: annotations"),
        (variant(user="u" * 251), "schema: user"),
        (variant(metadata={"default": "not an object"}), "schema: metadata/default"),
        (
            variant(cause={"exceptions": [{"id": "0" * 16, "cause": "f" * 16}]}),
            "names no exception",
        ),
        (variant(cause={"exceptions": [{"message": "no id"}]}), "schema: cause"),
        (variant(links=[{"trace_id": "abc", "id": "0123456789abcdef"}]), "links/0/trace_id"),
        ("[1, 2]", "not a JSON object"),
        ("{", "not JSON"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) and not v.startswith("{") else None,
)
def test_schema_helper_rejects_what_xray_rejects(raw: str, problem: str) -> None:
    errors = document_errors(raw)
    assert any(problem in e for e in errors), errors


def test_schema_helper_accepts_valid_documents() -> None:
    assert document_errors(variant()) == []
    assert document_errors(variant(end_time=None, in_progress=True)) == []
    sub = variant(type="subsegment", parent_id="0123456789abcdef", namespace="aws")
    assert document_errors(sub.encode()) == []
    # Dots in annotation keys: X-Ray accepts them (tests/xray_schema.py says why).
    dotted = {"app.greeting.name": "x", "otel.resource.service.name": "y", "a_1": 1}
    assert document_errors(variant(annotations=dotted)) == []
    assert document_errors(variant(type="subsegment", parent_id="0" * 16, annotations=dotted)) == []


def test_only_the_annotation_key_rule_differs_from_aws_schema(xray_schema) -> None:
    from xray_schema import ANNOTATION_KEY, SCHEMA_ANNOTATION_KEY, with_dotted_annotation_keys

    patched = json.dumps(with_dotted_annotation_keys(xray_schema))
    assert patched.replace(ANNOTATION_KEY, SCHEMA_ANNOTATION_KEY) == json.dumps(xray_schema)


# --------------------------------------------------- every Go unit-test document validates


def go_env() -> dict[str, str]:
    return {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly", "GOWORK": "off"}


def test_go_unit_test_documents_validate(tmp_path: Path) -> None:
    if shutil.which("go") is None:
        missing_tool("Go is not installed: the exporter's unit tests need it")
    docs = tmp_path / "docs"
    docs.mkdir()
    result = subprocess.run(
        ["go", "test", "-count=1", "./awsxrayexporter/"],
        cwd=MODULE,
        env={**go_env(), "XRAY_DOCS_DIR": str(docs)},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    files = sorted(docs.glob("*.json"))
    for shape in shape_names():  # every real shape went through the converter
        assert any(f.name.startswith(f"TestEveryShapeConverts_{shape}-") for f in files), shape
    invalid = {f.name: document_errors(f.read_bytes()) for f in files}
    invalid = {name: errors for name, errors in invalid.items() if errors}
    assert not invalid, f"{len(invalid)} of {len(files)} documents invalid: {invalid}"
    print(f"[exporter] {len(files)} unit-test documents validated")


# ------------------------------------------------------- through the built collector, to moto


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Built:
    project: Path
    collector: Path


@pytest.fixture(scope="module")
def built(render_case, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The rendered project's collector, compiled as its layer build compiles it."""
    require_go()
    project = render_case(CASE)
    binary = build_collector(project, tmp_path_factory.mktemp("bin") / "collector")
    return Built(project, binary)


@pytest.fixture(scope="module")
def moto_xray() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def collector_config(project: Path, otlp_port: int, xray_endpoint: str) -> dict[str, Any]:
    """The project's own config.yaml, on test ports, exporting to moto."""
    config = yaml.safe_load((project / "collector" / "config.yaml").read_text())
    config["receivers"]["otlp"]["protocols"] = {"http": {"endpoint": f"127.0.0.1:{otlp_port}"}}
    exporter = config["exporters"]["awsxray"]
    exporter["endpoint"] = xray_endpoint
    exporter["indexed_attributes"] = [*exporter.get("indexed_attributes", []), *EXTRA_INDEXED]
    return config


def rebased(shape: dict[str, Any], shift_ns: int) -> dict[str, Any]:
    """The shape as if recorded now: times shifted, and every X-Ray trace id's epoch prefix with
    them (consistently, so links still point at the producer's trace)."""
    shift_s = shift_ns // 1_000_000_000
    text = json.dumps(shape)

    def trace_id(match: re.Match[str]) -> str:
        epoch = int(match[2][:8], 16) + shift_s
        return f'{match[1]}"{epoch:08x}{match[2][8:]}"'

    text = re.sub(r'("traceId":\s*)"([0-9a-f]{32})"', trace_id, text)
    data = json.loads(text)
    for rs in data["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("startTimeUnixNano", "endTimeUnixNano"):
                    span[key] = str(int(span[key]) + shift_ns)
                for event in span.get("events", []):
                    event["timeUnixNano"] = str(int(event["timeUnixNano"]) + shift_ns)
    return data


@pytest.fixture(scope="module")
def exported(built: Built, moto_xray: str, tmp_path_factory) -> dict[str, Any]:
    """Send every shape through the collector; read all documents back from moto."""
    import boto3

    workdir = tmp_path_factory.mktemp("collector-run")
    otlp_port = free_port()
    config = workdir / "config.yaml"
    config.write_text(yaml.safe_dump(collector_config(built.project, otlp_port, moto_xray)))
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        # What Lambda gives extensions; the project's config derives the log group from it.
        "AWS_LAMBDA_FUNCTION_NAME": LIVE_FUNCTION,
    }
    log = (workdir / "collector.log").open("w")
    proc = subprocess.Popen(
        [str(built.collector), f"--config=file:{config}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    shapes = {name: json.loads((SHAPES / f"{name}.json").read_text()) for name in shape_names()}
    newest = max(
        int(s["endTimeUnixNano"])
        for shape in shapes.values()
        for rs in shape["resourceSpans"]
        for ss in rs["scopeSpans"]
        for s in ss["spans"]
    )
    shift = time.time_ns() - 5_000_000_000 - newest
    sent: dict[str, dict[str, Any]] = {}
    try:
        deadline = time.monotonic() + 30
        for name, shape in shapes.items():
            sent[name] = rebased(shape, shift)
            body = json.dumps(sent[name]).encode()
            while True:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{otlp_port}/v1/traces",
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
                try:
                    # A generous timeout: a resend after a slow answer would duplicate spans.
                    with urllib.request.urlopen(request, timeout=60) as response:
                        assert response.status == 200
                    break
                except urllib.error.URLError as exc:  # only "refused": it is still starting
                    refused = isinstance(exc.reason, ConnectionRefusedError)
                    if not refused or time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.2)  # the receiver is still starting
        # One document per span, two for a call without a parent (the service's segment too).
        span_count = sum(len(spans_of(shape)) + root_calls(shape) for shape in sent.values())
        xray = boto3.client(
            "xray",
            endpoint_url=moto_xray,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        documents: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            documents = read_back(xray, sent_trace_ids(sent))
            if len(documents) >= span_count:
                break
            time.sleep(0.5)
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    output = (workdir / "collector.log").read_text(errors="replace")
    assert len(documents) == span_count, (
        f"{len(documents)} documents for {span_count} spans\n{output[-4000:]}"
    )
    return {"sent": sent, "documents": documents, "log": output}


def sent_trace_ids(sent: dict[str, dict[str, Any]]) -> set[str]:
    hex_ids = {s["traceId"] for shape in sent.values() for s in spans_of(shape)}
    return {f"1-{t[:8]}-{t[8:]}" for t in hex_ids}


def read_back(xray: Any, trace_ids: set[str]) -> list[str]:
    """The documents of ``trace_ids``: moto's backends are per process, so another test's
    server in this pytest worker may hold traces too."""
    now = time.time()
    ids: list[str] = []
    kwargs: dict[str, Any] = {"StartTime": now - 3600, "EndTime": now + 60}
    while True:
        page = xray.get_trace_summaries(**kwargs)
        ids += [s["Id"] for s in page.get("TraceSummaries", []) if s["Id"] in trace_ids]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    documents: list[str] = []
    for start in range(0, len(ids), 5):
        traces = xray.batch_get_traces(TraceIds=ids[start : start + 5])["Traces"]
        documents += [seg["Document"] for trace in traces for seg in trace["Segments"]]
    return documents


def spans_of(shape: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for rs in shape["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


CLIENT, PRODUCER = 3, 4  # OTLP span kinds


def root_calls(shape: dict[str, Any]) -> int:
    spans = spans_of(shape)
    calls = [s for s in spans if s.get("kind") in (CLIENT, PRODUCER)]
    return sum(1 for s in calls if not s.get("parentSpanId"))


class Docs:
    """The documents read back, found by the span they came from."""

    def __init__(self, exported: dict[str, Any]) -> None:
        self.by_id = {json.loads(d)["id"]: json.loads(d) for d in exported["documents"]}
        self.sent = exported["sent"]

    def of(self, shape: str, name: str, n: int = 0, where: Any = None) -> dict[str, Any]:
        spans = [s for s in spans_of(self.sent[shape]) if s["name"] == name]
        if where is not None:
            spans = [s for s in spans if where(s)]
        return self.by_id[spans[n]["spanId"]]


def attr(span: dict[str, Any], key: str) -> Any:
    for a in span.get("attributes", []):
        if a["key"] == key:
            return next(iter(a["value"].values()))
    return None


def test_every_exported_document_validates(exported: dict[str, Any]) -> None:
    invalid = {}
    for raw in exported["documents"]:
        if errors := document_errors(raw):
            invalid[json.loads(raw).get("name")] = errors
    assert not invalid, invalid
    # The collector logged no warning or error (a trimmed, rejected or unserialisable document).
    problems = [
        line for line in exported["log"].splitlines() if re.search(r"\t(warn|error)\t", line)
    ]
    assert not problems, problems
    print(f"[exporter] {len(exported['documents'])} documents from the built collector validated")


def test_handler_segment(exported: dict[str, Any]) -> None:
    docs = Docs(exported)
    handler = docs.of("api_gateway_orders", FUNCTION)
    assert "type" not in handler and "origin" not in handler, handler
    assert handler["name"] == FUNCTION
    assert handler["user"] == "customer-42"
    assert handler["aws"]["account_id"] == ACCOUNT
    # The project's config: Lambda's log group, so the console shows logs beside the trace.
    assert handler["aws"]["cloudwatch_logs"] == [{"log_group": f"/aws/lambda/{LIVE_FUNCTION}"}]
    assert handler["aws"]["xray"]["sdk"] == "opentelemetry for python"
    # indexed_attributes names a resource attribute the way contrib's exporter takes it.
    assert handler["annotations"]["otel.resource.service.name"] == FUNCTION
    assert "otel.resource.service.name" not in handler["metadata"]["default"]
    assert handler["metadata"]["default"]["otel.resource.faas.name"] == FUNCTION
    request = handler["http"]["request"]
    assert request["url"] == "https://abc123.execute-api.us-east-1.amazonaws.com/orders?id=o-1"
    greet = docs.of("api_gateway_orders", "order_service.greet")
    assert greet["annotations"]["app.greeting.name"] == "OpenTelemetry"
    assert greet["type"] == "subsegment" and greet["parent_id"] == handler["id"]
    sts = docs.of("api_gateway_orders", "STS.GetCallerIdentity")
    assert sts["parent_id"] == greet["id"] and sts["namespace"] == "aws"


def test_aws_sdk_subsegments(exported: dict[str, Any]) -> None:
    docs = Docs(exported)
    get = docs.of("api_gateway_orders", "DynamoDB.GetItem")
    assert get["name"] == "DynamoDB" and get["namespace"] == "aws"
    assert get["aws"]["operation"] == "GetItem"
    assert get["aws"]["table_name"] == "orders"
    assert get["aws"]["region"] == REGION
    assert "sql" not in get
    # Attributes the translator used are still indexable.
    assert get["annotations"]["rpc.method"] == "GetItem"
    assert get["annotations"]["aws.request_id"] == get["aws"]["request_id"]
    batch = docs.of("api_gateway_orders", "DynamoDB.BatchGetItem")
    assert batch["aws"]["table_names"] == ["orders", "customers"]
    assert docs.of("api_gateway_orders", "DynamoDB.DescribeTable")["aws"]["region"] == "eu-west-1"
    sqs = docs.of("api_gateway_orders", "SQS.SendMessage")
    assert sqs["aws"]["queue_url"].endswith(f"/{ACCOUNT}/order-events")
    assert sqs["aws"]["account_id"] == ACCOUNT


def test_sql_only_for_sql_engines(exported: dict[str, Any]) -> None:
    docs = Docs(exported)
    pg = docs.of("api_gateway_orders", "SELECT orders")
    assert pg["sql"]["database_type"] == "postgresql"
    assert pg["sql"]["sanitized_query"].startswith("SELECT id, total FROM orders")
    assert pg["name"] == "shop@shop.cluster-abc.us-east-1.rds.amazonaws.com"
    lite = docs.of("api_gateway_orders", "SELECT")
    assert lite["sql"]["database_type"] == "sqlite"
    for doc in docs.by_id.values():
        if doc["name"] == "DynamoDB":
            assert "sql" not in doc, doc


@pytest.mark.parametrize(
    "shape", ["http_api_downstream_errors", "http_api_downstream_errors_stable_http"]
)
def test_http_calls(exported: dict[str, Any], shape: str) -> None:
    docs = Docs(exported)

    def call(part: str) -> dict[str, Any]:
        def wanted(span: dict[str, Any]) -> bool:
            return part in (attr(span, "url.full") or attr(span, "http.url"))

        return docs.of(shape, "GET", where=wanted)

    throttled = call("/rate-limited")
    assert throttled["error"] is True and throttled["throttle"] is True and "fault" not in throttled
    assert throttled["namespace"] == "remote"
    assert throttled["http"]["request"]["url"].endswith("/rate-limited?attempt=1")
    assert call("/unavailable")["fault"] is True
    assert call("/missing")["error"] is True
    server = docs.of(shape, "GET /stock")
    assert "type" not in server and server["http"]["request"]["client_ip"] == "127.0.0.1"
    if shape.endswith("stable_http"):  # client.address, no peer address: maybe forwarded
        assert server["http"]["request"]["x_forwarded_for"] is True
    else:  # net.peer.ip: the socket's address
        assert "x_forwarded_for" not in server["http"]["request"]


def test_exceptions_have_stacks_and_cause_chains(exported: dict[str, Any]) -> None:
    docs = Docs(exported)
    handler = docs.of("handler_raises_chained", FUNCTION)
    assert handler["fault"] is True
    exceptions = handler["cause"]["exceptions"]
    assert [e["type"].rsplit(".", 1)[-1] for e in exceptions] == [
        "RuntimeError",
        "LookupError",
        "KeyError",
    ]
    assert exceptions[0]["cause"] == exceptions[1]["id"]
    assert exceptions[1]["cause"] == exceptions[2]["id"]
    for exc in exceptions:
        assert exc["stack"], exc
        assert all(f["path"] and f["line"] > 0 and f["label"] for f in exc["stack"]), exc
    assert exceptions[2]["stack"][0]["label"] == "load_order"
    handled = docs.of("api_gateway_orders", "order_service.parse_coupon")
    assert not any(handled.get(k) for k in ("error", "fault"))
    assert handled["cause"]["exceptions"][0]["type"] == "ValueError"
    aws_error = docs.of("handler_raises_chained", "DynamoDB.GetItem")
    assert aws_error["error"] is True and aws_error["cause"]["exceptions"][0]["remote"] is True


def test_producers_consumers_and_links(exported: dict[str, Any]) -> None:
    docs = Docs(exported)
    producer = docs.of("sqs_producer", "publish order-events")
    assert producer["namespace"] == "remote" and producer["type"] == "subsegment"
    process = docs.of("sqs_consumer_batch", "process order-events")
    assert process["type"] == "subsegment"
    [link] = process["links"]
    [span] = [s for s in spans_of(exported["sent"]["sqs_consumer_batch"]) if s.get("links")]
    sent_link = span["links"][0]
    assert link["id"] == sent_link["spanId"]
    assert link["trace_id"] == f"1-{sent_link['traceId'][:8]}-{sent_link['traceId'][8:]}"
    # A call outside any request (no parent) hangs from a segment of the service.
    purge = docs.of("sqs_producer", "SQS.PurgeQueue")
    assert purge["type"] == "subsegment" and purge["namespace"] == "aws"
    service = docs.by_id[purge["parent_id"]]
    assert service["name"] == FUNCTION and "type" not in service and "parent_id" not in service
    # The link points at the producer's span, exported in its own trace.
    assert link["id"] in docs.by_id
    assert docs.by_id[link["id"]]["trace_id"] == link["trace_id"]
