"""X-Ray traces as one self-contained HTML page: a timeline and a trace map per trace, as the
X-Ray console draws them, with the function's log lines of each trace under it.

Pure and standard-library only. The page loads nothing: inline CSS and SVG, no script (the
details of a segment open with <details>, so the page works with JavaScript off too). Every
name, message, annotation and log line is user data and goes through ``html.escape``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .traces import Trace

Segment = dict[str, Any]
DOWNSTREAM = ("aws", "remote")
STATUS_TEXT = {"fault": "Fault", "throttle": "Throttled", "error": "Error", "ok": "OK"}
STATUS_RANK = {"ok": 0, "error": 1, "throttle": 2, "fault": 3}


def write_trace_page(
    traces: Iterable[Trace | Mapping[str, Any]],
    logs: Iterable[Mapping[str, Any]],
    path: str | Path,
    *,
    title: str,
) -> Path:
    """Write the page for ``traces`` (Trace objects or BatchGetTraces-shaped dicts: id,
    duration, documents) and the function's JSON log lines to ``path``; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_trace_page(traces, logs, title=title), encoding="utf-8")
    return path


def render_trace_page(
    traces: Iterable[Trace | Mapping[str, Any]],
    logs: Iterable[Mapping[str, Any]],
    *,
    title: str,
) -> str:
    views = sorted((TraceView.of(t) for t in traces), key=TraceView.index_key)
    records = [r for r in logs if isinstance(r, Mapping)]
    ids = {v.trace.id for v in views}
    body = [f"<h1>{esc(title)}</h1>"]
    if not views:
        body.append("<p>No traces were read back.</p>")
    if len(views) > 1:
        body.append(_index(views))
    for number, view in enumerate(views):
        lines = [r for r in records if r.get("xrayTraceId") == view.trace.id]
        body.append(_trace_section(view, number, lines, many=len(views) > 1))
    other = [r for r in records if r.get("xrayTraceId") not in ids]
    if other:
        body.append('<section aria-labelledby="other-logs"><h2 id="other-logs">')
        body.append("Log lines of no trace on this page</h2>" + _log_table(other) + "</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def pre(value: object) -> str:
    """JSON in a <pre>: quotes need no escaping in text, and there are many in JSON."""
    return (
        "<pre>" + html.escape(json.dumps(value, indent=1, sort_keys=True), quote=False) + "</pre>"
    )


def status(seg: Segment) -> str:
    """The console's colour for a segment: its flags, worst first (429 sets error+throttle)."""
    for flag in ("fault", "throttle", "error"):
        if seg.get(flag):
            return flag
    return "ok"


def format_ms(ms: float) -> str:
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    return f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms"


def http_status(seg: Segment) -> int | None:
    code = ((seg.get("http") or {}).get("response") or {}).get("status")
    return code if isinstance(code, int) else None


def exceptions(seg: Segment) -> list[dict[str, Any]]:
    cause = seg.get("cause")
    found = cause.get("exceptions") if isinstance(cause, dict) else None
    return [e for e in found or [] if isinstance(e, dict)]


def exception_text(seg: Segment) -> str:
    parts = [f"{e.get('type', '')}: {e.get('message', '')}".strip(": ") for e in exceptions(seg)]
    if isinstance(seg.get("cause"), str):
        parts.append(f"cause: exception {seg['cause']} (recorded in another subsegment)")
    return "; ".join(p for p in parts if p)


@dataclass
class Row:
    seg: Segment
    depth: int
    start: float
    end: float | None


@dataclass
class TraceView:
    trace: Trace
    rows: list[Row] = field(default_factory=list)
    t0: float = 0.0
    t1: float = 0.0

    @classmethod
    def of(cls, item: Trace | Mapping[str, Any]) -> TraceView:
        item = _as_trace(item)
        view = cls(item)
        segs = [s for s in item.segments if isinstance(s.get("start_time"), int | float)]
        ids = {s.get("id") for s in segs}
        children: dict[Any, list[Segment]] = {}
        for seg in segs:
            parent = seg.get("parent_id")
            children.setdefault(parent if parent in ids else None, []).append(seg)
        for group in children.values():
            group.sort(key=lambda s: s["start_time"])
        # Depth first without recursion (a trace may be deep) and once per id (a bad
        # document could make a cycle of parent ids, which would never reach a root).
        seen: set[int] = set()
        stack = [(s, 0) for s in reversed(children.get(None, []))]
        while stack:
            seg, depth = stack.pop()
            if id(seg) in seen:
                continue
            seen.add(id(seg))
            view.rows.append(Row(seg, depth, seg["start_time"], _end(seg)))
            stack += [(c, depth + 1) for c in reversed(children.get(seg.get("id"), []))]
        view.rows += [Row(s, 0, s["start_time"], _end(s)) for s in segs if id(s) not in seen]
        if view.rows:
            view.t0 = min(r.start for r in view.rows)
            view.t1 = max(max(r.end or r.start, r.start) for r in view.rows)
        return view

    @property
    def duration_ms(self) -> float:
        """X-Ray's Duration of the trace; where it gives none (or 0, as a local X-Ray does),
        first start to last end of the documents."""
        if self.trace.duration:
            return self.trace.duration * 1000
        return (self.t1 - self.t0) * 1000

    @property
    def worst(self) -> str:
        return max((status(r.seg) for r in self.rows), key=STATUS_RANK.__getitem__, default="ok")

    def index_key(self) -> tuple[bool, float, str]:
        """Failed traces first, then the slowest."""
        return (self.worst == "ok", -self.duration_ms, self.trace.id)

    def anchor(self) -> str:
        return "trace-" + "".join(c if c.isalnum() or c == "-" else "_" for c in self.trace.id)


def _as_trace(item: Trace | Mapping[str, Any]) -> Trace:
    if isinstance(item, Trace):
        return item
    try:
        documents = item["documents"]
        if isinstance(documents, str):
            raise TypeError("documents is one string, not a list of them")
        return Trace(id=str(item["id"]), duration=item.get("duration"), documents=list(documents))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        keys = sorted(item) if isinstance(item, Mapping) else type(item).__name__
        raise ValueError(
            f"cannot draw trace {keys}: {type(error).__name__}: {error}. A trace is "
            '{"id": "1-...", "duration": seconds or None, "documents": [segment JSON, ...]}, '
            "one item of BatchGetTraces' Traces with Segments[].Document as the documents"
        ) from error


def _end(seg: Segment) -> float | None:
    end = seg.get("end_time")
    return end if isinstance(end, int | float) and end >= seg["start_time"] else None


def _started(seconds: float) -> str:
    if not seconds:
        return ""
    stamp = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)  # noqa: UP017 (3.10)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _badge(kind: str, extra: str = "") -> str:
    text = STATUS_TEXT[kind] + (f" {extra}" if extra else "")
    return f'<span class="badge {kind}">{esc(text)}</span>'


INDEX_COLUMNS = (
    "#",
    "Trace",
    "Started (UTC)",
    "Duration",
    "Segments",
    "Status",
    "Entry",
    "Exception",
)


def _headers(*names: str) -> str:
    return "".join(f"<th scope='col'>{name}</th>" for name in names)


def _index(views: list[TraceView]) -> str:
    rows = []
    for number, view in enumerate(views, 1):
        roots = [r.seg.get("name", "") for r in view.rows if r.depth == 0]
        problem = next((exception_text(r.seg) for r in view.rows if exception_text(r.seg)), "")
        failed = sum(status(r.seg) != "ok" for r in view.rows)
        failed_text = f' <span class="meta">{failed}/{len(view.rows)} failed</span>' * bool(failed)
        rows.append(
            f'<tr><td>{number}</td><td><a href="#{view.anchor()}"><code>{esc(view.trace.id)}'
            f'</code></a></td><td title="{_started(view.t0)}">{_started(view.t0)[11:23]}</td>'
            f'<td class="num">{format_ms(view.duration_ms)}</td><td class="num">{len(view.rows)}'
            f"</td><td>{_badge(view.worst)}{failed_text}</td>"
            f"<td>{esc(', '.join(dict.fromkeys(roots)))}</td>"
            f'<td class="exc-cell" title="{esc(problem)}">{esc(problem)}</td></tr>'
        )
    return (
        f'<section aria-labelledby="index"><h2 id="index">{len(views)} traces</h2>'
        "<p>Failed traces first (fault, throttled or error on any segment), then the slowest."
        f"</p><table class='index'><thead><tr>{_headers(*INDEX_COLUMNS)}"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _trace_section(view: TraceView, number: int, logs: list[Mapping[str, Any]], many: bool) -> str:
    counts = {k: sum(status(r.seg) == k for r in view.rows) for k in STATUS_TEXT}
    summary = ", ".join(f"{n} {STATUS_TEXT[k].lower()}" for k, n in counts.items() if n)
    back = ' · <a href="#index">back to the index</a>' if many else ""
    return (
        f'<section class="trace" id="{view.anchor()}" aria-labelledby="h-{number}">'
        f'<h2 id="h-{number}">Trace <code>{esc(view.trace.id)}</code> {_badge(view.worst)}</h2>'
        f'<p class="meta">{_started(view.t0)} · {format_ms(view.duration_ms)} · '
        f"{len(view.rows)} segments ({esc(summary)}) · {len(logs)} log lines{back}</p>"
        f"<h3>Timeline</h3>{_timeline(view)}<h3>Trace map</h3>{_trace_map(view, number)}"
        f"<h3>Log lines</h3>{_log_table(logs) if logs else '<p>No log line of this trace.</p>'}"
        "</section>"
    )


def _ticks(span_ms: float) -> list[float]:
    if span_ms <= 0:
        return [0.0]
    raw = span_ms / 6
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(int(span_ms / step) + 1)]


def _tick_label(ms: float, marks: list[float]) -> str:
    step = marks[1] - marks[0] if len(marks) > 1 else 1.0
    if marks[-1] >= 1000 and step >= 100:
        return f"{ms / 1000:g} s"
    return f"{ms:.{max(0, -math.floor(math.log10(step)))}f} ms" if step < 1 else f"{ms:g} ms"


def _timeline(view: TraceView) -> str:
    span = max(view.t1 - view.t0, 1e-9)
    marks = _ticks((view.t1 - view.t0) * 1000)
    ticks = "".join(
        f'<span class="tick{" end" if ms / 1000 / span > 0.85 else ""}" '
        f'style="left:{ms / 1000 / span * 100:.3f}%">{_tick_label(ms, marks)}</span>'
        for ms in marks
    )
    rows = [
        '<div class="tl-head" aria-hidden="true"><span>Name</span><span>Kind</span>'
        f'<span>Status</span><span>Duration</span><span class="axis">{ticks}</span></div>'
    ]
    for row in view.rows:
        rows.append(_timeline_row(row, view.t0, span))
    return f'<ol class="timeline">{"".join(rows)}</ol>'


def _timeline_row(row: Row, t0: float, span: float) -> str:
    seg, kind = row.seg, status(row.seg)
    end = row.end if row.end is not None else t0 + span
    left, width = (row.start - t0) / span * 100, max((end - row.start) / span * 100, 0.15)
    duration = "in progress" if row.end is None else format_ms((row.end - row.start) * 1000)
    code = http_status(seg)
    what = seg.get("namespace") or seg.get("type", "segment")
    detail = _describe(seg)
    problem = exception_text(seg)
    tip = f"{seg.get('name', '')}: {duration}, {STATUS_TEXT[kind]}" + (
        f", HTTP {code}" if code else ""
    )
    lines = (f'<span class="sub">{esc(detail)}</span>' if detail else "") + (
        f'<span class="exc">{esc(problem)}</span>' if problem else ""
    )
    return (
        f'<li class="seg {kind}" data-id="{esc(seg.get("id", ""))}" data-depth="{row.depth}">'
        f'<details><summary title="{esc(tip)}">'
        f'<span class="name" style="padding-left:{row.depth * 1.1:.1f}em">'
        f'<span class="label">{esc(seg.get("name", "?"))}</span>{lines}</span>'
        f'<span class="kind">{esc(what)}</span><span>{_badge(kind, str(code or ""))}</span>'
        f'<span class="dur">{duration}</span><span class="track"><span class="bar'
        f'{" open" if row.end is None else ""}" style="left:{left:.3f}%;width:{width:.3f}%">'
        f"</span></span></summary>{_segment_details(seg)}</details></li>"
    )


def _describe(seg: Segment) -> str:
    """One line under the name: the operation or request the segment stands for."""
    aws, req = seg.get("aws") or {}, (seg.get("http") or {}).get("request") or {}
    parts = []
    if seg.get("origin"):
        parts.append(seg["origin"])
    if aws.get("operation"):
        parts.append(str(aws["operation"]))
    for key in ("table_name", "queue_url"):
        if aws.get(key):
            parts.append(str(aws[key]))
    if req.get("method") or req.get("url"):
        parts.append(f"{req.get('method', '')} {req.get('url', '')}".strip())
    if (seg.get("sql") or {}).get("sanitized_query"):
        parts.append(seg["sql"]["sanitized_query"])
    if seg.get("links"):
        parts.append(f"{len(seg['links'])} linked traces")
    return " · ".join(parts)


def _segment_details(seg: Segment) -> str:
    out = ['<div class="details">']
    if seg.get("annotations"):
        cells = "".join(
            f"<tr><th scope='row'>{esc(k)}</th><td>{esc(json.dumps(v))}</td></tr>"
            for k, v in seg["annotations"].items()
        )
        out.append(f"<h4>Annotations</h4><table class='kv'>{cells}</table>")
    else:
        out.append("<h4>Annotations: none</h4>")
    for exc in exceptions(seg):
        frames = "".join(
            f"<li>{esc(f.get('label', ''))} ({esc(f.get('path', ''))}:{esc(f.get('line', ''))})"
            "</li>"
            for f in exc.get("stack") or []
            if isinstance(f, dict)
        )
        out.append(
            f"<h4>Exception {esc(exc.get('type', ''))}</h4><p>{esc(exc.get('message', ''))}</p>"
            + (f"<ol class='stack'>{frames}</ol>" if frames else "")
        )
    if seg.get("metadata"):
        out.append(f"<h4>Metadata</h4>{pre(seg['metadata'])}")
    raw = {k: v for k, v in seg.items() if k != "embedded"}
    note = " (embedded in its parent's document; its subsegments are rows of their own)"
    out.append(f"<h4>Document{note if seg.get('embedded') else ''}</h4>{pre(raw)}</div>")
    return "".join(out)


@dataclass
class Node:
    label: str
    kind: str  # client, service, aws, remote
    sub: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUS_TEXT, 0))

    @property
    def worst(self) -> str:
        seen = [k for k, n in self.counts.items() if n]
        return max(seen, key=STATUS_RANK.__getitem__, default="ok")

    def summary(self) -> str:
        calls = sum(self.counts.values())
        bad = [f"{n} {STATUS_TEXT[k].lower()}" for k, n in self.counts.items() if n and k != "ok"]
        return ", ".join([f"{calls} {'call' if calls == 1 else 'calls'}", *bad])


def service_graph(view: TraceView) -> tuple[dict[tuple[str, ...], Node], set[tuple[Any, Any]]]:
    """The console's trace map: the client, one node per service segment, one per downstream
    `aws`/`remote` subsegment the callee did not report itself, and the calls between them."""
    by_id = {r.seg.get("id"): r.seg for r in view.rows}
    client: tuple[str, ...] = ("client",)
    nodes: dict[tuple[str, ...], Node] = {client: Node("Client", "client")}
    edges: set[tuple[Any, Any]] = set()

    def is_segment(seg: Segment) -> bool:
        return seg.get("type") != "subsegment"

    def key(seg: Segment) -> tuple[str, ...]:
        if is_segment(seg):
            return ("service", str(seg.get("name")), str(seg.get("origin", "")))
        return (str(seg.get("namespace")), str(seg.get("name")))

    def owner(seg: Segment | None) -> Segment | None:
        """The service segment a subsegment belongs to (None if its parent is not here)."""
        seen = set()
        while seg is not None and not is_segment(seg) and id(seg) not in seen:
            seen.add(id(seg))
            seg = by_id.get(seg.get("parent_id"))
        return seg if seg is not None and is_segment(seg) else None

    # A callee that sent its own segment replaces the caller's inferred node for that call.
    answered = {
        s["parent_id"] for s in by_id.values() if is_segment(s) and s.get("parent_id") in by_id
    }
    for seg in by_id.values():
        parent = by_id.get(seg.get("parent_id"))
        if is_segment(seg):
            caller = owner(parent)
            source = key(caller) if caller is not None else client
        elif seg.get("namespace") in DOWNSTREAM and seg.get("id") not in answered:
            up = parent
            while up is not None and not is_segment(up) and up.get("namespace") not in DOWNSTREAM:
                up = by_id.get(up.get("parent_id"))
            if up is not None and not is_segment(up):
                continue  # inside another downstream call (retries, the HTTP under an SDK call)
            caller = owner(seg)
            source = key(caller) if caller is not None else client
        else:
            continue
        node = nodes.setdefault(key(seg), Node(str(seg.get("name", "?")), "service"))
        if not is_segment(seg):
            node.kind = str(seg["namespace"])
            node.sub = f"AWS::{seg.get('name')}" if node.kind == "aws" else "remote"
        else:
            node.sub = str(seg.get("origin", ""))
        node.counts[status(seg)] += 1
        edges.add((source, key(seg)))
    return nodes, edges


def _trace_map(view: TraceView, number: int) -> str:
    nodes, edges = service_graph(view)
    level = dict.fromkeys(nodes, 0)
    for _ in nodes:  # longest path from the client; at most len(nodes) rounds, even in a cycle
        changed = False
        for a, b in edges:
            if b != ("client",) and level[b] < level[a] + 1 <= len(nodes):
                level[b], changed = level[a] + 1, True
        if not changed:
            break
    columns: dict[int, list[tuple[str, ...]]] = {}
    for k in nodes:
        columns.setdefault(level[k], []).append(k)
    col_w, row_h, r = 210, 100, 22
    height = max(len(c) for c in columns.values()) * row_h + 20
    width = (max(columns) + 1) * col_w
    pos = {}
    for col, keys in columns.items():
        top = (height - len(keys) * row_h) / 2
        for i, k in enumerate(keys):
            pos[k] = (col * col_w + col_w / 2, top + i * row_h + 32)
    marker = f"arrow-{number}"
    parts = [
        f'<svg class="map" role="img" aria-labelledby="map-{number}" viewBox="0 0 {width} '
        f'{height}" width="{width}" height="{height}"><title id="map-{number}">Trace map: '
        f'{len(nodes)} nodes, {len(edges)} edges</title><defs><marker id="{marker}" '
        'viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#5f6b7a"/></marker></defs>'
    ]
    for a, b in sorted(edges):
        (x1, y1), (x2, y2) = pos[a], pos[b]
        angle = math.atan2(y2 - y1, x2 - x1)
        parts.append(
            f'<line x1="{x1 + r * math.cos(angle):.1f}" y1="{y1 + r * math.sin(angle):.1f}" '
            f'x2="{x2 - r * math.cos(angle):.1f}" y2="{y2 - r * math.sin(angle):.1f}" '
            f'class="edge" marker-end="url(#{marker})"/>'
        )
    for k, node in nodes.items():
        x, y = pos[k]
        label = node.label if len(node.label) <= 28 else node.label[:27] + "…"
        lines = [label, node.sub] if node.kind != "client" else [label]
        if node.kind != "client":
            lines.append(node.summary())
        text = "".join(
            f'<text x="{x:.1f}" y="{y + r + 16 + i * 14:.1f}" class="t{i}">{esc(t)}</text>'
            for i, t in enumerate(lines)
            if t
        )
        parts.append(
            f'<g class="node {node.kind} {node.worst}"><title>{esc(node.label)}: '
            f"{esc(node.summary() if node.kind != 'client' else 'the caller')}</title>"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}"/><text x="{x:.1f}" y="{y + 4:.1f}" '
            f'class="icon">{esc(_icon(node))}</text>{text}</g>'
        )
    listing = "".join(
        f"<li>{esc(nodes[a].label)} → {esc(nodes[b].label)} ({esc(nodes[b].summary())})</li>"
        for a, b in sorted(edges)
    )
    return f'{"".join(parts)}</svg><ul class="sr-only">{listing}</ul>'


def _icon(node: Node) -> str:
    if node.kind == "client":
        return "⇢"
    return {"aws": "AWS", "remote": "⇄"}.get(node.kind, "λ" if "Lambda" in node.sub else "◆")


def _log_table(records: list[Mapping[str, Any]]) -> str:
    rows = []
    for rec in records:
        level = str(rec.get("level", ""))
        extra = {
            k: v
            for k, v in rec.items()
            if k not in ("timestamp", "level", "message", "requestId", "xrayTraceId")
        }
        more = f"<details><summary>fields</summary>{pre(extra)}</details>" if extra else ""
        rows.append(
            f'<tr class="log {esc(level.lower())}"><td>{esc(rec.get("timestamp", ""))}</td>'
            f"<td>{esc(level)}</td><td><code>{esc(rec.get('requestId') or '')}</code></td>"
            f"<td>{esc(rec.get('message', ''))}{more}</td></tr>"
        )
    return (
        f"<table class='logs'><thead><tr>{_headers('Time', 'Level', 'Request', 'Message')}"
        "</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


CSS = """
:root{--ok:#1d8102;--error:#e07700;--fault:#d13212;--throttle:#7d3cd6;--line:#d5dbdb;
--ink:#16191f;--soft:#5f6b7a;font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif}
body{margin:0;color:var(--ink);background:#fff}main{padding:16px 24px;max-width:1500px}
h1{font-size:20px}h2{font-size:17px;margin-top:32px;border-top:1px solid var(--line);
padding-top:16px}h3{font-size:15px;margin:18px 0 6px}h4{margin:10px 0 4px;font-size:13px}
code,pre{font:12px/1.35 ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace}
pre{background:#f4f6f6;padding:8px;overflow:auto;max-height:320px;white-space:pre-wrap}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;
border-bottom:1px solid var(--line);vertical-align:top}td.num{text-align:right}
.meta{color:var(--soft)}.badge{display:inline-block;padding:0 6px;border-radius:3px;
color:#fff;font-size:12px;font-weight:600;white-space:nowrap}.badge.ok{background:var(--ok)}
.badge.error{background:var(--error);color:#16191f}.badge.fault{background:var(--fault)}
.badge.throttle{background:var(--throttle)}
.timeline{list-style:none;margin:0;padding:0;border:1px solid var(--line)}
.tl-head,.timeline summary{display:grid;grid-template-columns:minmax(220px,28%) 70px 110px
80px 1fr;gap:8px;align-items:center;padding:3px 8px}
.tl-head{background:#f4f6f6;font-weight:600;font-size:12px}
.timeline summary{cursor:pointer;list-style:none;border-top:1px solid #eef0f0}
.timeline summary::-webkit-details-marker{display:none}
.timeline summary:hover,.timeline summary:focus{background:#f0f7ff;outline:none}
.timeline summary:focus-visible{outline:2px solid #0972d3}
.name{overflow:hidden}.label{font-weight:600;overflow-wrap:anywhere}
.sub,.exc{display:block;font-size:12px;color:var(--soft);overflow-wrap:anywhere}
.exc{color:var(--fault)}.kind{color:var(--soft);font-size:12px}.dur{text-align:right;
font-variant-numeric:tabular-nums}.track,.axis{position:relative;height:16px}
.bar{position:absolute;top:2px;bottom:2px;min-width:2px;border-radius:2px;background:var(--ok)}
.error .bar{background:var(--error)}.fault .bar{background:var(--fault)}
.throttle .bar{background:var(--throttle)}
.bar.open{background-image:repeating-linear-gradient(45deg,transparent 0 4px,#fff8 4px 8px)}
.tick{position:absolute;font-weight:400;color:var(--soft);white-space:nowrap;
border-left:1px solid var(--line);padding-left:2px}
.tick.end{transform:translateX(-100%);border-left:0;border-right:1px solid var(--line);
padding:0 2px 0 0}
.details{padding:4px 16px 12px;background:#fafbfb;border-top:1px dashed var(--line)}
.kv th{width:30%;font-weight:600}.stack{font:12px ui-monospace,monospace;margin:0}
.map{max-width:100%;height:auto;border:1px solid var(--line);background:#fafbfb}
.map .edge{stroke:#5f6b7a;stroke-width:1.5}.map text{text-anchor:middle;font-size:12px}
.map .t0{font-weight:600}.map .t1,.map .t2{fill:var(--soft);font-size:11px}
.map .icon{font-size:12px;font-weight:700;fill:var(--ink)}
.map circle{fill:#fff;stroke:var(--ok);stroke-width:4}.map .client circle{stroke:var(--soft)}
.map .error circle{stroke:var(--error)}.map .fault circle{stroke:var(--fault)}
.map .throttle circle{stroke:var(--throttle)}
.logs td:nth-child(1){white-space:nowrap;color:var(--soft)}.logs td:nth-child(4){width:60%}
.log.error td:nth-child(2),.log.critical td:nth-child(2){color:var(--fault);font-weight:600}
.log.warning td:nth-child(2){color:#8a5300;font-weight:600}
.index td{white-space:nowrap}.index .exc-cell{max-width:0;width:99%;overflow:hidden;
text-overflow:ellipsis}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
"""
