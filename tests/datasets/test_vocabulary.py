"""Legal vocabulary and generated body text: frequency spread measured on the text itself."""

from __future__ import annotations

import bisect
import functools
import re

import numpy as np

from datasets.domain.bodytext import BodyTextGenerator, generate_bodies, template_violations
from datasets.domain.vocabulary import (
    DOCUMENT_TYPES,
    HEARING_TYPES,
    PRACTICE_AREAS,
    exhibit_label,
    numbered_brief,
    sample_practice_areas,
    vocabulary,
)

N_DOCS = 20_000


@functools.cache
def corpus() -> tuple[str, ...]:
    return tuple(BodyTextGenerator().generate(np.random.default_rng(2024), N_DOCS))


def measured_frequency(docs: tuple[str, ...], term: str) -> float:
    """Share of documents containing ``term``, via one scan of the joined corpus."""
    starts, pos = [], 0
    for doc in docs:
        starts.append(pos)
        pos += len(doc) + 1
    joined = "\0".join(docs)
    hits = {
        bisect.bisect_right(starts, m.start()) - 1 for m in re.finditer(re.escape(term), joined)
    }
    return len(hits) / len(docs)


def test_domain_lists() -> None:
    assert "一般民事" in PRACTICE_AREAS and "遺産分割" in PRACTICE_AREAS["家事"]
    assert "答弁書" in DOCUMENT_TYPES and "口頭弁論期日" in HEARING_TYPES
    assert numbered_brief(3) == "第3準備書面"
    assert exhibit_label("甲", 12) == "甲第12号証" and exhibit_label("乙", 2, 1) == "乙第2号証の1"
    areas = sample_practice_areas(np.random.default_rng(1), 2000)
    assert set(areas) <= set(PRACTICE_AREAS) and areas.count("一般民事") > areas.count("行政")


def test_vocabulary_shape() -> None:
    vocab = vocabulary()
    assert 250 <= len(vocab.terms) <= 500 and len(set(vocab.terms)) == len(vocab.terms)
    for required in ("契約", "離婚", "親権", "損害賠償", "名誉毀損", "不法行為", "債務不履行",
                     "消滅時効", "善管注意義務"):  # fmt: skip
        assert required in vocab.terms
    assert len(vocab.by_length(2, 2)) >= 60
    assert len(vocab.by_length(3, 4)) >= 100
    assert len(vocab.by_length(5)) >= 40
    assert (np.diff(vocab.document_frequency) <= 0).all(), "targets fall with rank"
    assert abs(vocab.expected_frequency(vocab.terms[0]) - 0.30) < 0.01
    assert vocab.expected_frequency(vocab.terms[-1]) <= 0.0002


def test_terms_never_rank_after_a_term_that_contains_them() -> None:
    terms = vocabulary().terms
    rank = {t: i for i, t in enumerate(terms)}
    for t in terms:
        for u in terms:
            if t != u and t in u:
                assert rank[t] < rank[u], (t, u)


def test_templates_contain_no_vocabulary_term() -> None:
    assert template_violations() == []


def test_bodies_are_about_a_thousand_characters() -> None:
    lengths = [len(d) for d in corpus()]
    assert 900 <= sum(lengths) / len(lengths) <= 1100
    assert min(lengths) >= 550
    assert corpus()[0].startswith("第１　")


def test_frequency_spread_measured_on_generated_text() -> None:
    vocab, docs = vocabulary(), corpus()
    commonest = max(vocab.terms[:10], key=lambda t: measured_frequency(docs, t))
    top = measured_frequency(docs, commonest)
    rarest = measured_frequency(docs, vocab.terms[-1])
    print(f"\ncommonest {commonest}: {top:.2%}  rarest {vocab.terms[-1]}: {rarest:.3%}")
    assert 0.20 <= top <= 0.40
    assert rarest <= 0.0005
    # every decade between 0.01% and 30% holds terms, measured on the text
    sample = vocab.terms[::15]
    measured = {t: measured_frequency(docs, t) for t in sample}
    for low, high in ((0.0001, 0.001), (0.001, 0.01), (0.01, 0.1), (0.1, 0.4)):
        assert any(low <= f < high for f in measured.values()), (low, high)


def test_measured_frequencies_follow_the_targets() -> None:
    vocab, docs = vocabulary(), corpus()
    for term in vocab.terms[:60:3]:  # common enough to measure tightly on 20k documents
        expected = vocab.expected_frequency(term)
        assert abs(measured_frequency(docs, term) - expected) < 0.15 * expected + 0.002, term


def test_selectivity_buckets_for_benchmarks() -> None:
    vocab = vocabulary()
    assert vocab.terms_between(0.1, 0.5)
    assert vocab.terms_between(0.0001, 0.0005)


def test_bodies_are_deterministic() -> None:
    a = generate_bodies(np.random.default_rng(5), 200)
    b = generate_bodies(np.random.default_rng(5), 200)
    c = generate_bodies(np.random.default_rng(6), 200)
    assert a == b and a != c
