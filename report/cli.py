"""``harness report`` and ``harness schema-doc``: the report layer from the command line.

Registered on the ``harness`` group by ``harness.cli`` (``main.add_command(report)``,
``main.add_command(schema_doc)``). ``report`` rebuilds HTML and JUnit XML from existing
``reports/<run-id>/results.json`` files and never touches a database. ``schema-doc`` is the
entry point that connects: it reads the catalog of a freshly migrated database (or of
``--dsn``) and hands plain data to the Markdown renderer.
Exit codes: 0 done; 1 ``schema-doc --check`` found the file stale; 2 usage or environment.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from harness.cli import _common, _guarded, _settings, _target_db, console, err_console
from harness.config import load_settings
from harness.migrations import Migrator
from harness.postgres import connect
from report.build import ReportError, build_report, load_runs, previous_of
from report.schema_doc import REGENERATE, read_reference, render_markdown
from report.summary import summary_lines


@click.command("report")
@click.option("--reports", "reports_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Reports directory holding <run-id>/results.json (default: reports).")
@click.option("--run", "run_id", help="Rebuild this run (default: the newest).")
@click.option("--all", "all_runs", is_flag=True, help="Rebuild every run in the directory.")
@_guarded
def report(reports_dir: Path | None, run_id: str | None, all_runs: bool) -> None:
    """Rebuild report.html and junit.xml from existing results.json files (no database)."""
    root = load_settings({"reports": reports_dir}).reports
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
    for line in summary_lines(chosen[-1]):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"report: {page}" + (f" ({len(chosen)} runs rebuilt)" if all_runs else ""),
                  markup=False, highlight=False, soft_wrap=True)


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
