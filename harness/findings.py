"""Findings: what the harness discovers about a database, as data.

The console, JSON, JUnit and HTML outputs are renderings of the same list of findings.
A finding is not an error: errors (``HarnessError``) are misuse or environment problems.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True, slots=True)
class Finding:
    """One discovered weakness, with enough to reproduce it."""

    rule: str  # stable id, e.g. "RLS001"
    severity: str  # one of SEVERITIES
    object: str  # the table, policy, function or role concerned
    message: str  # one sentence: what is wrong and why it matters
    tenants: tuple[str, str] | None = None  # (acting tenant, victim tenant) for attacks
    evidence: dict[str, Any] = field(default_factory=dict)
    reproducer: str = ""  # a psql script that shows it
    seed: int | None = None  # hypothesis seed, for attacks

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tenants"] = list(self.tenants) if self.tenants else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        tenants = data.get("tenants")
        return cls(**{**data, "tenants": tuple(tenants) if tenants else None})


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by rule and object: a stable order for every output."""
    return sorted(findings, key=lambda f: (SEVERITIES.index(f.severity), f.rule, f.object))


def dumps(findings: Iterable[Finding]) -> str:
    return json.dumps([f.to_dict() for f in sort_findings(findings)], ensure_ascii=False,
                      indent=2, default=str)
