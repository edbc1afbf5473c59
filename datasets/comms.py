"""V026 correspondence: threads per case or client, messages on every channel, participants,
email headers, attachments, templates, retention rules and legal holds.

A thread alternates between the firm and the other side: emails mostly, then calls, letters,
faxes and meetings. Privileged (秘匿) messages — strategy with the client — exist only as the
AES-256-GCM envelope under the tenant's data key (AAD: tenant, app.messages, body_enc, row).
Emails carry a Message-ID unique in the firm and In-Reply-To the previous email of the
thread; outgoing emails sometimes attach the case's own documents.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import numpy as np

from datasets.adverse import Adverse
from datasets.cases import Cases
from datasets.columns import DAY, jst_seconds, timestamps, uuids
from datasets.context import Ctx, make_batch
from datasets.domain.vocabulary import vocabulary
from datasets.firms import DataKey, Users
from datasets.loader import Batch
from datasets.parties import Contacts, People
from harness.crypto import encrypt_value, field_aad

COMMS = ("app.communication_threads", "app.messages", "app.message_participants",
         "app.email_messages", "app.message_attachments", "app.message_templates",
         "app.message_template_versions", "app.retention_rules", "app.legal_holds")
_CHANNELS = ("email", "phone", "letter", "fax", "meeting", "web_form")
_CHANNEL_WEIGHTS = (0.62, 0.15, 0.09, 0.04, 0.08, 0.02)
_SUBJECTS = ("{t}について", "{t}：期日のご報告", "{t}：和解案のご検討", "{t}：資料ご提出のお願い",
             "{t}：ご請求について", "{t}：今後の進め方")
_BODY = ("{to}\n\nいつもお世話になっております。{firm}の{me}です。\n{topic}の件につき、"
         "{term}の点を中心に検討いたしました。\n詳細は添付資料をご確認ください。\n"
         "ご不明な点がございましたら、お気軽にお問い合わせください。\n\n"
         "引き続きよろしくお願いいたします。")
_TEMPLATES = (
    ("受任通知", "letter", "受任のご通知", "{{client_name}}様\n{{case_title}}について、"
     "当職が受任いたしましたのでご通知申し上げます。"),
    ("期日のご案内", "email", "{{case_title}}：次回期日のご案内",
     "{{client_name}}様\n次回期日は{{hearing_date}}です。ご出頭をお願いいたします。"),
    ("請求書送付のご案内", "email", "請求書送付のご案内",
     "{{client_name}}様\n{{invoice_number}}の請求書をお送りいたします。"),
    ("事件終結のご報告", "letter", "{{case_title}}：終結のご報告",
     "{{client_name}}様\n本件は終結いたしました。長らくありがとうございました。"),
)


@dataclass(slots=True)
class _Messages:
    thread: list[int] = field(default_factory=list)
    channel: list[str] = field(default_factory=list)
    outgoing: list[bool] = field(default_factory=list)
    at: list[int] = field(default_factory=list)
    author: list[int] = field(default_factory=list)  # user index (sender or handler)
    privileged: list[bool] = field(default_factory=list)


def _threads(ctx: Ctx, rng: np.random.Generator, cases: Cases) -> tuple[list[int], list[int]]:
    """(case or -1, client) of each thread: case threads, plus client-only inquiries."""
    sk = ctx.skeleton
    per = rng.poisson(np.where(sk.filed < 10**6, 2.0, 1.0))
    case_of = np.repeat(np.arange(len(sk)), per).tolist()
    client_of = [cases.client[c] for c in case_of]
    corporate = sorted({c for c in cases.client if rng.random() < 0.2})
    return case_of + [-1] * len(corporate), client_of + corporate


def _schedule(ctx: Ctx, rng: np.random.Generator, cases: Cases, case_of: list[int]
              ) -> _Messages:
    sk = ctx.skeleton
    out = _Messages()
    limit = jst_seconds(np.array([ctx.today]), np.array([20 * 60]))[0]
    channels = iter(rng.choice(len(_CHANNELS), size=8 * len(case_of) + 8,
                               p=_CHANNEL_WEIGHTS).tolist())
    for t, c in enumerate(case_of):
        start = int(cases.opened_at[c]) if c >= 0 else limit - int(rng.integers(30, 700)) * DAY
        team = cases.team[c] if c >= 0 else cases.team[0]
        at = start + int(rng.integers(3600, 5 * DAY))
        for k in range(int(rng.integers(1, 9))):
            if at > limit:
                break
            out.thread.append(t)
            out.channel.append(_CHANNELS[next(channels)])
            out.outgoing.append(k % 2 == 0)
            out.at.append(at)
            out.author.append(team[k % len(team)])
            out.privileged.append(c >= 0 and sk.status[c] != "終結" and rng.random() < 0.15)
            at += int(rng.integers(3600, 12 * DAY))
    return out


def _encrypt(ctx: Ctx, key: DataKey, row_id: str, text: str) -> str:
    aad = field_aad(UUID(ctx.tid), "app.messages", "body_enc", row_id)
    # Reproducible test data: an SIV-style nonce (see harness.crypto.encrypt_value).
    nonce = hmac.digest(key.dek, b"nonce|" + aad + text.encode(), "sha256")[:12]
    return "\\x" + encrypt_value(key.dek, UUID(key.key_id), aad, text, nonce=nonce).hex()


def _bodies(ctx: Ctx, rng: np.random.Generator, users: Users, clients: People, cases: Cases,
            client_of: list[int], case_of: list[int], m: _Messages) -> list[str]:
    terms = vocabulary().terms
    picks = rng.integers(0, 60, size=len(m.thread)).tolist()
    out = []
    for k, t in enumerate(m.thread):
        topic = cases.titles[case_of[t]] if case_of[t] >= 0 else "ご相談"
        out.append(_BODY.format(to=f"{clients.names[client_of[t]]}様", firm=ctx.firm.name,
                                me=users.names[m.author[k]], topic=topic,
                                term=terms[picks[k]]))
    return out


def generate_comms(ctx: Ctx, key: DataKey, users: Users, clients: People, contacts: Contacts,
                   cases: Cases, adverse: Adverse, documents: dict[int, list[str]]
                   ) -> list[Batch]:
    rng = ctx.rng("comms")
    case_of, client_of = _threads(ctx, rng, cases)
    m = _schedule(ctx, rng, cases, case_of)
    thread_ids = uuids(rng, len(case_of))
    ids = uuids(rng, len(m.thread))
    bodies = _bodies(ctx, rng, users, clients, cases, client_of, case_of, m)
    first_at: dict[int, int] = {}
    last_at: dict[int, int] = {}
    for t, at in zip(m.thread, m.at, strict=True):
        first_at.setdefault(t, at)
        last_at[t] = at
    batches = [
        _thread_batch(ctx, users, clients, cases, case_of, client_of, thread_ids, first_at,
                      last_at),
        _message_batch(ctx, rng, key, users, m, ids, thread_ids, bodies),
        _participant_batch(ctx, rng, users, clients, contacts, adverse, case_of, client_of, m,
                           ids),
        _email_batch(ctx, rng, m, ids, cases, case_of, clients, client_of),
        _attachment_batch(ctx, rng, m, ids, case_of, documents, users),
        *_templates(ctx, rng, users),
        _retention(ctx, rng, users),
        _holds(ctx, rng, users, cases, case_of, thread_ids),
    ]
    return batches


def _stamped(at: list[str], by: list[str]) -> dict[str, list[Any]]:
    return {"created_at": at, "created_by": by, "updated_at": at, "updated_by": by,
            "version": [1] * len(at)}


def _thread_batch(ctx: Ctx, users: Users, clients: People, cases: Cases, case_of: list[int],
                  client_of: list[int], ids: list[str], first_at: dict[int, int],
                  last_at: dict[int, int]) -> Batch:
    n = len(ids)
    created = np.array([first_at.get(t, int(cases.opened_at[max(c, 0)])) - 600
                        for t, c in enumerate(case_of)], dtype=np.int64)
    by = [users.ids[cases.team[max(c, 0)][0]] for c in case_of]
    subjects = [_SUBJECTS[t % len(_SUBJECTS)].format(t=cases.titles[c] if c >= 0 else
                                                      "ご相談")[:300]
                for t, c in enumerate(case_of)]
    # A case thread names the client too in two of three cases (the schema checks the pair).
    client = [clients.ids[client_of[t]] if c < 0 or t % 3 else None
              for t, c in enumerate(case_of)]
    columns = {"id": ids, "case_id": [cases.ids[c] if c >= 0 else None for c in case_of],
               "client_id": client, "subject": subjects, **_stamped(timestamps(created), by)}
    columns["updated_at"] = timestamps(np.array([last_at.get(t, int(created[t])) for t in
                                                 range(n)], dtype=np.int64))
    return make_batch(ctx, "app.communication_threads", columns)


def _message_batch(ctx: Ctx, rng: np.random.Generator, key: DataKey, users: Users,
                   m: _Messages, ids: list[str], thread_ids: list[str], bodies: list[str]
                   ) -> Batch:
    at = np.array(m.at, dtype=np.int64)
    delay = rng.integers(5, 3600, size=at.size)
    by = [users.ids[a] for a in m.author]
    sent = [t if o or c == "email" else None for t, o, c in
            zip(timestamps(at), m.outgoing, m.channel, strict=True)]
    columns = {
        "id": ids, "thread_id": [thread_ids[t] for t in m.thread], "channel": m.channel,
        "direction": ["out" if o else "in" for o in m.outgoing], "sent_at": sent,
        "received_at": [None if o else t for t, o in zip(timestamps(at + delay), m.outgoing,
                                                          strict=True)],
        "author_user_id": [b if o else None for b, o in zip(by, m.outgoing, strict=True)],
        "privileged": m.privileged,
        "body": [None if p else b for b, p in zip(bodies, m.privileged, strict=True)],
        "body_enc": [_encrypt(ctx, key, i, b) if p else None
                     for i, b, p in zip(ids, bodies, m.privileged, strict=True)],
        **_stamped(timestamps(at + delay + 60), by),
    }
    return make_batch(ctx, "app.messages", columns)


def _participant_batch(ctx: Ctx, rng: np.random.Generator, users: Users, clients: People,
                       contacts: Contacts, adverse: Adverse, case_of: list[int],
                       client_of: list[int], m: _Messages, ids: list[str]) -> Batch:
    by_client: dict[int, list[int]] = {}
    for k, c in enumerate(contacts.client):
        by_client.setdefault(c, []).append(k)
    rows: list[tuple[int, str, str, str | None, str | None]] = []  # msg, role, column, id, addr
    for k, t in enumerate(m.thread):
        me = ("user_id", users.ids[m.author[k]], users.emails[m.author[k]])
        other = _counterpart(rng, clients, contacts, adverse, by_client, case_of[t],
                             client_of[t])
        sender, recipient = (me, other) if m.outgoing[k] else (other, me)
        rows.append((k, "from", *sender))
        rows.append((k, "to", *recipient))
        if m.channel[k] == "email" and rng.random() < 0.3:
            helper = users.ids[(m.author[k] + 1) % len(users.ids)]
            if helper != me[1] and helper != recipient[1]:
                rows.append((k, "cc", "user_id", helper, None))
    at = timestamps(np.array([m.at[r[0]] for r in rows], dtype=np.int64) + 120)
    by = [users.ids[m.author[r[0]]] for r in rows]
    columns: dict[str, list[Any]] = {"id": uuids(rng, len(rows)),
                                        "message_id": [ids[r[0]] for r in rows],
                                        "role": [r[1] for r in rows]}
    for name in ("party_id", "client_id", "contact_id", "user_id"):
        columns[name] = [r[3] if r[2] == name else None for r in rows]
    columns["address"] = [r[4] for r in rows]
    columns.update(_stamped(at, by))
    return make_batch(ctx, "app.message_participants", columns)


def _counterpart(rng: np.random.Generator, clients: People, contacts: Contacts,
                 adverse: Adverse, by_client: dict[int, list[int]], case: int, client: int
                 ) -> tuple[str, str, str | None]:
    """Who the firm writes with: the client (or its contact), sometimes the other side."""
    if case >= 0 and adverse.of_case[case] and rng.random() < 0.25:
        p = adverse.of_case[case][0]
        return "party_id", adverse.parties.ids[p], None
    if clients.corporate[client] and by_client.get(client):
        k = by_client[client][0]
        return "contact_id", contacts.ids[k], contacts.emails[k]
    return "client_id", clients.ids[client], clients.emails[client]


def _email_batch(ctx: Ctx, rng: np.random.Generator, m: _Messages, ids: list[str],
                 cases: Cases, case_of: list[int], clients: People, client_of: list[int]
                 ) -> Batch:
    emails = [k for k, c in enumerate(m.channel) if c == "email"]
    domain = f"{ctx.firm.slug}.example.jp"
    host = {True: domain, False: "mail.example.com"}
    mid = {k: f"<{ids[k].replace('-', '')[:24]}.{k}@{host[m.outgoing[k]]}>" for k in emails}
    previous: dict[int, int] = {}
    reply: list[str | None] = []
    for k in emails:
        t = m.thread[k]
        reply.append(mid[previous[t]] if t in previous else None)
        previous[t] = k
    headers = [json.dumps({"Subject": cases.titles[case_of[m.thread[k]]] if case_of[m.thread[k]]
                           >= 0 else "ご相談", "Content-Type": "text/plain; charset=UTF-8"},
                          ensure_ascii=False) for k in emails]
    at = timestamps(np.array([m.at[k] for k in emails], dtype=np.int64) + 60)
    columns = {"id": [ids[k] for k in emails], "channel": ["email"] * len(emails),
               "message_id": [mid[k] for k in emails], "in_reply_to": reply,
               "headers": headers, "created_at": at, "created_by": [None] * len(emails),
               "updated_at": at, "updated_by": [None] * len(emails),
               "version": [1] * len(emails)}
    return make_batch(ctx, "app.email_messages", columns)


def _attachment_batch(ctx: Ctx, rng: np.random.Generator, m: _Messages, ids: list[str],
                      case_of: list[int], documents: dict[int, list[str]], users: Users
                      ) -> Batch:
    rows = []
    for k, t in enumerate(m.thread):
        docs = documents.get(case_of[t], []) if case_of[t] >= 0 else []
        if docs and m.channel[k] == "email" and m.outgoing[k] and rng.random() < 0.3:
            rows.append((k, docs[int(rng.integers(len(docs)))]))
    at = timestamps(np.array([m.at[k] for k, _ in rows], dtype=np.int64) + 30)
    columns = {"id": uuids(rng, len(rows)), "message_id": [ids[k] for k, _ in rows],
               "document_id": [d for _, d in rows], "created_at": at,
               "created_by": [users.ids[m.author[k]] for k, _ in rows]}
    return make_batch(ctx, "app.message_attachments", columns)


def _templates(ctx: Ctx, rng: np.random.Generator, users: Users) -> list[Batch]:
    n = len(_TEMPLATES)
    ids = uuids(rng, n)
    at = timestamps(jst_seconds(np.full(n, ctx.today - 900), np.full(n, 600)))
    templates = {"id": ids, "name": [t[0] for t in _TEMPLATES],
                 "channel": [t[1] for t in _TEMPLATES], **_stamped(at, [users.admin] * n)}
    rows = [(k, v) for k in range(n) for v in range(1 + k % 2)]
    versions = {
        "id": uuids(rng, len(rows)), "template_id": [ids[k] for k, _ in rows],
        "number": [v + 1 for _, v in rows], "subject": [_TEMPLATES[k][2] for k, _ in rows],
        "body": [_TEMPLATES[k][3] + ("\n（改訂）" if v else "") for k, v in rows],
        "placeholders": ["{" + ",".join(_placeholders(_TEMPLATES[k][2] + _TEMPLATES[k][3]))
                         + "}" for k, _ in rows],
        "created_at": [at[k] for k, _ in rows], "created_by": [users.admin] * len(rows),
    }
    return [make_batch(ctx, "app.message_templates", templates),
            make_batch(ctx, "app.message_template_versions", versions)]


def _placeholders(text: str) -> list[str]:
    return sorted(set(re.findall(r"\{\{\s*([a-z][a-z0-9_]{0,62})\s*\}\}", text)))


def _retention(ctx: Ctx, rng: np.random.Generator, users: Users) -> Batch:
    at = timestamps(jst_seconds(np.full(2, ctx.today - 900), np.full(2, 600)))
    columns = {"id": uuids(rng, 2), "entity": ["communication_thread", "message"],
               "keep_years": [10, 10], **_stamped(at, [users.admin] * 2)}
    return make_batch(ctx, "app.retention_rules", columns)


def _holds(ctx: Ctx, rng: np.random.Generator, users: Users, cases: Cases,
           case_of: list[int], thread_ids: list[str]) -> Batch:
    sk = ctx.skeleton
    on_cases = [i for i in range(len(sk)) if sk.group[i] in ("suit", "appeal")
                and rng.random() < 0.05]
    on_threads = [t for t in range(len(thread_ids)) if rng.random() < 0.01]
    if not on_cases and not on_threads and thread_ids:
        on_threads = [0]  # every firm has had at least one hold
    placed = np.array([int(cases.opened_at[i]) + 30 * DAY for i in on_cases]
                      + [int(cases.opened_at[max(case_of[t], 0)]) + 10 * DAY
                         for t in on_threads], dtype=np.int64)
    limit = jst_seconds(np.array([ctx.today]), np.array([9 * 60]))[0]
    placed = np.minimum(placed, limit)
    released = rng.random(placed.size) < 0.3
    release_at = np.minimum(placed + 200 * DAY, limit)
    n = placed.size
    admin = users.admin
    columns = {
        "id": uuids(rng, n), "case_id": [cases.ids[i] for i in on_cases] + [None] * len(on_threads),
        "thread_id": [None] * len(on_cases) + [thread_ids[t] for t in on_threads],
        "reason": ["訴訟係属中のため保全（訴訟ホールド）"] * n, "placed_at": timestamps(placed),
        "released_at": [t if r else None for t, r in zip(timestamps(release_at),
                                                         released.tolist(), strict=True)],
        "released_by": [admin if r else None for r in released.tolist()],
        **_stamped(timestamps(placed), [admin] * n),
    }
    return make_batch(ctx, "app.legal_holds", columns)
