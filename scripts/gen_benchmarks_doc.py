#!/usr/bin/env python3
"""Generate docs/benchmarks.md from every bench/results/*.json.

    .venv/bin/python scripts/gen_benchmarks_doc.py          # write docs/benchmarks.md
    .venv/bin/python scripts/gen_benchmarks_doc.py --check  # exit 1 if it is out of date

Each results file is shown with the command that reproduces it (its "command" key), the
machine it ran on and its results as tables, and, for the benchmarks whose results have a known
shape, as SVG charts in docs/benchmarks/ (scripts/benchmark_charts.py, matplotlib). Benchmarks
the project expects but has no results for yet are listed as "not measured yet", with the
command that measures them. `--check` fails when the page or a chart is stale.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generated_page

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
OUTPUT = ROOT / "docs" / "benchmarks.md"
REGENERATE = ".venv/bin/python scripts/gen_benchmarks_doc.py"


@dataclass(frozen=True)
class Expected:
    """A benchmark the docs promise; shown as "not measured yet" until a result matches."""

    key: str
    title: str
    what: str
    patterns: tuple[str, ...]  # results file names that count as this benchmark
    script: str  # bench/ script that writes the results, once it exists
    manual: str  # how to measure it by hand meanwhile (in a rendered service)


EXPECTED = (
    Expected(
        key="render_time",
        title="Rendering time",
        what="`copier copy` of one service per IaC tool, tasks skipped (no layer build).",
        patterns=("render_time*.json",),
        script="bench/render_time.py",
        manual="time copier copy --trust --defaults --skip-tasks --vcs-ref HEAD . /tmp/svc",
    ),
    Expected(
        key="layer_build",
        title="Layer build: time and size",
        what=(
            "`lambda-otel-xray layer` (what `make layer` runs): build time with empty caches "
            "and cached, the collector binary's size per exporter and architecture, and the "
            "size of build/layer.zip."
        ),
        patterns=("layer*.json",),
        script="bench/layer_build.py",
        manual=(
            "cd <service> && make venv && .venv/bin/lambda-otel-xray layer --force "
            "&& cat build/layer-manifest.json   # timings_s, layer.size_bytes, "
            "layer.unpacked_bytes, collector.binary_bytes"
        ),
    ),
    Expected(
        key="extension",
        title="The collector as a Lambda extension",
        what=(
            "The collector extension started as Lambda starts it, against an in-process "
            "Extensions API: exec \u2192 register, \u2192 first OTLP/HTTP 200 (and the CPU "
            "time that took), peak RSS after 100 and 1000 posts, binary and zipped size, per "
            "component set, the base commit's binary beside this one (alternating runs)."
        ),
        patterns=("extension*.json",),
        script="bench/extension.py",
        manual="cd <service> && make layer && ls -l build/layer.zip",
    ),
    Expected(
        key="python_overhead",
        title="The function's own overhead (Python)",
        what=(
            "What the OpenTelemetry set-up costs the function process: init (import of the "
            "handler, i.e. `telemetry.configure()`), first invocation and warm invocations, "
            "against the same handler without OpenTelemetry, the base commit beside this one "
            "(alternating runs)."
        ),
        patterns=("python_overhead*.json",),
        script="bench/python_overhead.py",
        manual="python -X importtime -c 'import app' 2>&1 | sort -t'|' -k2 -n | tail",
    ),
    Expected(
        key="image_cold_start",
        title="Cold start in the container image",
        what=(
            "The image as Lambda runs it (the Docker runner of `make local`): a new container "
            "per cold start, the bare image, the previous commit's and this one's per exporter, "
            "same base image, alternating; rows per memory size (init unthrottled, the invoke "
            "phase at the memory's share of a vCPU) and one without any CPU limit."
        ),
        patterns=("image_cold_start*.json",),
        script="bench/image_cold_start.py",
        manual=(
            "cd <service> && make local LOCAL_ARGS='--count 20 --report build/local-report.json'"
            "   # cold_start_ms, latency; add --cpus 0.0724 for 128 MB's CPU share"
        ),
    ),
    Expected(
        key="response_latency",
        title="Response latency and billed duration",
        what=(
            "Warm invocations of the image: the response (invoke \u2192 the runtime posted "
            "it, when Lambda answers the caller) and the billed duration (invoke \u2192 the "
            "runtime and every extension back in /next), bare, the previous commit, this one "
            "with and without the flush handshake, per exporter, alternating containers."
        ),
        patterns=("response_latency*.json",),
        script="bench/response_latency.py",
        manual=(
            "cd <service> && make local LOCAL_ARGS='--count 100 --report build/local-report.json'"
            " && grep -E 'RTDONE|REPORT' build/local/rie.log"
        ),
    ),
    Expected(
        key="memory_run",
        title="The smallest function: 128 MB",
        what=(
            "A service rendered with memory_size=128 runs 1,000 invocations in the image under "
            "`docker run --memory 128m` (and 512m), at the memory's CPU share: OOM kills, "
            "traces read back, the peak memory of the function and of the extension apart."
        ),
        patterns=("memory_run*.json",),
        script="bench/memory_run.py",
        manual=(
            "copier copy --trust --defaults -d memory_size=128 --vcs-ref HEAD . /tmp/svc && "
            "cd /tmp/svc && make local LOCAL_ARGS='--count 1000'"
        ),
    ),
    Expected(
        key="cold_start",
        title="Cold start in the sandbox",
        what=(
            "Cold start, warm latency and the collector's memory under the Lambda Runtime "
            "Interface Emulator, for the function without OpenTelemetry, with the template's "
            "layer, and with upstream-style auto-instrumentation."
        ),
        patterns=("cold*start*.json", "coldstart*.json"),
        script="bench/cold_start.py",
        manual=(
            "cd <service> && make layer && .venv/bin/lambda-otel-xray local --runner sandbox "
            "--event events/sample.json --count 20 --report build/local-report.json"
            "   # cold_start_ms, latency, collector.peak_rss_kb"
        ),
    ),
)


@dataclass(frozen=True)
class Reference:
    """Figures measured by hand that no script here can reproduce, shown (table and chart)
    beside a benchmark's own."""

    key: str  # the Expected benchmark it belongs to
    name: str
    text: str
    rows: tuple[tuple[str, str, float], ...]  # (table label, the benchmark's metric, value)


REFERENCES = (
    Reference(
        key="extension",
        name="Rotel v0.1.3",
        text=(
            "Measured on this machine kind on 2026-12-01 (issue 11), not by this repository: "
            "streamfold/rotel-lambda-extension v0.1.3 (a Rust Lambda extension: OTLP receiver "
            "and X-Ray exporter), built in release mode and run alternately with this "
            "template's collector against the same stand-in Extensions API, 30 runs each. Its "
            "build cannot be scripted here (its sources are on GitHub, which this machine "
            "cannot reach), so these figures are not regenerated."
        ),
        rows=(
            ("ready_ms.median (ms): exec \u2192 first OTLP/HTTP 200", "ready_ms.median", 22),
            ("peak_rss_100_mb.median (MB): VmHWM after 100 posts", "peak_rss_100_mb.median", 21.6),
            ("binary_bytes (MB)", "binary_bytes", 17.9e6),
            ("zipped_bytes (MB): binary + config", "zipped_bytes", 6.5e6),
        ),
    ),
)


def render_reference(reference: Reference) -> list[str]:
    out = [f"### Reference: {reference.name.split()[0]} (static)", "", reference.text, ""]
    out += [f"| metric | {reference.name} |", "| --- | --- |"]
    for label, metric, value in reference.rows:
        shown = value / 1e6 if metric.endswith("_bytes") else value
        out.append(f"| {label} | {_cell(shown)} |")
    return [*out, ""]


def _reference_figures(reference: Reference) -> dict[str, Any]:
    """{"ready_ms": {"median": 22}, "binary_bytes": 17.9e6}: the results files' shape."""
    figures: dict[str, Any] = {}
    for _, metric, value in reference.rows:
        name, _, statistic = metric.partition(".")
        if statistic:
            figures.setdefault(name, {})[statistic] = value
        else:
            figures[name] = value
    return figures


def charts_for(expected: Expected | None, payload: dict[str, Any]) -> list[Any]:
    """The charts of a results file, drawn by scripts/benchmark_charts.py (matplotlib)."""
    if expected is None:
        return []
    import benchmark_charts as charts

    charts.check_matplotlib()
    if expected.key == "cold_start":
        return charts.sandbox_charts(payload)
    if expected.key == "image_cold_start":
        return charts.image_charts(payload)
    if expected.key == "layer_build":
        return charts.layer_build_charts(payload)
    if expected.key == "response_latency":
        return charts.response_latency_charts(payload)
    if expected.key == "memory_run":
        return charts.memory_run_charts(payload)
    if expected.key == "python_overhead":
        return charts.python_overhead_charts(payload)
    if expected.key == "extension":
        references = [r for r in REFERENCES if r.key == expected.key]
        figures = (
            {"name": references[0].name, "figures": _reference_figures(references[0])}
            if references
            else {}
        )
        return charts.extension_charts(payload, figures)
    return []


NONE = "\u2013"  # en dash: no value
COUNTS = {"invocations", "count", "n", "files", "samples", "errors"}
UNITS = {
    "_s": "s",
    "_ms": "ms",
    "_kb": "KiB",
    "_mib": "MiB",
    "_mb": "MB",
    "_bytes": "bytes",
    "_pct": "%",
}


# ----------------------------------------------------------------------------- formatting
def _cell(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0").rstrip(".")
        return text or "0"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        if len(text) > 80:
            text = text[:77] + "..."
        return f"`{text}`"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _unit(key: str) -> str:
    """The unit a key's name gives, from its last dotted part that has one: "a_bytes.awsxray"
    is in bytes, but a count under a timing ("warm_ms.invocations") has no unit."""
    parts = key.split(".")
    if len(parts) > 1 and parts[-1] in COUNTS:
        return ""
    for part in reversed(parts):
        for suffix, unit in UNITS.items():
            if part.endswith(suffix):
                return unit
    return ""


def _header(key: str) -> str:
    unit = _unit(key)
    return f"{key} ({unit})" if unit else key


def _value(key: str, value: Any) -> str:
    """A cell for ``value`` of metric ``key``: byte counts also in MB."""
    if _unit(key) == "bytes" and isinstance(value, int) and not isinstance(value, bool):
        return f"{_cell(value)} ({value / 1e6:.1f} MB)"
    return _cell(value)


def _flatten(value: Any, prefix: str = "", depth: int = 3) -> dict[str, Any]:
    """{a: {b: 1}} -> {"a.b": 1}, down to ``depth`` levels; deeper values stay as JSON. Raw
    samples ("runs") stay in the results file: the page shows their statistics."""
    if isinstance(value, dict) and depth > 0:
        out: dict[str, Any] = {}
        for key, sub in value.items():
            if not (key == "runs" and isinstance(sub, list)):
                out.update(_flatten(sub, f"{prefix}{key}.", depth - 1))
        return out
    return {prefix.rstrip("."): value}


def _goals(payload: dict[str, Any]) -> dict[str, float]:
    """Goals as {metric: limit}: a "goals" mapping ({"cached_rebuild_s": 5.0}), or top-level
    "goal_<unit>" keys, which apply to every "median_<unit>" ("goal_s": 2.0 -> "median_s")."""
    goals: dict[str, float] = {}
    for key, value in (payload.get("goals") or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            goals[str(key)] = float(value)
    for key, value in payload.items():
        if key.startswith("goal_") and isinstance(value, int | float):
            goals[f"median_{key.removeprefix('goal_')}"] = float(value)
    return goals


def _goal_text(metric: str, goal: float) -> str:
    return f"{_header(metric)} \u2264 {_cell(goal)}"


def _label(key: str) -> str:
    text = key.replace("_", " ")
    return text[:1].upper() + text[1:]


def _columns(rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
    columns: list[str] = []
    for _, row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns


def _table(
    rows: list[tuple[str, dict[str, Any]]], first: str, goals: dict[str, float]
) -> list[str]:
    """Cases as rows; transposed (metrics as rows) when there are many more metrics than
    cases. A metric with a goal gets a "goal met" row or column."""
    columns = _columns(rows)
    checked = [c for c in columns if c in goals]
    if len(columns) > 6 and len(columns) > len(rows):
        header = ["metric", *(_cell(name) for name, _ in rows)]
        lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for column in columns:
            cells = [_header(column), *(_value(column, row.get(column)) for _, row in rows)]
            lines.append("| " + " | ".join(cells) + " |")
        for column in checked:
            cells = [f"goal met ({_goal_text(column, goals[column])})"]
            cells += [_met(row.get(column), goals[column]) for _, row in rows]
            lines.append("| " + " | ".join(cells) + " |")
        return lines
    header = [first, *(_header(c) for c in columns)]
    header += [f"goal met ({_goal_text(c, goals[c])})" for c in checked]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for name, row in rows:
        cells = [_cell(name), *(_value(c, row.get(c)) for c in columns)]
        cells += [_met(row.get(c), goals[c]) for c in checked]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _met(value: Any, goal: float) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return NONE
    return _cell(value <= goal)


def render_results(results: Any, goals: dict[str, float]) -> list[str]:
    if isinstance(results, dict) and results and all(isinstance(v, dict) for v in results.values()):
        rows = [(str(name), _flatten(row)) for name, row in results.items()]
        return _table(rows, "case", goals)
    if isinstance(results, list) and results and all(isinstance(v, dict) for v in results):
        rows = [(str(i + 1), _flatten(row)) for i, row in enumerate(results)]
        return _table(rows, "#", goals)
    if isinstance(results, dict):
        flat = _flatten(results)
        if any(k in goals for k in flat):
            lines = ["| metric | value | goal | goal met |", "| --- | --- | --- | --- |"]
            for key, value in flat.items():
                goal = goals.get(key)
                shown = (
                    (f"\u2264 {_cell(goal)}", _met(value, goal)) if goal is not None else ("", "")
                )
                lines.append(f"| {_header(key)} | {_value(key, value)} | {shown[0]} | {shown[1]} |")
            return lines
        lines = ["| metric | value |", "| --- | --- |"]
        for key, value in flat.items():
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            lines.append(f"| {_header(key) if numeric else key} | {_value(key, value)} |")
        return lines
    if isinstance(results, list):
        return [", ".join(_cell(v) for v in results)]
    return [_cell(results)]


def render_file(
    path: Path, expected: Expected | None, charts: dict[str, str], chart_dir: str
) -> list[str]:
    """The section of one results file; its charts are added to `charts` (name -> SVG) and
    linked from `chart_dir` (relative to the page)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        return [
            f"## {path.name}",
            "",
            f'!!! failure "{path.name} is not valid JSON"',
            f"    {error}",
            "",
        ]
    if not isinstance(payload, dict):
        payload = {"results": payload}
    title = payload.get("title") or (expected.title if expected else _label(path.stem))
    out = [f"## {title}", ""]
    what = payload.get("description") or (expected.what if expected else "")
    if what:
        out += [str(what), ""]
    out += [f"Results: `bench/results/{path.name}`.", ""]
    for chart in charts_for(expected, payload):
        if chart.name in charts:
            raise SystemExit(f"two results files draw {chart.name}: {path.name} is the second")
        charts[chart.name] = chart.svg
        out += [f"![{chart.alt}]({chart_dir}/{chart.name})", ""]
    command = payload.get("command")
    if command:
        out += ["Reproduce (from the template checkout):", "", "```bash", str(command), "```", ""]
    else:
        out += [
            '!!! warning "This results file has no `command` key: it cannot be reproduced as is."',
            "",
        ]
    goals = _goals(payload)
    skip = {"command", "results", "title", "description", "goals"}
    skip |= {k for k in payload if k.startswith("goal_")}
    facts, paragraphs = [], []
    for key, value in payload.items():
        if key in skip or isinstance(value, dict | list):
            continue
        if isinstance(value, str) and len(value) > 100:
            paragraphs.append(f"**{_label(key)}.** {value}")
        else:
            facts.append(f"- {_header(key)}: {_cell(value)}")
    for metric, goal in goals.items():
        facts.append(f"- goal: {_goal_text(metric, goal)}")
    if facts:
        out += [*facts, ""]
    for paragraph in paragraphs:
        out += [paragraph, ""]
    if "results" in payload:
        out += [*render_results(payload["results"], goals), ""]
    for key, value in payload.items():
        if key not in skip and isinstance(value, dict | list):
            out += [f"### {_label(key)}", "", *render_results(value, goals), ""]
    return out


def render_missing(expected: Expected) -> list[str]:
    out = [f"## {expected.title}", "", expected.what, "", "**Not measured yet.**", ""]
    if (ROOT / expected.script).is_file():
        out += [
            "Measure it (writes `bench/results/`):",
            "",
            "```bash",
            f"PYTHONPATH=tool/src .venv/bin/python {expected.script}",
            "```",
            "",
        ]
    else:
        out += [
            f"No benchmark script yet (`{expected.script}` does not exist). Meanwhile, in a "
            "rendered service:",
            "",
            "```bash",
            expected.manual,
            "```",
            "",
        ]
    return out


def generate() -> str:
    return build(OUTPUT)[0]


def build(page: Path) -> tuple[str, dict[str, str]]:
    """The page's text and its charts ({file name: SVG}), which go in a folder named after the
    page (docs/benchmarks.md -> docs/benchmarks/)."""
    chart_dir = page.stem
    charts: dict[str, str] = {}
    files = sorted(RESULTS.glob("*.json")) if RESULTS.is_dir() else []
    claimed: dict[Path, Expected] = {}
    for expected in EXPECTED:
        for path in files:
            if path not in claimed and any(fnmatch(path.name, p) for p in expected.patterns):
                claimed[path] = expected
    out = [
        "<!-- GENERATED by scripts/gen_benchmarks_doc.py from bench/results/*.json."
        f" Do not edit: run `{REGENERATE}`. -->",
        "",
        "# Benchmarks",
        "",
        "Every figure here comes from a results file in `bench/results/`, written by a script in "
        "`bench/`; each section gives the command that reproduces it (run it from the template "
        "checkout with `.venv/bin/python`). Figures depend on the machine: compare runs on the "
        "same one, and read the method notes before comparing with Lambda's own numbers.",
        "",
    ]
    listed: set[Path] = set()
    for expected in EXPECTED:
        mine = [p for p, e in claimed.items() if e is expected]
        if not mine:
            out += render_missing(expected)
        for path in sorted(mine):
            out += render_file(path, expected, charts, chart_dir)
            listed.add(path)
        for reference in REFERENCES:
            if reference.key == expected.key:
                out += render_reference(reference)
    for path in files:
        if path not in listed:
            out += render_file(path, None, charts, chart_dir)
    return "\n".join(out).rstrip("\n") + "\n", charts


def _files(page: Path) -> dict[Path, str]:
    text, charts = build(page)
    folder = page.with_suffix("")
    return {page: text, **{folder / name: svg for name, svg in sorted(charts.items())}}


def main(argv: list[str] | None = None) -> int:
    return generated_page.run_files(
        argv,
        description=__doc__.splitlines()[0],
        output=OUTPUT,
        generate=_files,
        source="bench/results",
        regenerate=REGENERATE,
        owned_dir=lambda page: page.with_suffix(""),
    )


if __name__ == "__main__":
    raise SystemExit(main())
