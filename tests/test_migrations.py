"""migrate / undo / validate / info / baseline against a real PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from harness.errors import MigrationError, MigrationFailedError, ValidationError
from harness.migrations import Migrator

SCRIPTS = {
    "V1__create_a.sql": "CREATE TABLE a (id int PRIMARY KEY);",
    "U1__create_a.sql": "DROP TABLE a;",
    "V2__create_b.sql": "CREATE TABLE b (id int REFERENCES a);\nINSERT INTO a VALUES (1);",
    "U2__create_b.sql": "DELETE FROM a;\nDROP TABLE b;",
    "V3__add_column.sql": "ALTER TABLE a ADD COLUMN name text;",
    "U3__add_column.sql": "ALTER TABLE a DROP COLUMN name;",
}


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, body in files.items():
        (directory / name).write_text(body, encoding="utf-8")
    return directory


def _tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r[0] for r in rows} - {"flyway_schema_history"}


@pytest.fixture
def mig_dir(tmp_path: Path) -> Path:
    return _write(tmp_path / "migrations", SCRIPTS)


def test_migrate_applies_in_order_and_records_history(empty_db_dsn: str, mig_dir: Path) -> None:
    migrator = Migrator(empty_db_dsn, mig_dir)
    outcomes = migrator.migrate()
    assert [o.version for o in outcomes] == ["1", "2", "3"]
    history = migrator.history()
    assert [(h.installed_rank, h.version, h.type, h.success) for h in history] == [
        (1, "1", "SQL", True), (2, "2", "SQL", True), (3, "3", "SQL", True)]
    assert history[0].checksum == migrator.scripts.versioned[0].checksum
    assert history[0].description == "create a"
    assert _tables(empty_db_dsn) == {"a", "b"}
    assert migrator.migrate() == []  # idempotent


def test_history_table_has_flyways_columns(empty_db_dsn: str, mig_dir: Path) -> None:
    Migrator(empty_db_dsn, mig_dir).migrate(target="1")
    with psycopg.connect(empty_db_dsn) as conn:
        cols = conn.execute(
            "SELECT column_name, data_type, character_maximum_length, is_nullable"
            " FROM information_schema.columns WHERE table_name = 'flyway_schema_history'"
            " ORDER BY ordinal_position").fetchall()
    assert cols == [
        ("installed_rank", "integer", None, "NO"),
        ("version", "character varying", 50, "YES"),
        ("description", "character varying", 200, "NO"),
        ("type", "character varying", 20, "NO"),
        ("script", "character varying", 1000, "NO"),
        ("checksum", "integer", None, "YES"),
        ("installed_by", "character varying", 100, "NO"),
        ("installed_on", "timestamp without time zone", None, "NO"),
        ("execution_time", "integer", None, "NO"),
        ("success", "boolean", None, "NO"),
    ]


def test_target_and_undo(empty_db_dsn: str, mig_dir: Path) -> None:
    migrator = Migrator(empty_db_dsn, mig_dir)
    assert [o.version for o in migrator.migrate(target="2")] == ["1", "2"]
    assert [o.version for o in migrator.undo()] == ["2"]
    assert _tables(empty_db_dsn) == {"a"}
    migrator.migrate()
    assert [o.version for o in migrator.undo(target="1")] == ["3", "2"]
    assert [r.state for r in migrator.info()] == ["Success", "Undone", "Undone"]
    assert [o.version for o in migrator.undo(target="0")] == ["1"]
    assert _tables(empty_db_dsn) == set()
    assert [o.version for o in migrator.migrate()] == ["1", "2", "3"]
    assert migrator.validate().ok


def test_failing_migration_rolls_back_to_previous_version(empty_db_dsn: str,
                                                          tmp_path: Path) -> None:
    files = dict(SCRIPTS)
    files["V3__add_column.sql"] = (
        "ALTER TABLE a ADD COLUMN name text;\nCREATE TABLE c (x int);\nSELECT 1/0;")
    migrator = Migrator(empty_db_dsn, _write(tmp_path / "m", files))
    with pytest.raises(MigrationFailedError, match=r"V3__add_column.sql failed.*22012"):
        migrator.migrate()
    assert [h.version for h in migrator.history()] == ["1", "2"]
    assert _tables(empty_db_dsn) == {"a", "b"}
    with psycopg.connect(empty_db_dsn) as conn:
        cols = conn.execute("SELECT count(*) FROM information_schema.columns"
                            " WHERE table_name = 'a' AND column_name = 'name'").fetchone()
    assert cols == (0,)


def test_syntax_error_reports_line(empty_db_dsn: str, tmp_path: Path) -> None:
    migrator = Migrator(empty_db_dsn, _write(tmp_path / "m", {
        "V1__bad.sql": "CREATE TABLE ok (id int);\n\nCREATE TABL broken (id int);"}))
    with pytest.raises(MigrationFailedError, match=r"at line 3: \[42601\]"):
        migrator.migrate()
    assert _tables(empty_db_dsn) == set()


def test_checksum_drift_blocks_migrate_and_fails_validate(empty_db_dsn: str, mig_dir: Path) -> None:
    Migrator(empty_db_dsn, mig_dir).migrate(target="2")
    (mig_dir / "V1__create_a.sql").write_text("CREATE TABLE a (id bigint PRIMARY KEY);")
    migrator = Migrator(empty_db_dsn, mig_dir)
    report = migrator.validate()
    assert not report.ok and "checksum drift in V1__create_a.sql" in report.problems[0]
    assert report.pending == ("3",)
    with pytest.raises(ValidationError, match="checksum drift"):
        migrator.migrate()
    assert [h.version for h in migrator.history()] == ["1", "2"]  # nothing applied


def test_missing_applied_file_is_reported(empty_db_dsn: str, mig_dir: Path) -> None:
    Migrator(empty_db_dsn, mig_dir).migrate()
    (mig_dir / "V3__add_column.sql").unlink()
    (mig_dir / "U3__add_column.sql").unlink()
    migrator = Migrator(empty_db_dsn, mig_dir)
    assert "applied version 3 has no file" in migrator.validate().problems[0]
    assert [r.state for r in migrator.info()][-1] == "Missing"


def test_out_of_order_pending_version_refused(empty_db_dsn: str, mig_dir: Path) -> None:
    Migrator(empty_db_dsn, mig_dir).migrate()
    (mig_dir / "V2.5__late.sql").write_text("SELECT 1;")
    with pytest.raises(ValidationError, match="older than applied"):
        Migrator(empty_db_dsn, mig_dir).migrate()


def test_undo_without_script_refuses_before_running(empty_db_dsn: str, tmp_path: Path) -> None:
    files = {k: v for k, v in SCRIPTS.items() if k != "U2__create_b.sql"}
    migrator = Migrator(empty_db_dsn, _write(tmp_path / "m", files))
    migrator.migrate()
    with pytest.raises(MigrationError, match="no undo script for applied version"):
        migrator.undo(target="0")
    assert _tables(empty_db_dsn) == {"a", "b"}


def test_baseline(empty_db_dsn: str, mig_dir: Path) -> None:
    with psycopg.connect(empty_db_dsn) as conn:  # an existing database made before Flyway
        conn.execute("CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int);")
    migrator = Migrator(empty_db_dsn, mig_dir)
    migrator.baseline("2")
    assert [o.version for o in migrator.migrate()] == ["3"]  # 1 and 2 are below the baseline
    states = {r.version: r.state for r in migrator.info()}
    assert states == {"1": "Below Baseline", "2": "Baseline", "3": "Success"}
    with pytest.raises(MigrationError, match="already has rows"):
        migrator.baseline("1")


def test_repeatable_reapplied_when_changed(empty_db_dsn: str, mig_dir: Path) -> None:
    (mig_dir / "R__view.sql").write_text("CREATE OR REPLACE VIEW v AS SELECT 1 AS x;")
    migrator = Migrator(empty_db_dsn, mig_dir)
    assert [o.script for o in migrator.migrate()][-1] == "R__view.sql"
    assert Migrator(empty_db_dsn, mig_dir).migrate() == []
    (mig_dir / "R__view.sql").write_text("CREATE OR REPLACE VIEW v AS SELECT 2 AS x;")
    assert [o.script for o in Migrator(empty_db_dsn, mig_dir).migrate()] == ["R__view.sql"]


def test_concurrent_migrate_applies_each_version_once(empty_db_dsn: str, tmp_path: Path) -> None:
    files = {"V1__slow.sql": "SELECT pg_sleep(0.5);\nCREATE TABLE once (id int);",
             "V2__next.sql": "CREATE TABLE twice (id int);"}
    directory = _write(tmp_path / "m", files)
    results: list[object] = []

    def worker() -> None:
        try:
            results.append(len(Migrator(empty_db_dsn, directory).migrate()))
        except Exception as exc:  # noqa: BLE001 - recorded and asserted below
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 2]  # type: ignore[type-var]
    assert [h.version for h in Migrator(empty_db_dsn, directory).history()] == ["1", "2"]


def test_shipped_schema_undo_and_redo(empty_db_dsn: str) -> None:
    migrator = Migrator(empty_db_dsn, Path("schema/migrations"))
    applied = migrator.migrate()
    assert applied and all(o.seconds < 1.0 for o in applied), applied
    undone = migrator.undo(target="0")
    assert [o.version for o in undone] == [o.version for o in reversed(applied)]
    assert len(migrator.migrate()) == len(applied)
    assert migrator.validate().ok
