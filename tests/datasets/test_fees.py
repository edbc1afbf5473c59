"""Fee brackets, consumption tax and withholding."""

from __future__ import annotations

import numpy as np
import pytest

from datasets.domain.fees import (
    invoice,
    retainer_fee,
    retainer_fees,
    sample_economic_benefits,
    sample_hourly_rates,
    success_fee,
    success_fees,
    time_charge,
    withholding_tax,
)


@pytest.mark.parametrize(
    ("benefit", "retainer", "success"),
    [
        (1_000_000, 100_000, 160_000),  # 8% = 80,000 < the ¥100k minimum
        (1_250_000, 100_000, 200_000),
        (2_000_000, 160_000, 320_000),
        (3_000_000, 240_000, 480_000),  # the ¥3M boundary: both brackets agree
        (3_000_001, 240_000, 480_000),
        (10_000_000, 590_000, 1_180_000),
        (30_000_000, 1_590_000, 3_180_000),  # ¥30M
        (30_000_001, 1_590_000, 3_180_000),
        (100_000_000, 3_690_000, 7_380_000),
        (300_000_000, 9_690_000, 19_380_000),  # ¥300M
        (300_000_100, 9_690_002, 19_380_004),
        (1_000_000_000, 23_690_000, 47_380_000),
    ],
)
def test_fee_brackets(benefit: int, retainer: int, success: int) -> None:
    assert retainer_fee(benefit) == retainer
    assert success_fee(benefit) == success


def test_brackets_are_continuous_at_the_boundaries() -> None:
    for bound in (3_000_000, 30_000_000, 300_000_000):
        assert success_fee(bound + 100) - success_fee(bound) < 20
        assert retainer_fee(bound + 100) - retainer_fee(bound) < 10


def test_vectorised_fees_match_scalar() -> None:
    rng = np.random.default_rng(0)
    boundaries = [0, 1, 2_999_999, 3_000_000, 3_000_001, 30_000_000, 300_000_000, 300_000_001]
    benefits = np.concatenate([sample_economic_benefits(rng, 5000), np.array(boundaries)])
    assert retainer_fees(benefits).tolist() == [retainer_fee(b) for b in benefits.tolist()]
    assert success_fees(benefits).tolist() == [success_fee(b) for b in benefits.tolist()]
    with pytest.raises(ValueError):
        retainer_fee(-1)


def test_withholding_example() -> None:
    bill = invoice(100_000, firm_is_corporation=False, client_is_individual=False)
    assert (bill.subtotal, bill.tax, bill.withholding, bill.total) == (
        100_000, 10_000, 10_210, 99_790,
    )  # fmt: skip


def test_withholding_above_one_million() -> None:
    assert withholding_tax(1_000_000) == 102_100
    assert withholding_tax(1_000_001) == 102_100
    assert withholding_tax(2_000_000) == 306_300  # 1M × 20.42% + 102,100
    assert withholding_tax(1_234_567) == (1_234_567 - 1_000_000) * 2042 // 10_000 + 102_100
    assert withholding_tax(33_333) == 3_403  # 3,403.29 rounded down
    bill = invoice(2_000_000, expenses=5_000, firm_is_corporation=False, client_is_individual=False)
    assert bill.total == 2_000_000 + 200_000 + 5_000 - 306_300


def test_no_withholding_for_firm_corporations_or_private_clients() -> None:
    for corp, individual in ((True, False), (False, True), (True, True)):
        bill = invoice(100_000, firm_is_corporation=corp, client_is_individual=individual)
        assert bill.withholding == 0 and bill.total == 110_000


def test_tax_rounds_down() -> None:
    assert invoice(12_345, firm_is_corporation=True, client_is_individual=True).tax == 1_234


def test_time_charge() -> None:
    assert time_charge(60, 30_000) == 30_000
    assert time_charge(61, 30_000) == 33_000  # rounded up to the next 6 minutes
    assert time_charge(10, 25_000, unit_minutes=15) == 6_250
    assert time_charge(0, 30_000) == 0


def test_samplers() -> None:
    rates = sample_hourly_rates(np.random.default_rng(1), 1000)
    assert rates.min() >= 20_000 and rates.max() <= 50_000 and (rates % 5_000 == 0).all()
    a = sample_economic_benefits(np.random.default_rng(1), 1000)
    b = sample_economic_benefits(np.random.default_rng(1), 1000)
    assert (a == b).all() and (a >= 100_000).all() and (a % 10_000 == 0).all()
