"""The trace page (`lambda_otel_xray.local.tracepage`): the HTML from X-Ray documents, then the
page itself in a real headless Chromium."""

from __future__ import annotations

import json
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tool" / "src"))

from browser import visit  # noqa: E402
from lambda_otel_xray.local import tracepage, traces  # noqa: E402
from trace_fixtures import (  # noqa: E402
    CALLER,
    T0,
    handler_fails,
    handler_ok,
    logs_for,
    many,
    seg,
    sqs_batch,
    sub,
    trace,
)


class Page(HTMLParser):
    """The parts of the page the tests look at: each timeline row, every tag and attribute."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[dict[str, Any]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._text: list[str] = []
        self._open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        classes = (a.get("class") or "").split()
        if tag == "li" and "seg" in classes:
            self.rows.append({"id": a["data-id"], "depth": int(a["data-depth"] or 0)})
            self.rows[-1]["status"] = next(c for c in classes if c != "seg")
            self.rows[-1]["bars"] = 0
        if self.rows and tag == "span" and "bar" in classes:
            self.rows[-1]["bars"] += 1
        if self.rows and tag == "span" and classes and classes[0] in ("label", "dur", "exc"):
            self._open.append(classes[0])
            self._text = []
        if self.rows and tag == "span" and classes and classes[0] == "badge":
            self._open.append("badge")
            self._text = []

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open and self.rows:
            field = self._open.pop()
            self.rows[-1].setdefault(field, "".join(self._text))


def render(items: list[dict], logs: list[dict] | None = None) -> str:
    return tracepage.render_trace_page(items, logs or [], title="make local")


def test_fixtures_are_documents_xray_accepts() -> None:
    for item in (handler_ok(), handler_fails(), sqs_batch()):
        for raw in item["documents"]:
            assert traces.document_problems(raw) == [], raw


def test_rows_nest_like_the_documents() -> None:
    page = Page(render([handler_ok()]))
    assert [(r["label"], r["depth"]) for r in page.rows] == [
        ("my-traced-service", 0),
        ("my_traced_service.greet", 1),
        ("STS", 2),
    ]
    assert [r["dur"] for r in page.rows] == ["199.0 ms", "198.9 ms", "12.9 ms"]
    assert all(r["bars"] == 1 for r in page.rows)


def test_embedded_subsegments_are_rows_in_start_order() -> None:
    page = Page(render([handler_fails()]))
    assert [(r["label"], r["depth"]) for r in page.rows] == [
        ("order-service", 0),
        ("payments.example.com", 1),
        ("DynamoDB", 1),
        ("SQS", 1),
    ]


def test_flags_colour_and_label_each_row() -> None:
    rows = {r["label"]: r for r in Page(render([handler_fails(), handler_ok()])).rows}
    # The class picks the colour; the badge says it in words (and the HTTP status).
    assert (rows["order-service"]["status"], rows["order-service"]["badge"]) == ("fault", "Fault")
    assert (rows["payments.example.com"]["status"], rows["payments.example.com"]["badge"]) == (
        "fault",
        "Fault 503",
    )
    assert (rows["DynamoDB"]["status"], rows["DynamoDB"]["badge"]) == ("error", "Error 404")
    assert (rows["SQS"]["status"], rows["SQS"]["badge"]) == ("throttle", "Throttled 429")
    assert (rows["STS"]["status"], rows["STS"]["badge"]) == ("ok", "OK 200")
    css = tracepage.CSS
    for flag, colour in (("error", "#e07700"), ("fault", "#d13212"), ("throttle", "#7d3cd6")):
        assert f"--{flag}:{colour}" in css and f".{flag} .bar{{background:var(--{flag})}}" in css


def test_the_exception_message_shows_in_the_row() -> None:
    rows = {r["label"]: r for r in Page(render([handler_fails()])).rows}
    assert rows["order-service"]["exc"] == (
        "OrderError: order 42 could not be priced; "
        "HTTPStatusError: Server error '503 Service Unavailable'"
    )
    assert "exc" not in rows["DynamoDB"]


def test_details_hold_annotations_metadata_and_the_document() -> None:
    text = render([handler_ok()])
    assert "<th scope='row'>cold_start</th><td>true</td>" in text
    assert '"otel.resource": {' in text  # metadata, pretty-printed
    assert '"operation": "GetCallerIdentity"' in text  # the STS document


HOSTILE = '<script>alert("x")</script><img src="http://evil.example/x" onerror="alert(1)">'


def hostile_trace() -> dict:
    tid = "1-6b0e9a80-0123456789abcdef01234567"
    root = seg(
        HOSTILE,
        "e5f60718293a4b5c",
        tid,
        0,
        12.0,
        parent_id=CALLER,
        origin=HOSTILE,
        error=True,
        annotations={"order_id": HOSTILE},
        metadata={"default": {HOSTILE: HOSTILE}},
        cause={"exceptions": [{"id": "f60718293a4b5c6d", "type": HOSTILE, "message": HOSTILE}]},
    )
    child = sub(HOSTILE, "0718293a4b5c6d7e", tid, root["id"], 1, 5.0, namespace="remote")
    child["http"] = {"request": {"method": "GET", "url": HOSTILE}, "response": {"status": 418}}
    return trace(tid, root, child)


def test_user_data_is_escaped_everywhere() -> None:
    item = hostile_trace()
    logs = [*logs_for(item, ("ERROR", HOSTILE)), {"level": HOSTILE, "message": "no trace id"}]
    text = render([item, handler_ok()], logs)
    page = Page(text)
    assert not [t for t, _ in page.tags if t in ("script", "img")]
    assert not [k for _, a in page.tags for k in a if k.startswith("on")]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    hostile_rows = [r for r in page.rows if r["id"] in ("e5f60718293a4b5c", "0718293a4b5c6d7e")]
    assert [(r["label"], r["exc" if r["depth"] == 0 else "label"]) for r in hostile_rows] == [
        (HOSTILE, f"{HOSTILE}: {HOSTILE}"),
        (HOSTILE, HOSTILE),
    ]


def test_a_trace_of_100_segments() -> None:
    tid = "1-6b0e9a90-00000000000000000000abcd"
    root = seg("order-service", "1000000000000000", tid, 0, 1000.0, origin=tracepage.__name__)
    # 99 calls, each nested under the one before: a deep trace as well as a long one.
    docs = [root]
    for i in range(1, 100):
        docs.append(sub(f"step-{i}", f"{0x1000000000000000 + i:016x}", tid, docs[-1]["id"], i, 5))
    started = time.perf_counter()
    page = Page(render([trace(tid, *docs)]))
    elapsed = time.perf_counter() - started
    assert len(page.rows) == 100 and all(r["bars"] == 1 for r in page.rows)
    assert [r["depth"] for r in page.rows] == list(range(100))
    assert page.rows[-1]["dur"] == "5.0 ms"
    assert elapsed < 2, f"{elapsed:.2f} s to render 100 segments"


def test_index_lists_failed_then_slowest() -> None:
    fast = handler_ok()  # 199 ms, ok
    slow = sqs_batch()  # 95 ms from its documents, but X-Ray says 1.2 s
    slow["duration"] = 1.2
    failed = handler_fails()  # 842 ms, fault
    error_only = hostile_trace()  # 12 ms, error
    text = render([fast, error_only, slow, failed])
    page = Page(text)
    links = [a["href"] for t, a in page.tags if t == "a" and (a.get("href") or "").startswith("#t")]
    expected = [failed["id"], error_only["id"], slow["id"], fast["id"]]
    assert links == [f"#trace-{i}" for i in expected]
    sections = [
        a["id"] for t, a in page.tags if t == "section" and "trace" in (a.get("class") or "")
    ]
    assert sections == [f"trace-{i}" for i in expected]
    assert "1.20 s" in text


def test_one_trace_has_no_index() -> None:
    assert 'id="index"' not in render([handler_ok()])


def test_trace_map_nodes_and_edges() -> None:
    view = tracepage.TraceView.of(handler_fails())
    nodes, edges = tracepage.service_graph(view)
    summary = {n.label: n.summary() for n in nodes.values() if n.kind != "client"}
    assert summary == {
        "order-service": "1 call, 1 fault",
        "payments.example.com": "1 call, 1 fault",
        "DynamoDB": "1 call, 1 error",
        "SQS": "1 call, 1 throttled",
    }
    named = {(nodes[a].label, nodes[b].label) for a, b in edges}
    assert named == {
        ("Client", "order-service"),
        ("order-service", "payments.example.com"),
        ("order-service", "DynamoDB"),
        ("order-service", "SQS"),
    }


def test_trace_map_counts_calls_per_service() -> None:
    nodes, edges = tracepage.service_graph(tracepage.TraceView.of(sqs_batch()))
    summary = {n.label: n.summary() for n in nodes.values() if n.kind != "client"}
    # The custom `process` subsegment is no node; its two DynamoDB calls are one node.
    assert summary == {"order-service": "1 call", "DynamoDB": "2 calls"}
    assert len(edges) == 2


def test_a_callee_segment_replaces_the_inferred_node() -> None:
    tid = "1-6b0e9aa0-0123456789abcdef0123abcd"
    caller = seg("checkout", "aaaaaaaaaaaaaaaa", tid, 0, 100.0, origin="AWS::Lambda::Function")
    call = sub("orders.internal", "bbbbbbbbbbbbbbbb", tid, caller["id"], 10, 80.0)
    call["namespace"] = "remote"
    callee = seg("orders", "cccccccccccccccc", tid, 12, 70.0, parent_id=call["id"], fault=True)
    nodes, edges = tracepage.service_graph(tracepage.TraceView.of(trace(tid, caller, call, callee)))
    named = {(nodes[a].label, nodes[b].label) for a, b in edges}
    assert named == {("Client", "checkout"), ("checkout", "orders")}


def test_log_lines_are_listed_under_their_trace() -> None:
    ok, failed = handler_ok(), handler_fails()
    logs = logs_for(ok, ("INFO", "greeting account 123456789012")) + logs_for(
        failed, ("ERROR", "pricing failed for order 42")
    )
    logs.append({"level": "INFO", "message": "init done", "timestamp": "2026-12-01T13:55:15Z"})
    text = render([ok, failed], logs)
    ok_at, failed_at = (
        text.index(f'id="trace-{ok["id"]}"'),
        text.index(f'id="trace-{failed["id"]}"'),
    )
    assert failed_at < text.index("pricing failed for order 42") < ok_at  # failed comes first
    assert ok_at < text.index("greeting account 123456789012") < text.index('id="other-logs"')
    assert text.index('id="other-logs"') < text.index("init done")


def test_in_progress_and_cyclic_documents_still_render() -> None:
    tid = "1-6b0e9ab0-0123456789abcdef0123abcd"
    running = {"name": "slow", "id": "dddddddddddddddd", "trace_id": tid, "start_time": T0}
    running["in_progress"] = True
    a = sub("a", "eeeeeeeeeeeeeeee", tid, "ffffffffffffffff", 1, 2.0)
    b = sub("b", "ffffffffffffffff", tid, "eeeeeeeeeeeeeeee", 1, 2.0)
    rows = Page(render([trace(tid, running, a, b)])).rows
    assert sorted(r["dur"] for r in rows) == ["2.0 ms", "2.0 ms", "in progress"]


def test_write_trace_page_writes_and_returns_the_path(tmp_path: Path) -> None:
    out = tmp_path / "build" / "local" / "traces.html"
    item = traces.Trace(**handler_ok())  # a Trace works as well as the dict
    assert tracepage.write_trace_page([item], [], out, title="t") == out
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert "<script" not in out.read_text() and "http" not in json.dumps(tracepage.CSS)


# One bar per segment with its duration, each bar drawn (a box of some width), and what
# the browser made of the hostile names: text, not elements.
DOM_CHECK = """(() => {
  const rows = [...document.querySelectorAll('li.seg')].map(li => {
    const bar = li.querySelector('.bar').getBoundingClientRect();
    return {id: li.dataset.id, dur: li.querySelector('.dur').textContent,
            bars: li.querySelectorAll('.bar').length, width: bar.width, height: bar.height,
            colour: getComputedStyle(li.querySelector('.bar')).backgroundColor};
  });
  return {rows, scripts: document.scripts.length, images: document.images.length,
          svgs: document.querySelectorAll('svg.map').length, title: document.title};
})()"""


def test_the_page_in_headless_chromium(tmp_path: Path) -> None:
    items = [handler_ok(), handler_fails(), sqs_batch(), hostile_trace()]
    logs = [
        *logs_for(items[0], ("INFO", "greeting account 123456789012")),
        *logs_for(items[3], ("ERROR", HOSTILE)),
    ]
    page = tracepage.write_trace_page(items, logs, tmp_path / "traces.html", title="make local")
    shot = tmp_path / "page.png"
    seen = visit(page, evaluate=DOM_CHECK, screenshot=shot, width=1000, height=700)
    assert seen.console_errors == [] and seen.blocked == []
    assert seen.requests == []
    expected = {
        s["id"]: (
            "in progress"
            if "end_time" not in s
            else tracepage.format_ms((s["end_time"] - s["start_time"]) * 1000)
        )
        for item in items
        for s in traces.Trace(**item).segments
    }
    rows = seen.result["rows"]
    assert {r["id"]: r["dur"] for r in rows} == expected and len(rows) == len(expected) == 13
    assert expected["2d258f4c7fb4b19c"] == "12.9 ms" and expected["a1b2c3d4e5f60718"] == "842.5 ms"
    assert all(r["bars"] == 1 and r["width"] >= 1 and r["height"] >= 8 for r in rows), rows
    colours = {r["id"]: r["colour"] for r in rows}
    assert colours["b2c3d4e5f6071829"] == "rgb(209, 50, 18)"  # fault, red
    assert colours["c3d4e5f60718293a"] == "rgb(224, 119, 0)"  # error, orange
    assert colours["d4e5f60718293a4b"] == "rgb(125, 60, 214)"  # throttle, purple
    assert colours["2d258f4c7fb4b19c"] == "rgb(29, 129, 2)"  # ok, green
    assert (seen.result["scripts"], seen.result["images"], seen.result["svgs"]) == (0, 0, 4)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 700)
    colours_seen = image.getcolors(maxcolors=1000 * 700) or []
    white = sum(n for n, rgb in colours_seen if rgb == (255, 255, 255))
    # Not blank: text and bars in many colours (anti-aliasing), and not a white page.
    assert len(colours_seen) > 20 and white < 0.97 * 1000 * 700, (len(colours_seen), white)


def test_a_page_of_100_traces_in_headless_chromium(tmp_path: Path) -> None:
    items = many(100)
    page = tracepage.write_trace_page(items, [], tmp_path / "traces.html", title="--count 100")
    check = """(() => ({bars: document.querySelectorAll('li.seg .bar').length,
        index: [...document.querySelectorAll('section[aria-labelledby=index] a')]
          .map(a => a.getAttribute('href')),
        sections: [...document.querySelectorAll('section.trace')].map(s => '#' + s.id)}))()"""
    seen = visit(page, evaluate=check)
    assert seen.console_errors == [] and seen.requests == []
    assert seen.result["bars"] == sum(len(traces.Trace(**i).segments) for i in items) == 331
    # Every index entry leads to its trace, in the same order.
    assert seen.result["index"] == seen.result["sections"] and len(seen.result["index"]) == 100


@pytest.mark.parametrize(
    "item",
    [
        {"id": "1-6b0e9a54-887336e664921bda66b78bb1"},
        {"id": "1-x", "documents": "{}"},
        {"id": "1-x", "documents": ["not json"]},
        {"id": "1-x", "documents": ["[1]"]},
    ],
)
def test_a_malformed_trace_is_a_clear_error(item: dict) -> None:
    with pytest.raises(ValueError, match=r"cannot draw trace .*A trace is \{\"id\""):
        render([item])


def test_a_trace_without_a_duration_shows_its_documents_span() -> None:
    item = handler_ok()
    item["duration"] = 0.0  # what a local X-Ray (moto) reports
    view = tracepage.TraceView.of(item)
    assert view.duration_ms == pytest.approx((view.t1 - view.t0) * 1000)
    assert view.duration_ms > 0
