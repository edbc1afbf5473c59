"""junit.xml: one testsuite per gate, one testcase per rule, family or query; failures carry
the finding and its reproducer or the budget that was missed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from harness.results import Gate, RunResults, judge
from report.junit import write_junit
from tests.report.sample import sample_results

ORDER = ("properties", "testcase", "system-out", "system-err")


def _tree(results: RunResults, tmp_path: Path) -> ET.Element:
    return ET.parse(write_junit(results, tmp_path / "junit.xml")).getroot()


def test_structure_and_counts(tmp_path: Path) -> None:
    root = _tree(sample_results(), tmp_path)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["migrations", "isolation", "performance"]
    for suite in suites:
        kinds = [child.tag for child in suite]
        assert kinds == sorted(kinds, key=ORDER.index), kinds  # properties, cases, out, err
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "")) == len(cases) > 0
        for key, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
            assert int(suite.get(key, "")) == sum(c.find(tag) is not None for c in cases)
        for case in cases:
            assert case.get("classname") and case.get("name") and float(case.get("time", ""))\
                >= 0
            assert len([c for c in case if c.tag in ("failure", "error", "skipped")]) <= 1
        assert suite.get("timestamp") and suite.get("hostname") == "ci-runner-1"
    assert int(root.get("tests", "")) == sum(int(s.get("tests", "")) for s in suites)
    assert int(root.get("failures", "")) == sum(int(s.get("failures", "")) for s in suites)


def test_failures_carry_findings_and_budget_misses(tmp_path: Path) -> None:
    root = _tree(sample_results(), tmp_path)
    isolation = root.find("testsuite[@name='isolation']")
    assert isolation is not None
    read = isolation.find("testcase[@name='read-by-key']/failure")
    assert read is not None and "app.cases" in read.get("message", "")
    assert "reproducer (psql):" in (read.text or "") and "\\connect" in (read.text or "")
    assert isolation.find("testcase[@name='read-by-scan']/failure") is None
    assert isolation.find("testcase[@name='oracle-statements']/skipped") is not None
    scan = isolation.find("testcase[@classname='harness.isolation.scan']"
                          "[@name='RLS002 row level security enabled but not forced']/failure")
    assert scan is not None
    performance = root.find("testsuite[@name='performance']")
    assert performance is not None
    miss = performance.find("testcase[@name='search_2char@medium']/failure")
    assert miss is not None and "> requirement 500.0 ms" in miss.get("message", "")
    assert performance.find("testcase[@name='case_list@small']/failure") is None
    rls = performance.find("testcase[@name='RLS overhead search_3to4char@medium']/failure")
    assert rls is not None
    check = performance.find("testcase[@name='pgbench cross-check 50 clients']")
    assert check is not None and check.find("failure") is None
    assert "case_list: p95 locust 21.000 ms, pgbench 17.400 ms (0.83x)" in (
        check.findtext("system-out") or "")
    notes = performance.find("testcase[@name='2 benchmark finding(s)']")
    assert notes is not None and notes.find("failure") is None
    assert "grows ~linearly" in (notes.findtext("system-out") or "")
    migrations = root.find("testsuite[@name='migrations']")
    assert migrations is not None and migrations.get("failures") == "0"
    assert len(migrations.findall("testcase")) == 27 + 2  # scripts, validate, undo/redo


def test_skipped_and_errored_gates(tmp_path: Path) -> None:
    results = sample_results(performance=None)
    errored = replace(judge(replace(results, isolation=None)),
                      gates=(Gate("migrations", "pass", "ok"),
                             Gate("isolation", "error", "could not connect to the DSN"),
                             Gate("performance", "skipped", "not run")))
    root = _tree(errored, tmp_path)
    error = root.find("testsuite[@name='isolation']/testcase/error")
    assert error is not None and "could not connect" in error.get("message", "")
    assert root.find("testsuite[@name='performance']/testcase/skipped") is not None
    assert root.get("errors") == "1" and root.get("skipped") == "1"
