"""The results of one harness run, as versioned data: what every report is rendered from.

``RunResults`` holds the verdict per gate, the environment, one section per gate (migrations,
isolation, performance), the schema reference and the trend of previous runs. ``save_results``
and ``load_results`` write and read ``results.json``; loading validates every field and refuses
another ``schema_version`` with a ``ResultsError`` that says what to do. The console summary,
the JSON, the JUnit XML and the HTML report (``report/``) all render this one value.

Modules: ``model`` (the dataclasses), ``build`` (pieces from engine values: run ids, migration
steps, RLS coverage, attack matrix, environment), ``verdicts`` (gates, trend figures),
``codec`` (JSON), ``bench`` (the performance section from the benchmarks' bench-results.json).
"""

from __future__ import annotations

from harness.results.bench import (
    BenchFiles,
    bench_failures,
    bench_server,
    bench_started,
    explain_text,
    judge_bench,
    performance_from_bench,
    read_bench,
)
from harness.results.build import (
    attack_matrix,
    capture_environment,
    git_commit,
    migration_steps,
    new_run_id,
    read_server,
    rls_coverage,
    snapshot_differences,
)
from harness.results.codec import load_results, results_from_dict, results_to_dict, save_results
from harness.results.model import (
    CELL_STATUSES,
    COMMANDS,
    ENVIRONMENT_SETTINGS,
    GATES,
    METRICS,
    SCHEMA_VERSION,
    STATUSES,
    CrossCheck,
    CrossCheckQuery,
    Environment,
    FamilyStats,
    Gate,
    Histogram,
    IsolationResults,
    LoadPoint,
    LoadStat,
    LoadTest,
    MatrixCell,
    MigrationResults,
    MigrationStep,
    PerformanceResults,
    Plan,
    QueryResult,
    ResultsError,
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
    TrendEntry,
    UndoRedo,
)
from harness.results.verdicts import (
    higher_is_better,
    judge,
    judge_isolation,
    judge_migrations,
    judge_performance,
    summarize,
    with_trend,
)

__all__ = [
    "CELL_STATUSES", "COMMANDS", "ENVIRONMENT_SETTINGS", "GATES", "METRICS", "SCHEMA_VERSION",
    "STATUSES", "BenchFiles", "CrossCheck", "CrossCheckQuery", "Environment", "FamilyStats",
    "Gate", "Histogram", "IsolationResults",
    "LoadPoint", "LoadStat", "LoadTest", "MatrixCell", "MigrationResults", "MigrationStep",
    "PerformanceResults", "Plan", "QueryResult", "ResultsError", "RlsOverhead", "RuleInfo",
    "RunResults", "ScalingPoint", "SchemaColumn", "SchemaConstraint", "SchemaFunction",
    "SchemaPolicy", "SchemaReference", "SchemaTable", "TableCoverage", "TrendEntry", "UndoRedo",
    "attack_matrix", "bench_failures", "bench_server", "bench_started", "capture_environment",
    "explain_text", "git_commit", "higher_is_better", "judge",
    "judge_bench", "judge_isolation", "judge_migrations", "judge_performance",
    "load_results", "migration_steps", "new_run_id", "performance_from_bench", "read_bench",
    "read_server", "results_from_dict", "results_to_dict",
    "rls_coverage", "save_results", "snapshot_differences", "summarize", "with_trend",
]
