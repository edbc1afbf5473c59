"""Person names: family name first, with a matching katakana reading (フリガナ) and romaji.

Pools come from Faker's ``ja_JP`` name pairs (kanji, kana, romaji) and gimei's name list
(500 surnames, ~13k given names, kanji with kana), merged once per process. Romaji is derived
from the kana with passport Hepburn (:func:`kana.katakana_to_romaji`), so all three forms agree
even where a source's own romaji does not. Sampling is by index with numpy: surnames follow a
Zipf-like weight by frequency rank (佐藤, 鈴木, 高橋 ... common), given names are uniform.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml  # type: ignore[import-untyped]
from faker.providers.person.ja_JP import Provider as _FakerPerson

from .kana import is_katakana, katakana_to_romaji

__all__ = [
    "NamePool",
    "NamePools",
    "Person",
    "PersonBatch",
    "email_addresses",
    "name_pools",
    "sample_people",
]

ObjArray = npt.NDArray[np.object_]
FULLWIDTH_SPACE = "\u3000"
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")


@dataclass(frozen=True, slots=True)
class NamePool:
    """Parallel arrays of one kind of name part, with cumulative sampling weights."""

    kanji: ObjArray
    kana: ObjArray
    romaji: ObjArray
    cdf: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.kanji.size)

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.intp]:
        """``n`` indices into the pool, drawn by weight."""
        return np.searchsorted(self.cdf, rng.random(n), side="right").astype(np.intp)


@dataclass(frozen=True, slots=True)
class NamePools:
    family: NamePool
    male: NamePool
    female: NamePool


@dataclass(frozen=True, slots=True)
class Person:
    family_kanji: str
    given_kanji: str
    family_kana: str
    given_kana: str
    family_romaji: str
    given_romaji: str
    gender: str  # "M" or "F"

    @property
    def kanji(self) -> str:
        return f"{self.family_kanji}{FULLWIDTH_SPACE}{self.given_kanji}"

    @property
    def kana(self) -> str:
        return f"{self.family_kana}{FULLWIDTH_SPACE}{self.given_kana}"

    @property
    def romaji(self) -> str:
        return f"{self.family_romaji} {self.given_romaji}"


@dataclass(frozen=True, slots=True)
class PersonBatch:
    """Column arrays of sampled people (object arrays of str, gender ``"M"``/``"F"``)."""

    family_kanji: ObjArray
    given_kanji: ObjArray
    family_kana: ObjArray
    given_kana: ObjArray
    family_romaji: ObjArray
    given_romaji: ObjArray
    gender: ObjArray

    def __len__(self) -> int:
        return int(self.gender.size)

    def row(self, i: int) -> Person:
        return Person(
            str(self.family_kanji[i]), str(self.given_kanji[i]), str(self.family_kana[i]),
            str(self.given_kana[i]), str(self.family_romaji[i]), str(self.given_romaji[i]),
            str(self.gender[i]),
        )  # fmt: skip

    def kanji_names(self, sep: str = FULLWIDTH_SPACE) -> list[str]:
        """Full names in kanji, family name first."""
        return _join(self.family_kanji, self.given_kanji, sep)

    def kana_names(self, sep: str = FULLWIDTH_SPACE) -> list[str]:
        """Full readings in katakana, family name first."""
        return _join(self.family_kana, self.given_kana, sep)

    def romaji_names(self, sep: str = " ") -> list[str]:
        return _join(self.family_romaji, self.given_romaji, sep)


def _join(first: ObjArray, second: ObjArray, sep: str) -> list[str]:
    return [f"{a}{sep}{b}" for a, b in zip(first.tolist(), second.tolist(), strict=True)]


def _gimei_names() -> dict[str, Any]:
    """gimei's names.yml, read directly (importing gimei also parses its address file)."""
    spec = importlib.util.find_spec("gimei")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the 'gimei' package is required for name pools")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "names.yml"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.load(fh, Loader=loader)
    return data


def _pairs(entries: Iterable[Sequence[str]], kana_at: int) -> list[tuple[str, str]]:
    return [(str(e[0]), str(e[kana_at])) for e in entries]


def _make_pool(pairs: Iterable[tuple[str, str]], zipf_offset: float | None) -> NamePool:
    seen: dict[tuple[str, str], None] = {}
    for kanji, kana in pairs:
        if kanji and is_katakana(kana):
            seen.setdefault((kanji, kana), None)
    kanji_l = [k for k, _ in seen]
    kana_l = [v for _, v in seen]
    rank = np.arange(1, len(kanji_l) + 1, dtype=np.float64)
    weights = 1.0 / (rank + zipf_offset) if zipf_offset is not None else np.ones_like(rank)
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    romaji = [katakana_to_romaji(v) for v in kana_l]
    return NamePool(_objects(kanji_l), _objects(kana_l), _objects(romaji), cdf)


def _objects(values: Sequence[str]) -> ObjArray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


@functools.cache
def name_pools() -> NamePools:
    """The merged name pools (built once per process, well under a second)."""
    gimei = _gimei_names()
    first = gimei["first_name"]
    family = _pairs(gimei["last_name"], 2) + _pairs(_FakerPerson.last_name_pairs, 1)
    male = _pairs(_FakerPerson.first_name_male_pairs, 1) + _pairs(first["male"], 2)
    female = _pairs(_FakerPerson.first_name_female_pairs, 1) + _pairs(first["female"], 2)
    return NamePools(_make_pool(family, 10.0), _make_pool(male, None), _make_pool(female, None))


def sample_people(
    rng: np.random.Generator, n: int, *, female_share: float = 0.5, pools: NamePools | None = None
) -> PersonBatch:
    """``n`` people with independently drawn family and given names."""
    pools = pools or name_pools()
    female = rng.random(n) < female_share
    fam = pools.family.sample(rng, n)
    male_idx = pools.male.sample(rng, n)
    female_idx = pools.female.sample(rng, n)

    def given(attr: str) -> ObjArray:
        m: ObjArray = getattr(pools.male, attr)[male_idx]
        f: ObjArray = getattr(pools.female, attr)[female_idx]
        return np.where(female, f, m)

    gender = np.where(female, "F", "M").astype(object)
    return PersonBatch(
        pools.family.kanji[fam], given("kanji"), pools.family.kana[fam], given("kana"),
        pools.family.romaji[fam], given("romaji"), gender,
    )  # fmt: skip


def email_addresses(rng: np.random.Generator, people: PersonBatch) -> list[str]:
    """Plausible addresses at reserved example domains, e.g. ``t.sato42@example.com``."""
    n = len(people)
    style = rng.integers(0, 3, size=n).tolist()
    number = rng.integers(1, 1000, size=n).tolist()
    domain = rng.integers(0, len(EMAIL_DOMAINS), size=n).tolist()
    out: list[str] = []
    for i, (fam, giv) in enumerate(
        zip(people.family_romaji.tolist(), people.given_romaji.tolist(), strict=True)
    ):
        fam, giv = fam.lower(), giv.lower()
        local = (f"{giv[0]}.{fam}{number[i]}", f"{giv}.{fam}", f"{fam}_{giv}{number[i]}")[style[i]]
        out.append(f"{local}@{EMAIL_DOMAINS[domain[i]]}")
    return out
