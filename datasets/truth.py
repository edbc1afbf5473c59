"""Ground truth of a generated dataset: what tests and benchmarks may rely on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from datasets.adverse import Planted
from datasets.loader import LoadStats
from datasets.scales import Scale


@dataclass(frozen=True, slots=True)
class TenantTruth:
    """One generated tenant."""

    index: int
    id: str
    slug: str
    name: str
    is_corporation: bool
    admin_user_id: str  # an active user of kind admin (所長 where RBAC exists)
    lawyer_user_id: str  # an active lawyer
    cases: int
    documents: int


@dataclass(frozen=True, slots=True)
class PlantedTruth:
    """A planted near-duplicate party and the earlier client/party it duplicates."""

    tenant_id: str
    planted: Planted


@dataclass(slots=True)
class DatasetInfo:
    scale: Scale
    seed: int
    today: dt.date
    kek_id: str
    tenants: list[TenantTruth] = field(default_factory=list)
    planted: list[PlantedTruth] = field(default_factory=list)
    stats: LoadStats = field(default_factory=LoadStats)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase

    @property
    def rows_per_second(self) -> float:
        """End to end: plan, generate, encrypt, COPY, indexes, ANALYZE, views."""
        return self.stats.total_rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def load_rows_per_second(self) -> float:
        """The load phase alone: generate, encrypt and COPY (indexes deferred)."""
        load = self.phases.get("load", 0.0)
        return self.stats.total_rows / load if load > 0 else 0.0
