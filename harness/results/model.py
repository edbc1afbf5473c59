"""The values of one run's results: the gates, the environment and one section per gate.

Frozen dataclasses only; what builds them is in ``harness.results.build`` and
``harness.results.verdicts``, how they are written and read in ``harness.results.codec``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from harness.errors import HarnessError
from harness.findings import SEVERITIES, Finding, sort_findings

SCHEMA_VERSION = 2  # 2: performance findings, cross-check, load window
GATES = ("migrations", "isolation", "performance")
STATUSES = ("pass", "fail", "skipped", "error")
CELL_STATUSES = ("ok", "fail", "skipped")
METRICS = ("p50", "median", "p95", "p99", "mean", "min", "max")
COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
ENVIRONMENT_SETTINGS = (
    "shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size",
    "max_connections", "random_page_cost", "jit", "plan_cache_mode", "fsync",
    "synchronous_commit", "full_page_writes", "max_parallel_workers_per_gather",
    "default_statistics_target", "shared_preload_libraries", "server_encoding", "lc_ctype",
)


class ResultsError(HarnessError):
    """A results.json that cannot be read: not JSON, another schema_version, a bad field."""


# -- the run ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Gate:
    name: str  # migrations | isolation | performance
    status: str  # pass | fail | skipped | error
    reason: str  # one line: why

    def __post_init__(self) -> None:
        _one_of("gate status", self.status, STATUSES)


@dataclass(frozen=True, slots=True)
class Environment:
    postgres_version: str  # server_version, e.g. "15.18 (Debian 15.18-0+deb12u1)"
    server_version_num: int
    mode: str  # embedded | dsn | container
    scale: str  # the named data scale of the run
    seed: int
    settings: dict[str, str] = field(default_factory=dict)  # ENVIRONMENT_SETTINGS, as shown
    git_commit: str | None = None
    host: str = ""
    platform: str = ""
    python: str = ""
    cpus: int = 0
    harness_version: str = ""


# -- migrations -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MigrationStep:
    phase: str  # migrate | undo | redo
    script: str
    version: str | None
    kind: str  # V, U or R
    seconds: float


@dataclass(frozen=True, slots=True)
class UndoRedo:
    """Undo every version, then migrate again: the catalog must come back identical."""

    identical: bool
    undone: int
    redone: int
    differences: tuple[str, ...] = ()  # catalog objects that differ afterwards
    error: str = ""  # a script that failed during undo or redo

    @property
    def ok(self) -> bool:
        return self.identical and not self.error


@dataclass(frozen=True, slots=True)
class MigrationResults:
    steps: tuple[MigrationStep, ...]
    budget_seconds: float = 1.0  # each migration applies (and undoes) under this
    undo_redo: UndoRedo | None = None
    problems: tuple[str, ...] = ()  # of validate: checksum drift, missing files, failed rows
    pending: tuple[str, ...] = ()
    error: str = ""  # a migration that failed (it was rolled back)

    def slow(self) -> list[MigrationStep]:
        return [s for s in self.steps if s.seconds > self.budget_seconds]


# -- isolation --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule that was checked, found or not: one JUnit testcase per scan rule."""

    id: str
    severity: str
    title: str
    source: str = "scan"  # scan | attack


@dataclass(frozen=True, slots=True)
class FamilyStats:
    """One attack family of the run: its rules, examples, time and findings."""

    name: str
    rules: tuple[str, ...]
    examples: int
    seconds: float
    findings: int
    skipped: str = ""  # why it did not run ("nothing to attack"), else empty


@dataclass(frozen=True, slots=True)
class MatrixCell:
    """Tenant table (or other object) x attack family."""

    object: str
    family: str
    status: str  # ok | fail | skipped
    findings: int = 0
    severity: str = ""  # the worst finding of the cell

    def __post_init__(self) -> None:
        _one_of("matrix cell status", self.status, CELL_STATUSES)


@dataclass(frozen=True, slots=True)
class TableCoverage:
    """How a tenant table is protected by Row Level Security (from the catalog)."""

    table: str
    rls_enabled: bool
    rls_forced: bool
    commands: tuple[str, ...]  # commands of COMMANDS a policy for the application covers
    policies: int
    tenant_leads_keys: bool  # tenant column leads the primary key and every unique key

    @property
    def covered(self) -> bool:
        return self.rls_enabled and self.rls_forced and set(COMMANDS) <= set(self.commands)


@dataclass(frozen=True, slots=True)
class IsolationResults:
    findings: tuple[Finding, ...]
    rules: tuple[RuleInfo, ...] = ()
    families: tuple[FamilyStats, ...] = ()
    matrix: tuple[MatrixCell, ...] = ()
    coverage: tuple[TableCoverage, ...] = ()
    fail_on: str = "low"  # findings this severe or worse fail the gate
    seed: int | None = None
    tenants: tuple[str, str] | None = None  # (acting, victim)
    attack_examples: int = 0
    attack_seconds: float = 0.0
    scan_seconds: float = 0.0

    def __post_init__(self) -> None:
        _one_of("fail_on", self.fail_on, SEVERITIES[:-1])

    @property
    def examples_per_second(self) -> float:
        return self.attack_examples / self.attack_seconds if self.attack_seconds else 0.0

    def failing(self) -> list[Finding]:
        limit = SEVERITIES.index(self.fail_on)
        return sort_findings(f for f in self.findings if SEVERITIES.index(f.severity) <= limit)


# -- performance ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QueryResult:
    """Latency of one query at one scale against its requirement and target."""

    query: str
    scale: str
    samples: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    metric: str = "p95"  # what the budgets are checked on
    requirement_ms: float | None = None  # asserted: a miss fails the gate
    target_ms: float | None = None  # the goal; a miss fails only when target_asserted
    target_asserted: bool = False
    title: str = ""
    requirement: str = ""  # the requirement as stated ("< 200 ms at 1,000+ cases")
    target: str = ""
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    rows: int | None = None  # rows the query's cost depends on, at this scale
    rows_label: str = ""  # cases, documents, ...

    def __post_init__(self) -> None:
        _one_of("metric", self.metric, METRICS)

    @property
    def key(self) -> str:
        return f"{self.query}@{self.scale}"

    @property
    def value_ms(self) -> float:
        name = {"median": "p50"}.get(self.metric, self.metric)
        value = getattr(self, f"{name}_ms")
        return float("nan") if value is None else float(value)

    @property
    def status(self) -> str:
        """fail (requirement, or asserted target, missed), warn (target missed), pass."""
        value = self.value_ms
        if self.requirement_ms is not None and not value <= self.requirement_ms:
            return "fail"
        if self.target_ms is not None and not value <= self.target_ms:
            return "fail" if self.target_asserted else "warn"
        return "pass"


@dataclass(frozen=True, slots=True)
class ScalingPoint:
    """Latency of a query over a given amount of data (latency-vs-scale chart)."""

    query: str
    scale: str
    rows: int
    latency_ms: float
    metric: str = "p95"


@dataclass(frozen=True, slots=True)
class Histogram:
    """Latency distribution of a query: raw samples, or bins (len(edges) == len(counts) + 1)."""

    query: str
    scale: str
    samples_ms: tuple[float, ...] = ()
    edges_ms: tuple[float, ...] = ()
    counts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.counts and len(self.edges_ms) != len(self.counts) + 1:
            raise ValueError(f"histogram {self.query}@{self.scale}: {len(self.edges_ms)} edges "
                             f"for {len(self.counts)} bins (need bins + 1)")


@dataclass(frozen=True, slots=True)
class RlsOverhead:
    """The same query under RLS (application role) and with an explicit filter (BYPASSRLS)."""

    query: str
    scale: str
    rls_ms: float
    bypass_ms: float
    max_ratio: float | None = None  # a larger ratio fails the gate
    metric: str = "p50"
    context_checks: int = 0  # verifications of the tenant context the policies add
    context_ms: float | None = None  # what they cost together, measured (None: not measured)

    @property
    def ratio(self) -> float:
        return self.rls_ms / self.bypass_ms if self.bypass_ms > 0 else math.inf

    @property
    def ratio_beyond_context(self) -> float | None:
        """The ratio once the measured context checks are taken out (None: not measured)."""
        if self.context_ms is None:
            return None
        if self.bypass_ms <= 0:
            return math.inf
        return max(self.rls_ms - self.context_ms, 0.0) / self.bypass_ms

    @property
    def ok(self) -> bool:
        return self.max_ratio is None or self.ratio <= self.max_ratio


@dataclass(frozen=True, slots=True)
class LoadPoint:
    """One row of locust's stats history (the aggregated line)."""

    seconds: float  # since the start of the test
    users: int
    rps: float
    failures_per_second: float
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


@dataclass(frozen=True, slots=True)
class LoadStat:
    """One request type of locust's final stats (name "Aggregated" for the total)."""

    name: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float | None = None


@dataclass(frozen=True, slots=True)
class LoadTest:
    users: int
    spawn_rate: float
    seconds: float
    series: tuple[LoadPoint, ...] = ()
    stats: tuple[LoadStat, ...] = ()
    tool: str = "locust"
    max_failure_ratio: float = 0.0  # failures / requests above this fail the gate
    ramp_seconds: float | None = None  # spawning the users: not measured
    measured_seconds: float | None = None  # the window the stats (and rps) cover
    warmup_seconds: float | None = None  # the same load before that window, kept apart
    warmup_requests: int | None = None
    warmup_p95_ms: float | None = None  # the cold start: shown, never held to a budget
    warmup_steady: bool | None = None  # it ended as the p95 stopped falling (False: at its limit)
    warmup_max_seconds: float | None = None  # its limit

    @property
    def failure_ratio(self) -> float:
        stats = [s for s in self.stats if s.name != "Aggregated"]
        requests = sum(s.requests for s in stats)
        return sum(s.failures for s in stats) / requests if requests else 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    query: str
    scale: str
    sql: str
    plan: str  # EXPLAIN (ANALYZE, BUFFERS) output, as text
    execution_ms: float | None = None


@dataclass(frozen=True, slots=True)
class CrossCheckQuery:
    """One query of the cross-checked mix: p95 as locust and as pgbench measured it."""

    query: str
    locust_p95_ms: float
    pgbench_p95_ms: float

    @property
    def ratio(self) -> float:
        return self.pgbench_p95_ms / self.locust_p95_ms if self.locust_p95_ms > 0 else math.inf


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """A query mix run by locust, then by pgbench (PostgreSQL's own client) at the throughput
    locust reached: the harness's figures checked by another tool."""

    users: int  # locust users (and pgbench clients)
    seconds: float
    rate: float | None  # transactions/s asked of pgbench (locust's throughput)
    rps: float  # transactions/s pgbench ran
    requests: int
    errors: int
    queries: tuple[CrossCheckQuery, ...] = ()
    exit_code: int = 0
    tool: str = "pgbench"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.errors == 0 and bool(self.queries)


@dataclass(frozen=True, slots=True)
class PerformanceResults:
    queries: tuple[QueryResult, ...]
    scaling: tuple[ScalingPoint, ...] = ()
    histograms: tuple[Histogram, ...] = ()
    rls: tuple[RlsOverhead, ...] = ()
    load: LoadTest | None = None
    plans: tuple[Plan, ...] = ()
    findings: tuple[str, ...] = ()  # what the benchmarks noted without failing on it
    crosscheck: CrossCheck | None = None


# -- schema reference (schema/README.md and the report's schema section) ---------------------
@dataclass(frozen=True, slots=True)
class SchemaColumn:
    name: str
    type: str
    nullable: bool
    default: str | None = None
    comment: str = ""


@dataclass(frozen=True, slots=True)
class SchemaConstraint:
    name: str
    kind: str  # primary key | unique | foreign key | check | exclusion
    definition: str


@dataclass(frozen=True, slots=True)
class SchemaPolicy:
    name: str
    command: str  # ALL, SELECT, INSERT, UPDATE, DELETE
    roles: tuple[str, ...]
    permissive: bool
    using: str | None = None
    check: str | None = None
    comment: str = ""


@dataclass(frozen=True, slots=True)
class SchemaTable:
    name: str  # schema.name
    kind: str  # table, partitioned table, view, materialized view, foreign table
    owner: str
    comment: str = ""
    rls: str = ""  # "", "enabled", "enabled, forced"
    columns: tuple[SchemaColumn, ...] = ()
    constraints: tuple[SchemaConstraint, ...] = ()
    indexes: tuple[str, ...] = ()  # CREATE INDEX definitions
    policies: tuple[SchemaPolicy, ...] = ()
    grants: tuple[str, ...] = ()  # "legal_app: SELECT, INSERT"
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SchemaFunction:
    signature: str
    language: str
    volatility: str  # immutable | stable | volatile
    security_definer: bool
    executable_by: tuple[str, ...]
    comment: str = ""


@dataclass(frozen=True, slots=True)
class SchemaReference:
    tables: tuple[SchemaTable, ...]
    functions: tuple[SchemaFunction, ...] = ()
    extensions: tuple[str, ...] = ()  # "pg_trgm 1.6 (schema extensions)"


# -- trend ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TrendEntry:
    """A previous run reduced to what a trend compares (see ``summarize``)."""

    run_id: str
    started_at: datetime
    git_commit: str | None
    verdict: str
    gates: dict[str, str]
    metrics: dict[str, float]


@dataclass(frozen=True, slots=True)
class RunResults:
    run_id: str
    started_at: datetime  # timezone-aware, UTC
    seconds: float  # wall time of the run
    environment: Environment
    gates: tuple[Gate, ...] = ()
    migrations: MigrationResults | None = None
    isolation: IsolationResults | None = None
    performance: PerformanceResults | None = None
    schema: SchemaReference | None = None
    trend: tuple[TrendEntry, ...] = ()  # previous runs, oldest first
    schema_version: int = SCHEMA_VERSION

    @property
    def verdict(self) -> str:
        """fail when a gate failed or errored; pass otherwise (skipped gates are shown)."""
        return "fail" if any(g.status in ("fail", "error") for g in self.gates) else "pass"

    def gate(self, name: str) -> Gate | None:
        return next((g for g in self.gates if g.name == name), None)


def _one_of(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {', '.join(allowed)}")
