"""The plan of a dataset: which firms, how big, with which shared pools, before any row.

Everything random is drawn from :func:`derive_rng` streams named after their purpose, so the
same (scale, seed, today) always gives the same plan, and a new purpose never shifts the
existing streams.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass

import numpy as np

from datasets.columns import days_of, uuid_from
from datasets.domain.addresses import PREFECTURE_POPULATION, AddressPool, build_address_pool
from datasets.domain.companies import CompanyPool, build_company_pool
from datasets.domain.people import NamePools, name_pools
from datasets.domain.seeding import derive_rng
from datasets.domain.words import PLACES
from datasets.reference import Reference
from datasets.scales import Scale
from datasets.skeleton import CaseSkeleton, allocate_case_numbers, build_skeleton
from harness.crypto import KEK_ENV_VAR, EnvKeyProvider, StaticKeyProvider

DEFAULT_TODAY = dt.date(2026, 3, 31)  # the dataset's "today": end of a fiscal year
HISTORY_YEARS = 10


@dataclass(frozen=True, slots=True)
class Firm:
    """A tenant: one law firm."""

    index: int
    id: str
    slug: str
    name: str
    name_kana: str
    is_corporation: bool  # 弁護士法人: its fees carry no 源泉徴収
    prefecture: str
    founded: int  # epoch days


@dataclass(frozen=True, slots=True)
class TenantPlan:
    firm: Firm
    cases: int
    documents: int
    users: int
    skeleton: CaseSkeleton


@dataclass(frozen=True, slots=True)
class Pools:
    names: NamePools
    addresses: AddressPool
    companies: CompanyPool


@dataclass(frozen=True, slots=True)
class Plan:
    scale: Scale
    seed: int
    today: int  # epoch days
    reference: Reference
    pools: Pools
    kek: StaticKeyProvider
    tenants: tuple[TenantPlan, ...]

    def rng(self, label: str) -> np.random.Generator:
        return derive_rng(self.seed, label)


def key_provider(seed: int) -> StaticKeyProvider:
    """``HARNESS_KEK`` when set, else a development KEK derived from the seed (test data only:
    anyone who knows the seed can unwrap its data keys)."""
    if os.environ.get(KEK_ENV_VAR, "").strip():
        return EnvKeyProvider()
    key = hashlib.sha256(f"harness datasets development KEK|{seed}".encode()).digest()
    return StaticKeyProvider(key, source=f"development KEK of seed {seed}")


def _firm_name(rng: np.random.Generator, pools: NamePools, corporation: bool
               ) -> tuple[str, str, str]:
    """(name, kana, romaji slug stem) of a firm."""
    fam = pools.family
    a, b = (int(x) for x in fam.sample(rng, 2))
    style = rng.random()
    if style < 0.6:
        name, kana, stem = fam.kanji[a], fam.kana[a], fam.romaji[a]
    elif style < 0.8 and a != b:
        name = f"{fam.kanji[a]}・{fam.kanji[b]}"
        kana, stem = f"{fam.kana[a]}・{fam.kana[b]}", f"{fam.romaji[a]}-{fam.romaji[b]}"
    else:
        place, place_kana = PLACES[int(rng.integers(len(PLACES)))]
        name, kana, stem = f"{place}総合", f"{place_kana}ソウゴウ", fam.romaji[a]
    prefix, prefix_kana = ("弁護士法人", "ベンゴシホウジン") if corporation else ("", "")
    return (f"{prefix}{name}法律事務所", f"{prefix_kana}{kana}ホウリツジムショ",
            "".join(ch for ch in str(stem).lower() if ch.isascii() and (ch.isalpha() or
                                                                       ch == "-")))


def _firms(seed: int, n: int, today: int, pools: NamePools) -> list[Firm]:
    rng = derive_rng(seed, "firms")
    prefs = list(PREFECTURE_POPULATION)
    weight = np.array([PREFECTURE_POPULATION[p] for p in prefs], dtype=np.float64) ** 1.5
    firms = []
    for i in range(n):
        # The largest firm is an individual practice (its corporate clients withhold tax);
        # the second a 弁護士法人, so both billing rules occur at every scale.
        corporation = i == 1 or (i > 1 and rng.random() < 0.3)
        name, kana, stem = _firm_name(rng, pools, corporation)
        pref = "東京都" if i == 0 else prefs[int(rng.choice(len(prefs), p=weight / weight.sum()))]
        age = int(365 * (HISTORY_YEARS + 2 + rng.integers(0, 30)))
        firms.append(Firm(i, uuid_from("tenant", seed, i), f"{stem[:40]}-law-{i + 1:03d}",
                          name, kana, corporation, pref, today - age))
    return firms


def make_plan(reference: Reference, scale: Scale, seed: int,
              today: dt.date = DEFAULT_TODAY) -> Plan:
    """Firms, their sizes and case skeletons, the pools, and the key-encryption key."""
    names = name_pools()
    day = days_of(today)
    firms = _firms(seed, scale.tenants, day, names)
    cases = scale.per_tenant(scale.cases, minimum=5)
    documents = scale.per_tenant(scale.documents, minimum=10)
    users = scale.per_tenant(scale.users, minimum=5)
    first = day - 365 * HISTORY_YEARS
    skeletons = [build_skeleton(derive_rng(seed, f"skeleton/{f.index}"), reference, cases[i],
                                f.prefecture, max(first, f.founded), day)
                 for i, f in enumerate(firms)]
    allocate_case_numbers(skeletons)
    companies = max(3000, int(cases[0] * 0.6) + 500)
    pools = Pools(names, build_address_pool(derive_rng(seed, "addresses"), 6000),
                  build_company_pool(derive_rng(seed, "companies"), companies))
    tenants = tuple(TenantPlan(f, cases[i], documents[i], users[i], skeletons[i])
                    for i, f in enumerate(firms))
    return Plan(scale, seed, day, reference, pools, key_provider(seed), tenants)
