"""Trend against previous runs: which figures of this run regressed.

A run's figures are ``harness.results.summarize`` (latency per query@scale, RLS ratios,
findings, attack throughput, migration time). Each is compared with the median of the same
figure over the last ``WINDOW`` previous runs that have it; it regressed when it is worse by
more than ``TOLERANCE`` (relative) and by more than a small absolute floor (timer noise on
sub-millisecond figures is not a regression). A gate that passed in the previous run and fails
now is a regression too.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from harness.results import RunResults, TrendEntry, higher_is_better, summarize

WINDOW = 5
TOLERANCE = 0.10
FLOORS = (("latency", 0.2), ("migrations", 0.05), ("RLS overhead", 0.05))  # prefix, units


@dataclass(frozen=True, slots=True)
class Regression:
    metric: str
    baseline: float | None  # the median of the window; None for a gate
    current: float | None
    text: str  # "+35% (12 → 16.2; median of 5 run(s))" or "pass → fail"

    @property
    def change(self) -> float | None:
        if self.baseline in (None, 0.0) or self.current is None:
            return None
        assert self.baseline is not None
        return self.current / self.baseline - 1.0


def regressions(results: RunResults, *, window: int = WINDOW,
                tolerance: float = TOLERANCE) -> list[Regression]:
    """Figures and gates of ``results`` that are worse than in the runs of ``results.trend``."""
    if not results.trend:
        return []
    current = summarize(results)
    found = [r for metric, value in sorted(current.metrics.items())
             if (r := _compare(metric, value, results.trend, window, tolerance)) is not None]
    last = results.trend[-1]
    for gate, status in sorted(current.gates.items()):
        if last.gates.get(gate) == "pass" and status in ("fail", "error"):
            found.append(Regression(f"gate {gate}", None, None, f"pass → {status}"))
    return found


def _compare(metric: str, value: float, trend: tuple[TrendEntry, ...], window: int,
             tolerance: float) -> Regression | None:
    history = [e.metrics[metric] for e in trend if metric in e.metrics][-window:]
    if not history:
        return None
    baseline = statistics.median(history)
    worse = baseline - value if higher_is_better(metric) else value - baseline
    floor = next((f for prefix, f in FLOORS if metric.startswith(prefix)), 0.0)
    if worse <= floor or worse <= abs(baseline) * tolerance:
        return None
    change = f"{value / baseline - 1:+.0%} " if baseline else ""
    text = f"{change}({baseline:.4g} → {value:.4g}; median of {len(history)} run(s))"
    return Regression(metric, baseline, value, text)
