"""pgbench cross-check of a query mix: PostgreSQL's own client measures what locust measured.

One script per query (``-f script@weight``), each one tenant transaction: the client picks
its tenant by ``:client_id`` and an ``\\if`` chain starts that tenant's context with
``app.begin_session('<token>')`` (pgbench cannot index variables, and ``\\set`` takes numbers
only), then runs the query with its parameters rendered as literals. ``-M prepared`` like
psycopg after its threshold; ``--log`` writes one line per transaction, from which the
percentiles are computed (pgbench prints none). With ``-R`` (the throughput locust reached)
both tools see the same load; the log's latency then includes the schedule lag, which is
subtracted to get the service time locust reports.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo

from harness.postgres import find_bindir
from scenarios.performance.dataset import BenchDataset
from scenarios.performance.queries import QUERIES, context
from scenarios.performance.stats import summarize_ms

_FAILED = re.compile(r"number of failed transactions: (\d+)")


def _literal_sql(dataset: BenchDataset, query_id: str) -> str:
    """The query with the largest tenant's parameters as literals (one line, ``;``-ended)."""
    query = QUERIES[query_id]
    params = query.params(context(dataset.largest, dataset.today, dataset.tsqueries, seed=4))
    with psycopg.connect(dataset.admin_dsn) as conn:
        text = psycopg.ClientCursor(conn).mogrify(query.sql, params)
    return " ".join(text.split()) + ";"


def write_scripts(dataset: BenchDataset, mix: Mapping[str, int], directory: Path
                  ) -> list[tuple[str, Path, int]]:
    directory.mkdir(parents=True, exist_ok=True)
    tokens = [t.token for t in dataset.tenants]
    chain = [f"\\set k :client_id % {len(tokens)}"]
    for i, token in enumerate(tokens):
        chain.append(f"\\{'if' if i == 0 else 'elif'} :k = {i}")
        chain.append(f"SELECT app.begin_session('{token}');")
    chain.append("\\endif")
    scripts = []
    for query_id, weight in mix.items():
        path = directory / f"pgbench-{query_id}.sql"
        body = ["BEGIN;", *chain, _literal_sql(dataset, query_id), "COMMIT;"]
        path.write_text("\n".join(body) + "\n", encoding="utf-8")
        path.chmod(0o600)  # session tokens
        scripts.append((query_id, path, weight))
    return scripts


def run_pgbench(dataset: BenchDataset, mix: Mapping[str, int], directory: Path, *,
                clients: int = 50, threads: int = 2, seconds: int = 30,
                rate: float | None = None, pg_bin: str | None = None) -> dict[str, Any]:
    scripts = write_scripts(dataset, mix, directory)
    for old in directory.glob("pgbench_log*"):
        old.unlink()
    params = conninfo.conninfo_to_dict(dataset.app_dsn)
    cmd = [str(find_bindir(pg_bin) / "pgbench"), "-n", "-M", "prepared", "-c", str(clients),
           "-j", str(threads), "-T", str(seconds), "--log",
           f"--log-prefix={directory / 'pgbench_log'}"]
    for _qid, path, weight in scripts:
        cmd += ["-f", f"{path}@{weight}"]
    if rate is not None:
        cmd += ["-R", f"{rate:.1f}"]
    for flag, key in (("-h", "host"), ("-p", "port"), ("-U", "user")):
        if params.get(key):
            cmd += [flag, str(params[key])]
    cmd.append(str(params["dbname"]))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    result = parse_logs(directory, [q for q, _p, _w in scripts], rate is not None)
    failed = _FAILED.search(done.stdout)
    result.update(clients=clients, threads=threads, seconds=seconds, rate=rate,
                  exit_code=done.returncode, command=" ".join(cmd[:1] + cmd[1:12]) + " ...",
                  reported_failures=int(failed.group(1)) if failed else None,
                  stderr_tail=done.stderr.strip().splitlines()[-5:])
    result["errors"] += result["reported_failures"] or 0
    return result


def parse_logs(directory: Path, script_names: list[str], throttled: bool) -> dict[str, Any]:
    """Per-script latency from ``client txno time script epoch usec [lag]`` lines (µs)."""
    latencies: dict[str, list[float]] = {name: [] for name in script_names}
    errors = 0
    for path in sorted(directory.glob("pgbench_log*")):
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.split()
            if len(fields) < 6:
                continue
            name = script_names[int(fields[3])]
            if not fields[2].isdigit():  # "failed" / "skipped"
                errors += 1
                continue
            micros = int(fields[2]) - (int(fields[6]) if throttled and len(fields) > 6 else 0)
            latencies[name].append(micros / 1000.0)
    requests = sum(len(v) for v in latencies.values()) + errors
    return {"requests": requests, "errors": errors,
            "queries": {n: summarize_ms(v).as_dict() for n, v in latencies.items() if v}}
