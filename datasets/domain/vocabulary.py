"""Legal vocabulary: practice areas, document and hearing types, and ranked legal terms.

Terms come in three length groups (2, 3-4 and 5+ characters, the cases a trigram or bigram
index treats differently). Each term has a target *document frequency* (the share of generated
documents that contain it) following a Zipf–Mandelbrot law over its rank,
``df(r) = C / (r + q) ** s``, fitted so the commonest term is in ~30% of documents and the
rarest in ~0.01%: search selectivities spread over four decades. Ranks interleave the three
length groups, and a term contained in another (賠償 in 損害賠償) always ranks as more common,
so the measured frequency of the rarest terms is not inflated by longer ones.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "DF_MAX",
    "DF_MIN",
    "DOCUMENT_TYPES",
    "HEARING_TYPES",
    "PRACTICE_AREAS",
    "PRACTICE_AREA_WEIGHTS",
    "Vocabulary",
    "exhibit_label",
    "numbered_brief",
    "sample_practice_areas",
    "vocabulary",
]

PRACTICE_AREAS: dict[str, tuple[str, ...]] = {
    "一般民事": ("契約", "貸金", "損害賠償", "交通事故", "建物明渡"),
    "家事": ("離婚", "親権", "養育費", "財産分与", "遺産分割", "遺言"),
    "労働": ("解雇", "残業代", "労働審判"),
    "刑事・少年": ("刑事弁護", "少年事件"),
    "債務整理": ("任意整理", "自己破産", "個人再生", "過払金"),
    "企業法務": ("契約審査", "顧問", "株主総会", "M&A", "事業承継"),
    "知的財産": ("特許", "商標", "著作権", "不正競争"),
    "債権回収": ("売掛金回収", "強制執行", "仮差押"),
    "行政": ("行政訴訟", "審査請求", "国家賠償"),
}
PRACTICE_AREA_WEIGHTS: dict[str, float] = {
    "一般民事": 0.27, "家事": 0.22, "労働": 0.08, "刑事・少年": 0.07, "債務整理": 0.14,
    "企業法務": 0.10, "知的財産": 0.03, "債権回収": 0.07, "行政": 0.02,
}  # fmt: skip

DOCUMENT_TYPES: tuple[str, ...] = (
    "訴状", "答弁書", "準備書面", "陳述書", "証拠説明書", "書証", "訴訟委任状", "委任契約書",
    "通知書（内容証明）", "和解契約書", "示談書", "控訴状", "控訴理由書", "調停申立書", "上申書",
    "期日請書",
)  # fmt: skip

HEARING_TYPES: tuple[str, ...] = (
    "口頭弁論期日", "弁論準備手続期日", "和解期日", "判決言渡期日", "調停期日", "審判期日",
)  # fmt: skip


def numbered_brief(n: int) -> str:
    """第N準備書面 (briefs are numbered from 1 per party and case)."""
    if n < 1:
        raise ValueError(f"briefs are numbered from 1, got {n}")
    return f"第{n}準備書面"


def exhibit_label(party: str, n: int, branch: int | None = None) -> str:
    """甲第N号証 (plaintiff, ``party="甲"``) or 乙第N号証 (defendant), optionally の枝番."""
    if party not in ("甲", "乙", "丙") or n < 1:
        raise ValueError(f"exhibits are 甲/乙/丙 with numbers from 1, got {party}{n}")
    return f"{party}第{n}号証" + (f"の{branch}" if branch else "")


def sample_practice_areas(rng: np.random.Generator, n: int) -> list[str]:
    areas = list(PRACTICE_AREA_WEIGHTS)
    w = np.array([PRACTICE_AREA_WEIGHTS[a] for a in areas])
    return [areas[i] for i in rng.choice(len(areas), size=n, p=w / w.sum()).tolist()]


# Roughly most common first within each group.
_TERMS_2 = """
契約 離婚 親権 賠償 債務 債権 弁済 相続 遺言 調停 控訴 判決 尋問 鑑定 時効 利息 解除 解雇
賃金 残業 賃料 登記 抵当 保証 破産 免責 執行 示談 過失 故意 慰謝 扶養 認知 養子 後見 婚姻
不貞 別居 贈与 遺贈 寄与 特許 商標 著作 株主 定款 合併 買収 譲渡 詐欺 錯誤 強迫 委任 請負
売買 賃貸 占有 担保 質権 相殺 供託 求償 労災 懲戒 退職 年金 更正 無効 窃盗 横領 背任 傷害
逮捕 勾留 接見 起訴 保釈 量刑 抗告 送達 管轄 移送 併合 承継 却下 棄却 認諾 反訴 疎明 推定 嫡出
""".split()
_TERMS_34 = """
損害賠償 不法行為 名誉毀損 消滅時効 過払金 自己破産 個人再生 任意整理 交通事故 後遺障害
休業損害 逸失利益 過失相殺 慰謝料 養育費 婚姻費用 財産分与 年金分割 面会交流 遺産分割
遺留分 寄与分 特別受益 相続放棄 限定承認 成年後見 建物明渡 賃料増額 敷金返還 原状回復
更新料 立退料 借地権 借家権 抵当権 根抵当権 所有権 売買契約 賃貸借 請負契約 委任契約
連帯保証 保証債務 貸金返還 売掛金 小切手 不当利得 事務管理 表見代理 無権代理 詐害行為
相殺適状 弁済供託 強制執行 仮差押 仮処分 担保権 債権譲渡 解雇予告 不当解雇 残業代
未払賃金 労働審判 配置転換 懲戒解雇 雇止め 労働災害 就業規則 労働契約 退職金 株主総会
取締役会 役員報酬 事業承継 契約審査 顧問契約 秘密保持 競業避止 利用規約 株式譲渡 事業譲渡
会社分割 商標権 特許権 著作権 意匠権 営業秘密 不正競争 職務発明 侵害訴訟 差止請求 信用毀損
業務妨害 詐欺罪 窃盗罪 横領罪 傷害罪 公訴事実 被疑者 被告人 示談金 保釈金 勾留請求
情状証人 少年審判 観護措置 行政処分 審査請求 取消訴訟 国家賠償 情報公開 生活保護 課税処分
在留資格 重過失 因果関係 立証責任 要件事実 再抗弁 既判力 訴訟物 内容証明
""".split()
_TERMS_5 = """
債務不履行 善管注意義務 使用者責任 製造物責任 工作物責任 共同不法行為 安全配慮義務
説明義務違反 信義則違反 権利濫用 公序良俗違反 消費者契約法 特定商取引法 クーリングオフ
利息制限法 貸金業法 借地借家法 区分所有法 労働基準法 労働契約法 民事執行法 民事保全法
破産管財人 免責不許可事由 否認権行使 財産開示手続 第三者異議 請求異議の訴え 執行文付与
遺言無効確認 遺産分割協議 遺留分侵害額 特別縁故者 相続財産清算人 親子関係不存在 嫡出否認
子の引渡し 監護者指定 有責配偶者 婚約不履行 内縁関係 保護命令 接近禁止命令 建物収去土地明渡
境界確定訴訟 時効取得 契約不適合責任 危険負担 同時履行の抗弁 留置権 先取特権 譲渡担保
所有権留保 動産執行 間接強制 代替執行 少額訴訟 支払督促 手形訴訟 仮執行宣言 即決和解
独立当事者参加 補助参加 訴訟告知 文書提出命令 調査嘱託 証拠保全 私的整理 事業再生ADR
会社更生 特別清算 債権者集会 再生計画案 株式買取請求 株主代表訴訟 取締役解任 公益通報
パワーハラスメント セクシュアルハラスメント 過労死等 精神障害 労災認定 業務上横領 特別背任
偽計業務妨害 住居侵入 公務執行妨害 覚醒剤取締法違反 道路交通法違反 危険運転致死傷
過失運転致傷 遅延損害金 自賠責保険 人身傷害保険 弁護士費用特約 休業補償給付 障害補償給付
""".split()

DF_MAX = 0.30  # target document frequency of the commonest term
DF_MIN = 0.0001  # ... and of the rarest (0.01%)
ZIPF_OFFSET = 150.0  # q in df(r) = C / (r + q) ** s; larger flattens the head


def _length_groups() -> list[list[str]]:
    """The terms by length group (2, 3-4, 5+), each in order of intended commonness."""
    groups: list[list[str]] = [[], [], []]
    for term in _TERMS_2 + _TERMS_34 + _TERMS_5:
        groups[0 if len(term) == 2 else 1 if len(term) <= 4 else 2].append(term)
    return groups


def _interleave(groups: Sequence[Sequence[str]]) -> list[str]:
    """Merge groups by relative position, so every group spans the whole rank range."""
    keyed = [(i / len(g), k, t) for k, g in enumerate(groups) for i, t in enumerate(g)]
    seen: dict[str, None] = {}
    for *_, term in sorted(keyed):
        seen.setdefault(term, None)
    return list(seen)


def _containment_order(terms: list[str]) -> list[str]:
    """Reorder so that a term contained in another never ranks after it."""
    pos = {t: float(i) for i, t in enumerate(terms)}
    supers = {t: [u for u in terms if u != t and t in u] for t in terms}
    changed = True
    while changed:
        changed = False
        for t, sups in supers.items():
            limit = min((pos[u] for u in sups), default=math.inf)
            if pos[t] >= limit:
                pos[t] = limit - 0.5
                changed = True
    return sorted(terms, key=pos.__getitem__)


def _zipf_mandelbrot(n: int) -> tuple[npt.NDArray[np.float64], float]:
    """Target document frequencies by rank, and the exponent s."""
    q = ZIPF_OFFSET
    s = math.log(DF_MAX / DF_MIN) / math.log((n + q) / (1 + q))
    rank = np.arange(1, n + 1, dtype=np.float64)
    target: npt.NDArray[np.float64] = DF_MAX * ((1 + q) / (rank + q)) ** s
    return target, s


def _inclusion_probabilities(terms: Sequence[str], target: npt.NDArray[np.float64]) -> list[float]:
    """Per-term inclusion probabilities such that, with the longer terms containing it, each
    term appears in about its target share of documents (0 where the longer ones suffice)."""
    p = [0.0] * len(terms)
    for i in range(len(terms) - 1, -1, -1):  # rarest first: superstrings rank after
        miss_from_supers = 1.0
        for j in range(i + 1, len(terms)):
            if terms[i] in terms[j]:
                miss_from_supers *= 1.0 - p[j]
        p[i] = max(0.0, 1.0 - (1.0 - float(target[i])) / miss_from_supers)
    return p


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Terms by rank (commonest first), their target document frequencies, and the
    probabilities with which the text generator puts each one into a document."""

    terms: tuple[str, ...]
    document_frequency: npt.NDArray[np.float64]  # target share of documents, by rank
    inclusion_probability: npt.NDArray[np.float64]  # P(generator inserts the term itself)
    zipf_exponent: float

    def expected_frequency(self, term: str) -> float:
        """Expected share of documents containing ``term`` as a substring, counting the
        longer terms that contain it (chance joins across sentences aside)."""
        miss = 1.0
        for t, p in zip(self.terms, self.inclusion_probability.tolist(), strict=True):
            if term in t:
                miss *= 1.0 - p
        return 1.0 - miss

    def terms_between(self, low: float, high: float) -> list[str]:
        """Terms whose expected document frequency lies in [low, high): benchmark picks."""
        return [t for t in self.terms if low <= self.expected_frequency(t) < high]

    def by_length(self, min_len: int, max_len: int | None = None) -> list[str]:
        top = max_len if max_len is not None else 10**6
        return [t for t in self.terms if min_len <= len(t) <= top]


@functools.cache
def vocabulary() -> Vocabulary:
    """The ranked vocabulary (a few hundred terms)."""
    terms = _containment_order(_interleave(_length_groups()))
    target, s = _zipf_mandelbrot(len(terms))
    inclusion = np.array(_inclusion_probabilities(terms, target), dtype=np.float64)
    return Vocabulary(tuple(terms), target, inclusion, s)
