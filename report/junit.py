"""JUnit XML of a run: one testsuite per gate, one testcase per rule, attack family or query.

The layout is the common JUnit XML read by Jenkins, GitLab and GitHub (Jenkins' junit-10.xsd):
``testsuites`` > ``testsuite`` (name, tests, failures, errors, skipped, time, timestamp,
hostname) > ``properties``, ``testcase`` (classname, name, time) holding at most one
``failure``, ``error`` or ``skipped``, then ``system-out`` and ``system-err``. A failure
carries the finding (with its psql reproducer) or the budget that was missed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.findings import Finding
from harness.results import (
    CrossCheck,
    Gate,
    IsolationResults,
    MigrationResults,
    PerformanceResults,
    QueryResult,
    RunResults,
)
from report.summary import budget_text


@dataclass
class Case:
    classname: str
    name: str
    seconds: float = 0.0
    outcome: str = ""  # "", failure, error, skipped
    message: str = ""
    text: str = ""
    out: list[str] = field(default_factory=list)


def junit_tree(results: RunResults) -> ET.ElementTree[ET.Element]:
    root = ET.Element("testsuites", name=f"harness run {results.run_id}")
    builders: dict[str, Callable[[Any], list[Case]]] = {
        "migrations": _migrations, "isolation": _isolation, "performance": _performance}
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    seconds = 0.0
    for index, name in enumerate(builders):
        gate = results.gate(name) or Gate(name, "skipped", "not judged")
        section = getattr(results, name)
        cases = _gate_case(gate) if section is None or gate.status == "error" else \
            builders[name](section)
        suite = _suite(root, index, results, gate, cases)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        seconds += sum(c.seconds for c in cases)
    root.attrib.update({k: str(v) for k, v in totals.items()})
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(results: RunResults, path: Path) -> Path:
    """Write the JUnit XML of ``results`` to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(results).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _suite(root: ET.Element, index: int, results: RunResults, gate: Gate,
           cases: list[Case]) -> ET.Element:
    count = {k: sum(c.outcome == k for c in cases) for k in ("failure", "error", "skipped")}
    suite = ET.SubElement(root, "testsuite", {
        "name": gate.name, "id": str(index), "package": "harness",
        "tests": str(len(cases)), "failures": str(count["failure"]),
        "errors": str(count["error"]), "skipped": str(count["skipped"]),
        "time": f"{sum(c.seconds for c in cases):.3f}",
        "timestamp": results.started_at.strftime("%Y-%m-%dT%H:%M:%S"),
        "hostname": results.environment.host or "localhost"})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("gate", gate.status), ("reason", gate.reason),
                        ("run_id", results.run_id), ("scale", results.environment.scale),
                        ("seed", str(results.environment.seed)),
                        ("commit", results.environment.git_commit or "")):
        ET.SubElement(properties, "property", name=name, value=value)
    for case in cases:
        element = ET.SubElement(suite, "testcase", classname=case.classname, name=case.name,
                                time=f"{case.seconds:.3f}")
        if case.outcome:
            child = ET.SubElement(element, case.outcome, message=case.message)
            if case.outcome != "skipped":
                child.set("type", gate.name)
            child.text = case.text or None
        if case.out:
            ET.SubElement(element, "system-out").text = "\n".join(case.out)
    ET.SubElement(suite, "system-out").text = f"{gate.name}: {gate.status}: {gate.reason}"
    ET.SubElement(suite, "system-err")
    return suite


def _gate_case(gate: Gate) -> list[Case]:
    outcome = {"error": "error", "fail": "failure", "skipped": "skipped"}.get(gate.status, "")
    return [Case(f"harness.{gate.name}", f"{gate.name} gate", outcome=outcome,
                 message=gate.reason, text=gate.reason)]


def _migrations(m: MigrationResults) -> list[Case]:
    cases = []
    for step in m.steps:
        case = Case("harness.migrations", f"{step.script} ({step.phase})", step.seconds)
        if step.seconds > m.budget_seconds:
            case.outcome, case.message = "failure", (
                f"{step.script} took {step.seconds:.3f} s > budget {m.budget_seconds:g} s")
        cases.append(case)
    validate = Case("harness.migrations", "validate")
    problems = ([m.error] if m.error else []) + list(m.problems)
    if problems:
        validate.outcome, validate.message, validate.text = ("failure", problems[0],
                                                             "\n".join(problems))
    cases.append(validate)
    redo = Case("harness.migrations", "undo and redo give an identical catalog")
    if m.undo_redo is None:
        redo.outcome, redo.message = "skipped", "undo/redo was not checked in this run"
    elif not m.undo_redo.ok:
        redo.outcome = "failure"
        redo.message = m.undo_redo.error or "the catalog differs after undo and redo"
        redo.text = "\n".join(m.undo_redo.differences)
    cases.append(redo)
    return cases


def _isolation(i: IsolationResults) -> list[Case]:
    failing = i.failing()
    cases = []
    covered: set[str] = set()
    for rule in i.rules:
        if rule.source == "scan":
            cases.append(_findings_case("harness.isolation.scan", f"{rule.id} {rule.title}",
                                        [f for f in failing if f.rule == rule.id]))
            covered.add(rule.id)
    for family in i.families:
        hits = [f for f in failing if f.rule in family.rules]
        case = _findings_case("harness.isolation.attack", family.name, hits, family.seconds)
        if family.skipped and not hits:
            case.outcome, case.message = "skipped", family.skipped
        case.out.append(f"{family.examples} examples in {family.seconds:.3f} s; "
                        f"rules {', '.join(family.rules)}")
        cases.append(case)
        covered.update(family.rules)
    for rule_id in sorted({f.rule for f in failing} - covered):
        cases.append(_findings_case("harness.isolation", rule_id,
                                    [f for f in failing if f.rule == rule_id]))
    return cases


def _findings_case(classname: str, name: str, findings: list[Finding],
                   seconds: float = 0.0) -> Case:
    case = Case(classname, name, seconds)
    if findings:
        objects = ", ".join(dict.fromkeys(f.object for f in findings))
        case.outcome = "failure"
        case.message = f"{len(findings)} finding(s) [{findings[0].severity}]: {objects}"
        case.text = "\n\n".join(_finding_text(f) for f in findings)
    return case


def _finding_text(f: Finding) -> str:
    lines = [f"{f.rule} {f.severity} {f.object}: {f.message}"]
    if f.tenants:
        lines.append(f"tenants: {f.tenants[0]} (acting) -> {f.tenants[1]} (victim)")
    if f.seed is not None:
        lines.append(f"seed: {f.seed}")
    if f.reproducer:
        lines += ["reproducer (psql):", f.reproducer.rstrip()]
    return "\n".join(lines)


def _performance(p: PerformanceResults) -> list[Case]:
    cases = [_query_case(q) for q in p.queries]
    for r in p.rls:
        case = Case("harness.performance.rls", f"RLS overhead {r.query}@{r.scale}")
        case.out.append(f"{r.ratio:.3f}x ({r.rls_ms:.3f} ms under RLS, {r.bypass_ms:.3f} ms "
                        "with an explicit filter)")
        if r.context_ms is not None:
            case.out.append(f"{r.context_checks} tenant-context checks {r.context_ms:.3f} ms; "
                            f"{r.ratio_beyond_context:.3f}x beyond them")
        if not r.ok:
            case.outcome = "failure"
            case.message = f"RLS overhead {r.ratio:.2f}x > {r.max_ratio:g}x"
        cases.append(case)
    if p.load is not None:
        case = Case("harness.performance.load", f"{p.load.tool} {p.load.users} users",
                    p.load.seconds)
        if p.load.failure_ratio > p.load.max_failure_ratio:
            case.outcome = "failure"
            case.message = (f"failures {p.load.failure_ratio:.2%} > allowed "
                            f"{p.load.max_failure_ratio:.2%}")
        cases.append(case)
    if p.crosscheck is not None:
        cases.append(_crosscheck_case(p.crosscheck))
    if p.findings:  # notes, not failures: shown with the suite's output
        case = Case("harness.performance.findings", f"{len(p.findings)} benchmark finding(s)")
        case.out += list(p.findings)
        cases.append(case)
    return cases


def _crosscheck_case(c: CrossCheck) -> Case:
    case = Case("harness.performance.load", f"{c.tool} cross-check {c.users} clients", c.seconds)
    rate = f" at {c.rate:.1f}/s (locust's throughput)" if c.rate is not None else ""
    case.out.append(f"{c.requests} transactions{rate}: {c.rps:.1f}/s, {c.errors} failed")
    case.out += [f"{q.query}: p95 locust {q.locust_p95_ms:.3f} ms, {c.tool} "
                 f"{q.pgbench_p95_ms:.3f} ms ({q.ratio:.2f}x)" for q in c.queries]
    if not c.ok:
        case.outcome = "failure"
        case.message = (f"{c.tool} exit code {c.exit_code}, {c.errors} failed transaction(s), "
                        f"{len(c.queries)} query(ies) compared")
    return case


def _query_case(q: QueryResult) -> Case:
    case = Case("harness.performance.latency", q.key)
    case.out.append(f"n={q.samples} p50={q.p50_ms:.3f} ms p95={q.p95_ms:.3f} ms "
                    f"p99={q.p99_ms:.3f} ms; {budget_text(q)}")
    if q.status == "fail":
        over_requirement = q.requirement_ms is not None and not q.value_ms <= q.requirement_ms
        kind, limit, stated = (("requirement", q.requirement_ms, q.requirement)
                               if over_requirement else ("target", q.target_ms, q.target))
        case.outcome = "failure"
        case.message = f"{q.metric} {q.value_ms:.2f} ms > {kind} {limit} ms at scale {q.scale}"
        case.text = f"{q.title}\n{kind}: {stated}".strip()
    elif q.status == "warn":
        case.out.append(f"target missed (shown, not asserted at {q.scale}): "
                        f"{q.metric} {q.value_ms:.2f} ms > {q.target_ms:g} ms")
    return case

