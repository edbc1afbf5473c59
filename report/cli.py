"""``harness report`` and ``harness schema-doc``: the report layer from the command line.

Registered on the ``harness`` group by ``harness.cli`` (``main.add_command(report)``,
``main.add_command(schema_doc)``). ``report`` rebuilds HTML and JUnit XML from existing
``reports/<run-id>/results.json`` files, or (``--bench FILE``) builds a run from the
bench-results.json of ``harness bench`` whose performance section holds its figures; it never
touches a database. ``schema-doc`` is the
entry point that connects: it reads the catalog of a freshly migrated database (or of
``--dsn``) and hands plain data to the Markdown renderer.
Exit codes: 0 done; 1 ``schema-doc --check`` found the file stale; 2 usage or environment.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from harness.cli import _common, _guarded, _settings, _target_db, console, err_console
from harness.config import load_settings
from harness.migrations import Migrator
from harness.postgres import connect
from harness.results import (
    RunResults,
    bench_failures,
    bench_server,
    bench_started,
    capture_environment,
    git_commit,
    judge,
    judge_bench,
    new_run_id,
    performance_from_bench,
    read_bench,
)
from report.build import ReportError, build_report, load_runs, previous_of
from report.schema_doc import REGENERATE, read_reference, render_markdown
from report.summary import summary_lines


@click.command("report")
@click.option("--reports", "reports_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Reports directory holding <run-id>/results.json (default: reports).")
@click.option("--run", "run_id", help="Rebuild this run (default: the newest).")
@click.option("--all", "all_runs", is_flag=True, help="Rebuild every run in the directory.")
@click.option("--bench", "bench_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Build a report from this bench-results.json (harness bench): the "
              "performance section filled, the other gates shown as not run.")
@_guarded
def report(reports_dir: Path | None, run_id: str | None, all_runs: bool,
           bench_file: Path | None) -> None:
    """Rebuild report.html and junit.xml from existing results.json files (no database)."""
    root = load_settings({"reports": reports_dir}).reports
    if bench_file is not None:
        if run_id is not None or all_runs:
            raise ReportError("--bench builds a new run: it takes no --run or --all",
                              hint="give --bench FILE alone (and --reports DIR)")
        _report_bench(bench_file, root)
        return
    runs, problems = load_runs(root)
    for problem in problems:
        err_console.print(f"skipped: {problem}", markup=False, soft_wrap=True)
    if not runs:
        raise ReportError(f"no readable <run-id>/results.json under {root}",
                          hint="run `harness run` first, or give --reports DIR")
    if all_runs:
        chosen = runs
    elif run_id is not None:
        chosen = [r for r in runs if r.run_id == run_id]
        if not chosen:
            raise ReportError(f"no run {run_id!r} under {root}",
                              hint=f"runs: {', '.join(r.run_id for r in runs[-5:])}")
    else:
        chosen = runs[-1:]
    for results in chosen:
        page = build_report(results, root, previous_of(results, runs))
    _print(chosen[-1], page, f" ({len(chosen)} runs rebuilt)" if all_runs else "")


def _report_bench(path: Path, root: Path) -> None:
    results = bench_results(path)
    runs = load_runs(root)[0]
    _print(results, build_report(results, root, previous_of(results, runs)), "")


def bench_results(path: Path) -> RunResults:
    """A run whose performance section is the bench-results.json at ``path`` (run id
    ``<start>-<commit>-bench``); migrations and isolation did not run."""
    runs = read_bench(path)
    performance = performance_from_bench(runs)
    started, finished = bench_started(runs)
    started = started or datetime.fromtimestamp(path.stat().st_mtime, UTC)
    seeded = all(str(r.results.get("dataset", {}).get("source")) == "datasets" for r in runs)
    version, number, settings = bench_server(runs) or (
        "not recorded in bench-results.json", 0, {})
    environment = capture_environment(
        postgres_version=version, server_version_num=number, settings=settings,
        mode="harness bench", scale=",".join(r.scale for r in runs),
        seed=1 if seeded else 0)  # the scenarios' generator builds its datasets with seed 1
    results = judge(RunResults(
        run_id=f"{new_run_id(started, git_commit(Path.cwd()))}-bench", started_at=started,
        seconds=(finished - started).total_seconds() if finished else 0.0,
        environment=environment, performance=performance))
    verdict = judge_bench(performance, bench_failures(runs))
    return replace(results, gates=tuple(verdict if g.name == "performance" else g
                                        for g in results.gates))


def _print(results: RunResults, page: Path, note: str) -> None:
    for line in summary_lines(results):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"report: {page}{note}", markup=False, highlight=False, soft_wrap=True)


@click.command("schema-doc")
@_common
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("schema/README.md"), show_default=True,
              help="Markdown file to write ('-' prints it).")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 when OUTPUT differs from the generated reference.")
@_guarded
def schema_doc(output: Path, check: bool, **params: Any) -> None:
    """Generate the schema reference (Markdown) from the catalog of a migrated database."""
    settings = _settings(params)
    with _target_db(settings) as (server, dsn):
        if server.kind != "dsn":
            Migrator(dsn, settings.migrations).migrate()
        with connect(dsn) as conn:
            reference = read_reference(conn)
    text = render_markdown(reference)
    if str(output) == "-":
        sys.stdout.write(text)
        return
    if check:
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != text:
            err_console.print(f"{output} is stale: regenerate it with `{REGENERATE}`",
                              markup=False, soft_wrap=True)
            sys.exit(1)
        console.print(f"{output} is current", markup=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output}: {len(reference.tables)} relations, "
                  f"{len(reference.functions)} functions", markup=False)


if __name__ == "__main__":
    report()
