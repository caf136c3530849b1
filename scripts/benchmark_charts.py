"""SVG charts for docs/benchmarks.md, drawn from the same bench/results/*.json as its tables.

One function per results file shape; each returns the charts it can draw from the payload (none
when the file does not have the shape, e.g. an older or hand-written results file). The SVGs are
reproducible byte for byte, so `gen_benchmarks_doc.py --check` can compare them like the tables:
text is drawn as paths with the font matplotlib ships (no font needed to view them, none taken
from the system), ids come from a fixed `svg.hashsalt`, and no date is written.
"""

from __future__ import annotations

import io
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parent.parent

# Only the fonts inside matplotlib: a system DejaVu Sans (Debian's fonts-dejavu-core) has the
# same name but other outlines, and would change the SVGs from one machine to the next.
_BUNDLED_FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
font_manager.fontManager.ttflist = [
    font for font in font_manager.fontManager.ttflist if Path(font.fname).parent == _BUNDLED_FONTS
]

STYLE = {
    "svg.hashsalt": "copier-lambda-otel-xray benchmarks",
    "svg.fonttype": "path",
    "font.family": ["DejaVu Sans"],
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "legend.frameon": False,
}

# One colour per exporter; the previous commit in a lighter shade of it.
COLOURS = {
    "bare": "#8d8d8d",
    "awsxray": "#3949ab",
    "awsxray base": "#9fa8da",
    "xray-otlp": "#00897b",
    "xray-otlp base": "#80cbc4",
    "auto-instrumentation": "#e53935",
    "Rotel": "#f9a825",
    "other": "#6d4c41",
}

# bench/image_cold_start.py's method text: "1,769 MB = one vCPU" (CPU scales with memory).
LAMBDA_MB_PER_VCPU = 1769


@dataclass(frozen=True)
class Chart:
    name: str  # file name under docs/benchmarks/
    alt: str  # what it shows, for the image's alt text and caption
    svg: str


def pinned_matplotlib() -> str:
    """The matplotlib version pyproject.toml's test group pins (the charts depend on it)."""
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    for requirement in groups["test"]:
        match = re.fullmatch(r"matplotlib==([\w.]+)", requirement.strip())
        if match:
            return match.group(1)
    raise SystemExit("pyproject.toml's test group does not pin matplotlib (matplotlib==X)")


def check_matplotlib() -> None:
    pinned = pinned_matplotlib()
    if matplotlib.__version__ != pinned:
        raise SystemExit(
            f"the benchmark charts are drawn with matplotlib {pinned} (pyproject.toml's test "
            f"group), this is {matplotlib.__version__}: another version draws other bytes. "
            "Run `.venv/bin/pip install --group test`."
        )


def _svg(draw: Callable[[Figure], None], size: tuple[float, float]) -> str:
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=size, layout="constrained")
        draw(figure)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


# ------------------------------------------------------------------------------- helpers
def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _colour(label: str) -> str:
    for key in sorted(COLOURS, key=len, reverse=True):
        if key in label:
            return COLOURS[key]
    return COLOURS["other"]


def _short(commit: Any) -> str:
    """'0d4c71b6daa4 (base side)' -> '0d4c71b'."""
    match = re.search(r"\b[0-9a-f]{7,40}\b", str(commit or ""))
    return match.group(0)[:7] if match else ""


def _tick(name: str) -> str:
    """A variant's name on two lines where the axis is crowded: 'awsxray base' ->
    'awsxray\nbase'."""
    for word in (" base", " no handshake", " no export"):
        name = name.replace(word, "\n" + word.strip())
    return name


def _words(key: str) -> str:
    """'layer_zip_bytes: awsxray_x86_64' -> 'layer zip bytes: awsxray x86_64'."""
    return key.replace("x86_64", "x86\0").replace("_", " ").replace("x86\0", "x86_64")


def _runs_panel(
    ax: Axes, groups: Sequence[tuple[str, Sequence[float], str]], title: str, unit: str
) -> None:
    """Every run as a dot, the median as a bar across them, its value written beside it."""
    for i, (_, runs, colour) in enumerate(groups):
        n = len(runs)
        offsets = [(-0.2 + 0.4 * k / (n - 1)) if n > 1 else 0.0 for k in range(n)]
        ax.scatter([i + o for o in offsets], runs, s=10, color=colour, alpha=0.75, lw=0)
        ordered = sorted(runs)
        middle = n // 2
        median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        ax.hlines(median, i - 0.3, i + 0.3, color="black", lw=1.6)
        ax.annotate(
            _fmt(median),
            (i + 0.3, median),
            xytext=(2, 0),
            textcoords="offset points",
            va="center",
            fontsize=7.5,
        )
    ax.set_xticks(range(len(groups)), [label for label, _, _ in groups])
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.set_ylabel(unit)


def _percentile_panel(
    ax: Axes,
    groups: Sequence[tuple[str, dict[str, float], str]],
    title: str,
    unit: str,
) -> None:
    """Per group: a line from p50 to p99 with a dot at each percentile the file holds (the
    results keep percentiles, not every warm invocation), and the mean as a diamond."""
    for i, (_, stats, colour) in enumerate(groups):
        levels = [(k, v) for k, v in sorted(stats.items()) if k.startswith("p")]
        values = [v for _, v in levels]
        if values:
            ax.vlines(i, min(values), max(values), color=colour, lw=3, alpha=0.5)
        for key, value in levels:
            ax.scatter([i], [value], s=22, color=colour, zorder=3)
            ax.annotate(
                f"{key} {_fmt(value)}",
                (i, value),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
            )
        if "mean" in stats:
            ax.scatter([i], [stats["mean"]], marker="D", s=14, color="black", zorder=4)
    if any("mean" in stats for _, stats, _ in groups):
        ax.scatter([], [], marker="D", s=14, color="black", label="mean")
        ax.legend(fontsize=7, loc="best")
    ax.set_xticks(range(len(groups)), [label for label, _, _ in groups])
    ax.set_xlim(-0.5, len(groups) - 0.1)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.1)  # room for the legend above the highest p99
    ax.set_title(title)
    ax.set_ylabel(unit)


def _warm_stats(warm: Any) -> dict[str, float]:
    if not isinstance(warm, dict):
        return {}
    return {
        k: float(v)
        for k, v in warm.items()
        if (k == "mean" or re.fullmatch(r"p\d+", k)) and _number(v) is not None
    }


def _runs(entry: Any, metric: str) -> list[float]:
    runs = (entry.get(metric) or {}).get("runs") if isinstance(entry, dict) else None
    if not isinstance(runs, list):
        return []
    return [float(v) for v in runs if _number(v) is not None]


# -------------------------------------------------------------------- cold start, sandbox
def _sandbox_label(key: str, base: str) -> str:
    exporter = key.removeprefix("base_").removeprefix("instrumented_")
    if key == "bare":
        return "bare\n(no OTel)"
    if key == "auto_instrument_baseline":
        return "auto-instr.\nbaseline"
    if key.startswith("base_"):
        return f"{exporter} base\nprevious\n{base}".rstrip()
    return exporter


def sandbox_charts(payload: dict[str, Any]) -> list[Chart]:
    variants = payload.get("variants")
    if not isinstance(variants, dict) or not variants:
        return []
    base = _short(payload.get("base"))
    labels = {key: _sandbox_label(key, base) for key in variants}
    charts: list[Chart] = []
    panels = [
        (metric, title)
        for metric, title in (
            ("cold_start_ms", "Cold start: process start \u2192 first response"),
            ("init_duration_ms", "Init duration (extensions + runtime init)"),
        )
        if any(_runs(entry, metric) for entry in variants.values())
    ]
    if panels:

        def draw_cold(figure: Figure) -> None:
            axes = figure.subplots(1, len(panels), squeeze=False)[0]
            for ax, (metric, title) in zip(axes, panels, strict=True):
                groups = [
                    (labels[k], _runs(v, metric), _colour(labels[k]))
                    for k, v in variants.items()
                    if _runs(v, metric)
                ]
                _runs_panel(ax, groups, title, "ms")
                ax.tick_params(axis="x", labelsize=7)

        runs = max(len(_runs(v, panels[0][0])) for v in variants.values())
        charts.append(
            Chart(
                "sandbox-cold-start.svg",
                f"Cold start in the sandbox per variant: each of {runs} runs as a dot, the "
                "median as a bar",
                _svg(draw_cold, (10, 3.8)),
            )
        )
    warm = {k: _warm_stats(v.get("warm_ms")) for k, v in variants.items() if isinstance(v, dict)}
    warm = {k: v for k, v in warm.items() if v}
    if warm:

        def draw_warm(figure: Figure) -> None:
            ax = figure.subplots()
            groups = [(labels[k], stats, _colour(labels[k])) for k, stats in warm.items()]
            _percentile_panel(ax, groups, "Warm invocation latency (client-measured)", "ms")
            ax.tick_params(axis="x", labelsize=7)

        charts.append(
            Chart(
                "sandbox-warm.svg",
                "Warm latency in the sandbox per variant: p50 to p99, the mean as a diamond",
                _svg(draw_warm, (10, 3.4)),
            )
        )
    return charts


# -------------------------------------------------------------- cold start, container image
def _row_title(row: str) -> str:
    """'0.0724 CPUs' -> '0.0724 CPUs (the share of 128 MB)'; rows named by memory size
    ('512 MB (0.2894 vCPU)') stay as they are."""
    match = re.fullmatch(r"([\d.]+) CPUs?", row)
    if match:
        megabytes = float(match.group(1)) * LAMBDA_MB_PER_VCPU
        return f"{row} \u2248 {megabytes:.0f} MB"
    return "no CPU limit" if row in ("unlimited", "unthrottled") else row


def image_charts(payload: dict[str, Any]) -> list[Chart]:
    rows = payload.get("rows")
    if not isinstance(rows, dict) or not rows:
        return []
    rows = {r: v for r, v in rows.items() if isinstance(v, dict)}
    charts: list[Chart] = []
    cold_rows = [r for r, v in rows.items() if any(_runs(e, "cold_start_ms") for e in v.values())]
    if cold_rows:
        columns = 2 if len(cold_rows) > 2 else len(cold_rows)
        lines = -(-len(cold_rows) // columns)

        def draw_cold(figure: Figure) -> None:
            axes = figure.subplots(lines, columns, squeeze=False).flatten()
            for ax, row in zip(axes, cold_rows, strict=False):
                groups = [
                    (_tick(name), _runs(entry, "cold_start_ms"), _colour(name))
                    for name, entry in rows[row].items()
                    if _runs(entry, "cold_start_ms")
                ]
                _runs_panel(ax, groups, _row_title(row), "ms")
                ax.tick_params(axis="x", labelsize=7)
            for ax in axes[len(cold_rows) :]:
                ax.set_visible(False)

        charts.append(
            Chart(
                "image-cold-start.svg",
                "Cold start of the container image per variant and CPU share (memory size): "
                "each run as a dot, the median as a bar",
                _svg(draw_cold, (10, 3.4 * lines)),
            )
        )
    overheads = payload.get("instrumented_minus_bare")
    goals = payload.get("goals") if isinstance(payload.get("goals"), dict) else {}
    if (
        isinstance(overheads, dict)
        and overheads
        and all(isinstance(v, dict) for v in overheads.values())
    ):
        variants = list(dict.fromkeys(k for v in overheads.values() for k in v))

        def draw_overhead(figure: Figure) -> None:
            ax = figure.subplots()
            width = 0.8 / max(1, len(variants))
            for v, key in enumerate(variants):
                name = key.removesuffix(".cold_start_ms_paired")
                for r, row in enumerate(overheads):
                    value = _number(overheads[row].get(key))
                    if value is None:
                        continue
                    x = r - 0.4 + width * (v + 0.5)
                    ax.bar(x, value, width * 0.9, color=_colour(name),
                           label=name if r == 0 else None)  # fmt: skip
                    ax.annotate(_fmt(value), (x, max(value, 0)), xytext=(0, 2),
                                textcoords="offset points", ha="center", fontsize=6.5)  # fmt: skip
            limits = {_number(g) for k, g in goals.items() if k.endswith("cold_start_ms_paired")}
            for limit in sorted(x for x in limits if x is not None):
                ax.axhline(limit, color="#c62828", ls="--", lw=0.9)
                ax.annotate(f"goal {_fmt(limit)} ms", (len(overheads) - 0.5, limit),
                            fontsize=7, color="#c62828", ha="right", va="bottom")  # fmt: skip
            ax.set_xticks(range(len(overheads)), [_row_title(r) for r in overheads])
            ax.set_title("Cold start overhead over bare (median of paired differences)")
            ax.set_ylabel("ms")
            ax.legend(fontsize=7, ncols=len(variants), loc="upper left")
            ax.set_ylim(min(0, ax.get_ylim()[0]), ax.get_ylim()[1] * 1.2)

        charts.append(
            Chart(
                "image-cold-start-overhead.svg",
                "Cold start overhead of the image over the bare one per memory size: this "
                "commit and the previous one per exporter, the goal dashed",
                _svg(draw_overhead, (10, 3.6)),
            )
        )
    warm_rows = [
        r for r, v in rows.items() if any(_warm_stats(e.get("warm_ms")) for e in v.values())
    ]
    if warm_rows:

        def draw_warm(figure: Figure) -> None:
            axes = figure.subplots(1, len(warm_rows), squeeze=False)[0]
            for ax, row in zip(axes, warm_rows, strict=True):
                groups = [
                    (name, _warm_stats(entry.get("warm_ms")), _colour(name))
                    for name, entry in rows[row].items()
                    if _warm_stats(entry.get("warm_ms"))
                ]
                _percentile_panel(ax, groups, _row_title(row), "ms")

        charts.append(
            Chart(
                "image-warm.svg",
                "Warm latency of the container image per variant and CPU share: p50 to p99, "
                "the mean as a diamond",
                _svg(draw_warm, (10, 3.4)),
            )
        )
    return charts


# ------------------------------------------------------ response latency, billed duration
def response_latency_charts(payload: dict[str, Any]) -> list[Chart]:
    rows = payload.get("rows")
    if not isinstance(rows, dict) or not rows:
        return []
    rows = {r: v for r, v in rows.items() if isinstance(v, dict)}
    metrics = (("warm_ms", "response"), ("billed_ms", "billed duration"))
    panels = [
        (row, metric, title)
        for row in rows
        for metric, title in metrics
        if any(_warm_stats(e.get(metric)) for e in rows[row].values())
    ]
    if not panels:
        return []

    def draw(figure: Figure) -> None:
        axes = figure.subplots(len(rows), len(metrics), squeeze=False)
        for r, row in enumerate(rows):
            for m, (metric, title) in enumerate(metrics):
                ax = axes[r][m]
                groups = [
                    (_tick(name), stats, _colour(name))
                    for name, entry in rows[row].items()
                    if (stats := {k: v for k, v in _warm_stats(entry.get(metric)).items()})
                ]
                _percentile_panel(ax, groups, f"{title}, {_row_title(row)}", "ms")
                ax.tick_params(axis="x", labelsize=6.5)

    return [
        Chart(
            "response-latency.svg",
            "Warm invocations of the image per variant: the response (the runtime posted it) "
            "and the billed duration (runtime and extension back in /next), p50 to p99",
            _svg(draw, (10, 3.2 * len(rows))),
        )
    ]


# ------------------------------------------------------------------------ memory, 128 MB
def memory_run_charts(payload: dict[str, Any]) -> list[Chart]:
    rows = payload.get("rows")
    if not isinstance(rows, dict) or not rows:
        return []
    rows = {r: v for r, v in rows.items() if isinstance(v, dict)}
    parts = (
        ("function_peak_rss_mib", "function"),
        ("extension_peak_rss_mib", "extension"),
        ("container_peak_mib", "container"),
    )
    if not any(_number(e.get(k)) for v in rows.values() for e in v.values() for k, _ in parts):
        return []

    def draw(figure: Figure) -> None:
        axes = figure.subplots(1, len(rows), squeeze=False)[0]
        for ax, (row, entries) in zip(axes, rows.items(), strict=True):
            names = list(entries)
            width = 0.8 / len(parts)
            for p, (key, label) in enumerate(parts):
                for i, name in enumerate(names):
                    value = _number(entries[name].get(key))
                    if value is None:
                        continue
                    x = i - 0.4 + width * (p + 0.5)
                    shade = {"function": 1.0, "extension": 0.6, "container": 0.3}[label]
                    first = label not in ax.get_legend_handles_labels()[1]
                    ax.bar(x, value, width * 0.9, color=_colour(name), alpha=shade,
                           label=label if first else None)  # fmt: skip
                    ax.annotate(_fmt(value), (x, value), xytext=(0, 2),
                                textcoords="offset points", ha="center", fontsize=6)  # fmt: skip
            limit = re.match(r"(\d+) MB", row)
            if limit:
                megabytes = float(limit.group(1)) * 1e6 / 2**20
                ax.axhline(megabytes, color="#c62828", ls="--", lw=0.9)
                ax.annotate(f"limit {_fmt(megabytes)} MiB", (len(names) - 0.5, megabytes),
                            fontsize=6.5, color="#c62828", ha="right", va="bottom")  # fmt: skip
            ax.set_xticks(range(len(names)), [_tick(n) for n in names], fontsize=7)
            ax.set_title(f"Peak memory, {row}")
            ax.set_ylabel("MiB")
            ax.legend(fontsize=6.5, loc="upper left")

    return [
        Chart(
            "memory-run.svg",
            "Peak memory of the function (runtime process), the collector extension and the "
            "whole container after 1,000 invocations, per memory size and variant",
            _svg(draw, (10, 3.6)),
        )
    ]


# ------------------------------------------------------------------------------ extension
def extension_charts(payload: dict[str, Any], reference: dict[str, Any]) -> list[Chart]:
    """Readiness, peak RSS and size per exporter, base (previous commit) beside new, and the
    reference's figures (Rotel) where it has the same metric."""
    results = payload.get("results")
    if not isinstance(results, dict) or not results:
        return []
    base, new = _short(payload.get("base")), _short(payload.get("new"))

    def label(case: str) -> str:
        exporter, _, side = case.rpartition(" ")
        commit = {"base": base, "new": new}.get(side, "")
        which = {"base": "previous", "new": "this"}.get(side, side)
        return f"{exporter}\n{which}\n{commit}".rstrip()

    cases = [(label(c), v, _colour(c)) for c, v in results.items() if isinstance(v, dict)]
    reference_name = str(reference.get("name", "reference"))
    figures = reference.get("figures", {})
    cases.append((reference_name.replace(" ", "\n", 1), figures, _colour(reference_name)))
    goals = payload.get("goals") if isinstance(payload.get("goals"), dict) else {}

    def value(entry: dict[str, Any], metric: str) -> tuple[float | None, float | None]:
        """(median, p90) of a metric; bytes as MB."""
        raw = entry.get(metric)
        if isinstance(raw, dict):
            return _number(raw.get("median")), _number(raw.get("p90"))
        number = _number(raw)
        if number is not None and metric.endswith("_bytes"):
            return number / 1e6, None
        return number, None

    def goal(metric: str) -> float | None:
        number = _number(goals.get(f"{metric}.median", goals.get(metric)))
        return number / 1e6 if number is not None and metric.endswith("_bytes") else number

    names = {
        "peak_rss_100_mb": "after 100 posts",
        "peak_rss_1000_mb": "after 1000 posts",
        "binary_bytes": "binary",
        "zipped_bytes": "zipped (+ config)",
    }
    panels = [
        ("Ready: exec \u2192 first OTLP/HTTP 200", "ms", ["ready_ms"]),
        ("Peak RSS after 100 / 1000 posts", "MB", ["peak_rss_100_mb", "peak_rss_1000_mb"]),
        ("Size: binary / zipped", "MB", ["binary_bytes", "zipped_bytes"]),
    ]

    def draw(figure: Figure) -> None:
        axes = figure.subplots(1, len(panels))
        for ax, (title, unit, metrics) in zip(axes, panels, strict=True):
            width = 0.8 / len(metrics)
            for m, metric in enumerate(metrics):
                hatch = "//" if m else None
                for i, (_, entry, colour) in enumerate(cases):
                    median, p90 = value(entry, metric)
                    if median is None:
                        continue
                    x = i - 0.4 + width * (m + 0.5)
                    ax.bar(x, median, width * 0.9, color=colour, hatch=hatch, edgecolor="white")
                    if p90 is not None:
                        ax.errorbar(
                            x, median, [[0], [p90 - median]], color="black", lw=0.8, capsize=2
                        )
                    ax.annotate(
                        _fmt(median),
                        (x, p90 if p90 is not None else median),
                        xytext=(0, 2),
                        textcoords="offset points",
                        ha="center",
                        fontsize=6.5,
                    )
                limit = goal(metric)
                if limit is not None:
                    ax.axhline(
                        limit, color="#c62828", lw=0.9, ls="--", label=f"goal \u2264 {_fmt(limit)}"
                    )
            if len(metrics) > 1:
                ax.bar(0, 0, color="#bbbbbb", label=names[metrics[0]])
                ax.bar(
                    0, 0, color="#bbbbbb", hatch="//", edgecolor="white", label=names[metrics[1]]
                )
            ax.set_xticks(range(len(cases)), [c for c, _, _ in cases], fontsize=6.5)
            ax.set_xlim(-0.6, len(cases) - 0.4)
            ax.set_ylim(0, ax.get_ylim()[1] * 1.15)
            ax.set_title(title)
            ax.set_ylabel(unit)
            ax.legend(fontsize=6.5, loc="upper right", handlelength=1.6)

    return [
        Chart(
            "extension.svg",
            f"The collector extension per exporter, the previous commit ({base}) beside this "
            f"one ({new}) and {reference_name}: medians as bars, p90 as a whisker, goals dashed",
            _svg(draw, (10, 3.6)),
        )
    ]


# --------------------------------------------------------------------------- layer build
def layer_build_charts(payload: dict[str, Any]) -> list[Chart]:
    results = payload.get("results")
    if not isinstance(results, dict):
        return []
    times = [
        (k.removesuffix("_s"), float(v))
        for k, v in results.items()
        if k.endswith("_s") and _number(v) is not None
    ]
    sizes = [
        (f"{group.removesuffix('_bytes')}: {name}", float(v) / 1e6)
        for group, entries in results.items()
        if group.endswith("_bytes") and isinstance(entries, dict)
        for name, v in entries.items()
        if _number(v) is not None
    ]
    if not times and not sizes:
        return []
    goals = payload.get("goals") if isinstance(payload.get("goals"), dict) else {}
    panels = [p for p in (("time", times), ("size", sizes)) if p[1]]

    def draw(figure: Figure) -> None:
        axes = figure.subplots(1, len(panels), squeeze=False)[0]
        for ax, (kind, items) in zip(axes, panels, strict=True):
            names = [_words(name) for name, _ in items]
            values = [v for _, v in items]
            colours = [_colour(name) if kind == "size" else "#5c6bc0" for name, _ in items]
            positions = range(len(items))[::-1]
            ax.barh(list(positions), values, color=colours, height=0.6)
            for y, v in zip(positions, values, strict=True):
                ax.annotate(
                    f"{_fmt(v)}",
                    (v, y),
                    xytext=(3, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=7,
                )
            ax.set_yticks(list(positions), names, fontsize=7)
            ax.grid(axis="x")
            ax.grid(axis="y", visible=False)
            ax.set_xlim(0, max(values) * 1.15)
            if kind == "time":
                ax.set_title("Build time")
                ax.set_xlabel("s")
                for y, (name, _) in zip(positions, items, strict=True):
                    limit = _number(goals.get(f"{name}_s"))
                    if limit is not None:
                        ax.vlines(limit, y - 0.4, y + 0.4, color="#c62828", ls="--", lw=0.9)
                        ax.annotate(
                            f"goal {_fmt(limit)}",
                            (limit, y + 0.4),
                            fontsize=6.5,
                            color="#c62828",
                            xytext=(2, 0),
                            textcoords="offset points",
                        )
            else:
                ratio = _number(results.get("minimal_vs_default_ratio"))
                title = "Sizes"
                if ratio is not None:
                    title += f" (minimal / all components: {ratio:g})"
                ax.set_title(title)
                ax.set_xlabel("MB")

    return [
        Chart(
            "layer-build.svg",
            "Layer build: build times (cold, cached, another exporter, arm64) and the sizes of "
            "the collector binary and layer.zip",
            _svg(draw, (10, 3.4)),
        )
    ]


# ----------------------------------------------------------------------- Python overhead
def python_overhead_charts(payload: dict[str, Any]) -> list[Chart]:
    results = payload.get("results")
    if not isinstance(results, dict) or not results:
        return []
    base = _short(payload.get("base"))
    names = {"bare": "bare", "base": f"previous ({base})" if base else "base", "new": "this"}
    cases = [(names.get(k, k), v) for k, v in results.items() if isinstance(v, dict)]
    colours = {"bare": COLOURS["bare"], "base": COLOURS["awsxray base"], "new": COLOURS["awsxray"]}
    colour = [colours.get(k, COLOURS["other"]) for k in results]

    def draw(figure: Figure) -> None:
        left, right = figure.subplots(1, 2)
        metrics = [("init_ms", "init (import, configure)"), ("first_invocation_ms", "first call")]
        width = 0.8 / len(cases)
        for c, (name, entry) in enumerate(cases):
            for m, (metric, _) in enumerate(metrics):
                stats = entry.get(metric) or {}
                median, p90 = _number(stats.get("median")), _number(stats.get("p90"))
                if median is None:
                    continue
                x = m - 0.4 + width * (c + 0.5)
                ax_label = name if m == 0 else None
                left.bar(x, median, width * 0.9, color=colour[c], label=ax_label)
                if p90 is not None:
                    left.errorbar(
                        x, median, [[0], [p90 - median]], color="black", lw=0.8, capsize=2
                    )
                left.annotate(
                    _fmt(median),
                    (x, p90 or median),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    fontsize=6.5,
                )
        left.set_xticks(range(len(metrics)), [title for _, title in metrics])
        left.set_title("Init and first invocation: median, p90 whisker")
        left.set_ylabel("ms")
        left.set_ylim(0, left.get_ylim()[1] * 1.2)
        left.legend(fontsize=7, loc="upper left", ncols=len(cases))
        groups = [
            (name, _warm_stats(entry.get("warm_ms")), colour[c])
            for c, (name, entry) in enumerate(cases)
        ]
        _percentile_panel(right, groups, "Warm invocations", "ms")

    return [
        Chart(
            "python-overhead.svg",
            "The function process with and without OpenTelemetry: init and first invocation "
            "(median, p90), warm invocations (p50 to p99)",
            _svg(draw, (10, 3.4)),
        )
    ]
