#!/usr/bin/env python3
"""Generate docs/benchmarks.md from every bench/results/*.json.

    .venv/bin/python scripts/gen_benchmarks_doc.py          # write docs/benchmarks.md
    .venv/bin/python scripts/gen_benchmarks_doc.py --check  # exit 1 if it is out of date

Each results file is shown with the command that reproduces it (its "command" key), the
machine it ran on and its results as tables. Benchmarks the project expects but has no results
for yet are listed as "not measured yet", with the command that measures them. Standard
library only.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

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
            "`python -m layerbuild` with an empty and with a warm cache: time per step, size "
            "of the collector binary, of build/layer.zip and of the unpacked layer."
        ),
        patterns=("layer*.json",),
        script="bench/layer_build.py",
        manual=(
            "cd <service> && make venv && .venv/bin/python -m layerbuild --force "
            "&& cat build/layer-manifest.json   # timings_s, layer.size_bytes, "
            "layer.unpacked_bytes, collector.binary_bytes"
        ),
    ),
    Expected(
        key="cold_start",
        title="Cold start",
        what=(
            "Time from the start of the execution environment to the first response, under "
            "the Lambda Runtime Interface Emulator, with and without the layer."
        ),
        patterns=("cold*start*.json", "coldstart*.json"),
        script="bench/cold_start.py",
        manual=(
            "cd <service> && make layer && .venv/bin/python -m localrun invoke "
            "--event events/sample.json --count 20 --report build/local-report.json"
            "   # cold_start_ms, latency, collector.peak_rss_kb"
        ),
    ),
)

NONE = "\u2013"  # en dash: no value
UNITS = {"_s": "s", "_ms": "ms", "_kb": "KiB", "_mb": "MB", "_bytes": "bytes", "_pct": "%"}


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


def _header(key: str) -> str:
    for suffix, unit in UNITS.items():
        if key.endswith(suffix):
            return f"{key} ({unit})"
    return key


def _flatten(value: Any, prefix: str = "", depth: int = 2) -> dict[str, Any]:
    """{a: {b: 1}} -> {"a.b": 1}, down to ``depth`` levels; deeper values stay as JSON."""
    if isinstance(value, dict) and depth > 0:
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flatten(sub, f"{prefix}{key}.", depth - 1))
        return out
    return {prefix.rstrip("."): value}


def _goals(payload: dict[str, Any]) -> dict[str, float]:
    """{"s": 2.0} for a top-level "goal_s": 2.0, compared with "median_s" in the rows."""
    goals = {}
    for key, value in payload.items():
        if key.startswith("goal_") and isinstance(value, int | float):
            goals[key.removeprefix("goal_")] = float(value)
    return goals


def _table(
    rows: list[tuple[str, dict[str, Any]]], first: str, goals: dict[str, float]
) -> list[str]:
    columns: list[str] = []
    for _, row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    goal_columns = [(unit, goal) for unit, goal in goals.items() if f"median_{unit}" in columns]
    header = [first, *(_header(c) for c in columns)]
    header += [
        f"median ≤ goal ({_cell(goal)} {UNITS.get('_' + unit, unit)})"
        for unit, goal in goal_columns
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for name, row in rows:
        cells = [_cell(name), *(_cell(row.get(c)) for c in columns)]
        for unit, goal in goal_columns:
            median = row.get(f"median_{unit}")
            cells.append(NONE if not isinstance(median, int | float) else _cell(median <= goal))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_results(results: Any, goals: dict[str, float]) -> list[str]:
    if isinstance(results, dict) and results and all(isinstance(v, dict) for v in results.values()):
        rows = [(str(name), _flatten(row)) for name, row in results.items()]
        return _table(rows, "case", goals)
    if isinstance(results, list) and results and all(isinstance(v, dict) for v in results):
        rows = [(str(i + 1), _flatten(row)) for i, row in enumerate(results)]
        return _table(rows, "#", goals)
    if isinstance(results, dict):
        flat = _flatten(results)
        lines = ["| metric | value |", "| --- | --- |"]
        lines += [f"| {_header(k)} | {_cell(v)} |" for k, v in flat.items()]
        return lines
    return [f"`{json.dumps(results, ensure_ascii=False)}`"]


def render_file(path: Path, expected: Expected | None) -> list[str]:
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
    title = payload.get("title") or (expected.title if expected else path.stem.replace("_", " "))
    out = [f"## {title}", ""]
    if payload.get("description") or expected:
        out += [str(payload.get("description") or expected.what), ""]  # type: ignore[union-attr]
    out += [f"Results: `bench/results/{path.name}`.", ""]
    command = payload.get("command")
    if command:
        out += ["Reproduce (from the template checkout):", "", "```bash", str(command), "```", ""]
    else:
        out += [
            '!!! warning "This results file has no `command` key: it cannot be reproduced as is."',
            "",
        ]
    goals = _goals(payload)
    facts = []
    if payload.get("machine"):
        facts.append(f"- machine: {_cell(payload['machine'])}")
    for unit, goal in goals.items():
        facts.append(f"- goal: median ≤ {_cell(goal)} {UNITS.get('_' + unit, unit)}")
    skip = {"command", "machine", "results", "title", "description"} | {f"goal_{u}" for u in goals}
    for key, value in payload.items():
        if key not in skip and not isinstance(value, dict | list):
            facts.append(f"- {_header(key)}: {_cell(value)}")
    if facts:
        out += [*facts, ""]
    if "results" in payload:
        out += [*render_results(payload["results"], goals), ""]
    for key, value in payload.items():
        if key not in skip and isinstance(value, dict | list):
            out += [f"**{key}**", "", *render_results(value, {}), ""]
    return out


def render_missing(expected: Expected) -> list[str]:
    out = [f"## {expected.title}", "", expected.what, "", "**Not measured yet.**", ""]
    if (ROOT / expected.script).is_file():
        out += [
            "Measure it (writes `bench/results/`):",
            "",
            "```bash",
            f".venv/bin/python {expected.script}",
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
        "`bench/` (`make bench` runs them); each section gives the command that reproduces it. "
        "Figures depend on the machine: compare runs on the same one.",
        "",
    ]
    listed: set[Path] = set()
    for expected in EXPECTED:
        mine = [p for p, e in claimed.items() if e is expected]
        if not mine:
            out += render_missing(expected)
        for path in sorted(mine):
            out += render_file(path, expected)
            listed.add(path)
    for path in files:
        if path not in listed:
            out += render_file(path, None)
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    content = generate()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != content:
            diff = difflib.unified_diff(
                current.splitlines(keepends=True),
                content.splitlines(keepends=True),
                fromfile=f"{args.output} (checked in)",
                tofile=f"{args.output} (from bench/results)",
            )
            sys.stderr.writelines(list(diff)[:60])
            print(f"\n{args.output} is out of date: run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(content, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
