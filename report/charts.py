"""Charts of the HTML report: matplotlib figures (Agg backend) rendered as inline SVG.

Each function takes a section of the results and returns the SVG text of one figure, or None
when there is nothing to draw. The SVG is cut down for inlining in HTML: no XML prolog, no
metadata, no namespace declarations (the HTML parser supplies them), so the report holds no
reference to any URL. Ids inside each SVG are salted with the chart's name, and text stays
text (``svg.fonttype = none``): it is searchable and drawn in the browser's fonts (Japanese
included).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from harness.results import (
    Histogram,
    LoadTest,
    MigrationResults,
    PerformanceResults,
    RlsOverhead,
    TrendEntry,
)

matplotlib.use("Agg")  # figures are built without pyplot; no display is ever needed

WIDTH = 9.5  # inches; the report's content column is about 1,100 px wide
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
          "#bcbd22", "#7f7f7f", "#d62728")
FAIL, WARN, OK, MUTED = "#c62828", "#ef6c00", "#2e7d32", "#757575"
STYLE: dict[str, Any] = {"font.size": 9.0, "axes.titlesize": 10.0, "axes.spines.top": False,
         "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
         "svg.fonttype": "none", "legend.frameon": False}


def _style(**extra: Any) -> AbstractContextManager[None]:
    """The report's matplotlib settings (rcParams) for the figures built inside."""
    rc: Any = {**STYLE, **{k.replace("__", "."): v for k, v in extra.items()}}
    return matplotlib.rc_context(rc)


def to_svg(fig: Figure, name: str) -> str:
    """The figure as an SVG element for inlining in HTML."""
    buffer = io.StringIO()
    with _style(svg__hashsalt=name):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{name}" ', 1)


def _figure(height: float, rows: int = 1, cols: int = 1, *, sharex: bool = False
            ) -> tuple[Figure, list[Axes]]:
    with _style():
        fig = Figure(figsize=(WIDTH, height), layout="constrained")
        axes = fig.subplots(rows, cols, sharex=sharex, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def latency_vs_scale(perf: PerformanceResults) -> str | None:
    """Latency against the rows the query depends on, log-log, one line per query."""
    points: dict[str, list[tuple[float, float]]] = {}
    metric = "p95"
    for p in perf.scaling:
        points.setdefault(p.query, []).append((p.rows, p.latency_ms))
        metric = p.metric
    if not points:
        for q in perf.queries:
            if q.rows and math.isfinite(q.value_ms):
                points.setdefault(q.query, []).append((q.rows, q.value_ms))
                metric = q.metric
    points = {k: sorted(v) for k, v in points.items() if any(x > 0 and y > 0 for x, y in v)}
    if not points:
        return None
    with _style():
        fig, (ax,) = _figure(3.6)
        for index, (query, xy) in enumerate(sorted(points.items())):
            xs, ys = zip(*xy, strict=True)
            ax.plot(xs, ys, marker="o", markersize=4, color=COLORS[index % len(COLORS)],
                    label=query)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows in the tenant (cases, documents, ...)")
        ax.set_ylabel(f"{metric} latency (ms)")
        ax.set_title(f"{metric} latency against data size")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
        return to_svg(fig, "latency-vs-scale")


def _binned(h: Histogram) -> tuple[np.ndarray, np.ndarray]:
    if h.counts:
        return np.asarray(h.edges_ms, dtype=float), np.asarray(h.counts, dtype=float)
    counts, edges = np.histogram(np.asarray(h.samples_ms, dtype=float), bins=30)
    return edges, counts.astype(float)


def histograms(perf: PerformanceResults, limit: int = 12) -> str | None:
    """Latency distribution per query (small multiples), percentiles and requirement marked."""
    shown = [h for h in perf.histograms if h.counts or h.samples_ms][:limit]
    if not shown:
        return None
    queries = {(q.query, q.scale): q for q in perf.queries}
    cols = min(3, len(shown))
    rows = math.ceil(len(shown) / cols)
    with _style():
        fig, axes = _figure(2.1 * rows + 0.3, rows, cols)
        for ax, h in zip(axes, shown, strict=False):
            edges, counts = _binned(h)
            ax.stairs(counts, edges, fill=True, color=COLORS[0], alpha=0.6)
            q = queries.get((h.query, h.scale))
            if q is not None:
                for value, style in ((q.p50_ms, ":"), (q.p95_ms, "--"), (q.p99_ms, "-.")):
                    ax.axvline(value, color=MUTED, linestyle=style, linewidth=1)
                if q.requirement_ms is not None and q.requirement_ms <= edges[-1] * 1.5:
                    ax.axvline(q.requirement_ms, color=FAIL, linewidth=1.2)
            ax.set_title(f"{h.query} @ {h.scale}", fontsize=9)
            ax.set_xlabel("ms")
        for ax in axes[len(shown):]:
            ax.set_visible(False)
        fig.suptitle("latency histograms (dotted p50, dashed p95, dash-dot p99, red: "
                     "requirement)", fontsize=9)
        return to_svg(fig, "latency-histograms")


def rls_overhead(rls: Sequence[RlsOverhead]) -> str | None:
    """Ratio of latency under RLS to latency with an explicit filter, per query."""
    usable = [r for r in rls if math.isfinite(r.ratio)]
    if not usable:
        return None
    with _style():
        fig, (ax,) = _figure(0.32 * len(usable) + 1.0)
        labels = [f"{r.query} @ {r.scale}" for r in usable]
        colors = [OK if r.ok else FAIL for r in usable]
        ax.barh(labels, [r.ratio for r in usable], color=colors, alpha=0.8)
        for index, r in enumerate(usable):
            if r.max_ratio is not None:
                ax.plot([r.max_ratio] * 2, [index - 0.4, index + 0.4], color=FAIL, linewidth=1.5)
        ax.axvline(1.0, color=MUTED, linewidth=1)
        ax.invert_yaxis()
        ax.set_xlabel("latency under RLS / latency with an explicit tenant filter "
                      "(red tick: the allowed maximum)")
        ax.set_title("RLS overhead")
        return to_svg(fig, "rls-overhead")


def load_over_time(load: LoadTest) -> str | None:
    """Locust: throughput, failures and users (top); percentiles (bottom), over time."""
    if not load.series:
        return None
    t = [p.seconds for p in load.series]
    with _style():
        fig, (top, bottom) = _figure(4.6, 2, 1, sharex=True)
        top.plot(t, [p.rps for p in load.series], color=COLORS[0], label="requests/s")
        top.plot(t, [p.failures_per_second for p in load.series], color=FAIL,
                 label="failures/s")
        users = top.twinx()
        users.step(t, [p.users for p in load.series], color=MUTED, where="post",
                   linewidth=1, label="users")
        users.set_ylabel("users")
        users.grid(False)
        top.set_ylabel("per second")
        top.set_title(f"{load.tool}: {load.users} users, {load.seconds:.0f} s")
        handles = top.get_legend_handles_labels()
        extra = users.get_legend_handles_labels()
        fig.legend(handles[0] + extra[0], handles[1] + extra[1], loc="outside upper right",
                   ncols=3, fontsize=8)
        for index, name in enumerate(("p50", "p95", "p99")):
            values = [getattr(p, f"{name}_ms") for p in load.series]
            if any(v is not None for v in values):
                bottom.plot(t, [math.nan if v is None else v for v in values],
                            color=COLORS[index], label=name)
        bottom.set_ylabel("ms")
        bottom.set_xlabel("seconds since start")
        bottom.legend(loc="upper left", fontsize=8, ncols=3)
        return to_svg(fig, "load-over-time")


def migration_timings(migrations: MigrationResults) -> str | None:
    """Seconds per script and phase against the per-migration budget."""
    steps = [s for s in migrations.steps if s.seconds >= 0]
    if not steps:
        return None
    phases = sorted({s.phase for s in steps}, key=("migrate", "undo", "redo").index)
    with _style():
        fig, (ax,) = _figure(0.17 * len(steps) + 1.0)
        labels = [f"{s.script} ({s.phase})" for s in steps]
        colors = [FAIL if s.seconds > migrations.budget_seconds
                  else COLORS[phases.index(s.phase)] for s in steps]
        ax.barh(labels, [s.seconds for s in steps], color=colors)
        ax.axvline(migrations.budget_seconds, color=FAIL, linestyle="--", linewidth=1)
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel(f"seconds (dashed: budget {migrations.budget_seconds:g} s)")
        ax.set_title("migration timings")
        return to_svg(fig, "migration-timings")


def trend(entries: Sequence[TrendEntry], limit: int = 10) -> str | None:
    """Latency metrics over the runs (oldest left, this run right)."""
    if len(entries) < 2:
        return None
    metrics = sorted({k for e in entries for k in e.metrics if k.startswith("latency")})[:limit]
    if not metrics:
        return None
    with _style():
        fig, (ax,) = _figure(3.4)
        xs = list(range(len(entries)))
        for index, metric in enumerate(metrics):
            ys = [e.metrics.get(metric, math.nan) for e in entries]
            ax.plot(xs, ys, marker="o", markersize=3, color=COLORS[index % len(COLORS)],
                    label=metric.split(": ", 1)[-1])
        ax.set_xticks(xs, [e.run_id[:15] for e in entries], rotation=30, ha="right",
                      fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("ms (log scale)")
        ax.set_title("latency over runs (this run on the right)")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
        return to_svg(fig, "trend")
