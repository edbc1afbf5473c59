"""Lawyer's fees and an invoice's tax lines, in integer yen.

着手金 (retainer) and 報酬金 (success fee) follow the former bar standard by economic benefit
(経済的利益):

=====================  ==================  ====================
economic benefit       着手金              報酬金
=====================  ==================  ====================
up to ¥3M              8%                  16%
¥3M .. ¥30M            5% + ¥90,000        10% + ¥180,000
¥30M .. ¥300M          3% + ¥690,000       6% + ¥1,380,000
above ¥300M            2% + ¥3,690,000     4% + ¥7,380,000
=====================  ==================  ====================

The brackets meet at their boundaries (¥3M -> ¥240,000 着手金 either way). 着手金 is at least
¥100,000. 消費税 is 10%, and 源泉徴収 (withholding) is 10.21% of the fee up to ¥1M and
(fee - ¥1M) × 20.42% + ¥102,100 above; it applies only when a company pays an individual
lawyer (not a 弁護士法人, not a private client). Every fraction of a yen is rounded down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "CONSUMPTION_TAX_PERCENT",
    "MINIMUM_RETAINER",
    "Invoice",
    "consumption_tax",
    "invoice",
    "retainer_fee",
    "retainer_fees",
    "sample_economic_benefits",
    "sample_hourly_rates",
    "success_fee",
    "success_fees",
    "time_charge",
    "withholding_tax",
]

IntArray = npt.NDArray[np.int64]

CONSUMPTION_TAX_PERCENT = 10
MINIMUM_RETAINER = 100_000
_WITHHOLDING_THRESHOLD = 1_000_000

# (upper bound of the bracket, percent, fixed amount); the last bound is open.
_RETAINER = ((3_000_000, 8, 0), (30_000_000, 5, 90_000), (300_000_000, 3, 690_000),
             (None, 2, 3_690_000))  # fmt: skip
_SUCCESS = ((3_000_000, 16, 0), (30_000_000, 10, 180_000), (300_000_000, 6, 1_380_000),
            (None, 4, 7_380_000))  # fmt: skip
_Brackets = tuple[tuple[int | None, int, int], ...]


def _by_bracket(benefit: int, brackets: _Brackets) -> int:
    if benefit < 0:
        raise ValueError(f"economic benefit cannot be negative, got {benefit}")
    for bound, percent, fixed in brackets:
        if bound is None or benefit <= bound:
            return benefit * percent // 100 + fixed
    raise AssertionError("the last bracket is open")  # pragma: no cover


def retainer_fee(benefit: int) -> int:
    """着手金 (excluding tax) for an economic benefit in yen; at least ¥100,000."""
    return max(MINIMUM_RETAINER, _by_bracket(benefit, _RETAINER))


def success_fee(benefit: int) -> int:
    """報酬金 (excluding tax) for the economic benefit actually obtained."""
    return _by_bracket(benefit, _SUCCESS)


def _by_bracket_array(benefits: IntArray, brackets: _Brackets) -> IntArray:
    b = np.asarray(benefits, dtype=np.int64)
    if (b < 0).any():
        raise ValueError("economic benefits cannot be negative")
    conditions = [b <= bound for bound, _, _ in brackets if bound is not None]
    choices = [b * percent // 100 + fixed for _, percent, fixed in brackets]
    result: IntArray = np.select(conditions, choices[:-1], default=choices[-1])
    return result


def retainer_fees(benefits: IntArray) -> IntArray:
    """Vectorised :func:`retainer_fee`."""
    return np.maximum(MINIMUM_RETAINER, _by_bracket_array(benefits, _RETAINER))


def success_fees(benefits: IntArray) -> IntArray:
    """Vectorised :func:`success_fee`."""
    return _by_bracket_array(benefits, _SUCCESS)


def time_charge(minutes: int, hourly_rate: int, unit_minutes: int = 6) -> int:
    """タイムチャージ: minutes rounded *up* to whole units (0.1 h by default), yen down."""
    if minutes < 0 or hourly_rate < 0 or unit_minutes <= 0:
        raise ValueError("minutes and rate must be >= 0 and the unit > 0")
    billed = -(-minutes // unit_minutes) * unit_minutes
    return billed * hourly_rate // 60


def consumption_tax(amount: int) -> int:
    """消費税 10%, rounded down."""
    return amount * CONSUMPTION_TAX_PERCENT // 100


def withholding_tax(fee: int) -> int:
    """源泉徴収 on a fee (excluding tax): 10.21% up to ¥1M, 20.42% on the excess + ¥102,100."""
    if fee <= _WITHHOLDING_THRESHOLD:
        return fee * 1021 // 10_000
    return (fee - _WITHHOLDING_THRESHOLD) * 2042 // 10_000 + 102_100


@dataclass(frozen=True, slots=True)
class Invoice:
    subtotal: int  # fees, excluding tax
    tax: int  # 消費税 on the subtotal
    withholding: int  # 源泉徴収 deducted by the client (0 when not applicable)
    expenses: int  # 実費 (stamps, copies, travel), neither taxed here nor withheld
    total: int  # what the client pays: subtotal + tax + expenses - withholding


def invoice(
    subtotal: int, *, expenses: int = 0, firm_is_corporation: bool, client_is_individual: bool
) -> Invoice:
    """Tax lines of a bill. Withholding applies only when a company or other business client
    pays an individual lawyer's firm (not a 弁護士法人, not a private individual)."""
    if subtotal < 0 or expenses < 0:
        raise ValueError("amounts cannot be negative")
    tax = consumption_tax(subtotal)
    withheld = 0 if firm_is_corporation or client_is_individual else withholding_tax(subtotal)
    return Invoice(subtotal, tax, withheld, expenses, subtotal + tax + expenses - withheld)


def sample_economic_benefits(rng: np.random.Generator, n: int) -> IntArray:
    """Log-normal economic benefits, median ~¥3M, rounded to ¥10,000 (¥100k .. ¥5bn)."""
    raw = rng.lognormal(mean=np.log(3_000_000), sigma=1.3, size=n)
    clipped = np.clip(raw, 100_000, 5_000_000_000)
    return (np.round(clipped / 10_000) * 10_000).astype(np.int64)


def sample_hourly_rates(rng: np.random.Generator, n: int) -> IntArray:
    """タイムチャージ rates from ¥20,000 to ¥50,000 per hour in steps of ¥5,000."""
    return rng.integers(4, 11, size=n).astype(np.int64) * 5_000
