"""The scanner's rules, one module per family; ``RULES`` is the registry in report order."""

from __future__ import annotations

from harness.rules import evaluation, functions, policies, roles, server, tables
from harness.rules.context import Rule, ScanContext

RULES: tuple[Rule, ...] = (
    *tables.RULES[:2], *roles.RULES, *policies.RULES, *evaluation.RULES, *tables.RULES[2:],
    *functions.RULES, *server.RULES,
)

__all__ = ["RULES", "Rule", "ScanContext"]
