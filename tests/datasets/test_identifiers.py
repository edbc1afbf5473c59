"""法人番号 and マイナンバー check digits, against the published examples and a second formula."""

from __future__ import annotations

import numpy as np
import pytest

from datasets.domain.identifiers import (
    corporate_check_digit,
    corporate_numbers,
    is_valid_corporate_number,
    is_valid_my_number,
    my_number_check_digit,
    my_numbers,
)

CORPORATE_EXAMPLES = ("1180301018771", "4011001098993")
MY_NUMBER_EXAMPLE = "123456789018"


def corporate_check_reference(base: str) -> int:
    """Independent path: odd positions from the right count once, even ones twice."""
    rev = [int(c) for c in reversed(base)]
    total = sum(rev[0::2]) + 2 * sum(rev[1::2])
    return 9 - total % 9


def my_number_check_reference(base: str) -> int:
    """Independent path: the published left-to-right weights 6,5,4,3,2,7,6,5,4,3,2."""
    total = sum(int(c) * w for c, w in zip(base, (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True))
    remainder = total % 11
    return 0 if remainder in (0, 1) else 11 - remainder


@pytest.mark.parametrize("number", CORPORATE_EXAMPLES)
def test_corporate_examples_are_valid(number: str) -> None:
    assert is_valid_corporate_number(number)
    assert corporate_check_digit(number[1:]) == int(number[0])
    assert corporate_check_reference(number[1:]) == int(number[0])


@pytest.mark.parametrize("number", CORPORATE_EXAMPLES)
def test_corporate_wrong_check_digit_is_invalid(number: str) -> None:
    for digit in "0123456789":
        if digit != number[0]:
            assert not is_valid_corporate_number(digit + number[1:])


def test_my_number_example() -> None:
    assert is_valid_my_number(MY_NUMBER_EXAMPLE)
    assert my_number_check_digit(MY_NUMBER_EXAMPLE[:-1]) == 8
    assert my_number_check_reference(MY_NUMBER_EXAMPLE[:-1]) == 8
    assert not is_valid_my_number("123456789017")


@pytest.mark.parametrize("bad", ["", "12345678901", "1234567890123", "12345678901a", "１２３"])
def test_malformed_numbers_are_invalid(bad: str) -> None:
    assert not is_valid_my_number(bad)
    assert not is_valid_corporate_number(bad)


def test_check_digits_agree_with_reference_on_random_bases() -> None:
    rng = np.random.default_rng(5)
    for base in rng.integers(0, 10**12, size=2000).tolist():
        text = f"{base:012d}"
        assert corporate_check_digit(text) == corporate_check_reference(text)
    for base in rng.integers(0, 10**11, size=2000).tolist():
        text = f"{base:011d}"
        assert my_number_check_digit(text) == my_number_check_reference(text)


def test_generated_corporate_numbers_round_trip() -> None:
    numbers = corporate_numbers(np.random.default_rng(1), 10_000)
    assert len(set(numbers)) == 10_000
    assert all(len(n) == 13 and n.isdigit() for n in numbers)
    assert all(is_valid_corporate_number(n) for n in numbers)
    assert all(corporate_check_reference(n[1:]) == int(n[0]) for n in numbers)


def test_generated_my_numbers_round_trip() -> None:
    numbers = my_numbers(np.random.default_rng(1), 10_000)
    assert len(set(numbers)) == 10_000
    assert all(len(n) == 12 and n.isdigit() for n in numbers)
    assert all(is_valid_my_number(n) for n in numbers)
    assert all(my_number_check_reference(n[:-1]) == int(n[-1]) for n in numbers)


def test_generation_is_deterministic() -> None:
    def both(seed: int) -> tuple[list[str], list[str]]:
        rng = np.random.default_rng(seed)
        return corporate_numbers(rng, 500), my_numbers(rng, 500)

    assert both(42) == both(42)
    assert both(42) != both(43)
