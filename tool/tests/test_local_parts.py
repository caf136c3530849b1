"""Parts of a local run that need no function: the stand-ins' endpoint, the SigV4 check, the
OTLP-to-segment conversion, the agent's protocol, the trace tree."""

from __future__ import annotations

import datetime as dt
import io
import json
import urllib.request

from lambda_otel_xray.local import sigv4, traces
from lambda_otel_xray.local.agent import Agent, serve
from lambda_otel_xray.local.standins import Front, segment_document


def test_the_front_answers_with_its_handler_and_records_each_request() -> None:
    seen = []

    def handler(method, path, query, headers, body):
        seen.append((method, path, query, body))
        return 200, {"content-type": "application/json"}, b'{"ok": true}'

    front = Front(handler, "/v1/traces")
    url = front.start()
    try:
        request = urllib.request.Request(url + "?a=1", data=b"spans", method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200 and json.loads(answer.read()) == {"ok": True}
        port = front.port
        front.close()
        front.listen()  # the same port again
        assert front.port == port
    finally:
        front.stop()
    assert seen == [("POST", "/v1/traces", "a=1", b"spans")]
    assert [r["status"] for r in front.requests] == [200]
    assert front.stats["POST"] == 1


def test_a_botocore_signature_verifies_and_a_tampered_body_does_not() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:4318/v1/traces",
        data=b"payload",
        headers={"content-type": "application/x-protobuf"},
    )
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "xray", "eu-west-1").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = "127.0.0.1:4318"
    args = dict(secret_key="secret", access_key="AKIDEXAMPLE", region="eu-west-1", service="xray")
    assert sigv4.verify("POST", "/v1/traces", "", headers, b"payload", **args).ok
    bad = sigv4.verify("POST", "/v1/traces", "", headers, b"other", **args)
    assert not bad.ok and bad.reason
    wrong_region = {**args, "region": "us-east-1"}
    assert not sigv4.verify("POST", "/v1/traces", "", headers, b"payload", **wrong_region).ok


def span(**changes) -> dict:
    base = {
        "trace_id": "6751a3c0" + "ab" * 12,
        "span_id": "1" * 16,
        "parent_span_id": "",
        "name": "handler",
        "kind": "SERVER",
        "start_time_unix_nano": 1_700_000_000_000_000_000,
        "end_time_unix_nano": 1_700_000_000_250_000_000,
        "status": {"code": "UNSET", "message": ""},
        "attributes": {},
        "events": [],
        "links": [],
        "resource": {"service.name": "order-service", "cloud.region": "eu-west-1"},
        "scope": "test",
    }
    return {**base, **changes}


def test_otlp_spans_become_segments_and_subsegments() -> None:
    root = segment_document(span())
    assert root["name"] == "order-service" and "type" not in root and "origin" not in root
    assert root["trace_id"] == "1-6751a3c0-" + "ab" * 12
    assert root["end_time"] - root["start_time"] == 0.25
    call = segment_document(
        span(
            span_id="2" * 16,
            parent_span_id="1" * 16,
            kind="CLIENT",
            name="STS.GetCallerIdentity",
            attributes={"rpc.system": "aws-api", "rpc.service": "STS", "rpc.method": "X"},
        )
    )
    assert (call["type"], call["name"], call["namespace"]) == ("subsegment", "STS", "aws")
    assert call["aws"] == {"operation": "X", "region": "eu-west-1"}
    throttled = segment_document(span(attributes={"http.response.status_code": 429}))
    assert throttled["error"] and throttled["throttle"]
    for raw in (root, call, throttled):
        assert traces.document_problems(json.dumps(raw)) == []


def test_the_agent_answers_json_lines_and_names_an_unknown_command() -> None:
    out = io.StringIO()
    serve(Agent(), io.StringIO('{"op": "nosuch"}\n\n'), out)
    ready, reply = (json.loads(line) for line in out.getvalue().splitlines())
    assert ready == {"ok": True, "ready": True}
    assert reply["ok"] is False and "unknown command" in reply["error"]


def test_a_trace_prints_as_a_tree_with_its_failures() -> None:
    now = dt.datetime.now(dt.UTC).timestamp()
    handler = {"name": "svc", "id": "a" * 16, "trace_id": "1-00000000-" + "0" * 24}
    handler |= {"start_time": now, "end_time": now + 0.1, "fault": True}
    handler["cause"] = {"exceptions": [{"type": "ValueError", "message": "boom"}]}
    child = {"name": "STS", "id": "b" * 16, "start_time": now, "end_time": now + 0.05}
    child |= {"namespace": "aws", "aws": {"operation": "GetCallerIdentity"}}
    handler["subsegments"] = [child]
    tree = traces.format_tree(traces.Trace("1-00000000-" + "0" * 24, 0.1, [json.dumps(handler)]))
    lines = tree.splitlines()
    assert lines[0].startswith("trace 1-00000000-") and "2 segments" in lines[0]
    assert "FAULT: ValueError boom" in lines[1]
    assert lines[2].strip().startswith("└── STS  [subsegment aws GetCallerIdentity")
