"""Clients (依頼者) and their contacts (担当者).

Clients come from the case skeleton: a private client usually brings one matter, a company
several (顧問先 accumulate matters: each new matter goes to an existing company with a
probability growing with its matters so far). Addresses are real postal records, 70% in the
firm's own prefecture. マイナンバー exists only encrypted (AES-256-GCM under the tenant's DEK,
AAD bound to tenant, table, column and row) with its keyed blind index.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from uuid import UUID

import numpy as np

from datasets.columns import IntArray, jst_seconds, nullable, timestamps, uuids
from datasets.context import Ctx, make_batch
from datasets.domain.addresses import AddressBatch, AddressPool
from datasets.domain.identifiers import my_numbers
from datasets.domain.kana import katakana_to_romaji
from datasets.domain.people import email_addresses, sample_people
from datasets.domain.phones import landline_numbers, personal_numbers
from datasets.firms import DataKey, Users
from datasets.loader import Batch
from harness.crypto import compute_blind_index, encrypt_value, field_aad

MY_NUMBER_SHARE = 0.35
_DEPARTMENTS = ("法務部", "総務部", "経理部", "人事部", "管理部", "経営企画部", "営業部")
_TITLES = ("部長", "課長", "係長", "担当", "代表取締役", "取締役", "主任")


@dataclass(slots=True)
class People:
    """A table's worth of persons and companies (clients or parties)."""

    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    kana: list[str] = field(default_factory=list)
    corporate: list[bool] = field(default_factory=list)
    created: list[int] = field(default_factory=list)  # epoch seconds
    emails: list[str | None] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Contacts:
    ids: list[str]
    client: list[int]  # index into clients
    emails: list[str]


def _assign_clients(ctx: Ctx) -> tuple[list[int], list[bool], IntArray]:
    """Per case its client index; per client whether corporate and its first case.

    A repeat matter goes to an earlier client in proportion to the matters it already has
    (preferential attachment): the client of a uniformly drawn earlier matter of that kind.
    """
    sk = ctx.skeleton
    rng = ctx.rng("client-assignment")
    order = np.argsort(sk.opened, kind="stable").tolist()
    draws = rng.random((2, len(order))).tolist()
    case_client = [0] * len(sk)
    corporate: list[bool] = []
    first: list[int] = []
    matters: dict[bool, list[int]] = {True: [], False: []}  # client of each earlier matter
    for k, i in enumerate(order):
        corp = bool(sk.corporate[i])
        earlier = matters[corp]
        if earlier and draws[0][k] < (0.6 if corp else 0.08):
            c = earlier[int(draws[1][k] * len(earlier))]
        else:
            c = len(corporate)
            corporate.append(corp)
            first.append(i)
        earlier.append(c)
        case_client[i] = c
    return case_client, corporate, np.array(first, dtype=np.int64)


def sample_addresses(ctx: Ctx, rng: np.random.Generator, n: int) -> AddressBatch:
    pool = ctx.plan.pools.addresses
    local = [r for r in pool.records if r.prefecture == ctx.firm.prefecture]
    home = AddressPool.of(local) if local else pool
    near = home.sample(rng, n)
    far = pool.sample(rng, n)
    use_far = rng.random(n) >= 0.7
    # Re-index the home records into the national pool so one AddressBatch holds both.
    index = {r.code + r.town: k for k, r in enumerate(pool.records)}
    near_idx = np.array([index[home.records[j].code + home.records[j].town]
                         for j in near.record.tolist()], dtype=np.intp)
    record = np.where(use_far, far.record, near_idx).astype(np.intp)
    block = [f if u else h for f, h, u in zip(far.block, near.block, use_far.tolist(),
                                              strict=True)]
    building = [f if u else h for f, h, u in zip(far.building, near.building, use_far.tolist(),
                                                 strict=True)]
    return AddressBatch(pool, record, block, building)


def address_columns(batch: AddressBatch) -> dict[str, list[str]]:
    city, town = batch.column("city"), batch.column("town")
    lines = [f"{c}{t}{b}" + (f" {bu}" if bu else "") for c, t, b, bu in
             zip(city, town, batch.block, batch.building, strict=True)]
    return {"postal_code": [p.removeprefix("〒") for p in batch.column("postal_code")],
            "prefecture": batch.column("prefecture"), "address": [x[:200] for x in lines],
            "city": city}


def _my_number_columns(ctx: Ctx, key: DataKey, ids: list[str], has: list[bool]
                       ) -> tuple[list[str | None], list[str | None]]:
    """Ciphertext and blind index of a synthetic マイナンバー for the rows that have one."""
    numbers = iter(my_numbers(ctx.rng("my-number"), sum(has)))
    tenant, kid = UUID(ctx.tid), UUID(key.key_id)
    enc: list[str | None] = []
    bidx: list[str | None] = []
    for row_id, present in zip(ids, has, strict=True):
        if not present:
            enc.append(None)
            bidx.append(None)
            continue
        plain = next(numbers)
        aad = field_aad(tenant, "app.clients", "my_number_enc", row_id)
        # Reproducible test data: the nonce is derived from the DEK, AAD and plaintext
        # (SIV-style), never reused for another value (see harness.crypto.encrypt_value).
        nonce = hmac.digest(key.dek, b"nonce|" + aad + plain.encode(), "sha256")[:12]
        enc.append("\\x" + encrypt_value(key.dek, kid, aad, plain, nonce=nonce).hex())
        bidx.append("\\x" + compute_blind_index(key.dek, "my_number", plain).hex())
    return enc, bidx


def generate_clients(ctx: Ctx, users: Users, key: DataKey
                     ) -> tuple[People, list[int], Contacts, list[Batch]]:
    rng = ctx.rng("clients")
    case_client, corporate, first = _assign_clients(ctx)
    n = len(corporate)
    ids = uuids(rng, n)
    corp = np.array(corporate, dtype=bool)
    people = sample_people(rng, n)
    companies = ctx.plan.pools.companies
    # Distinct companies for the corporate clients (法人番号 is unique per firm); the rows of
    # private clients borrow one only to keep the columns aligned.
    picks = iter(rng.choice(len(companies), size=int(corp.sum()), replace=False).tolist())
    comp = [companies.companies[next(picks) if k else 0] for k in corporate]
    names = [c.name if k else p for c, p, k in zip(comp, people.kanji_names(), corporate,
                                                  strict=True)]
    kana = [c.kana if k else p for c, p, k in zip(comp, people.kana_names(), corporate,
                                                 strict=True)]
    addr = address_columns(sample_addresses(ctx, rng, n))
    phones_private = personal_numbers(rng, addr["prefecture"], addr["city"])
    phones_office = landline_numbers(rng, addr["prefecture"], addr["city"])
    mails = email_addresses(rng, people)
    corp_mail = [f"info@{katakana_to_romaji(c.kana).lower()}.example.co.jp" for c in comp]
    has_my_number = ((~corp) & (rng.random(n) < MY_NUMBER_SHARE)).tolist()
    enc, bidx = _my_number_columns(ctx, key, ids, has_my_number)
    sk = ctx.skeleton
    created = jst_seconds(sk.opened[first] - rng.integers(0, 4, size=n),
                          rng.integers(9 * 60, 18 * 60, size=n))
    staff = users.of_kind("lawyer", "paralegal", "staff")
    by = [users.ids[staff[k]] for k in rng.integers(0, len(staff), size=n).tolist()]
    stamps = timestamps(created)
    columns = {
        "id": ids, "kind": ["corporate" if k else "individual" for k in corporate],
        "name": names, "name_kana": kana,
        "corporate_number": nullable([c.corporate_number for c in comp], corporate),
        "my_number_enc": enc, "my_number_bidx": bidx,
        "postal_code": addr["postal_code"], "prefecture": addr["prefecture"],
        "address": addr["address"],
        "phone": [o if k else p for o, p, k in zip(phones_office, phones_private, corporate,
                                                  strict=True)],
        "email": [c if k else (m if r < 0.8 else None) for c, m, k, r in
                  zip(corp_mail, mails, corporate, rng.random(n).tolist(), strict=True)],
        "created_at": stamps, "created_by": by, "updated_at": stamps, "updated_by": by,
        "version": [1] * n,
    }
    clients = People(ids, names, kana, corporate, created.tolist(), columns["email"])
    contacts, batch = _contacts(ctx, clients, users)
    return clients, case_client, contacts, [make_batch(ctx, "app.clients", columns), batch]


def _contacts(ctx: Ctx, clients: People, users: Users) -> tuple[Contacts, Batch]:
    rng = ctx.rng("contacts")
    corp = [i for i, k in enumerate(clients.corporate) if k]
    per = rng.integers(1, 4, size=len(corp))
    owner = np.repeat(np.array(corp, dtype=np.int64), per)
    n = owner.size
    people = sample_people(rng, n)
    first = np.ones(n, dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    created = np.array(clients.created, dtype=np.int64)[owner] + rng.integers(0, 3600, size=n)
    stamps = timestamps(created)
    by = users.ids[0]
    ids = uuids(rng, n)
    mails = email_addresses(rng, people)
    columns = {
        "id": ids, "client_id": [clients.ids[i] for i in owner.tolist()],
        "name": people.kanji_names(), "name_kana": people.kana_names(),
        "department": [_DEPARTMENTS[k] for k in rng.integers(0, len(_DEPARTMENTS), n).tolist()],
        "title": [_TITLES[k] for k in rng.integers(0, len(_TITLES), n).tolist()],
        "phone": personal_numbers(rng, ["東京都"] * n, mobile_share=0.5),
        "email": mails, "is_primary": first.tolist(),
        "created_at": stamps, "created_by": [by] * n, "updated_at": stamps,
        "updated_by": [by] * n, "version": [1] * n,
    }
    return Contacts(ids, owner.tolist(), mails), make_batch(ctx, "app.contacts", columns)

