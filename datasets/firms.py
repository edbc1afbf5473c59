"""The firm itself: its tenant row, the people who log in, its data key, sessions and tokens.

The data key (DEK) of each tenant is random (from the seed) and stored only wrapped by the
key-encryption key (``HARNESS_KEK``, else the seed's development KEK) in ``app.tenant_keys``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

import numpy as np

from datasets.columns import (
    DAY,
    IntArray,
    bytea,
    hex_bytes,
    jst_seconds,
    spread,
    timestamps,
    uuid_from,
    uuids,
)
from datasets.context import Ctx, make_batch
from datasets.domain.people import sample_people
from datasets.loader import Batch
from harness.crypto import DEK_LEN, wrap_aad

SESSIONS_PER_USER = 6


@dataclass(frozen=True, slots=True)
class Users:
    ids: list[str]
    kinds: list[str]  # admin, lawyer, paralegal, staff
    active: np.ndarray  # bool: may log in
    rates: IntArray  # standard hourly rate (yen)
    names: list[str]  # display names (kanji)
    joined: IntArray  # epoch seconds of the user row
    emails: list[str]

    @property
    def admin(self) -> str:
        return self.ids[0]

    def of_kind(self, *kinds: str) -> list[int]:
        return [i for i, k in enumerate(self.kinds) if k in kinds]


@dataclass(frozen=True, slots=True)
class DataKey:
    key_id: str
    dek: bytes = b""

    def __repr__(self) -> str:  # never print the key
        return f"DataKey({self.key_id})"


def tenant_batch(ctx: Ctx) -> Batch:
    f = ctx.firm
    created = timestamps(jst_seconds(np.array([f.founded]), np.array([9 * 60])))
    row = (f.id, f.slug, f.name, f.name_kana, f.is_corporation, "active", created[0], created[0])
    return Batch("app.tenants", ("id", "slug", "name", "name_kana", "is_corporation", "status",
                                 "created_at", "updated_at"), [row])


def _kinds(n: int) -> list[str]:
    lawyers = max(2, round(n * 0.45))
    paralegals = max(1, round(n * 0.2))
    rest = n - 1 - lawyers - paralegals
    return ["admin"] + ["lawyer"] * lawyers + ["paralegal"] * paralegals + ["staff"] * rest


def _emails(ctx: Ctx, family: list[str], given: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for fam, giv in zip(family, given, strict=True):
        local = f"{giv[0].lower()}.{fam.lower()}"
        candidate, k = local, 1
        while candidate in seen:
            k += 1
            candidate = f"{local}{k}"
        seen.add(candidate)
        out.append(f"{candidate}@{ctx.firm.slug}.example.jp")
    return out


def generate_users(ctx: Ctx) -> tuple[Users, list[Batch]]:
    rng = ctx.rng("users")
    n = ctx.tenant.users
    kinds = _kinds(n)
    people = sample_people(rng, n)
    ids = uuids(rng, n)
    joined_day = spread(rng, np.full(n, max(ctx.firm.founded, ctx.today - 3650)),
                        np.full(n, ctx.today - 30))
    joined_day[0] = max(ctx.firm.founded, ctx.today - 3650) - 1
    joined = jst_seconds(joined_day, rng.integers(9 * 60, 18 * 60, size=n))
    status = np.where(rng.random(n) < 0.06, "retired", "active").astype(object)
    status[:2] = "active"  # the admin and the first lawyer: the ground-truth users
    lawyer = np.array([k == "lawyer" for k in kinds])
    rates = np.where(lawyer, rng.integers(4, 11, size=n) * 5000, rng.integers(1, 3, size=n) * 5000)
    bar = rng.choice(np.arange(10000, 60000), size=n, replace=False)
    emails = _emails(ctx, people.family_romaji.tolist(), people.given_romaji.tolist())
    users = Users(ids, kinds, status == "active", rates.astype(np.int64),
                  people.kanji_names(), joined, emails)
    stamps = timestamps(joined)
    columns = {
        "id": ids, "email": emails,
        "display_name": users.names, "name_kana": people.kana_names(), "kind": kinds,
        "bar_number": [str(b) if k == "lawyer" else None for b, k in zip(bar.tolist(), kinds,
                                                                        strict=True)],
        "status": status.tolist(), "created_at": stamps,
        "created_by": [None] + [ids[0]] * (n - 1), "updated_at": stamps,
        "updated_by": [None] + [ids[0]] * (n - 1), "version": [1] * n,
    }
    return users, [make_batch(ctx, "app.users", columns)]


def generate_key(ctx: Ctx) -> tuple[DataKey, list[Batch]]:
    """The tenant's data key, wrapped by the KEK into ``app.tenant_keys``."""
    rng = ctx.rng("dek")
    key_id = uuid_from("dek", ctx.plan.seed, ctx.tid)
    dek = rng.bytes(DEK_LEN)
    aad = wrap_aad(UUID(ctx.tid), UUID(key_id))
    # One wrap per (tenant, key id) under a given KEK: a nonce derived from them is unique.
    nonce = hashlib.sha256(b"wrap-nonce|" + aad).digest()[:12]
    wrapped = ctx.plan.kek.wrap(dek, aad, nonce=nonce)
    created = timestamps(jst_seconds(np.array([ctx.firm.founded]), np.array([9 * 60])))
    columns = {"key_id": [key_id], "wrapped_key": bytea([wrapped]),
               "kek_id": [ctx.plan.kek.kek_id], "created_at": created, "retired_at": [None]}
    return DataKey(key_id, dek), [make_batch(ctx, "app.tenant_keys", columns)]


def generate_sessions(ctx: Ctx, users: Users) -> list[Batch]:
    """Past logins of active users: expired, logged out or rotated; none usable today."""
    rng = ctx.rng("sessions")
    who = np.repeat(np.flatnonzero(users.active), SESSIONS_PER_USER)
    n = who.size
    start = jst_seconds(np.full(n, ctx.today - 60), np.zeros(n, dtype=np.int64))
    created = np.sort(start + (rng.random(n) * 59 * DAY).astype(np.int64))
    ids, token_ids = uuids(rng, n), uuids(rng, n)
    rotated = rng.random(n) < 0.3  # the refresh token was spent on the user's next session
    logout = ~rotated & (rng.random(n) < 0.4)
    revoked = np.where(rotated | logout, created + rng.integers(60, 3000, size=n), 0)
    reason = np.where(rotated, "rotated", np.where(logout, "logout", ""))
    sessions = {
        "id": ids, "user_id": [users.ids[i] for i in who.tolist()],
        "token_hash": hex_bytes(rng, n, 32), "created_at": timestamps(created),
        "expires_at": timestamps(created + 3600),
        "revoked_at": [t if r else None for t, r in zip(timestamps(revoked), reason.tolist(),
                                                       strict=True)],
        "revoked_reason": [r or None for r in reason.tolist()],
    }
    tokens = {
        "id": token_ids, "session_id": ids, "family_id": token_ids, "parent_id": [None] * n,
        "token_hash": hex_bytes(rng, n, 32), "created_at": timestamps(created),
        "expires_at": timestamps(created + 30 * DAY),
        "used_at": [t if r else None for t, r in zip(timestamps(revoked), rotated.tolist(),
                                                    strict=True)],
        "revoked_at": [None] * n,
    }
    return [make_batch(ctx, "app.sessions", sessions),
            make_batch(ctx, "app.refresh_tokens", tokens)]
