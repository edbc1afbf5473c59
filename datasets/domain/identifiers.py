"""法人番号 (corporate number) and マイナンバー (individual number), with their check digits.

Both are synthetic here: random bases with a correct check digit. The batch generators are
vectorised (a digit matrix times a weight vector) and return unique numbers by default.

- 法人番号: 13 digits, the check digit *first*: ``9 - (Σ Pn·Qn mod 9)`` where Pn is the n-th
  digit from the right of the 12-digit base and Qn is 1 for odd n, 2 for even n.
- マイナンバー: 12 digits, the check digit *last*: ``11 - (Σ Pn·Qn mod 11)``, or 0 when the
  remainder is 0 or 1, where Pn is the n-th digit from the right of the 11-digit base and Qn is
  n + 1 for n = 1..6, n - 5 for n = 7..11.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "corporate_check_digit",
    "corporate_check_digits",
    "corporate_numbers",
    "is_valid_corporate_number",
    "is_valid_my_number",
    "my_number_check_digit",
    "my_number_check_digits",
    "my_numbers",
]

IntArray = npt.NDArray[np.int64]

_CORPORATE_BASE_LEN = 12
_MY_NUMBER_BASE_LEN = 11
# Weights indexed by position from the *left* of the base (index 0 = leftmost digit).
# n counts from the right, so the leftmost digit of a 12-digit base has n = 12.
_CORPORATE_WEIGHTS = np.array(
    [1 if n % 2 == 1 else 2 for n in range(_CORPORATE_BASE_LEN, 0, -1)], dtype=np.int64
)
_MY_NUMBER_WEIGHTS = np.array(
    [n + 1 if n <= 6 else n - 5 for n in range(_MY_NUMBER_BASE_LEN, 0, -1)], dtype=np.int64
)


def _digits_of(base: str, length: int) -> IntArray:
    if len(base) != length or not base.isascii() or not base.isdigit():
        raise ValueError(f"expected {length} ASCII digits, got {base!r}")
    return np.frombuffer(base.encode("ascii"), dtype=np.uint8).astype(np.int64) - ord("0")


def _digit_matrix(bases: IntArray, length: int) -> IntArray:
    """Rows of decimal digits, most significant first, of non-negative integers."""
    powers = 10 ** np.arange(length - 1, -1, -1, dtype=np.int64)
    return (bases[:, None] // powers[None, :]) % 10


def corporate_check_digit(base: str) -> int:
    """Check digit (1..9) of a 12-digit 法人番号 base."""
    digits = _digits_of(base, _CORPORATE_BASE_LEN)
    return 9 - int(digits @ _CORPORATE_WEIGHTS) % 9


def corporate_check_digits(bases: IntArray) -> IntArray:
    """Vectorised check digits for integer bases in [0, 10**12)."""
    weighted = _digit_matrix(np.asarray(bases, dtype=np.int64), _CORPORATE_BASE_LEN)
    return 9 - (weighted @ _CORPORATE_WEIGHTS) % 9


def is_valid_corporate_number(number: str) -> bool:
    """True for a 13-digit string whose first digit is the check digit of the other twelve."""
    if len(number) != 13 or not number.isascii() or not number.isdigit():
        return False
    return int(number[0]) == corporate_check_digit(number[1:])


def my_number_check_digit(base: str) -> int:
    """Check digit (0..9) of an 11-digit マイナンバー base."""
    digits = _digits_of(base, _MY_NUMBER_BASE_LEN)
    remainder = int(digits @ _MY_NUMBER_WEIGHTS) % 11
    return 0 if remainder <= 1 else 11 - remainder


def my_number_check_digits(bases: IntArray) -> IntArray:
    """Vectorised check digits for integer bases in [0, 10**11)."""
    weighted = _digit_matrix(np.asarray(bases, dtype=np.int64), _MY_NUMBER_BASE_LEN)
    remainder = (weighted @ _MY_NUMBER_WEIGHTS) % 11
    return np.where(remainder <= 1, 0, 11 - remainder)


def is_valid_my_number(number: str) -> bool:
    """True for a 12-digit string whose last digit is the check digit of the first eleven."""
    if len(number) != 12 or not number.isascii() or not number.isdigit():
        return False
    return int(number[-1]) == my_number_check_digit(number[:-1])


def corporate_numbers(rng: np.random.Generator, n: int, *, unique: bool = True) -> list[str]:
    """``n`` valid 13-digit 法人番号 strings (check digit first).

    The base mimics a 会社法人等番号: a 4-digit registry-office-like code (0100..5999), a
    2-digit kind (01..05) and a 6-digit serial; the codes are synthetic, not authoritative.
    """
    office = rng.integers(100, 6000, size=n, dtype=np.int64)
    kind = rng.integers(1, 6, size=n, dtype=np.int64)
    serial = rng.integers(0, 10**6, size=n, dtype=np.int64)
    bases = office * 10**8 + kind * 10**6 + serial
    if unique:
        bases = _dedupe(rng, bases, 10**8, 6 * 10**11)
    numbers = corporate_check_digits(bases) * 10**12 + bases
    return [f"{x:013d}" for x in numbers.tolist()]


def _dedupe(rng: np.random.Generator, values: IntArray, low: int, high: int) -> IntArray:
    """Replace later duplicates by fresh random values in [low, high) until all are distinct."""
    if values.size > (high - low) // 2:
        raise ValueError(f"cannot draw {values.size} distinct values from {high - low}")
    _, first = np.unique(values, return_index=True)
    while first.size < values.size:
        later = np.ones(values.size, dtype=bool)
        later[first] = False
        dup = np.flatnonzero(later)
        values = values.copy()
        values[dup] = rng.integers(low, high, size=dup.size, dtype=np.int64)
        _, first = np.unique(values, return_index=True)
    return values


def my_numbers(rng: np.random.Generator, n: int, *, unique: bool = True) -> list[str]:
    """``n`` valid 12-digit マイナンバー strings (check digit last). Synthetic only."""
    bases = rng.integers(10**10, 10**11, size=n, dtype=np.int64)
    if unique:
        bases = _dedupe(rng, bases, 10**10, 10**11)
    numbers = bases * 10 + my_number_check_digits(bases)
    return [f"{x:012d}" for x in numbers.tolist()]
