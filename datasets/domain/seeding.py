"""Turning seeds into numpy generators, and deriving independent child streams."""

from __future__ import annotations

import zlib

import numpy as np

Seed = int | np.random.Generator | None

__all__ = ["Seed", "as_rng", "derive_rng"]


def as_rng(seed: Seed) -> np.random.Generator:
    """Return ``seed`` itself when it is a Generator, else a PCG64 generator seeded with it."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def derive_rng(seed: int, label: str) -> np.random.Generator:
    """A generator for one named purpose, independent of the others derived from ``seed``.

    The label is hashed with CRC-32 (stable across processes, unlike ``hash``), so adding a
    new purpose never shifts the streams of the existing ones.
    """
    return np.random.default_rng([seed, zlib.crc32(label.encode("utf-8"))])
