"""Adverse and other parties (相手方, 債権者, 被害者) of each case, and planted near-duplicates.

Insolvency matters list the firm's usual lenders again and again (the same few consumer-finance
companies), and administrative cases are against the state or the prefecture, so those party
rows are shared between cases. A few parties are *planted
near-duplicates* of an earlier client or party of the same firm, written another way (髙/高,
ヴィ/ビ, 株式会社 moved or abbreviated, full/half width, spacing): what a 利益相反 check must
still find. :class:`Planted` records each one as ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasets.columns import jst_seconds, nullable, timestamps, uuids
from datasets.context import Ctx, make_batch
from datasets.domain.people import sample_people
from datasets.domain.phones import landline_numbers, personal_numbers
from datasets.domain.variants import random_variant
from datasets.firms import Users
from datasets.loader import Batch
from datasets.parties import People, address_columns, sample_addresses

PLANTED_SHARE = 0.03
LENDERS = 8
_ADVERSE_CORPORATE = {"家事": 0.0, "労働": 0.95, "債務整理": 1.0, "刑事・少年": 0.0,
                      "企業法務": 0.8, "知的財産": 0.9, "債権回収": 0.6}
_PARTIES_PER_GROUP = {"suit": 1.15, "appeal": 1.1, "mediation": 1.0, "family": 1.0,
                      "execution": 1.0, "criminal": 0.6, "juvenile": 0.5, "none": 0.8,
                      "advisory": 0.2}


@dataclass(frozen=True, slots=True)
class Planted:
    party_id: str
    name: str
    source_table: str  # app.clients or app.parties
    source_id: str
    source_name: str
    kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Adverse:
    parties: People
    of_case: list[list[int]]  # per case: indices into parties
    planted: list[Planted]


def _counts(ctx: Ctx, rng: np.random.Generator) -> list[int]:
    out = []
    for group in ctx.skeleton.group:
        if group == "insolvency":
            out.append(int(rng.integers(2, 7)))
            continue
        mean = _PARTIES_PER_GROUP.get(group, 1.0)
        out.append(int(mean) + int(rng.random() < mean - int(mean)))
    return out


def _public_body(ctx: Ctx, i: int) -> tuple[str, str]:
    """The adverse party of an administrative case: the state or a prefecture."""
    pref = ctx.firm.prefecture
    kana = {"東京都": "トウキョウト", "大阪府": "オオサカフ", "京都府": "キョウトフ",
            "北海道": "ホッカイドウ"}.get(pref, "")
    return ("国", "クニ") if i % 2 or not kana else (pref, kana)


class _Builder:
    """Accumulates party rows: (name, kana, corporate, corporate number, first case)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, bool, str | None, int]] = []

    def add(self, name: str, kana: str, corporate: bool, number: str | None, case: int) -> int:
        self.rows.append((name, kana, corporate, number, case))
        return len(self.rows) - 1


def _regular(ctx: Ctx, rng: np.random.Generator, counts: list[int], b: _Builder
             ) -> list[list[int]]:
    sk = ctx.skeleton
    companies = ctx.plan.pools.companies.companies
    people = sample_people(rng, sum(counts))
    person = iter(zip(people.kanji_names(), people.kana_names(), strict=True))
    company = iter(rng.integers(0, len(companies), size=sum(counts)).tolist())
    lenders = [companies[k] for k in rng.choice(len(companies), size=LENDERS, replace=False)]
    lender_rows: dict[int, int] = {}
    shared: dict[str, int] = {}
    of_case: list[list[int]] = []
    for i, count in enumerate(counts):
        area = sk.category[i].area
        share = _ADVERSE_CORPORATE.get(area, 0.5 if sk.corporate[i] else 0.35)
        mine = []
        for _ in range(count):
            name, kana = next(person)
            c = companies[next(company)]
            if sk.group[i] == "insolvency":
                k = int(rng.integers(LENDERS))
                if k not in lender_rows:
                    lender = lenders[k]
                    lender_rows[k] = b.add(lender.name, lender.kana, True,
                                           lender.corporate_number, i)
                mine.append(lender_rows[k])
            elif area == "行政":  # the state or the prefecture: one party row each
                name, kana = _public_body(ctx, i)
                if name not in shared:
                    shared[name] = b.add(name, kana, True, None, i)
                mine.append(shared[name])
            elif rng.random() < share:
                number = c.corporate_number if rng.random() < 0.7 else None
                mine.append(b.add(c.name, c.kana, True, number, i))
            else:
                mine.append(b.add(name, kana, False, None, i))
        of_case.append(sorted(set(mine)))
    return of_case


def _plant(ctx: Ctx, rng: np.random.Generator, clients: People, case_client: list[int],
           b: _Builder, of_case: list[list[int]]) -> list[tuple[int, str, int, tuple[str, ...]]]:
    """Add near-duplicates of earlier clients/parties to later cases; (party, source table,
    source index, kinds) per planted party."""
    sk = ctx.skeleton
    order = np.argsort(sk.opened, kind="stable").tolist()
    k = max(2, round(PLANTED_SHARE * len(b.rows)))
    later = order[len(order) // 2:]
    client_created = np.array(clients.created, dtype=np.int64)
    party_day = sk.opened[np.array([row[4] for row in b.rows], dtype=np.int64)]
    out = []
    for case in rng.choice(later, size=min(k, len(later)), replace=False).tolist():
        opened = int(sk.opened[case])
        earlier_clients = np.flatnonzero(client_created < opened * 86_400)
        earlier_clients = earlier_clients[earlier_clients != case_client[case]]
        earlier_parties = np.flatnonzero(party_day < opened)
        total = earlier_clients.size + earlier_parties.size
        if total == 0:
            continue
        pick = int(rng.integers(total))
        table, src = (("app.clients", int(earlier_clients[pick])) if pick < earlier_clients.size
                      else ("app.parties", int(earlier_parties[pick - earlier_clients.size])))
        name, kana, corp = ((clients.names[src], clients.kana[src], clients.corporate[src])
                            if table == "app.clients" else b.rows[src][:3])
        variant, kinds = random_variant(rng, name)
        if not kinds:
            continue
        party = b.add(variant, kana, corp, None, case)
        of_case[case].append(party)
        out.append((party, table, src, tuple(str(x) for x in kinds)))
    return out


def generate_parties(ctx: Ctx, users: Users, clients: People, case_client: list[int]
                     ) -> tuple[Adverse, list[Batch]]:
    rng = ctx.rng("parties")
    b = _Builder()
    of_case = _regular(ctx, rng, _counts(ctx, rng), b)
    plants = _plant(ctx, rng, clients, case_client, b, of_case)
    n = len(b.rows)
    ids = uuids(rng, n)
    names, kana, corporate, numbers, first = (list(x) for x in zip(*b.rows, strict=True))
    created = jst_seconds(ctx.skeleton.opened[np.array(first, dtype=np.int64)],
                          rng.integers(9 * 60, 18 * 60, size=n))
    known = rng.random(n) < 0.6
    addr = address_columns(sample_addresses(ctx, rng, n))
    phone = [o if c else p for o, p, c in zip(
        landline_numbers(rng, addr["prefecture"], addr["city"]),
        personal_numbers(rng, addr["prefecture"], addr["city"]), corporate, strict=True)]
    by = [users.ids[0]] * n
    stamps = timestamps(created)
    columns = {
        "id": ids, "kind": ["corporate" if c else "individual" for c in corporate],
        "name": names, "name_kana": kana, "corporate_number": numbers,
        "postal_code": nullable(addr["postal_code"], known),
        "prefecture": nullable(addr["prefecture"], known),
        "address": nullable(addr["address"], known),
        "phone": nullable(phone, known & (rng.random(n) < 0.7)),
        "note": [None] * n, "created_at": stamps, "created_by": by, "updated_at": stamps,
        "updated_by": by, "version": [1] * n,
    }
    planted = [Planted(ids[p], names[p], t,
                       clients.ids[s] if t == "app.clients" else ids[s],
                       clients.names[s] if t == "app.clients" else names[s], kinds)
               for p, t, s, kinds in plants]
    parties = People(ids, names, kana, corporate, created.tolist(), [None] * n)
    return Adverse(parties, of_case, planted), [make_batch(ctx, "app.parties", columns)]

