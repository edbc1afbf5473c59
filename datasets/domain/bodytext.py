"""Fast generation of ~1,000-character Japanese legal prose for document bodies.

Each document draws its legal terms independently with the probabilities of
:mod:`vocabulary` (so measured search selectivities follow its Zipf–Mandelbrot targets), then
is assembled from sentence templates: *slot* sentences carry the drawn terms, *plain*
sentences (pre-rendered with exhibit numbers and dates) pad the text to its target length
under 第N headings. The template text contains no vocabulary term (checked by
:func:`template_violations`), so a term occurs only where it was drawn. All random draws are
made in bulk with numpy, and each chunk's mentions are drawn and ordered for all of its
documents at once; only string assembly runs per document.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .vocabulary import Vocabulary, vocabulary

__all__ = ["BodyTextGenerator", "generate_bodies", "template_violations"]

_SLOT1 = (
    "原告は、本件において{}の成否が問題となると主張する。",
    "被告は、{}について具体的な主張をしていない。",
    "{}に関する被告の主張は、前提を欠くものである。",
    "本件の経緯に照らせば、{}が認められるべきである。",
    "{}の点については、甲第{n}号証の記載から明らかである。",
    "{}については、乙第{n}号証によっても裏付けられていない。",
    "次に、{}の有無について検討する。",
    "以上のとおり、{}に関する原告の主張には理由がある。",
    "被告の主張する{}は、本件とは事案を異にする。",
    "原告代表者の陳述によれば、{}の事情がうかがわれる。",
    "なお、{}については追って主張を補充する予定である。",
    "裁判所におかれては、{}の点を十分に考慮されたい。",
    "そもそも{}が問題となる場面ではない。",
    "当事者間において、{}の点に争いはない。",
    "被告は{}を主張するが、その根拠は示されていない。",
    "{}の要件について、被告は何ら具体的な事実を指摘していない。",
    "原告が{}を主張するのは、上記の経緯を踏まえたものである。",
    "被告の{}に関する主張は、時期によって変遷している。",
    "{}に関する最高裁判所の判例に照らしても、原告の主張は正当である。",
    "本件で{}が認められることは、甲第{n}号証からも明らかである。",
    "{}に関する事実関係は、以下のとおりである。",
    "被告の担当者も、{}の点は認識していたはずである。",
    "仮に{}が認められるとしても、その範囲は限定的である。",
)
_SLOT2 = (
    "{}と{}とは、区別して論じられるべきである。",
    "本件では、{}のほか{}も問題となる。",
    "{}を前提とすれば、{}の主張も成り立たない。",
    "原告は、{}及び{}を理由として本訴を提起した。",
    "{}に関する判断は、{}の成否にも影響する。",
    "被告は{}を否定する一方で、{}については何ら反論していない。",
)
_PLAIN = (
    "原告の主張は、いずれも理由がない。",
    "被告の主張は争う。",
    "上記の事実は、当事者間に争いがない。",
    "この点については、後に詳述する。",
    "以下、被告の主張に対して反論する。",
    "念のため、以下のとおり補足する。",
    "その余の主張は、いずれも否認ないし争う。",
    "かかる主張は、客観的な証拠に基づかないものである。",
    "被告の主張は、本件の実態を正解しないものといわざるを得ない。",
    "この点に関する原告の主張は、甲第{n}号証と整合する。",
    "乙第{n}号証の記載は、作成経緯が不明であり信用できない。",
    "甲第{n}号証及び甲第{m}号証によれば、上記の経緯が認められる。",
    "{date}付け書面において、被告はこの点を自認している。",
    "原告は、{date}、被告に対して書面を送付した。",
    "{date}の期日において、裁判所から釈明が求められた。",
    "被告は、{date}まで何らの対応もしなかった。",
    "本件の経緯は、概ね以下のとおりである。",
    "当時の状況からすれば、原告の行動はやむを得ないものであった。",
    "被告の担当者は、当初からこの点を認識していたものと考えられる。",
    "原告は、再三にわたり誠実な対応を求めてきた。",
    "被告の対応は、社会通念上相当なものとはいえない。",
    "この点は、関係者の供述からも裏付けられる。",
    "したがって、被告の主張は採用されるべきではない。",
    "よって、原告は本書面のとおり主張する。",
    "原告は、被告の担当者と複数回にわたり面談した。",
    "被告は、その後も従前の態度を改めなかった。",
    "被告の説明は、時期によって変遷している。",
    "この点に関する被告の説明は、合理的とはいえない。",
    "本件に至る経過は、甲第{n}号証の時系列表のとおりである。",
    "原告と被告との間では、従前から継続的な取引があった。",
    "被告は、原告からの問い合わせに回答しなかった。",
    "原告は、やむなく弁護士に相談した。",
    "被告の主張は、時機に後れたものである。",
    "原告は、被告の提案を検討したが、受け入れることはできなかった。",
    "被告の提出した資料には、重要な部分に欠落がある。",
    "双方の認識には、当初から大きな隔たりがあった。",
    "原告は、{date}に至って初めてこの事実を知った。",
    "被告代理人は、{date}の期日においてこの点を明確に認めた。",
    "被告の主張を前提としても、結論は左右されない。",
    "この点は、経験則に照らしても明らかである。",
    "原告は、本書面において従前の主張を整理する。",
    "被告の反論は、いずれも的を射ないものである。",
    "その詳細は、別紙一覧表記載のとおりである。",
    "上記の金額は、甲第{n}号証の計算書に基づくものである。",
    "被告は、上記の事実を認めながら、その評価を争っている。",
)
_HEADINGS = (
    "事案の概要", "前提となる事実", "争点", "被告の主張に対する反論", "原告の主張",
    "証拠の評価", "本件の経緯", "結論", "求釈明", "補足",
)  # fmt: skip
_NUMERALS = "１２３４５６７８９"
_SENTENCE_CHARS = 32  # typical sentence length, to spread the terms over the text


def _render_plain(rng: np.random.Generator, variants: int = 16) -> tuple[tuple[str, ...], ...]:
    """Per plain template, its sentences with exhibit numbers and dates filled in."""
    out: list[tuple[str, ...]] = []
    for template in _PLAIN:
        rendered = []
        for _ in range(variants if "{" in template else 1):
            year, month, day = (int(x) for x in rng.integers((2, 1, 1), (7, 13, 29)))
            rendered.append(
                template.format(
                    n=int(rng.integers(1, 30)), m=int(rng.integers(1, 30)),
                    date=f"令和{year}年{month}月{day}日",
                )
            )  # fmt: skip
        out.append(tuple(rendered))
    return tuple(out)


def _split_slots(template: str, rng: np.random.Generator) -> tuple[str, ...]:
    filled = template.replace("{n}", str(int(rng.integers(1, 30))))
    return tuple(filled.split("{}"))


def template_violations(vocab: Vocabulary | None = None) -> list[tuple[str, str]]:
    """(term, template text) pairs where a vocabulary term occurs in fixed template text."""
    vocab = vocab or vocabulary()
    texts = [*_SLOT1, *_SLOT2, *_PLAIN, *_HEADINGS]
    fixed = [t.replace("{}", "\0").replace("{n}", "1").replace("{m}", "2") for t in texts]
    fixed = [t.replace("{date}", "令和5年1月1日") for t in fixed]
    return [(term, text) for text in fixed for term in vocab.terms if term in text]


@dataclass(frozen=True, slots=True)
class _Templates:
    slot1: tuple[tuple[str, ...], ...]
    slot2: tuple[tuple[str, ...], ...]
    plain: tuple[tuple[str, ...], ...]  # variants per template


@functools.cache
def _templates() -> _Templates:
    rng = np.random.default_rng(20240501)  # fixed: the template pool is part of the code
    slot1 = tuple(_split_slots(t, rng) for t in _SLOT1 for _ in range(3))
    slot2 = tuple(_split_slots(t, rng) for t in _SLOT2)
    return _Templates(slot1, slot2, _render_plain(rng))


class BodyTextGenerator:
    """Generates document bodies; one generator can be reused for many batches."""

    def __init__(self, vocab: Vocabulary | None = None, mean_length: int = 1000) -> None:
        self.vocab = vocab or vocabulary()
        self.mean_length = mean_length
        self._terms = self.vocab.terms
        self._p = self.vocab.inclusion_probability
        self._t = _templates()

    def generate(self, rng: np.random.Generator, n: int, chunk: int = 4096) -> list[str]:
        """``n`` document bodies (draws are made per ``chunk``: keep it fixed to reproduce)."""
        out: list[str] = []
        for start in range(0, n, chunk):
            out.extend(self._chunk(rng, min(chunk, n - start)))
        return out

    def _chunk(self, rng: np.random.Generator, n: int) -> Iterator[str]:
        included = rng.random((n, len(self._terms))) < self._p
        repeats = rng.choice(3, size=included.shape, p=(0.7, 0.22, 0.08)) + 1
        lengths = np.clip(rng.normal(self.mean_length, 150, size=n), 600, 1600).astype(int)
        picks = rng.integers(0, 1 << 30, size=(n, 96))  # template choices, consumed in turn
        keys = rng.random((n, 64))  # sentence order of the mentions
        # Every document's mentions at once: its terms, each repeated, ordered by their keys
        # (a stable sort per document, as a lexsort by document then key).
        docs, cols = np.nonzero(included)
        counts = repeats[docs, cols]
        doc = np.repeat(docs, counts)
        per_doc = np.bincount(doc, minlength=n)
        ends = np.cumsum(per_doc)
        rank = np.arange(doc.size) - np.repeat(ends - per_doc, per_doc)
        mentions = np.repeat(cols, counts)[np.lexsort((keys[doc, rank % 64], doc))]
        terms = [self._terms[j] for j in mentions.tolist()]
        start = 0
        for end, target, row in zip(ends.tolist(), lengths.tolist(), picks.tolist(),
                                    strict=True):
            yield self._assemble(terms[start:end], target, row)
            start = end

    def _assemble(self, mentions: list[str], target: int, picks: list[int]) -> str:
        """Sentences until the target length and every mention are used: a slot sentence
        with probability ~ mentions left / sentences left, else a plain one."""
        slot1, slot2, plain = self._t.slot1, self._t.slot2, self._t.plain
        n1, n2, n_plain = len(slot1), len(slot2), len(plain)
        parts: list[str] = []
        size, k, section = 0, 0, 1
        while mentions or size < target:
            if size >= section * 320 and section < 9:
                heading = f"\n第{_NUMERALS[section]}　{_HEADINGS[picks[k % 96] % len(_HEADINGS)]}\n"
                parts.append(heading)
                section, size, k = section + 1, size + len(heading), k + 1
            pick, pick2 = picks[k % 96], picks[(k + 1) % 96]
            k += 2
            left = len(mentions)
            if left and pick2 % 1000 < 1000 * left * _SENTENCE_CHARS // max(target - size, 1):
                if left >= 2 and pick2 % 4 == 1 and mentions[-1] != mentions[-2]:
                    p = slot2[pick % n2]
                    sentence = p[0] + mentions.pop() + p[1] + mentions.pop() + p[2]
                else:
                    p = slot1[pick % n1]
                    sentence = p[0] + mentions.pop() + p[1]
            else:
                variants = plain[pick % n_plain]
                sentence = variants[(pick // n_plain) % len(variants)]
            if parts and sentence == parts[-1]:  # no sentence twice in a row; a dropped slot
                continue  # sentence repeats a term the previous one already carries
            parts.append(sentence)
            size += len(sentence)
        head = f"第１　{_HEADINGS[picks[95] % len(_HEADINGS)]}\n"
        return head + "".join(parts)


def generate_bodies(rng: np.random.Generator, n: int, mean_length: int = 1000) -> list[str]:
    """``n`` legal-prose bodies of about ``mean_length`` characters."""
    return BodyTextGenerator(mean_length=mean_length).generate(rng, n)
