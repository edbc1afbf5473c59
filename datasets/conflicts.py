"""The 利益相反 check log: the check a firm runs at intake for each adverse party of a new case.

Each check records what app.conflict_search would have found at that moment: every client and
party of the firm created before it whose conflict key (normalize_party_name, the twin of the
database's app.normalize_party_name) equals the query's. Planted near-duplicates therefore show
up as hits of the check made when they entered the firm's books.
"""

from __future__ import annotations

import json

import numpy as np

from datasets.adverse import Adverse
from datasets.cases import Cases
from datasets.columns import timestamps, uuids
from datasets.context import Ctx, make_batch
from datasets.domain.normalization import normalize_party_names
from datasets.firms import Users
from datasets.loader import Batch
from datasets.parties import People

THRESHOLD = 0.4
Hit = tuple[int, str, str, str, str]  # created (s), source, id, name, normalized name


def _index(clients: People, parties: People) -> dict[str, list[Hit]]:
    keys = normalize_party_names(clients.names + parties.names)
    rows: list[tuple[str, People]] = [("client", clients), ("party", parties)]
    index: dict[str, list[Hit]] = {}
    k = 0
    for source, people in rows:
        for i in range(len(people.ids)):
            index.setdefault(keys[k], []).append(
                (people.created[i], source, people.ids[i], people.names[i], keys[k]))
            k += 1
    return index


def _hits(index: dict[str, list[Hit]], key: str, at: int) -> str:
    found = sorted((h for h in index.get(key, []) if h[0] < at),
                   key=lambda h: (h[1], h[3], h[2]))
    return json.dumps([{"source": h[1], "id": h[2], "name": h[3], "name_normalized": h[4],
                        "similarity": 1} for h in found], ensure_ascii=False)


def generate_conflict_checks(ctx: Ctx, users: Users, clients: People, cases: Cases,
                             adverse: Adverse) -> list[Batch]:
    rng = ctx.rng("conflicts")
    index = _index(clients, adverse.parties)
    keys = normalize_party_names(adverse.parties.names)
    rows: list[tuple[int, int]] = [(i, p) for i, ps in enumerate(adverse.of_case) for p in ps]
    case_idx = np.array([r[0] for r in rows], dtype=np.int64)
    at = cases.opened_at[case_idx] - rng.integers(3600, 3 * 86_400, size=len(rows))
    hits = [_hits(index, keys[p], int(t)) for (_, p), t in zip(rows, at.tolist(), strict=True)]
    columns = {
        "id": uuids(rng, len(rows)),
        "query_name": [adverse.parties.names[p] for _, p in rows],
        "query_normalized": [keys[p] for _, p in rows],
        "threshold": [THRESHOLD] * len(rows),
        "result_count": [len(json.loads(h)) for h in hits], "hits": hits,
        "created_at": timestamps(at),
        "created_by": [users.ids[cases.team[i][0]] for i, _ in rows],
    }
    return [make_batch(ctx, "app.conflict_checks", columns)]
