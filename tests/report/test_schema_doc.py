"""schema/README.md is generated from a freshly migrated database and must stay current."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import psycopg
from click.testing import CliRunner

from harness.catalog import Catalog, Column, Constraint, Extension, Policy, Table
from report.cli import schema_doc
from report.schema_doc import REGENERATE, Comments, describe, read_reference, render_markdown

README = Path(__file__).resolve().parents[2] / "schema" / "README.md"


def test_committed_schema_readme_is_current(harness_db: psycopg.Connection[Any]) -> None:
    generated = render_markdown(read_reference(harness_db))
    committed = README.read_text(encoding="utf-8") if README.is_file() else ""
    if generated != committed:
        diff = "".join(list(difflib.unified_diff(
            committed.splitlines(keepends=True), generated.splitlines(keepends=True),
            "schema/README.md (committed)", "generated from the migrations"))[:60])
        raise AssertionError(f"schema/README.md is stale: regenerate it with `{REGENERATE}` "
                             f"and commit it.\n{diff}")


def test_reference_holds_comments_keys_policies_grants(
        harness_db: psycopg.Connection[Any]) -> None:
    reference = read_reference(harness_db)
    tables = {t.name: t for t in reference.tables}
    cases = tables["app.cases"]
    assert cases.rls == "enabled, forced" and cases.comment.startswith("Matters (事件)")
    assert any(c.kind == "primary key" and "tenant_id" in c.definition
               for c in cases.constraints)
    assert {p.command for p in cases.policies} >= {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert all(p.comment for p in cases.policies)
    assert any(g.startswith("legal_app: ") for g in cases.grants)
    assert any(c.comment for t in reference.tables for c in t.columns)
    assert not any(t.name.startswith("audit.log_") for t in reference.tables)  # partitions
    assert "public.flyway_schema_history" not in tables
    assert not any(t.name.startswith("extensions.") for t in reference.tables)
    assert any(f.signature.startswith("app.begin_session(") and f.security_definer
               for f in reference.functions)


def test_cli_check_flags_a_stale_file(harness_db_dsn: str, tmp_path: Path) -> None:
    output = tmp_path / "README.md"
    output.write_text("# old\n", encoding="utf-8")
    stale = CliRunner().invoke(schema_doc, ["--dsn", harness_db_dsn, "--output", str(output),
                                            "--check"])
    assert stale.exit_code == 1 and REGENERATE in stale.output
    assert output.read_text(encoding="utf-8") == "# old\n"
    wrote = CliRunner().invoke(schema_doc, ["--dsn", harness_db_dsn, "--output", str(output)])
    assert wrote.exit_code == 0 and "relations" in wrote.output
    current = CliRunner().invoke(schema_doc, ["--dsn", harness_db_dsn, "--output", str(output),
                                              "--check"])
    assert current.exit_code == 0, current.output


def test_markdown_escapes_cells_and_leaves_out_noise() -> None:
    tenant = Column("tenant_id", "uuid", True, None)
    note = Column("note", "text", False, "'a|b'::text")
    table = Table("app", "notes", "r", "legal_owner", True, True, False, (tenant, note),
                  (Constraint("notes_pkey", "p", ("tenant_id",), definition="PRIMARY KEY "
                              "(tenant_id)"),),
                  policies=(Policy("notes_select_tenant", "r", ("legal_app",), True,
                                   "(note || 'x') = `y`", None),),
                  grants=(("legal_app", "SELECT"), ("legal_owner", "SELECT")))
    partition = Table("app", "notes_p0", "r", "legal_owner", True, True, True, (tenant,))
    history = Table("public", "flyway_schema_history", "r", "postgres", False, False, False, ())
    stats = Table("extensions", "pg_stat_statements", "v", "postgres", False, False, False, ())
    catalog = Catalog((table, partition, history, stats), (), (), 150018,
                      extensions=(Extension("pg_trgm", "extensions", "1.6"),))
    comments = Comments(relations={"app.notes": "Notes | 備考\nsecond line"},
                        columns={("app.notes", "note"): "free text"},
                        extension_relations=frozenset({"extensions.pg_stat_statements"}))
    reference = describe(catalog, comments)
    assert [t.name for t in reference.tables] == ["app.notes"]
    assert reference.tables[0].grants == ("legal_app: SELECT",)  # the owner's own not listed
    text = render_markdown(reference)
    assert "Notes \\| 備考 second line" in text
    assert "| `note` | text | yes | `'a\\|b'::text` | free text |" in text
    assert "`` (note \\|\\| 'x') = `y` ``" in text
    assert "[notes](#appnotes)" in text and "### app.notes" in text
    assert "pg_trgm 1.6 (schema extensions)" in text
