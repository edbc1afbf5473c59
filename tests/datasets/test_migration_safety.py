"""Migrating a loaded database: with ``small`` loaded at V022, migrate to the newest version and
undo back to V022. No row of the V017-V022 tables may be lost or changed (row counts and
per-table content hashes over the V022 columns, computed in the database, identical before,
after migrating up and after undoing), and every migration and undo must take under a second
at that size.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from datasets.build import table_digests
from datasets.generate import generate_into
from datasets.reference import read_reference
from datasets.scales import get_scale
from harness.migrations import Migrator, Outcome
from harness.postgres import connect

BASE = "022"
BUDGET_SECONDS = 1.0


def _slow(outcomes: list[Outcome]) -> dict[str, float]:
    return {o.script: round(o.seconds, 3) for o in outcomes if o.seconds >= BUDGET_SECONDS}


@pytest.mark.timeout(900)
def test_migrate_up_and_undo_keep_every_v022_row(empty_db_dsn: str, migrations_dir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    migrator = Migrator(empty_db_dsn, migrations_dir)
    migrator.migrate(BASE)
    with connect(empty_db_dsn, autocommit=True) as conn:
        info = generate_into(conn, get_scale("small"), 1)
        columns = {t: list(c) for t, c in read_reference(conn).columns.items()
                   if t.split(".")[0] in ("app", "audit")}
        before = table_digests(conn, list(columns), columns)
    assert before["app.documents"][0] >= 10_000 and before["app.cases"][0] >= 1_000
    up = migrator.migrate()
    with connect(empty_db_dsn) as conn:
        after_up = table_digests(conn, list(columns), columns)
    down = migrator.undo(BASE)
    with connect(empty_db_dsn) as conn:
        after_undo = table_digests(conn, list(columns), columns)
    with capsys.disabled():
        print(f"\nsmall at V{BASE}: {info.stats.total_rows:,} rows loaded in "
              f"{info.seconds:.1f} s; " + ", ".join(f"{o.script} {o.seconds * 1000:.0f} ms"
                                                    for o in up + down))
    assert [o.version for o in up] and [o.kind for o in down] == ["U"] * len(up)
    assert after_up == before, _differences(before, after_up)
    assert after_undo == before, _differences(before, after_undo)
    assert not _slow(up + down), f"migrations over {BUDGET_SECONDS} s: {_slow(up + down)}"


def _differences(a: dict[str, tuple[int, str]], b: dict[str, tuple[int, str]]
                 ) -> dict[str, tuple[object, object]]:
    return {t: (a.get(t), b.get(t)) for t in sorted(set(a) | set(b)) if a.get(t) != b.get(t)}
