"""The budget table (budgets.toml) and the verdict of a measurement against it.

One table holds, per query, the *requirement* (asserted at every scale) and the *target*
(asserted from the scale it is stated for upwards). Both are shown in every report; which ones
are asserted depends on the scale of the run.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.performance.stats import Summary

DEFAULT_TABLE = Path(__file__).with_name("budgets.toml")
BUDGETS_ENV = "HARNESS_BENCH_BUDGETS"
SCALE_ORDER = ("tiny", "small", "medium", "large")
METRICS = ("p50", "median", "p95", "p99", "mean", "min", "max")


class BudgetError(ValueError):
    """A malformed budget table or an unknown query id."""


@dataclass(frozen=True, slots=True)
class Budget:
    query: str
    title: str
    requirement: str
    target_ms: float
    target_scale: str  # a scale name, or "any"
    target: str
    rows: str
    requirement_ms: float | None = None  # None: the issue states no requirement ("—")
    metric: str = "p95"

    def target_applies(self, scale: str) -> bool:
        """Whether the target is asserted at ``scale`` (``large+custom`` counts as large)."""
        if self.target_scale == "any":
            return True
        return scale_rank(scale) >= scale_rank(self.target_scale)


@dataclass(frozen=True, slots=True)
class Check:
    kind: str  # requirement | target
    limit_ms: float
    value_ms: float
    asserted: bool

    @property
    def ok(self) -> bool:
        return self.value_ms <= self.limit_ms


@dataclass(frozen=True, slots=True)
class Verdict:
    budget: Budget
    scale: str
    summary: Summary
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """Every asserted check holds (a missed target that is only shown does not fail)."""
        return all(c.ok for c in self.checks if c.asserted)

    def failures(self) -> list[str]:
        return [f"{self.budget.query}: {self.budget.metric} {c.value_ms:.2f} ms > {c.kind} "
                f"{c.limit_ms:g} ms ({self._text(c.kind)}) at scale {self.scale}"
                for c in self.checks if c.asserted and not c.ok]

    def _text(self, kind: str) -> str:
        return self.budget.requirement if kind == "requirement" else self.budget.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.budget.metric,
            "requirement_ms": self.budget.requirement_ms,
            "requirement": self.budget.requirement,
            "target_ms": self.budget.target_ms,
            "target": self.budget.target,
            "target_scale": self.budget.target_scale,
            "asserted": [c.kind for c in self.checks if c.asserted],
            "requirement_ok": next((c.ok for c in self.checks if c.kind == "requirement"), None),
            "target_ok": next(c.ok for c in self.checks if c.kind == "target"),
            "pass": self.ok,
        }


def scale_rank(scale: str) -> int:
    """Position of a scale (its base name before ``+custom``) in tiny < small < medium < large."""
    base = scale.split("+", 1)[0]
    try:
        return SCALE_ORDER.index(base)
    except ValueError:
        raise BudgetError(f"unknown scale {scale!r}: expected one of "
                          f"{', '.join(SCALE_ORDER)}") from None


def parse_table(data: Mapping[str, Any], source: str = "<table>") -> dict[str, Budget]:
    """Budgets from the parsed TOML; every field checked, unknown keys refused."""
    budgets: dict[str, Budget] = {}
    known = set(Budget.__dataclass_fields__) - {"query"}
    for query, row in data.items():
        if not isinstance(row, Mapping):
            raise BudgetError(f"{source}: [{query}] is not a table")
        unknown = set(row) - known
        missing = {"title", "requirement", "target_ms", "target_scale", "target",
                   "rows"} - set(row)
        if unknown or missing:
            raise BudgetError(f"{source}: [{query}] unknown keys {sorted(unknown)}, "
                              f"missing keys {sorted(missing)}")
        budget = Budget(query=query, **row)
        _validate(budget, source)
        budgets[query] = budget
    return budgets


def _validate(budget: Budget, source: str) -> None:
    where = f"{source}: [{budget.query}]"
    for name in ("requirement_ms", "target_ms"):
        value = getattr(budget, name)
        if value is None and name == "requirement_ms":
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise BudgetError(f"{where} {name} must be a positive number of milliseconds")
    if budget.requirement_ms is not None and budget.target_ms > budget.requirement_ms:
        raise BudgetError(f"{where} target {budget.target_ms} ms is looser than the "
                          f"requirement {budget.requirement_ms} ms")
    if budget.metric not in METRICS:
        raise BudgetError(f"{where} metric {budget.metric!r} is not one of {', '.join(METRICS)}")
    if budget.target_scale != "any":
        scale_rank(budget.target_scale)


def load_table(path: Path | None = None) -> dict[str, Budget]:
    """The table at ``path``, else $HARNESS_BENCH_BUDGETS, else the shipped budgets.toml."""
    chosen = path or Path(os.environ.get(BUDGETS_ENV) or DEFAULT_TABLE)
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BudgetError(f"cannot read the budget table {chosen}: {exc}") from exc
    return parse_table(data, str(chosen))


def judge(budget: Budget, scale: str, summary: Summary) -> Verdict:
    """Checks of a summary against the requirement (always, where there is one) and the
    target (from its scale up)."""
    value = summary.metric(budget.metric)
    checks = [Check("target", budget.target_ms, value, asserted=budget.target_applies(scale))]
    if budget.requirement_ms is not None:
        checks.insert(0, Check("requirement", budget.requirement_ms, value, asserted=True))
    return Verdict(budget, scale, summary, tuple(checks))
