"""Read traces back from an X-Ray API (AWS or a local stand-in) and print them as trees.

One code path for `make local` (against the local stand-in) and `make verify-traces` (against
AWS): GetTraceSummaries for the time window, then BatchGetTraces for the ids, 5 at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
SEGMENT_ID = re.compile(r"^[0-9a-f]{16}$")
MAX_DOCUMENT_BYTES = 64 * 1024
BATCH_GET_MAX_IDS = 5


@dataclass
class Trace:
    id: str
    duration: float | None
    documents: list[str]  # raw segment documents as X-Ray returned them
    segments: list[dict[str, Any]] = field(default_factory=list)  # parsed, subsegments flattened

    def __post_init__(self) -> None:
        if not self.segments:
            for raw in self.documents:
                _flatten(json.loads(raw), None, self.segments)

    def names(self) -> list[str]:
        return [s["name"] for s in self.segments]

    def by_name(self, name: str) -> dict[str, Any]:
        found = [s for s in self.segments if s.get("name") == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} segments named {name!r} in {self.id}: {self.names()}")
        return found[0]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "duration": self.duration, "documents": self.documents}


def _flatten(doc: dict[str, Any], parent: str | None, out: list[dict[str, Any]]) -> None:
    """Segments may embed subsegments; list each once with its parent id."""
    item = {k: v for k, v in doc.items() if k != "subsegments"}
    if parent is not None:
        item.setdefault("parent_id", parent)
        item.setdefault("type", "subsegment")
        item["embedded"] = True
    out.append(item)
    for child in doc.get("subsegments") or []:
        _flatten(child, doc["id"], out)


def xray_client(region: str, endpoint: str | None = None, credentials: dict | None = None) -> Any:
    import boto3
    from botocore.config import Config

    # Fail in seconds, not minutes, when the endpoint is unreachable.
    config = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3})
    return boto3.client(
        "xray", region_name=region, endpoint_url=endpoint, config=config, **(credentials or {})
    )


def lookup(
    client: Any,
    *,
    start: dt.datetime,
    end: dt.datetime,
    trace_ids: Iterable[str] | None = None,
    service: str | None = None,
    filter_expression: str | None = None,
    limit: int | None = None,
) -> list[Trace]:
    """Traces in [start, end]: GetTraceSummaries, then BatchGetTraces.

    ``trace_ids`` keeps only those ids; ``service`` only traces with a segment of that name;
    ``filter_expression`` is passed to X-Ray (the local stand-in does not implement it).
    """
    kwargs: dict[str, Any] = {"StartTime": start, "EndTime": end, "Sampling": False}
    if filter_expression:
        kwargs["FilterExpression"] = filter_expression
    ids: list[str] = []
    token = None
    while True:
        page = client.get_trace_summaries(**kwargs, **({"NextToken": token} if token else {}))
        ids += [s["Id"] for s in page.get("TraceSummaries", [])]
        token = page.get("NextToken")
        if not token:
            break
    if trace_ids is not None:
        wanted = set(trace_ids)
        ids = [i for i in ids if i in wanted]
    ids = list(dict.fromkeys(ids))
    traces: list[Trace] = []
    for first in range(0, len(ids), BATCH_GET_MAX_IDS):
        chunk = ids[first : first + BATCH_GET_MAX_IDS]
        token = None
        while True:
            page = client.batch_get_traces(
                TraceIds=chunk, **({"NextToken": token} if token else {})
            )
            for item in page.get("Traces", []):
                traces.append(
                    Trace(
                        id=item["Id"],
                        duration=item.get("Duration"),
                        documents=[s["Document"] for s in item.get("Segments", [])],
                    )
                )
            token = page.get("NextToken")
            if not token:
                break
    if service:
        traces = [
            t
            for t in traces
            if any(s.get("name") == service and s.get("type") != "subsegment" for s in t.segments)
        ]
    traces.sort(key=lambda t: min((s.get("start_time", 0) for s in t.segments), default=0))
    if limit is not None:
        traces = traces[-limit:]
    return traces


def document_problems(raw: str) -> list[str]:
    """What X-Ray would reject in one segment document (its documented rules)."""
    problems = []
    if len(raw.encode()) > MAX_DOCUMENT_BYTES:
        problems.append(f"document is {len(raw.encode())} bytes (> 64 KB)")
    doc = json.loads(raw)
    stack = [doc]
    while stack:
        seg = stack.pop()
        stack.extend(seg.get("subsegments") or [])
        label = seg.get("name", "?")
        if not SEGMENT_ID.match(str(seg.get("id", ""))):
            problems.append(f"{label}: id {seg.get('id')!r} is not 16 hex digits")
        if seg is doc and not TRACE_ID.match(str(seg.get("trace_id", ""))):
            problems.append(f"{label}: trace_id {seg.get('trace_id')!r} is not 1-<8 hex>-<24 hex>")
        if "parent_id" in seg and not SEGMENT_ID.match(str(seg["parent_id"])):
            problems.append(f"{label}: parent_id {seg['parent_id']!r} is not 16 hex digits")
        if seg.get("type") == "subsegment" and seg is doc and "parent_id" not in seg:
            problems.append(f"{label}: independent subsegment without parent_id")
        if not seg.get("name"):
            problems.append("segment without a name")
        start, end = seg.get("start_time"), seg.get("end_time")
        if not isinstance(start, int | float):
            problems.append(f"{label}: start_time {start!r} is not a number")
        elif end is None and not seg.get("in_progress"):
            problems.append(f"{label}: no end_time and not in_progress")
        elif end is not None and (not isinstance(end, int | float) or end < start):
            problems.append(f"{label}: end_time {end!r} before start_time {start!r}")
    return problems


def format_tree(trace: Trace) -> str:
    """The trace as an indented tree: name, kind, duration, parent links."""
    segments = trace.segments
    ids = {s["id"] for s in segments}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for seg in segments:
        parent = seg.get("parent_id")
        children.setdefault(parent if parent in ids else None, []).append(seg)
    for group in children.values():
        group.sort(key=lambda s: s.get("start_time", 0))
    starts = [s["start_time"] for s in segments if "start_time" in s]
    ends = [s["end_time"] for s in segments if "end_time" in s]
    span_ms = (max(ends) - min(starts)) * 1000 if starts and ends else 0.0
    lines = [f"trace {trace.id}  ({len(segments)} segments, {span_ms:.1f} ms)"]

    def describe(seg: dict[str, Any]) -> str:
        kind = seg.get("type", "segment")
        if seg.get("namespace"):
            kind += f" {seg['namespace']}"
        if seg.get("aws", {}).get("operation"):
            kind += f" {seg['aws']['operation']}"
        if "end_time" in seg:
            duration = f"{(seg['end_time'] - seg['start_time']) * 1000:.1f} ms"
        else:
            duration = "in progress"
        flags = [f for f in ("error", "fault", "throttle") if seg.get(f)]
        text = f"{seg['name']}  [{kind}, id {seg['id']}, {duration}]"
        if flags:
            text += "  " + ",".join(flags).upper()
            causes = (
                seg.get("cause", {}).get("exceptions", [])
                if isinstance(seg.get("cause"), dict)
                else []
            )
            if causes:
                text += ": " + "; ".join(
                    f"{c.get('type', '')} {c.get('message', '')}".strip() for c in causes
                )
        parent = seg.get("parent_id")
        if parent and parent not in ids:
            text += f"  (parent {parent}: the caller's segment, not in this trace)"
        return text

    def walk(seg: dict[str, Any], prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└── " if last else "├── ")
        lines.append(f"  {prefix}{branch}{describe(seg)}")
        kids = children.get(seg["id"], [])
        extension = "" if root else ("    " if last else "│   ")
        for i, kid in enumerate(kids):
            walk(kid, prefix + extension, i == len(kids) - 1, False)

    for seg in children.get(None, []):
        walk(seg, "", True, True)
    return "\n".join(lines)


# datetime.UTC needs Python 3.11; the project's dev venv may be 3.10.
UTC = dt.timezone.utc  # noqa: UP017


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)
