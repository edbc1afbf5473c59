"""Company names with their legal form (株式会社 / 有限会社 / 合同会社) and a 法人番号.

A pool of distinct companies is built once from a seed: base names from surnames, places,
katakana brands or Latin acronyms plus an industry word; the legal form stands before the
name (前株) or after it (後株). Base names are distinct after :func:`normalize_party_name`, so
every near-duplicate in the data is one made on purpose by :mod:`variants`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .identifiers import corporate_numbers
from .normalization import normalize_party_name
from .people import name_pools
from .words import ACRONYM_LETTERS, BRANDS, INDUSTRIES, PLACES

__all__ = ["LEGAL_FORMS", "Company", "CompanyPool", "build_company_pool", "company_name"]

# legal form -> (share of companies, probability that it is written before the name)
LEGAL_FORMS: dict[str, tuple[float, float]] = {
    "株式会社": (0.72, 0.45),
    "有限会社": (0.14, 0.70),
    "合同会社": (0.14, 0.35),
}
_STYLES = ("surname", "place", "brand", "acronym")
_STYLE_WEIGHTS = (0.40, 0.20, 0.28, 0.12)


@dataclass(frozen=True, slots=True)
class Company:
    name: str  # as registered, e.g. 株式会社サクラ商事 or サクラ商事株式会社
    base_name: str  # without the legal form, e.g. サクラ商事
    kana: str  # フリガナ of the base name (registries omit the legal form)
    legal_form: str
    form_first: bool  # 前株 when True
    corporate_number: str  # 13-digit 法人番号


def company_name(base_name: str, legal_form: str, form_first: bool) -> str:
    return f"{legal_form}{base_name}" if form_first else f"{base_name}{legal_form}"


@dataclass(frozen=True, slots=True)
class CompanyPool:
    companies: tuple[Company, ...]

    def __len__(self) -> int:
        return len(self.companies)

    def sample(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.intp]:
        """``n`` indices, uniformly (a tenant's clients are spread over the pool)."""
        return rng.integers(0, len(self.companies), size=n).astype(np.intp)

    def names(self, idx: npt.NDArray[np.intp]) -> list[str]:
        return [self.companies[i].name for i in idx.tolist()]


def _base_candidates(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    family = name_pools().family
    style = rng.choice(len(_STYLES), size=n, p=_STYLE_WEIGHTS).tolist()
    surname = family.sample(rng, n).tolist()
    place = rng.integers(0, len(PLACES), size=n).tolist()
    brand = rng.integers(0, len(BRANDS), size=n).tolist()
    letters = rng.integers(0, len(ACRONYM_LETTERS), size=(n, 3)).tolist()
    acro_len = rng.integers(2, 4, size=n).tolist()
    industry = rng.integers(0, len(INDUSTRIES), size=n).tolist()
    alphabet = list(ACRONYM_LETTERS)
    out: list[tuple[str, str]] = []
    for i in range(n):
        kind = _STYLES[style[i]]
        if kind == "surname":
            head = (str(family.kanji[surname[i]]), str(family.kana[surname[i]]))
        elif kind == "place":
            head = PLACES[place[i]]
        elif kind == "brand":
            head = BRANDS[brand[i]]
        else:
            word = "".join(alphabet[j] for j in letters[i][: acro_len[i]])
            head = (word, "".join(ACRONYM_LETTERS[c] for c in word))
        tail = INDUSTRIES[industry[i]]
        out.append((head[0] + tail[0], head[1] + tail[1]))
    return out


def _distinct_bases(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    chosen: dict[str, tuple[str, str]] = {}
    while len(chosen) < n:
        for base, kana in _base_candidates(rng, 2 * (n - len(chosen)) + 16):
            chosen.setdefault(normalize_party_name(base), (base, kana))
            if len(chosen) == n:
                break
    return list(chosen.values())


def build_company_pool(rng: np.random.Generator, n: int = 3000) -> CompanyPool:
    """``n`` distinct companies (distinct normalized base names, distinct 法人番号)."""
    bases = _distinct_bases(rng, n)
    forms = list(LEGAL_FORMS)
    shares = np.array([LEGAL_FORMS[f][0] for f in forms])
    form_idx = rng.choice(len(forms), size=n, p=shares / shares.sum()).tolist()
    first_draw = rng.random(n).tolist()
    numbers = corporate_numbers(rng, n)
    companies = []
    for i, (base, kana) in enumerate(bases):
        form = forms[form_idx[i]]
        first = first_draw[i] < LEGAL_FORMS[form][1]
        name = company_name(base, form, first)
        companies.append(Company(name, base, kana, form, first, numbers[i]))
    return CompanyPool(tuple(companies))
