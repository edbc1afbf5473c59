"""A realistic ``RunResults`` for the report tests: every section filled, one of each kind of
failure (a critical cross-tenant read, a missed requirement, an RLS ratio over its maximum), a
reproducer, histograms both raw and binned, a locust time series, a pgbench cross-check, the
benchmarks' findings, EXPLAIN plans, undo/redo."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from harness.findings import Finding
from harness.results import (
    CrossCheck,
    CrossCheckQuery,
    Environment,
    FamilyStats,
    Histogram,
    IsolationResults,
    LoadPoint,
    LoadStat,
    LoadTest,
    MigrationResults,
    MigrationStep,
    PerformanceResults,
    Plan,
    QueryResult,
    RlsOverhead,
    RuleInfo,
    RunResults,
    ScalingPoint,
    SchemaColumn,
    SchemaConstraint,
    SchemaFunction,
    SchemaPolicy,
    SchemaReference,
    SchemaTable,
    TableCoverage,
    UndoRedo,
    attack_matrix,
    judge,
)

STARTED = datetime(2026, 11, 28, 5, 17, 0, tzinfo=UTC)
TENANT_A = "7d1c0f8e-0000-4000-8000-00000000000a"
TENANT_B = "7d1c0f8e-0000-4000-8000-00000000000b"
REPRODUCER = f"""-- harness attack ATK001 on app.cases (hypothesis seed 1)
-- tenant A (acting) = {TENANT_A}; tenant B (victim) = {TENANT_B}
-- run: psql -X -v ON_ERROR_STOP=0 -f <this file>
-- session A
\\connect 'host=127.0.0.1 port=5432 dbname=harness user=legal_app'
SELECT app.begin_session('s1.tenant-a.token');
SELECT * FROM app.cases
 WHERE tenant_id = '{TENANT_B}' AND id = '00000000-0000-4000-8000-0000000000c1';
"""
TABLES = ("app.cases", "app.clients", "app.documents", "app.hearings", "app.invoices",
          "app.time_entries")
QUERIES = (("case_list", "cases", 3.1), ("case_list_filtered", "cases", 2.4),
           ("search_2char", "documents", 41.0), ("search_3to4char", "documents", 12.5),
           ("hearings_week", "cases", 1.8), ("invoice_totals", "cases", 6.2))
SCALES = (("small", 1_000, 10_000), ("medium", 20_000, 200_000))


def environment() -> Environment:
    return Environment(
        postgres_version="15.18 (Debian 15.18-0+deb12u1)", server_version_num=150018,
        mode="embedded", scale="medium", seed=1,
        git_commit="066eca2f5b1c9d0e7a3b4c5d6e7f8a9b0c1d2e3f",
        host="ci-runner-1", platform="Linux-6.1-x86_64", python="3.11.7", cpus=2,
        harness_version="0.1.0",
        settings={"shared_buffers": "256MB", "work_mem": "4MB", "jit": "off",
                  "fsync": "off", "synchronous_commit": "off", "max_connections": "100",
                  "shared_preload_libraries": "pg_stat_statements", "lc_ctype": "C.UTF-8"})


def migrations() -> MigrationResults:
    names = ("017__multi_tenant_foundation", "018__sessions_and_tokens", "019__audit",
             "020__cases", "021__documents", "022__finance_and_time", "023__rbac",
             "024__performance", "025__japanese_search")
    seconds = (0.21, 0.05, 0.18, 0.34, 0.16, 0.29, 0.41, 0.12, 0.47)
    steps = [MigrationStep("migrate", f"V{n}.sql", n[:3], "V", s) for n, s in zip(names, seconds,
                                                                                 strict=True)]
    steps += [MigrationStep("undo", f"U{n}.sql", n[:3], "U", s / 3)
              for n, s in zip(reversed(names), reversed(seconds), strict=True)]
    steps += [MigrationStep("redo", f"V{n}.sql", n[:3], "V", s * 1.05)
              for n, s in zip(names, seconds, strict=True)]
    return MigrationResults(tuple(steps), 1.0, UndoRedo(True, 9, 9))


def isolation() -> IsolationResults:
    findings = (
        Finding("ATK001", "critical", "app.cases", "Tenant A read a case of tenant B by its "
                "primary key: the select policy does not check the tenant.",
                (TENANT_A, TENANT_B), {"statements": ["SELECT * FROM app.cases WHERE ..."],
                                       "foreign_tenants": [TENANT_B], "rows_returned": 1},
                REPRODUCER, 1),
        Finding("ATK020", "medium", "app.clients", "A duplicate-key error reveals that tenant B "
                "holds the 法人番号 5010001008846.", (TENANT_A, TENANT_B),
                {"sqlstate": "23505"}, "-- harness attack ATK020 on app.clients\n"
                "INSERT INTO app.clients (corporate_number) VALUES ('5010001008846');\n", 1),
        Finding("RLS002", "high", "app.time_entries", "Row level security is enabled but not "
                "forced: the owner bypasses it.", reproducer="SELECT relforcerowsecurity FROM "
                "pg_class WHERE oid = 'app.time_entries'::regclass;\n"),
        Finding("ATK090", "info", "app.hearings", "No rows of tenant B: attacks on this table "
                "prove nothing.", (TENANT_A, TENANT_B), seed=1),
    )
    families = (
        FamilyStats("read-by-key", ("ATK001",), 120, 1.8, 1),
        FamilyStats("read-by-scan", ("ATK002",), 140, 2.2, 0),
        FamilyStats("write-update-delete", ("ATK010", "ATK011"), 110, 2.9, 0),
        FamilyStats("oracle-unique", ("ATK020",), 60, 1.1, 1),
        FamilyStats("spoof-context", ("ATK030", "ATK031"), 50, 0.7, 0),
        FamilyStats("oracle-statements", ("ATK026",), 0, 0.01, 0, "nothing to attack"),
    )
    rules = (RuleInfo("RLS001", "critical", "tenant table without row level security"),
             RuleInfo("RLS002", "high", "row level security enabled but not forced"),
             RuleInfo("KEY001", "medium", "unique key of a tenant table without the tenant "
                      "column"),
             RuleInfo("ATK001", "critical", "another tenant's row is readable by primary key",
                      "attack"))
    coverage = tuple(TableCoverage(t, True, t != "app.time_entries",
                                   ("SELECT", "INSERT", "UPDATE") if t == "app.invoices"
                                   else ("SELECT", "INSERT", "UPDATE", "DELETE"), 5, True)
                     for t in TABLES)
    return IsolationResults(
        findings=findings, rules=rules, families=families,
        matrix=attack_matrix(TABLES, families, findings), coverage=coverage, fail_on="low",
        seed=1, tenants=(TENANT_A, TENANT_B), attack_examples=480, attack_seconds=8.71,
        scan_seconds=0.4)


def performance() -> PerformanceResults:
    rng = np.random.default_rng(1)
    queries, histograms, scaling = [], [], []
    for scale, cases, documents in SCALES:
        for name, rows_label, base in QUERIES:
            rows = cases if rows_label == "cases" else documents
            factor = (rows / 1_000) ** (0.55 if name == "search_2char" else 0.08)
            samples = rng.lognormal(np.log(base * factor), 0.25, 400)
            p50, p95, p99 = (float(np.percentile(samples, q)) for q in (50, 95, 99))
            requirement = 500.0 if rows_label == "documents" else 200.0
            target = 50.0 if rows_label == "documents" else 5.0
            queries.append(QueryResult(
                name, scale, len(samples), p50, p95, p99, "p95", requirement, target,
                target_asserted=scale == "medium" and rows_label == "documents",
                title=f"{name.replace('_', ' ')}, one page", requirement=f"< {requirement:g} ms",
                target=f"p95 <= {target:g} ms", mean_ms=float(samples.mean()),
                rows=rows, rows_label=rows_label))
            scaling.append(ScalingPoint(name, scale, rows, p95))
            if scale == "medium":
                histograms.append(Histogram(name, scale, tuple(float(s) for s in samples)))
    edges = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 10.0)
    histograms.append(Histogram("hearings_week", "small", edges_ms=edges,
                                counts=(5, 180, 150, 40, 20, 5)))
    rls = (RlsOverhead("case_list", "medium", 3.4, 3.2, 1.5),
           RlsOverhead("search_3to4char", "medium", 19.8, 14.1, 1.3),
           RlsOverhead("invoice_totals", "medium", 7.0, 6.6, 1.5))
    return PerformanceResults(tuple(queries), tuple(scaling), tuple(histograms), rls,
                              load_test(rng), plans(), FINDINGS, crosscheck())


FINDINGS = ("search_3to4char: p95 grows ~linearly with the tenant's documents (log-log slope "
            "0.93 > 0.8): [[800, 12.1], [4000, 53.0]]",
            "RLS overhead of case_list: median 1.06x > 1.1x at small (asserted from large up)")


def crosscheck() -> CrossCheck:
    return CrossCheck(50, 60.0, 248.7, 247.9, 14874, 0, (
        CrossCheckQuery("case_list", 21.0, 17.4), CrossCheckQuery("search", 33.0, 30.2)))


def load_test(rng: np.random.Generator) -> LoadTest:
    series = tuple(LoadPoint(float(t), min(50, t * 5), 300 + float(rng.normal(0, 12)),
                             0.0 if t != 33 else 0.5, 9 + float(rng.normal(0, 1)),
                             24 + float(rng.normal(0, 2)), 41 + float(rng.normal(0, 3)))
                   for t in range(0, 60, 3))
    stats = (LoadStat("case_list", 9000, 0, 150.2, 8.0, 21.0, 37.0, 9.6),
             LoadStat("search", 6000, 3, 100.1, 12.0, 33.0, 58.0, 14.9),
             LoadStat("Aggregated", 15000, 3, 250.3, 9.0, 26.0, 45.0, 11.7))
    return LoadTest(50, 10.0, 60.0, series, stats, max_failure_ratio=0.001, ramp_seconds=5.0,
                    measured_seconds=55.0, warmup_seconds=10.0, warmup_requests=1641,
                    warmup_p95_ms=812.5, warmup_steady=True, warmup_max_seconds=60.0)


def plans() -> tuple[Plan, ...]:
    return (
        Plan("case_list", "medium", "SELECT c.id, c.title FROM app.cases c WHERE c.status IN "
             "('受任', '進行中') ORDER BY c.updated_at DESC LIMIT 20",
             "Limit  (cost=0.42..12.31 rows=20 width=64) (actual time=0.031..0.210 rows=20 "
             "loops=1)\n  InitPlan 1 (returns $0)\n    ->  Result  (actual time=0.011..0.011 "
             "rows=1 loops=1)\n  ->  Index Scan using cases_open_idx on cases c  (actual "
             "time=0.030..0.200 rows=20 loops=1)\n        Index Cond: (tenant_id = $0)\n"
             "Planning Time: 0.210 ms\nExecution Time: 0.245 ms", 0.245),
        Plan("search_2char", "medium", "SELECT * FROM app.search_documents($1, 20)",
             "Function Scan on search_documents  (actual time=38.2..38.9 rows=20 loops=1)\n"
             "Execution Time: 39.012 ms", 39.012),
    )


def schema() -> SchemaReference:
    tenant = "(tenant_id = ( SELECT app.current_tenant_id() AS current_tenant_id))"
    cases = SchemaTable(
        "app.cases", "table", "legal_owner", "Matters (事件) of a firm: client, 事件番号, status.",
        "enabled, forced",
        (SchemaColumn("tenant_id", "uuid", False), SchemaColumn("id", "uuid", False,
                                                                "gen_random_uuid()"),
         SchemaColumn("case_number", "text", True, None, "事件番号 (令和5年(ワ)第1234号)")),
        (SchemaConstraint("cases_pkey", "primary key", "PRIMARY KEY (tenant_id, id)"),),
        ("CREATE INDEX cases_open_idx ON app.cases USING btree (tenant_id, updated_at DESC)",),
        (SchemaPolicy("cases_select_tenant", "SELECT", ("legal_app",), True, tenant, None,
                      "Rows of the verified tenant."),),
        ("legal_app: DELETE, INSERT, SELECT, UPDATE",), ("cases_audit",))
    courts = SchemaTable("app.courts", "table", "legal_owner", "Courts (裁判所).", "",
                         (SchemaColumn("id", "integer", False),
                          SchemaColumn("name", "text", False)))
    function = SchemaFunction("app.begin_session(p_token text)", "plpgsql", "volatile", True,
                              ("legal_app", "legal_owner"), "Starts a tenant transaction.")
    return SchemaReference((cases, courts), (function,), ("pg_trgm 1.6 (schema extensions)",))


def sample_results(**changes: object) -> RunResults:
    """The sample run, judged; ``changes`` replace fields of RunResults before judging."""
    results = RunResults(
        run_id="20261128T051700Z-066eca2", started_at=STARTED, seconds=184.2,
        environment=environment(), migrations=migrations(), isolation=isolation(),
        performance=performance(), schema=schema())
    return judge(replace(results, **changes))  # type: ignore[arg-type]


def previous_run(days_ago: int, latency_factor: float, verdict_pass: bool = True) -> RunResults:
    """An earlier run whose latencies are the sample's times ``latency_factor``."""
    current = sample_results()
    assert current.performance is not None
    queries = tuple(replace(q, p50_ms=q.p50_ms * latency_factor,
                            p95_ms=q.p95_ms * latency_factor, p99_ms=q.p99_ms * latency_factor)
                    for q in current.performance.queries)
    started = STARTED - timedelta(days=days_ago)
    run = replace(current, run_id=f"{started:%Y%m%dT%H%M%SZ}-prev{days_ago:03d}",
                  started_at=started, performance=replace(current.performance, queries=queries),
                  isolation=None if verdict_pass else current.isolation)
    return judge(run)
