"""Named data scales, in one place.

A scale fixes the number of tenants, the size of the largest tenant, and the Zipf exponent
that spreads the rest: a few large firms and many small ones. Explicit overrides
(``--tenants``, ``--cases``, ``--documents``) derive a new Scale from a named one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from harness.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Scale:
    name: str
    tenants: int
    cases: int  # cases of the largest tenant
    documents: int  # documents of the largest tenant
    users: int  # users of the largest tenant
    zipf: float = 1.1  # tenant k (1-based) gets 1 / k**zipf of the largest tenant's volume

    def weights(self) -> np.ndarray:
        """Each tenant's share of the largest tenant's volume, largest first."""
        return 1.0 / np.arange(1, self.tenants + 1, dtype=np.float64) ** self.zipf

    def per_tenant(self, largest: int, minimum: int = 1) -> list[int]:
        return [max(minimum, int(round(largest * w))) for w in self.weights()]

    @property
    def docs_per_case(self) -> float:
        return self.documents / self.cases


SCALES: dict[str, Scale] = {
    s.name: s for s in (
        Scale("tiny", tenants=3, cases=40, documents=200, users=8),
        Scale("small", tenants=8, cases=1_000, documents=10_000, users=40),
        Scale("medium", tenants=20, cases=10_000, documents=100_000, users=150),
        Scale("large", tenants=40, cases=100_000, documents=1_000_000, users=600),
    )
}


def get_scale(name: str, *, tenants: int | None = None, cases: int | None = None,
              documents: int | None = None) -> Scale:
    """A named scale, with explicit overrides applied (each must be positive)."""
    try:
        scale = SCALES[name]
    except KeyError:
        raise ConfigError(
            f"unknown scale {name!r}",
            hint=f"choose one of {', '.join(SCALES)} (and override with --tenants/--cases/"
            "--documents)",
        ) from None
    overrides = {"tenants": tenants, "cases": cases, "documents": documents}
    for key, value in overrides.items():
        if value is not None and value < 1:
            raise ConfigError(f"{key}={value} must be at least 1", hint=f"give a positive {key}")
    changed = {k: v for k, v in overrides.items() if v is not None}
    if changed:
        scale = replace(scale, name=f"{scale.name}+custom", **changed)
    return scale
