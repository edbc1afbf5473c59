"""Throughput of the pools and samplers, printed (rates are never asserted: machines differ);
each sampler must still return the number of items it was asked for."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from datasets.domain.addresses import build_address_pool
from datasets.domain.bodytext import BodyTextGenerator
from datasets.domain.companies import build_company_pool
from datasets.domain.fees import retainer_fees, sample_economic_benefits
from datasets.domain.identifiers import corporate_numbers, my_numbers
from datasets.domain.normalization import normalize_party_names
from datasets.domain.people import name_pools, sample_people
from datasets.domain.phones import landline_numbers, mobile_numbers
from datasets.domain.variants import sample_near_duplicates


def _rate(label: str, n: int, fn: Callable[[], object], lines: list[str]) -> None:
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    if hasattr(result, "__len__"):
        assert len(result) == n, f"{label}: asked for {n}, got {len(result)}"
    lines.append(f"{label:<34} {n:>9,} in {elapsed:6.2f} s = {n / elapsed:>12,.0f} /s")


def test_print_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    lines: list[str] = []
    start = time.perf_counter()
    name_pools.cache_clear()
    name_pools()
    lines.append(f"{'name pools (build)':<34} {time.perf_counter() - start:6.2f} s")
    start = time.perf_counter()
    addresses = build_address_pool(rng, 4000)
    lines.append(f"{'address pool, 4000 (build)':<34} {time.perf_counter() - start:6.2f} s")
    start = time.perf_counter()
    companies = build_company_pool(rng, 3000)
    lines.append(f"{'company pool, 3000 (build)':<34} {time.perf_counter() - start:6.2f} s")

    n = 200_000
    people = sample_people(rng, n)
    _rate("people (sample, columns)", n, lambda: sample_people(rng, n), lines)
    _rate("people (full kanji names)", n, people.kanji_names, lines)
    _rate("addresses (sample)", n, lambda: addresses.sample(rng, n), lines)
    _rate("companies (sample)", n, lambda: companies.names(companies.sample(rng, n)), lines)
    _rate("mobile numbers", n, lambda: mobile_numbers(rng, n), lines)
    _rate("landline numbers", n, lambda: landline_numbers(rng, ["東京都"] * n), lines)
    _rate("法人番号", n, lambda: corporate_numbers(rng, n), lines)
    _rate("マイナンバー", n, lambda: my_numbers(rng, n), lines)
    _rate("着手金 (vectorised)", n, lambda: retainer_fees(sample_economic_benefits(rng, n)), lines)
    names = [c.name for c in companies.companies]
    _rate("near-duplicates", 20_000, lambda: sample_near_duplicates(rng, names, 20_000), lines)
    _rate("normalize_party_name", 90_000, lambda: normalize_party_names(names * 30), lines)
    generator = BodyTextGenerator()
    _rate("body texts (~1,000 chars)", 20_000, lambda: generator.generate(rng, 20_000), lines)
    with capsys.disabled():
        print("\n" + "\n".join(lines))
