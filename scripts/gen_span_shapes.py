"""Generate the span shapes the X-Ray exporter's tests convert: real spans, not guesses.

Runs the OpenTelemetry Python packages at the template's pins (pins.yml: SDK, contrib
instrumentations, the X-Ray propagator and the AWS SDK extension) against local stand-ins on
127.0.0.1 — moto's server for DynamoDB, SQS, S3 and STS, and a small HTTP server for the
requests/urllib3/httpx calls (a 200 with a query, a 404, a 429 and a 503) — through the
aws-lambda instrumentation, exactly as the generated service's `telemetry.py` wires them
(Lambda resource detector, X-Ray id generator, `AwsXRayLambdaPropagator`, explicit
instrumentors). Every scenario is one Lambda invocation (API Gateway REST and HTTP API events,
an SQS batch whose messages were really sent and received through the instrumented botocore),
plus the SQS producer/receiver traces themselves. The spans are written as OTLP/JSON (what the
collector's OTLP/HTTP receiver accepts, hex ids) to

    tool/collector/awsxrayexporter/testdata/shapes/<scenario>.json

with `manifest.json` beside them naming the package versions that produced them. The Go unit
tests convert these files; tests/test_exporter.py posts them to the built collector. Stack
traces name files where Lambda would have them, not where this run had them: this script (the
function's code) as /var/task/gen_span_shapes.py, installed packages under /opt/python/ (the
layer's directory), so the shapes carry no path of the machine that generated them.

Usage (from the repository root, with the template's .venv or any Python >= 3.11):

    python scripts/gen_span_shapes.py          # regenerate testdata/shapes

The first run creates a cached virtual environment with the pinned packages (tests/toolenv.py,
under .cache/toolenvs) and re-runs itself inside it. Ids and timestamps differ on every run; the
shapes (span kinds, names, attributes, events, links) do not.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tool/collector/awsxrayexporter/testdata/shapes"
INSIDE = "--inside-pinned-venv"
# The second pass: HTTP instrumentations emitting the stable HTTP semantic conventions.
STABLE_HTTP = "--stable-http"

REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
ACCOUNT = "123456789012"
FUNCTION = "order-service"
LOG_STREAM = "2026/12/01/[$LATEST]0123456789abcdef0123456789abcdef"


def pinned_requirements() -> list[str]:
    import yaml

    pins = {k: v["default"] for k, v in yaml.safe_load((ROOT / "pins.yml").read_text()).items()}
    core, contrib = pins["pin_otel_python"], pins["pin_otel_python_contrib"]
    instrumentations = ["aws-lambda", "botocore", "requests", "urllib3", "httpx", "sqlite3", "wsgi"]
    return [
        f"opentelemetry-api=={core}",
        f"opentelemetry-sdk=={core}",
        f"opentelemetry-proto=={core}",
        f"opentelemetry-exporter-otlp-proto-common=={core}",
        f"opentelemetry-instrumentation=={contrib}",
        *(f"opentelemetry-instrumentation-{name}=={contrib}" for name in instrumentations),
        f"opentelemetry-propagator-aws-xray=={pins['pin_otel_propagator_aws_xray']}",
        f"opentelemetry-sdk-extension-aws=={pins['pin_otel_sdk_extension_aws']}",
        "moto[server]==5.2.5",
        "boto3>=1.35",
        "requests",
        "urllib3",
        "httpx",
    ]


def relaunch_in_pinned_venv() -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from toolenv import tool_venv, venv_bin

    python = venv_bin(tool_venv("spanshapes", pinned_requirements()), "python")
    env = {**os.environ, "OTEL_SEMCONV_STABILITY_OPT_IN": "http"}
    return subprocess.call([str(python), __file__, INSIDE]) or subprocess.call(
        [str(python), __file__, INSIDE, STABLE_HTTP], env=env
    )


# ------------------------------------------------------------------------------------ inside


def lambda_environment() -> None:
    """What Lambda puts in the runtime's environment (the resource detector reads it)."""
    os.environ.update(
        {
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION}",
            "AWS_LAMBDA_LOG_STREAM_NAME": LOG_STREAM,
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "OTEL_SERVICE_NAME": FUNCTION,
            "_HANDLER": "__main__.handler",
        }
    )


class FakeLambdaContext:
    """The fields of awslambdaric's context object the instrumentation reads."""

    def __init__(self, request_id: str) -> None:
        self.function_name = FUNCTION
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
        self.aws_request_id = request_id
        self.memory_limit_in_mb = 512


SCENARIO: dict[str, Any] = {}


def handler(event: dict[str, Any], context: FakeLambdaContext) -> Any:
    """The one handler the aws-lambda instrumentation wraps; dispatches to the scenario."""
    return SCENARIO["body"](event, context)


def main_inside(stable_http: bool) -> int:
    import http.server
    import logging
    import sqlite3
    import threading
    import time
    import uuid

    lambda_environment()

    import boto3
    import httpx
    import requests
    import urllib3
    from google.protobuf.json_format import MessageToDict
    from moto.server import ThreadedMotoServer
    from opentelemetry import propagate, trace
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.instrumentation.aws_lambda import AwsLambdaInstrumentor
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.propagators.aws import AwsXRayLambdaPropagator
    from opentelemetry.sdk.extension.aws.resource import AwsLambdaResourceDetector
    from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource, get_aggregated_resources
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    suffix = "_stable_http" if stable_http else ""

    # ---- stand-ins on 127.0.0.1
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    moto_host, moto_port = moto.get_host_and_port()
    aws_endpoint = f"http://{moto_host}:{moto_port}"

    class Upstream(http.server.BaseHTTPRequestHandler):
        routes: ClassVar[dict[str, int]] = {
            "/items": 200,
            "/missing": 404,
            "/rate-limited": 429,
            "/unavailable": 503,
        }

        def do_GET(self) -> None:
            status = self.routes.get(self.path.split("?", 1)[0], 404)
            body = json.dumps({"path": self.path, "status": status}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if status == 429:
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    web = f"http://127.0.0.1:{upstream.server_address[1]}"

    # A downstream service of our own, traced by the WSGI instrumentation (a SERVER span whose
    # parent is the caller's CLIENT span, carried in X-Amzn-Trace-Id).
    def inventory_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with trace.get_tracer("inventory").start_as_current_span("inventory.lookup"):
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"sku": "A1", "stock": 3}']

    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    wsgi = make_server(
        "127.0.0.1", 0, OpenTelemetryMiddleware(inventory_app), handler_class=QuietHandler
    )
    threading.Thread(target=wsgi.serve_forever, daemon=True).start()
    inventory = f"http://127.0.0.1:{wsgi.server_address[1]}"

    # ---- the service's telemetry set-up (template/{{ package_name }}/telemetry.py.jinja)
    memory = InMemorySpanExporter()
    resource = get_aggregated_resources(
        [AwsLambdaResourceDetector()],
        initial_resource=Resource.create({SERVICE_NAME: FUNCTION}),
    )
    provider = TracerProvider(resource=resource, id_generator=AwsXRayIdGenerator())
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(provider)
    propagate.set_global_textmap(AwsXRayLambdaPropagator())
    for instrumentor in (
        BotocoreInstrumentor(),
        RequestsInstrumentor(),
        URLLib3Instrumentor(),
        HTTPXClientInstrumentor(),
        SQLite3Instrumentor(),
    ):
        instrumentor.instrument(tracer_provider=provider)
    AwsLambdaInstrumentor().instrument(
        tracer_provider=provider, meter_provider=FlushableNoMetrics(NoOpMeterProvider)
    )
    main_module = sys.modules["__main__"]
    tracer = trace.get_tracer("order_service.service")

    def client(service: str, region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=aws_endpoint)

    # ---- AWS resources the scenarios use
    ddb = client("dynamodb")
    for table in ("orders", "customers"):
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    client("dynamodb", OTHER_REGION).create_table(
        TableName="orders-replica",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    queue_url = client("sqs").create_queue(QueueName="order-events")["QueueUrl"]
    client("s3").create_bucket(Bucket="order-receipts")
    memory.clear()

    def invoke(name: str, event: dict[str, Any], body: Any) -> None:
        """One Lambda invocation: a fresh _X_AMZN_TRACE_ID, as Lambda sets it."""
        root = AwsXRayIdGenerator().generate_trace_id()
        hex_root = f"{root:032x}"
        parent = uuid.uuid4().hex[:16]
        os.environ["_X_AMZN_TRACE_ID"] = (
            f"Root=1-{hex_root[:8]}-{hex_root[8:]};Parent={parent};Sampled=1"
        )
        SCENARIO["body"] = body
        try:
            main_module.handler(event, FakeLambdaContext(str(uuid.uuid4())))
        except Exception:  # a failed invocation is a shape too
            pass
        finally:
            del os.environ["_X_AMZN_TRACE_ID"]

    written: dict[str, int] = {}

    def save(name: str) -> None:
        spans = memory.get_finished_spans()
        memory.clear()
        request = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
        hexify_ids(request)
        request = neutral_paths(request)
        name += suffix
        (OUT / f"{name}.json").write_text(json.dumps(request, indent=1, sort_keys=True) + "\n")
        written[name] = len(spans)

    def api_gateway_event(path: str, query: dict[str, str], method: str = "GET") -> dict:
        return {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": {
                "Host": "abc123.execute-api.us-east-1.amazonaws.com",
                "User-Agent": "curl/8.5.0",
                "X-Forwarded-For": "203.0.113.7, 198.51.100.2",
                "X-Forwarded-Port": "443",
                "X-Forwarded-Proto": "https",
            },
            "queryStringParameters": query,
            "requestContext": {
                "resourcePath": path,
                "httpMethod": method,
                "stage": "prod",
                "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
            },
            "body": None,
            "isBase64Encoded": False,
        }

    # ---- scenario: API Gateway request, AWS SDK calls, HTTP, SQL, handled exception, user
    def orders_body(event: dict[str, Any], context: Any) -> dict[str, Any]:
        trace.get_current_span().set_attribute("enduser.id", "customer-42")
        with tracer.start_as_current_span("order_service.greet") as span:
            span.set_attribute("app.greeting.name", "OpenTelemetry")
            client("sts").get_caller_identity()
        ddb.put_item(TableName="orders", Item={"id": {"S": "o-1"}, "total": {"N": "12"}})
        ddb.get_item(TableName="orders", Key={"id": {"S": "o-1"}})
        ddb.batch_get_item(
            RequestItems={
                "orders": {"Keys": [{"id": {"S": "o-1"}}]},
                "customers": {"Keys": [{"id": {"S": "c-42"}}]},
            }
        )
        client("dynamodb", OTHER_REGION).describe_table(TableName="orders-replica")
        client("sqs").send_message(QueueUrl=queue_url, MessageBody='{"order": "o-1"}')
        client("s3").put_object(Bucket="order-receipts", Key="o-1.json", Body=b"{}")
        requests.get(f"{web}/items", params={"page": "2", "sort": "asc"}, timeout=5)
        with tracer.start_as_current_span("order_service.parse_coupon") as span:
            try:
                int("SPRING-SALE")
            except ValueError as exc:  # handled: the span stays OK
                span.record_exception(exc)
        db = sqlite3.connect(":memory:")
        cursor = db.cursor()
        cursor.execute("CREATE TABLE orders (id TEXT, total INTEGER)")
        cursor.execute("SELECT id, total FROM orders WHERE id = ?", ("o-1",))
        db.close()
        with tracer.start_as_current_span("SELECT orders", kind=SpanKind.CLIENT) as span:
            # What the psycopg instrumentations record (no PostgreSQL server here).
            span.set_attribute("db.system", "postgresql")
            span.set_attribute("db.name", "shop")
            span.set_attribute("db.user", "app")
            span.set_attribute("db.statement", "SELECT id, total FROM orders WHERE id = %s")
            span.set_attribute("server.address", "shop.cluster-abc.us-east-1.rds.amazonaws.com")
            span.set_attribute("server.port", 5432)
        return {"statusCode": 200, "body": json.dumps({"ok": True})}

    invoke("api_gateway_orders", api_gateway_event("/orders", {"id": "o-1"}), orders_body)
    save("api_gateway_orders")

    # ---- scenario: HTTP API (v2) request whose downstream calls fail: 404, 429, 503
    def http_errors_body(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # Our own downstream service, reached through a proxy that adds X-Forwarded-For.
        requests.get(
            f"{inventory}/stock?sku=A1",
            headers={"X-Forwarded-For": "198.51.100.23", "User-Agent": "inventory-client/1.0"},
            timeout=5,
        )
        requests.get(f"{web}/missing", timeout=5)
        urllib3.PoolManager().request("GET", f"{web}/rate-limited?attempt=1", retries=False)
        with httpx.Client() as http_client:
            http_client.get(f"{web}/unavailable", params={"q": "x"})
        return {"statusCode": 502, "body": "upstream failed"}

    http_api_event = {
        "version": "2.0",
        "routeKey": "GET /inventory",
        "rawPath": "/inventory",
        "rawQueryString": "sku=A1&limit=10",
        "headers": {"host": "api.example.com", "user-agent": "Mozilla/5.0"},
        "requestContext": {
            "domainName": "api.example.com",
            "http": {
                "method": "GET",
                "path": "/inventory",
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.23",
                "userAgent": "Mozilla/5.0",
            },
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    invoke("http_api_downstream_errors", http_api_event, http_errors_body)
    save("http_api_downstream_errors")
    if stable_http:  # the rest does not depend on the HTTP conventions
        return finish(moto, upstream, wsgi, written)

    # ---- scenario: the handler raises; the traceback chains three exceptions
    def load_order(order_id: str) -> dict[str, Any]:
        try:
            return {}[order_id]
        except KeyError as exc:
            raise LookupError(f"order {order_id} not found") from exc

    def failing_body(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # An AWS SDK error, handled by the caller.
        with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
            ddb.get_item(TableName="no-such-table", Key={"id": {"S": "x"}})
        with tracer.start_as_current_span("order_service.build_response"):
            try:
                load_order("o-404")
            except LookupError:
                raise RuntimeError("could not build the response")  # noqa: B904
        return {"statusCode": 200}

    invoke("handler_raises_chained", api_gateway_event("/orders/{id}", {}), failing_body)
    save("handler_raises_chained")

    # ---- scenario: an SQS batch, produced and received through the instrumented botocore
    def produce_body(event: dict[str, Any], context: Any) -> dict[str, Any]:
        sqs = client("sqs")
        for n in range(2):
            with tracer.start_as_current_span(
                "publish order-events", kind=SpanKind.PRODUCER
            ) as span:
                span.set_attribute("messaging.system", "aws_sqs")
                span.set_attribute("messaging.destination.name", "order-events")
                span.set_attribute("messaging.operation.type", "send")
                carrier: dict[str, str] = {}
                propagate.inject(carrier)  # X-Amzn-Trace-Id of this PRODUCER span
                attributes = {"kind": {"DataType": "String", "StringValue": "created"}}
                if n == 0:  # the instrumentation links only messages carrying the header
                    attributes |= {
                        k: {"DataType": "String", "StringValue": v} for k, v in carrier.items()
                    }
                sqs.send_message(
                    QueueUrl=queue_url,
                    MessageBody=json.dumps({"order": f"o-{n}"}),
                    MessageAttributes=attributes,
                    MessageSystemAttributes={
                        "AWSTraceHeader": {
                            "DataType": "String",
                            "StringValue": carrier["X-Amzn-Trace-Id"],
                        }
                    },
                )
        return {"statusCode": 202}

    client("sqs").purge_queue(QueueUrl=queue_url)
    invoke("sqs_producer", api_gateway_event("/orders", {}, "POST"), produce_body)
    save("sqs_producer")

    received: list[dict[str, Any]] = []
    with tracer.start_as_current_span("poll order-events"):
        for _ in range(5):
            out = client("sqs").receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            )
            received += out.get("Messages", [])
            if len(received) >= 2:
                break
            time.sleep(0.2)
    save("sqs_receive_outside_lambda")
    if len(received) < 2:
        raise SystemExit(f"expected 2 SQS messages from moto, got {len(received)}")

    def sqs_record(message: dict[str, Any]) -> dict[str, Any]:
        attributes = dict(message.get("Attributes", {}))
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": attributes,
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "dataType": value["DataType"],
                    "stringListValues": [],
                    "binaryListValues": [],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:order-events",
            "awsRegion": REGION,
        }

    def consume_body(event: dict[str, Any], context: Any) -> None:
        for record in event["Records"]:
            order = json.loads(record["body"])["order"]
            ddb.update_item(
                TableName="orders",
                Key={"id": {"S": order}},
                UpdateExpression="SET shipped = :t",
                ExpressionAttributeValues={":t": {"BOOL": True}},
            )

    # AWSTraceHeader (system attribute) as SQS delivers it; the aws-lambda instrumentation reads
    # only the message attributes, so only the first message becomes a span link.
    records = [sqs_record(m) for m in received[:2]]
    if not all("AWSTraceHeader" in r["attributes"] for r in records):
        raise SystemExit(f"moto dropped AWSTraceHeader: {records}")
    invoke("sqs_consumer_batch", {"Records": records}, consume_body)
    save("sqs_consumer_batch")
    return finish(moto, upstream, wsgi, written)


def finish(moto: Any, upstream: Any, wsgi: Any, written: dict[str, int]) -> int:
    from importlib.metadata import version

    moto.stop()
    upstream.shutdown()
    wsgi.shutdown()
    packages = [
        "opentelemetry-sdk",
        "opentelemetry-instrumentation-aws-lambda",
        "opentelemetry-instrumentation-botocore",
        "opentelemetry-instrumentation-requests",
        "opentelemetry-instrumentation-urllib3",
        "opentelemetry-instrumentation-httpx",
        "opentelemetry-instrumentation-sqlite3",
        "opentelemetry-instrumentation-wsgi",
        "opentelemetry-propagator-aws-xray",
        "opentelemetry-sdk-extension-aws",
        "boto3",
        "botocore",
        "moto",
        "requests",
        "urllib3",
        "httpx",
    ]
    manifest = {
        "generator": "scripts/gen_span_shapes.py",
        "python": sys.version.split()[0],
        "packages": {name: version(name) for name in packages},
        "scenarios": written,
    }
    path = OUT / "manifest.json"
    if path.is_file():  # the stable-HTTP pass adds its scenarios
        manifest["scenarios"] = {**json.loads(path.read_text())["scenarios"], **written}
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    for name, count in written.items():
        print(f"{name}: {count} spans")
    return 0


class FlushableNoMetrics:
    """Traces only, as in telemetry.py: a meter provider the instrumentation can flush."""

    def __init__(self, base: type) -> None:
        self._base = base()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)

    def force_flush(self, timeout_millis: float = 0) -> bool:
        return True


# Where the files of a stack trace would be in Lambda: the function's code in /var/task, the
# packages a layer installs in /opt/python.
TASK_ROOT = "/var/task"
LAYER_PACKAGES = "/opt/python/"


def neutral_paths(node: Any) -> Any:
    """``node`` with every path of this run (this script, the venv's site-packages) replaced by
    where Lambda would have the file, so nothing names the machine or checkout it ran in."""
    import re

    scripts = {os.path.abspath(__file__), str(Path(__file__).resolve())}
    site_packages = re.compile(r"(?:/[^\s\"'/]+)+/lib/python3\.\d+/site-packages/")
    if isinstance(node, dict):
        return {key: neutral_paths(value) for key, value in node.items()}
    if isinstance(node, list):
        return [neutral_paths(item) for item in node]
    if isinstance(node, str):
        for script in scripts:
            node = node.replace(script, f"{TASK_ROOT}/{Path(script).name}")
        return site_packages.sub(LAYER_PACKAGES, node)
    return node


def hexify_ids(node: Any) -> None:
    """protobuf's JSON mapping writes bytes as base64; OTLP/JSON wants trace/span ids in hex."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"traceId", "spanId", "parentSpanId"} and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                hexify_ids(value)
    elif isinstance(node, list):
        for item in node:
            hexify_ids(item)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(INSIDE, action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(STABLE_HTTP, action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.inside_pinned_venv:
        return relaunch_in_pinned_venv()
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.stable_http:
        for old in OUT.glob("*.json"):
            old.unlink()
    return main_inside(args.stable_http)


if __name__ == "__main__":
    sys.exit(main())
