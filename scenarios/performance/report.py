"""Plain-text rendering of a bench-results document (printed at the end of a pytest run and by
``python -m scenarios.performance.report FILE``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _limit(value: Any) -> str:
    return "—" if value is None else f"<= {value:g}"


def _query_lines(queries: Mapping[str, Any]) -> Iterator[str]:
    yield (f"{'query':28} {'rows':>9} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}  "
           f"{'requirement':>11} {'target':>8}  asserted             verdict")
    for qid, q in queries.items():
        b = q.get("budget", {})
        verdict = "ok" if q.get("pass") else "FAIL"
        if q.get("pass") and not b.get("target_ok", True):
            verdict = "ok (target missed, not asserted at this scale)"
        yield (f"{qid:28} {_f(q.get('rows')):>9} {_f(q.get('n')):>5} {_f(q.get('p50')):>9} "
               f"{_f(q.get('p95')):>9} {_f(q.get('p99')):>9}  "
               f"{_limit(b.get('requirement_ms')):>11} "
               f"{_limit(b.get('target_ms')):>8}"
               f"  {'+'.join(b.get('asserted', [])):20} {verdict}")


def _rls_lines(rls: Mapping[str, Any]) -> Iterator[str]:
    yield (f"{'RLS overhead':28} {'app p50':>9} {'bypass p50':>10} {'ratio':>7} "
           f"{'app buf':>8} {'byp buf':>8} {'buf ratio':>9}  target")
    for qid, r in rls.items():
        target = f"<= {_f(r.get('target_ratio'))}x" + (
            "" if r.get("asserted", True) else " (not asserted at this scale)")
        yield (f"{qid:28} {_f(r['app']['p50'], 3):>9} {_f(r['bypass']['p50'], 3):>10} "
               f"{_f(r['median_ratio']):>7} {r['app_shared_buffers']:>8} "
               f"{r['bypass_shared_buffers']:>8} {_f(r['buffer_ratio']):>9}  {target}")


def _scaling_lines(scaling: Mapping[str, Any]) -> Iterator[str]:
    yield f"{'scaling (p95 vs rows)':28} {'slope':>6}  points (rows: p95 ms)"
    for qid, s in scaling.items():
        points = ", ".join(f"{int(r)}: {_f(t)}" for r, t in s.get("points", []))
        flag = "  LINEAR" if s.get("linear") else ""
        yield f"{qid:28} {_f(s.get('slope')):>6}  {points}{flag}"


def _load_lines(load: Mapping[str, Any]) -> Iterator[str]:
    for name, run in load.items():
        warm = run.get("warmup") or {}
        settled = {True: " (steady)", False: " (still warming at its limit)"}.get(
            warm.get("steady"), "")
        warmup = (f", warm-up {_f(run.get('warmup_seconds'), 0)} s{settled}:"
                  f" {warm.get('requests')}"
                  f" requests, {warm.get('errors')} errors, p95"
                  f" {_f((warm.get('aggregated') or {}).get('p95'))} ms"
                  if run.get("warmup_seconds") else "")
        ramp = (f" (ramp-up {_f(run.get('ramp_seconds'), 1)} s at {_f(run.get('spawn_rate'), 1)}"
                f" users/s{warmup}, measured {_f(run.get('window_seconds'), 1)} s)"
                if run.get("spawn_rate") is not None else "")
        yield (f"{name}: {run.get('users')} users, {_f(run.get('seconds'), 0)} s{ramp}, "
               f"{run.get('requests')} requests, {_f(run.get('rps'), 1)} req/s, "
               f"{run.get('errors')} errors")
        for qid, s in run.get("queries", {}).items():
            yield (f"    {qid:26} n={s['n']:>6} p50 {_f(s['p50']):>8} p95 {_f(s['p95']):>8} "
                   f"p99 {_f(s['p99']):>8} ms")


def lines(doc: Mapping[str, Any]) -> Iterator[str]:
    scale = doc.get("scale")
    data = doc.get("dataset", {})
    yield f"== performance at scale {scale}: {data.get('tenants', '?')} tenants, largest " \
          f"{data.get('largest_tenant', {})}, build {data.get('build_seconds', '?')} s"
    server = doc.get("environment") or {}
    if server:
        settings = server.get("settings", {})
        yield (f"PostgreSQL {server.get('postgres_version')}: shared_buffers "
               f"{settings.get('shared_buffers', '?')}, work_mem {settings.get('work_mem', '?')}")
    if doc.get("queries"):
        yield from _query_lines(doc["queries"])
    if doc.get("migrations"):
        m = doc["migrations"]
        yield (f"migrations: total median {_f(m.get('total_ms', {}).get('p50'))} ms, slowest "
               f"{m.get('slowest')} {_f(m.get('slowest_ms'))} ms over {m.get('runs')} runs")
    if doc.get("rls"):
        yield from _rls_lines(doc["rls"])
    if doc.get("scaling"):
        yield from _scaling_lines(doc["scaling"])
    if doc.get("load"):
        yield from _load_lines(doc["load"])
    if doc.get("pgbench"):
        yield from _load_lines({"pgbench": doc["pgbench"]})
    for finding in doc.get("findings", []):
        yield f"finding: {finding}"
    for failure in doc.get("failures", []):
        yield f"FAILED: {failure}"


def main(argv: list[str]) -> int:
    import json

    for name in argv:
        for line in lines(json.loads(Path(name).read_text(encoding="utf-8"))):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
