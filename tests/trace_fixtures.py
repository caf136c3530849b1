"""Small X-Ray traces as BatchGetTraces returns them, shaped like the project's exporter writes
them (one document per span: the function's segment and independent subsegments) and like an
X-Ray SDK writes them (subsegments embedded in the segment's document)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

UTC = dt.timezone.utc  # noqa: UP017 (the tool supports Python 3.10)
T0 = 1796118916.5  # 2026-12-01, as in the span-shape test data
CALLER = "28f7eca7449c2d63"  # the caller's segment (Lambda's), not in the trace
FUNCTION = "AWS::Lambda::Function"


def trace(trace_id: str, *documents: dict[str, Any], duration: float | None = None) -> dict:
    return {"id": trace_id, "duration": duration, "documents": [json.dumps(d) for d in documents]}


def seg(name: str, sid: str, trace_id: str, start: float, ms: float, **fields: Any) -> dict:
    return {
        "name": name,
        "id": sid,
        "trace_id": trace_id,
        "start_time": T0 + start / 1000,
        "end_time": T0 + (start + ms) / 1000,
        **fields,
    }


def sub(name: str, sid: str, trace_id: str, parent: str, start: float, ms: float, **fields: Any):
    return seg(name, sid, trace_id, start, ms, type="subsegment", parent_id=parent, **fields)


def handler_ok() -> dict:
    """`make local`'s default service: the handler, a custom span, an STS call."""
    tid = "1-6b0e9a54-887336e664921bda66b78bb1"
    return trace(
        tid,
        seg(
            "my-traced-service",
            "3fb1057491a6f5ac",
            tid,
            0,
            199.0,
            parent_id=CALLER,
            origin=FUNCTION,
            aws={"account_id": "123456789012", "request_id": "c6af9ac6-7b61-11e6-9a41"},
            annotations={"faas_trigger": "other", "cold_start": True},
            metadata={"otel.resource": {"service.name": "my-traced-service"}},
        ),
        sub("my_traced_service.greet", "ba4084e1d6aec3ac", tid, "3fb1057491a6f5ac", 0.1, 198.9),
        sub(
            "STS",
            "2d258f4c7fb4b19c",
            tid,
            "ba4084e1d6aec3ac",
            150.0,
            12.9,
            namespace="aws",
            aws={"operation": "GetCallerIdentity", "region": "us-east-1", "retries": 0},
            http={"response": {"status": 200}},
        ),
    )


def handler_fails() -> dict:
    """A fault with a chained exception, a 503 from a remote host, a 404 error, a throttle; the
    subsegments embedded in the segment's document, as X-Ray SDKs send them."""
    tid = "1-6b0e9a60-0f1e2d3c4b5a69788796a5b4"
    root = seg(
        "order-service",
        "a1b2c3d4e5f60718",
        tid,
        0,
        842.5,
        parent_id=CALLER,
        origin=FUNCTION,
        fault=True,
        cause={
            "exceptions": [
                {
                    "id": "0a1b2c3d4e5f6071",
                    "type": "OrderError",
                    "message": "order 42 could not be priced",
                    "cause": "1b2c3d4e5f607182",
                    "stack": [{"path": "handler.py", "line": 31, "label": "handler"}],
                },
                {
                    "id": "1b2c3d4e5f607182",
                    "type": "HTTPStatusError",
                    "message": "Server error '503 Service Unavailable'",
                },
            ]
        },
    )
    root["subsegments"] = [
        sub(
            "payments.example.com",
            "b2c3d4e5f6071829",
            tid,
            root["id"],
            20,
            610.2,
            namespace="remote",
            fault=True,
            http={
                "request": {"method": "GET", "url": "https://payments.example.com/price?o=42"},
                "response": {"status": 503},
            },
        ),
        sub(
            "DynamoDB",
            "c3d4e5f60718293a",
            tid,
            root["id"],
            640,
            35.0,
            namespace="aws",
            error=True,
            aws={"operation": "GetItem", "table_name": "orders"},
            http={"response": {"status": 404}},
        ),
        sub(
            "SQS",
            "d4e5f60718293a4b",
            tid,
            root["id"],
            690,
            120.4,
            namespace="aws",
            error=True,
            throttle=True,
            aws={"operation": "SendMessage", "queue_url": "https://sqs.us-east-1/1234/retry"},
            http={"response": {"status": 429}},
        ),
    ]
    return trace(tid, root, duration=0.8425)


def sqs_batch() -> dict:
    """An SQS-triggered function: the batch's process span linked to the producers' traces,
    one DynamoDB update per message."""
    tid = "1-6b0e9a71-5d4c3b2a1908f7e6d5c4b3a2"
    fn, proc = "6f18fb2f64a2496e", "7d70cb04137fb463"
    links = [
        {"trace_id": "1-6b0e9a70-aaaaaaaaaaaaaaaaaaaaaaaa", "id": "1111111111111111"},
        {"trace_id": "1-6b0e9a70-bbbbbbbbbbbbbbbbbbbbbbbb", "id": "2222222222222222"},
    ]
    return trace(
        tid,
        seg("order-service", fn, tid, 0, 95.0, parent_id=CALLER, origin=FUNCTION),
        sub("process order-events", proc, tid, fn, 1, 92.0, links=links),
        *(
            sub(
                "DynamoDB",
                sid,
                tid,
                proc,
                5 + 45 * i,
                38.0,
                namespace="aws",
                aws={"operation": "UpdateItem", "table_name": "orders"},
                http={"response": {"status": 200}},
            )
            for i, sid in enumerate(("ec4f05ac326df4fe", "2b2a9b389e2352b8"))
        ),
    )


def logs_for(item: dict, *messages: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": dt.datetime.fromtimestamp(T0 + 0.05 * i, UTC).isoformat()[:-9] + "Z",
            "level": level,
            "message": message,
            "logger": "handler",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e812345678",
            "xrayTraceId": item["id"],
        }
        for i, (level, message) in enumerate(messages)
    ]


def copy_as(item: dict, number: int, stretch: float) -> dict:
    """``item`` as another trace: its own ids, ``number`` seconds later, ``stretch`` times as
    long (deterministic: the index order depends on it)."""
    tid = f"1-{int(T0) + number:08x}-{number:024x}"
    start = min(json.loads(d)["start_time"] for d in item["documents"])

    def move(doc: dict) -> dict:
        doc = {**doc, "trace_id": tid} if "trace_id" in doc else dict(doc)
        for key in ("start_time", "end_time"):
            if key in doc:
                doc[key] = start + number + (doc[key] - start) * stretch
        doc["subsegments"] = [move(s) for s in doc.get("subsegments", [])] or None
        return {k: v for k, v in doc.items() if v is not None}

    return trace(tid, *(move(json.loads(d)) for d in item["documents"]))


def many(count: int) -> list[dict]:
    """``count`` traces as `--count` gives them: mostly the default handler, every seventh one
    failing, every fifth an SQS batch, durations spread."""
    out = []
    for n in range(count):
        base = handler_fails() if n % 7 == 3 else sqs_batch() if n % 5 == 0 else handler_ok()
        out.append(copy_as(base, n, 0.6 + (n * 37 % 100) / 50))
    return out


def docs_page(path: Path) -> Path:
    """The page shown in docs/getting-started.md: a failing invocation with its log lines."""
    from lambda_otel_xray.local import tracepage

    item = handler_fails()
    logs = logs_for(item, ("INFO", "pricing order 42"), ("ERROR", "order 42 could not be priced"))
    return tracepage.write_trace_page([item], logs, path, title="make local: order-service")


if __name__ == "__main__":
    # Regenerates docs/images/trace-page.png: python tests/trace_fixtures.py
    import sys
    import tempfile

    root = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(root / "tool" / "src"), str(root / "tests")]
    from browser import visit

    with tempfile.TemporaryDirectory() as tmp:
        page = docs_page(Path(tmp) / "traces.html")
        seen = visit(
            page, screenshot=root / "docs" / "images" / "trace-page.png", width=1100, height=1000
        )
    assert not (seen.console_errors or seen.requests), seen
