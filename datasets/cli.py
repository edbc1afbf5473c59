"""``harness generate``: generate a dataset at a named scale and load it, with per-table rates.

Without ``--dsn`` it provisions an ephemeral embedded cluster, migrates a fresh database and
loads into it (a benchmark of the generator; everything is discarded at exit). With ``--dsn``
it loads into that database, which must be migrated and hold no tenants of the same seed.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from datasets.generate import generate_into
from datasets.plan import DEFAULT_TODAY
from datasets.scales import Scale, get_scale
from datasets.truth import DatasetInfo
from harness.cli import _common, _guarded, console, err_console
from harness.config import load_settings
from harness.migrations import Migrator
from harness.postgres import connect, create_database, provision


def _estimate(scale: Scale) -> int:
    """Rows to expect (for the progress bar): ~93 per case and ~4 per document."""
    return sum(93 * c + 4 * d for c, d in zip(scale.per_tenant(scale.cases, 5),
                                               scale.per_tenant(scale.documents, 10),
                                               strict=True))


def _stats_table(info: DatasetInfo) -> Table:
    table = Table(title=f"dataset {info.scale.name}, seed {info.seed}")
    for column, justify in (("table", "left"), ("rows", "right"), ("seconds", "right"),
                            ("rows/s", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    stats = info.stats
    for name in sorted(stats.rows):
        table.add_row(name, f"{stats.rows[name]:,}", f"{stats.seconds[name]:.2f}",
                      f"{stats.rate(name):,.0f}")
    load = info.phases.get("load", 0.0)
    table.add_row("all tables (load phase)", f"{stats.total_rows:,}", f"{load:.2f}",
                  f"{info.load_rows_per_second:,.0f}", style="bold")
    return table


def _run(target: str, scale: Scale, seed: int, today: dt.date, progress: bool) -> DatasetInfo:
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err_console,
                  disable=not progress, transient=True) as bar:
        task = bar.add_task("generating", total=_estimate(scale))

        def advance(table: str, rows: int) -> None:
            bar.update(task, advance=rows, description=table)

        with connect(target, autocommit=True) as conn:
            return generate_into(conn, scale, seed, today=today, progress=advance)


@click.command()
@_common
@click.option("--scale", "scale_name", help="tiny, small, medium or large (default: tiny, "
              "or [tool.harness] scale / HARNESS_SCALE).")
@click.option("--seed", type=int, help="Seed: the same seed gives byte-identical data.")
@click.option("--tenants", type=int, help="Override the number of tenants.")
@click.option("--cases", type=int, help="Override the cases of the largest tenant.")
@click.option("--documents", type=int, help="Override the documents of the largest tenant.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]),
              help=f"The dataset's today (default {DEFAULT_TODAY}).")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: when stderr is a terminal).")
@_guarded
def generate(scale_name: str | None, seed: int | None, tenants: int | None, cases: int | None,
             documents: int | None, today: dt.datetime | None, progress: bool | None,
             **params: Any) -> None:
    """Generate realistic Japanese legal data at a named scale and load it (COPY)."""
    keys = ("dsn", "migrations", "mode", "pg_bin", "port")
    settings = load_settings({**{k: params.get(k) for k in keys}, "scale": scale_name,
                              "seed": seed})
    scale = get_scale(settings.scale, tenants=tenants, cases=cases, documents=documents)
    day = today.date() if today is not None else DEFAULT_TODAY
    show = sys.stderr.isatty() if progress is None else progress
    started = time.perf_counter()
    with provision(settings) as server:
        if server.kind == "dsn":
            target = server.admin_dsn
        else:
            err_console.print(f"[dim]no --dsn: an ephemeral {server.kind} PostgreSQL "
                              f"{server.version}, migrated, discarded at exit[/dim]")
            target = create_database(server, "harness")
            Migrator(target, settings.migrations).migrate()
        info = _run(target, scale, settings.seed, day, show)
    console.print(_stats_table(info))
    console.print("phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in info.phases.items()))
    console.print(f"{info.stats.total_rows:,} rows: load {info.load_rows_per_second:,.0f} rows/s "
                  f"(generate + encrypt + COPY), end to end {info.rows_per_second:,.0f} rows/s "
                  f"in {info.seconds:.2f} s (+ indexes, ANALYZE, views); "
                  f"wall time {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":  # python -m datasets.cli (until registered in harness.cli)
    generate()
