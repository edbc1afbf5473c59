"""What the generators of one tenant share: the plan, the tenant, and how rows become batches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from datasets.domain.seeding import derive_rng
from datasets.loader import Batch
from datasets.plan import Firm, Plan, TenantPlan
from datasets.skeleton import CaseSkeleton


@dataclass(frozen=True, slots=True)
class Ctx:
    plan: Plan
    tenant: TenantPlan

    @property
    def firm(self) -> Firm:
        return self.tenant.firm

    @property
    def tid(self) -> str:
        return self.tenant.firm.id

    @property
    def today(self) -> int:
        return self.plan.today

    @property
    def skeleton(self) -> CaseSkeleton:
        return self.tenant.skeleton

    def rng(self, label: str) -> np.random.Generator:
        """An independent stream for one purpose of this tenant."""
        return derive_rng(self.plan.seed, f"{label}/{self.tenant.firm.index}")

    def has(self, *tables: str) -> bool:
        return self.plan.reference.has(*tables)


def make_batch(ctx: Ctx, table: str, columns: Mapping[str, Any]) -> Batch:
    """Rows of ``table`` from equal-length columns (lists of str, int, bool or None, keyed by
    column name); ``tenant_id`` is added first."""
    lengths = {len(c) for c in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"{table}: columns of different lengths {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    names = ["tenant_id", *columns]
    return Batch(table, names, zip([ctx.tid] * n, *columns.values(), strict=True))
