"""The HTML report: every section present with the run's data, self-contained."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from harness.results import RunResults, judge
from report.html import SECTIONS, render_html
from tests.report.sample import REPRODUCER, sample_results


class Page(HTMLParser):
    """Text per section id, <pre> blocks, elements and attributes of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.sections: dict[str, list[str]] = {}
        self.pres: list[str] = []
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str]] = []
        self._section: str | None = None
        self._pre: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(tag, k, v or "") for k, v in attrs]
        if tag == "section":
            self._section = dict(attrs).get("id")
            self.sections[self._section or ""] = []
        if tag == "pre":
            self._pre = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre" and self._pre is not None:
            self.pres.append("".join(self._pre))
            self._pre = None

    def handle_data(self, data: str) -> None:
        if self._section is not None:
            self.sections[self._section].append(data)
        if self._pre is not None:
            self._pre.append(data)

    def text(self, section: str) -> str:
        return " ".join(" ".join(self.sections[section]).split())


def test_every_section_shows_the_runs_data(built_report: tuple[Path, RunResults]) -> None:
    path, results = built_report
    page = Page(path.read_text(encoding="utf-8"))
    assert list(page.sections) == list(SECTIONS)
    verdict = page.text("verdict")
    assert "FAIL" in verdict and results.run_id in verdict
    assert "ATK001 app.cases" in verdict and "search_2char@medium p95" in verdict
    assert "regression(s) against 3 previous run(s)" in verdict
    env = page.text("environment")
    assert "15.18 (Debian" in env and "medium" in env and "066eca2f5b1c" in env
    assert "shared_buffers" in env and "256MB" in env
    iso = page.text("isolation")
    for text in ("ATK001", "ATK020", "RLS002", "critical", "法人番号", "read-by-key",
                 "oracle-statements", "nothing to attack", "55.1 examples/s", "app.time_entries",
                 "Not fully covered: app.invoices, app.time_entries"):
        assert text in iso, text
    assert REPRODUCER.strip() in [p.strip() for p in page.pres]
    perf = page.text("performance")
    for text in ("case_list_filtered", "search_3to4char", "1,146.81", "asserted", "warn",
                 "RLS overhead", "locust", "Aggregated", "EXPLAIN plans",
                 "Index Scan using cases_open_idx", "Execution Time: 39.012 ms",
                 "measured over 55.0 s after the ramp-up of 5.0 s and a warm-up of 10 s under"
                 " the same load, until its p95 stopped falling (1641 requests, p95 812.50 ms;"
                 " not in the lines below)",
                 "Findings of the benchmarks", "grows ~linearly with the tenant's documents",
                 "Cross-check (pgbench against locust)", "248.7 transactions/s",
                 "0 failed, exit code 0", "pgbench / locust", "17.40"):
        assert text in perf, text
    mig = page.text("migrations")
    assert "V025__japanese_search.sql" in mig and "U017__multi_tenant_foundation.sql" in mig
    assert "undid 9 version(s), re-applied 9" in mig and "identical" in mig
    trend = page.text("trend")
    assert "Against 3 previous run(s)" in trend and "▲" in trend
    schema = page.text("schema")
    assert "app.cases" in schema and "事件番号 (令和5年(ワ)第1234号)" in schema
    assert "cases_select_tenant" in schema and "app.begin_session(p_token text)" in schema


def test_charts_are_inline_svg_and_nothing_is_fetched(
        built_report: tuple[Path, RunResults]) -> None:
    html = built_report[0].read_text(encoding="utf-8")
    page = Page(html)
    labels = {v for tag, k, v in page.attributes if tag == "svg" and k == "aria-label"}
    assert labels == {"latency-vs-scale", "latency-histograms", "rls-overhead",
                      "load-over-time", "migration-timings", "trend"}
    assert not re.search(r"https?://", html)
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    links = [v for _tag, k, v in page.attributes if k in ("href", "src", "xlink:href")]
    assert links and all(v.startswith("#") for v in links), links
    assert "url(" not in html.replace("url(#", "")  # only references inside the SVGs


def test_plans_are_folded_and_failing_findings_open(
        built_report: tuple[Path, RunResults]) -> None:
    html = built_report[0].read_text(encoding="utf-8")
    assert html.count('<details class="plan">') == 2
    assert re.search(r'<details class="finding failing" open>\s*<summary><span class="badge '
                     r'sev-critical">critical</span>\s*<strong>ATK001', html)
    assert re.search(r'<details class="finding">\s*<summary><span class="badge sev-info">',
                     html)


def test_escaping_and_empty_sections() -> None:
    results = sample_results()
    assert results.isolation is not None
    finding = results.isolation.findings[0]
    hostile = type(finding)(**{**finding.to_dict(), "tenants": finding.tenants,
                               "message": "<script>alert(1)</script>"})
    isolation = type(results.isolation)(**{
        **{f: getattr(results.isolation, f) for f in results.isolation.__dataclass_fields__},
        "findings": (hostile,)})
    html = render_html(judge(type(results)(**{
        **{f: getattr(results, f) for f in results.__dataclass_fields__},
        "isolation": isolation, "performance": None, "migrations": None, "schema": None})))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    page = Page(html)
    assert list(page.sections) == list(SECTIONS)
    assert "did not run in this run" in page.text("performance")
    assert "did not run in this run" in page.text("migrations")
    assert "No schema reference" in page.text("schema")
