"""Numbers from raw timings: percentiles, summaries, regressions against a baseline, scaling.

pytest-benchmark keeps the raw timings (``benchmark.stats.stats.data``, seconds) but has no
percentile gate, so the percentiles are computed here, from those timings, by linear
interpolation between closest ranks (numpy's default, and what pgbench log analysis and most
dashboards use). Pure functions, unit-tested in tests/test_bench_support.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

LINEAR_SLOPE = 0.8  # log-log slope above which latency grows ~linearly with the data


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile (0-100) of ``values``, linear between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile {pct} is not between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Summary:
    """Latency figures of one query, in milliseconds."""

    n: int
    p50: float
    p95: float
    p99: float
    mean: float
    min: float
    max: float

    def metric(self, name: str) -> float:
        """``p50``/``median``, ``p95``, ``p99``, ``mean``, ``min`` or ``max``."""
        value: float = getattr(self, "p50" if name == "median" else name)
        return value

    def as_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def summarize_ms(milliseconds: Sequence[float]) -> Summary:
    """Summary of timings already in milliseconds."""
    if not milliseconds:
        raise ValueError("no timings to summarize")
    return Summary(
        n=len(milliseconds), p50=percentile(milliseconds, 50),
        p95=percentile(milliseconds, 95), p99=percentile(milliseconds, 99),
        mean=sum(milliseconds) / len(milliseconds), min=min(milliseconds),
        max=max(milliseconds))


def summarize_seconds(seconds: Sequence[float]) -> Summary:
    """Summary of timings in seconds (pytest-benchmark's raw data), reported in ms."""
    return summarize_ms([s * 1000.0 for s in seconds])


@dataclass(frozen=True, slots=True)
class Regression:
    query: str
    baseline_ms: float
    current_ms: float

    @property
    def change(self) -> float:
        """Relative change, +0.25 = 25 % slower."""
        return self.current_ms / self.baseline_ms - 1.0 if self.baseline_ms > 0 else math.inf


def regressions(current: Mapping[str, float], baseline: Mapping[str, float],
                threshold: float) -> list[Regression]:
    """Queries whose median grew by more than ``threshold`` (0.10 = 10 %) over the baseline.

    Queries present on one side only are not compared (a new query has no baseline yet).
    """
    if threshold < 0:
        raise ValueError(f"threshold {threshold} must not be negative")
    found = []
    for query in sorted(current.keys() & baseline.keys()):
        item = Regression(query, baseline[query], current[query])
        if item.change > threshold:
            found.append(item)
    return found


@dataclass(frozen=True, slots=True)
class ScalingFit:
    """Least-squares fit of log(latency) = slope * log(rows) + c."""

    slope: float
    points: int
    rows_span: float  # largest / smallest row count

    @property
    def linear(self) -> bool:
        """A finding: latency grows (about) linearly with the tenant's data."""
        return self.slope > LINEAR_SLOPE


def loglog_slope(points: Sequence[tuple[float, float]]) -> ScalingFit | None:
    """Fit (rows, latency) points; None when fewer than two distinct row counts are given."""
    usable = [(r, t) for r, t in points if r > 0 and t > 0]
    xs = [math.log(r) for r, _ in usable]
    ys = [math.log(t) for _, t in usable]
    if len(set(xs)) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    rows = [r for r, _ in usable]
    return ScalingFit(slope=sxy / sxx, points=len(usable), rows_span=max(rows) / min(rows))


def still_falling(last: Sequence[float], before: Sequence[float], *, share: float = 0.8,
                  min_count: int = 20) -> bool:
    """Whether latency is still coming down: the p95 of ``last`` (the latest step of a load's
    timings) is below ``share`` of the p95 of ``before`` (the step before it). With fewer than
    ``min_count`` timings in either step there is too little to tell, and it is not."""
    if min(len(last), len(before)) < min_count:
        return False
    return percentile(last, 95) < share * percentile(before, 95)


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is 0 (no buffers touched)."""
    return numerator / denominator if denominator else None


def rounded(value: Any, digits: int = 4) -> Any:
    return round(value, digits) if isinstance(value, float) else value
