"""results.json: round trip, validation, schema_version, verdicts and the builders."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.catalog import Catalog, Column, Constraint, Policy, Role, Table
from harness.findings import Finding
from harness.migrations import Outcome
from harness.results import (
    SCHEMA_VERSION,
    FamilyStats,
    MigrationResults,
    MigrationStep,
    QueryResult,
    ResultsError,
    RlsOverhead,
    attack_matrix,
    git_commit,
    judge,
    load_results,
    migration_steps,
    new_run_id,
    results_from_dict,
    results_to_dict,
    rls_coverage,
    save_results,
    snapshot_differences,
    summarize,
)
from tests.report.sample import STARTED, previous_run, sample_results


def test_round_trip_through_results_json(tmp_path: Path) -> None:
    results = sample_results(trend=(summarize(previous_run(3, 0.8)),))
    path = save_results(results, tmp_path / "run" / "results.json")
    loaded = load_results(path)
    assert loaded == results
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION and list(data)[0] == "schema_version"
    assert data["verdict"] == "fail" and data["run_id"] == results.run_id
    assert data["isolation"]["findings"][0]["reproducer"].startswith("-- harness attack ATK001")
    assert data["performance"]["queries"][0]["p95_ms"] > 0
    assert "法人番号" in path.read_text(encoding="utf-8")  # UTF-8, not \u escapes


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0])
def test_wrong_schema_version_is_refused_with_what_to_do(tmp_path: Path, version: int) -> None:
    data = results_to_dict(sample_results())
    data["schema_version"] = version
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ResultsError) as caught:
        load_results(path)
    message = str(caught.value)
    assert f"schema_version {version} is not supported" in message
    assert f"reads schema_version {SCHEMA_VERSION}" in message and str(path) in message
    assert ("upgrade the harness" if version > SCHEMA_VERSION else "harness run") in message


def test_a_version_1_file_still_reads(tmp_path: Path) -> None:
    """Version 2 added optional fields only: a version 1 file (without them) reads as it is."""
    results = sample_results()
    assert results.performance is not None and results.performance.load is not None
    data = results_to_dict(results)
    data["schema_version"] = 1
    for key in ("findings", "crosscheck"):
        del data["performance"][key]
    for key in ("ramp_seconds", "measured_seconds"):
        del data["performance"]["load"][key]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = load_results(path)
    assert loaded.schema_version == SCHEMA_VERSION == 2 and loaded.performance is not None
    assert loaded.performance.findings == () and loaded.performance.crosscheck is None
    assert loaded.performance.queries == results.performance.queries


def test_a_failed_crosscheck_fails_the_performance_gate() -> None:
    results = sample_results()
    assert results.performance is not None and results.performance.crosscheck is not None
    broken = replace(results.performance.crosscheck, errors=3, exit_code=2)
    gate = judge(replace(results, performance=replace(results.performance,
                                                      crosscheck=broken))).gate("performance")
    assert gate is not None and gate.status == "fail"
    assert "pgbench cross-check: exit code 2, 3 failed transaction(s)" in gate.reason


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d["performance"]["queries"][2].update(p95_ms="fast"),
     "results.performance.queries[2].p95_ms: expected float, got a string"),
    (lambda d: d["environment"].update(colour="blue"),
     "results.environment: unknown field(s) colour in Environment"),
    (lambda d: d["migrations"]["steps"][0].pop("seconds"),
     "results.migrations.steps[0]: missing field(s) seconds of MigrationStep"),
    (lambda d: d["gates"][0].update(status="green"),
     "results.gates[0]: gate status 'green' is not one of pass, fail, skipped, error"),
    (lambda d: d["isolation"]["findings"][0].update(severity="urgent"),
     "results.isolation.findings[0]: severity 'urgent'"),
    (lambda d: d.update(started_at="yesterday"),
     "results.started_at: expected an ISO 8601 timestamp"),
    (lambda d: d.pop("schema_version"), "schema_version is missing"),
])
def test_bad_fields_are_named_by_their_path(mutate: object, expected: str) -> None:
    data = results_to_dict(sample_results())
    mutate(data)  # type: ignore[operator]
    with pytest.raises(ResultsError, match=expected.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)")):
        results_from_dict(data)


def test_not_json_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(ResultsError, match="is not JSON"):
        load_results(path)
    with pytest.raises(ResultsError, match="cannot read"):
        load_results(tmp_path / "missing.json")


def test_non_finite_numbers_are_refused_on_save(tmp_path: Path) -> None:
    results = sample_results()
    assert results.performance is not None
    bad = replace(results.performance.queries[0], p95_ms=float("nan"))
    broken = replace(results, performance=replace(results.performance, queries=(bad,)))
    with pytest.raises(ResultsError, match=r"queries\[0\]\.p95_ms: nan cannot be written"):
        save_results(broken, tmp_path / "results.json")


def test_gates_are_judged_from_the_sections() -> None:
    results = sample_results()
    gates = {g.name: g for g in results.gates}
    assert gates["migrations"].status == "pass"
    assert gates["isolation"].status == "fail" and "ATK001 app.cases" in gates["isolation"].reason
    assert "info" not in gates["isolation"].reason  # the ATK090 note does not fail the gate
    assert gates["performance"].status == "fail"
    assert "search_2char@medium p95" in gates["performance"].reason
    assert "RLS overhead search_3to4char@medium 1.40x > 1.3x" in gates["performance"].reason
    assert results.verdict == "fail"
    skipped = judge(replace(results, isolation=None, performance=None))
    assert [g.status for g in skipped.gates] == ["pass", "skipped", "skipped"]
    assert skipped.verdict == "pass"


def test_budget_status_requirement_target_and_warn() -> None:
    q = QueryResult("q", "small", 100, 2.0, 8.0, 9.0, "p95", 200.0, 5.0)
    assert q.status == "warn"  # target missed but not asserted at this scale
    assert replace(q, target_asserted=True).status == "fail"
    assert replace(q, p95_ms=250.0).status == "fail"
    assert replace(q, p95_ms=4.0).status == "pass"
    assert replace(q, metric="median").value_ms == 2.0
    assert replace(q, metric="mean").status == "fail"  # no mean recorded: never a silent pass
    assert RlsOverhead("q", "s", 3.0, 2.0, 1.4).ok is False


def test_migration_gate_fails_on_budget_and_undo_redo() -> None:
    slow = MigrationResults((MigrationStep("migrate", "V020__cases.sql", "020", "V", 1.7),))
    gate = judge(replace(sample_results(), migrations=slow)).gate("migrations")
    assert gate is not None and gate.status == "fail" and "V020__cases.sql" in gate.reason
    steps = migration_steps("migrate", [Outcome("V017__a.sql", "017", "V", 0.25)])
    assert steps == (MigrationStep("migrate", "V017__a.sql", "017", "V", 0.25),)


def test_attack_matrix_marks_cells_by_family_and_object() -> None:
    families = (FamilyStats("read-by-key", ("ATK001",), 10, 1.0, 1),
                FamilyStats("oracle-unique", ("ATK020",), 0, 0.0, 0, "nothing to attack"))
    findings = [Finding("ATK001", "critical", "app.cases", "leak"),
                Finding("ATK001", "critical", "app.search(text)", "leak via function"),
                Finding("ATK090", "info", "app.clients", "note")]
    cells = {(c.object, c.family): c for c in attack_matrix(
        ("app.cases", "app.clients"), families, findings)}
    assert cells[("app.cases", "read-by-key")].status == "fail"
    assert cells[("app.cases", "read-by-key")].severity == "critical"
    assert cells[("app.clients", "read-by-key")].status == "ok"
    assert cells[("app.clients", "oracle-unique")].status == "skipped"
    assert cells[("app.search(text)", "read-by-key")].findings == 1  # non-table object, a row


def test_rls_coverage_from_a_catalog() -> None:
    tenant = Column("tenant_id", "uuid", True, None)

    def table(name: str, forced: bool, commands: str) -> Table:
        policies = tuple(Policy(f"{name}_{c}", c, ("legal_app",), True, "true", None)
                         for c in commands)
        return Table("app", name, "r", "legal_owner", True, forced, False, (tenant,),
                     (Constraint(f"{name}_pkey", "p", ("tenant_id", "id")),), (), policies)

    catalog = Catalog((table("cases", True, "*"), table("notes", False, "ra")), (),
                      (Role("legal_app", False, False, True, ()),), 150018)
    coverage = {c.table: c for c in rls_coverage(catalog)}
    assert coverage["app.cases"].covered and coverage["app.cases"].tenant_leads_keys
    assert coverage["app.notes"].commands == ("SELECT", "INSERT")
    assert not coverage["app.notes"].covered


def test_run_id_commit_and_snapshot_differences(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert new_run_id(STARTED, "066eca2f5b") == "20261128T051700Z-066eca2"
    for name in ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"):
        monkeypatch.delenv(name, raising=False)
    git = tmp_path / "repo" / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text("# pack-refs\n" + "a" * 40 + " refs/heads/main\n")
    (tmp_path / "repo" / "sub").mkdir()
    assert git_commit(tmp_path / "repo" / "sub") == "a" * 40
    (git / "refs" / "heads" / "main").write_text("b" * 40 + "\n")
    assert git_commit(tmp_path / "repo") == "b" * 40
    monkeypatch.setenv("GITHUB_SHA", "c" * 40)
    assert git_commit(tmp_path) == "c" * 40
    before = {"tables": {"app.a": 1, "app.b": 2}, "functions": {}}
    after = {"tables": {"app.a": 1, "app.b": 3}, "functions": {"app.f()": 1}}
    assert snapshot_differences(before, after) == ("functions: app.f()", "tables: app.b")
