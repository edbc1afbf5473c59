"""How Japanese matters run: the procedure a practice area leads to, and what follows from it.

A *procedure* is a court level and 事件記号 (or none: negotiation and advisory work). It fixes
the procedure *group*, which decides the outcomes a case can reach, the party roles, the
hearing types, the document mix and the procedural stages of V021's document types.
"""

from __future__ import annotations

from dataclasses import dataclass

# Sub-area (app.case_categories.name) -> procedures (court level, symbol, weight); level ""
# is no court. Sub-areas not listed are negotiated out of court.
PROCEDURES: dict[str, tuple[tuple[str, str, float], ...]] = {
    "契約": (("", "", 0.5), ("district", "ワ", 0.33), ("summary", "ハ", 0.12),
             ("high", "ネ", 0.05)),
    "貸金": (("", "", 0.3), ("district", "ワ", 0.3), ("summary", "ハ", 0.2),
             ("summary", "ロ", 0.2)),
    "損害賠償": (("", "", 0.3), ("district", "ワ", 0.55), ("summary", "ハ", 0.1),
                 ("high", "ネ", 0.05)),
    "交通事故": (("", "", 0.5), ("district", "ワ", 0.35), ("summary", "ハ", 0.1),
                 ("summary", "ノ", 0.05)),
    "建物明渡": (("", "", 0.2), ("district", "ワ", 0.6), ("district", "ヨ", 0.1),
                 ("district", "ヌ", 0.1)),
    "離婚": (("", "", 0.3), ("family", "家イ", 0.5), ("family", "家", 0.2)),
    "親権": (("family", "家", 0.5), ("family", "家イ", 0.5)),
    "養育費": (("", "", 0.2), ("family", "家イ", 0.6), ("family", "家", 0.2)),
    "財産分与": (("", "", 0.2), ("family", "家イ", 0.5), ("family", "家", 0.3)),
    "遺産分割": (("", "", 0.3), ("family", "家イ", 0.5), ("family", "家", 0.2)),
    "遺言": (("", "", 0.8), ("family", "家", 0.2)),
    "解雇": (("", "", 0.3), ("district", "ワ", 0.6), ("district", "ヨ", 0.1)),
    "残業代": (("", "", 0.4), ("district", "ワ", 0.6)),
    "労働審判": (("district", "ワ", 1.0),),
    "刑事弁護": (("district", "わ", 0.8), ("high", "う", 0.15), ("supreme", "あ", 0.05)),
    "少年事件": (("family", "少", 1.0),),
    "犯罪被害者支援": (("", "", 0.7), ("district", "ワ", 0.3)),
    "任意整理": (("", "", 1.0),),
    "自己破産": (("district", "フ", 1.0),),
    "個人再生": (("district", "再イ", 1.0),),
    "過払金": (("", "", 0.6), ("district", "ワ", 0.25), ("summary", "ハ", 0.15)),
    "株主総会": (("", "", 0.9), ("district", "ヨ", 0.1)),
    "特許": (("", "", 0.4), ("district", "ワ", 0.5), ("high", "ネ", 0.1)),
    "商標": (("", "", 0.5), ("district", "ワ", 0.4), ("high", "ネ", 0.1)),
    "著作権": (("", "", 0.5), ("district", "ワ", 0.45), ("high", "ネ", 0.05)),
    "不正競争": (("", "", 0.4), ("district", "ワ", 0.5), ("high", "ネ", 0.1)),
    "売掛金回収": (("", "", 0.3), ("district", "ワ", 0.3), ("summary", "ロ", 0.2),
                   ("summary", "ハ", 0.2)),
    "強制執行": (("district", "ル", 0.6), ("district", "ヌ", 0.2), ("district", "ケ", 0.2)),
    "保全処分": (("district", "ヨ", 1.0),),
    "行政訴訟": (("district", "行ウ", 0.8), ("high", "行コ", 0.2)),
    "入管・在留": (("", "", 0.5), ("district", "行ウ", 0.5)),
}
ADVISORY = frozenset({"契約審査", "顧問", "M&A", "事業承継", "審査請求"})
# Sub-areas whose clients are mostly companies (else mostly individuals).
CORPORATE_SHARE: dict[str, float] = {
    "契約": 0.6, "貸金": 0.4, "損害賠償": 0.35, "建物明渡": 0.5, "解雇": 0.15, "残業代": 0.1,
    "労働審判": 0.2, "売掛金回収": 0.9, "強制執行": 0.7, "保全処分": 0.6, "株主総会": 1.0,
    "契約審査": 1.0, "顧問": 1.0, "M&A": 1.0, "事業承継": 0.9, "特許": 0.9, "商標": 0.9,
    "著作権": 0.7, "不正競争": 0.9, "行政訴訟": 0.3, "審査請求": 0.4,
}

GROUPS: dict[str, str] = {
    "ワ": "suit", "ハ": "suit", "手ワ": "suit", "行ウ": "suit",
    "レ": "appeal", "ネ": "appeal", "ツ": "appeal", "行コ": "appeal", "オ": "appeal",
    "受": "appeal", "ノ": "mediation", "家イ": "mediation", "家": "family",
    "フ": "insolvency", "再": "insolvency", "再イ": "insolvency",
    "ル": "execution", "ヌ": "execution", "ケ": "execution", "ヨ": "execution",
    "ロ": "execution", "イ": "execution",
    "わ": "criminal", "う": "criminal", "あ": "criminal", "少": "juvenile",
}
GROUP_NAMES = ("suit", "appeal", "mediation", "family", "insolvency", "execution", "criminal",
               "juvenile", "none", "advisory")


def group_of(symbol: str, sub_area: str) -> str:
    if symbol:
        return GROUPS.get(symbol, "execution")
    return "advisory" if sub_area in ADVISORY else "none"


@dataclass(frozen=True, slots=True)
class GroupProfile:
    outcomes: tuple[tuple[str, float], ...]  # final outcome of the dispute and its share
    median_days: int  # from start of work to the outcome
    document_weight: float  # relative number of documents
    client_roles: tuple[str, str]  # (client on the active side, client on the passive side)
    adverse_roles: tuple[str, str]  # the adverse party's role in the same two cases
    active_share: float  # share of cases where the client is on the active side
    hearings: tuple[str, ...]  # hearing types held during the case (first is the first)
    final_hearing: str  # held on the day of a 判決 outcome ("" for none)


PROFILES: dict[str, GroupProfile] = {
    "suit": GroupProfile((("和解", 0.5), ("判決", 0.38), ("取下げ", 0.12)), 420, 3.0,
                         ("原告", "被告"), ("被告", "原告"), 0.6,
                         ("口頭弁論期日", "弁論準備手続期日", "弁論準備手続期日", "和解期日"),
                         "判決言渡期日"),
    "appeal": GroupProfile((("和解", 0.25), ("判決", 0.7), ("取下げ", 0.05)), 240, 2.0,
                           ("控訴人", "被控訴人"), ("被控訴人", "控訴人"), 0.55,
                           ("口頭弁論期日", "和解期日"), "判決言渡期日"),
    "mediation": GroupProfile((("和解", 0.65), ("取下げ", 0.35)), 210, 1.5,
                              ("申立人", "相手方"), ("相手方", "申立人"), 0.6,
                              ("調停期日",), ""),
    "family": GroupProfile((("判決", 0.7), ("取下げ", 0.3)), 200, 1.2,
                           ("申立人", "相手方"), ("相手方", "申立人"), 0.7, ("審判期日",), ""),
    "insolvency": GroupProfile((("判決", 0.85), ("取下げ", 0.15)), 210, 1.2,
                               ("申立人", "申立人"), ("債権者", "債権者"), 1.0, ("審判期日",),
                               ""),
    "execution": GroupProfile((("判決", 0.6), ("和解", 0.25), ("取下げ", 0.15)), 120, 0.6,
                              ("債権者", "債務者"), ("債務者", "債権者"), 0.75, (), ""),
    "criminal": GroupProfile((("判決", 0.95), ("取下げ", 0.05)), 150, 0.8,
                             ("被告人", "被告人"), ("被害者", "被害者"), 1.0,
                             ("口頭弁論期日",), "判決言渡期日"),
    "juvenile": GroupProfile((("判決", 0.9), ("取下げ", 0.1)), 60, 0.6,
                             ("依頼者", "依頼者"), ("被害者", "被害者"), 1.0, ("審判期日",), ""),
    "none": GroupProfile((("和解", 0.7), ("取下げ", 0.3)), 120, 0.5,
                         ("依頼者", "依頼者"), ("相手方", "相手方"), 1.0, (), ""),
    "advisory": GroupProfile((), 100_000, 0.7, ("依頼者", "依頼者"), ("相手方", "相手方"), 1.0,
                             (), ""),
}

# Procedural stages (V021 document_types.stages) of a group once the court is seized.
COURT_STAGE = {"suit": "litigation", "appeal": "appeal", "mediation": "mediation",
               "family": "litigation", "insolvency": "litigation", "execution": "litigation",
               "criminal": "litigation", "juvenile": "litigation"}

# Document mix after the fixed opening documents: type code -> weight, by group.
DOCUMENT_MIX: dict[str, dict[str, float]] = {
    "suit": {"brief": 14, "exhibit": 45, "statement": 4, "evidence_description": 8,
             "written_submission": 3, "hearing_acceptance": 6, "other": 8, "notice": 2},
    "appeal": {"brief": 10, "exhibit": 30, "evidence_description": 5, "written_submission": 3,
               "hearing_acceptance": 4, "other": 6, "statement": 2},
    "mediation": {"exhibit": 20, "statement": 8, "evidence_description": 4,
                  "written_submission": 6, "hearing_acceptance": 4, "other": 8, "notice": 2},
    "family": {"statement": 8, "exhibit": 15, "evidence_description": 3,
               "written_submission": 10, "other": 12, "hearing_acceptance": 2},
    "insolvency": {"statement": 6, "exhibit": 15, "evidence_description": 2,
                   "written_submission": 10, "other": 12},
    "execution": {"written_submission": 8, "exhibit": 10, "other": 10, "statement": 2},
    "criminal": {"written_submission": 10, "statement": 6, "other": 12,
                 "evidence_description": 2},
    "juvenile": {"written_submission": 8, "statement": 6, "other": 10},
    "none": {"notice": 6, "other": 12, "statement": 2, "exhibit": 3},
    "advisory": {"other": 20, "notice": 2},
}
# Opening documents: always, once the court is seized, and by the client's side.
OPENING = ("engagement_contract",)
COURT_OPENING = ("litigation_mandate",)
SIDE_OPENING: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "suit": (("complaint",), ("answer",)),
    "appeal": (("appeal_petition", "appeal_brief"), ("answer",)),
    "mediation": (("mediation_petition",), ()),
}
# Documents the firm drafts itself (several versions); the others are received or scanned.
DRAFTED = frozenset({"complaint", "answer", "brief", "statement", "written_submission",
                     "appeal_petition", "appeal_brief", "mediation_petition",
                     "settlement_agreement", "private_settlement", "engagement_contract",
                     "notice", "other", "evidence_description"})
# Case titles: the suffix a procedure group adds to the sub-area.
TITLE_SUFFIX = {"suit": "請求事件", "appeal": "控訴事件", "mediation": "調停事件",
                "family": "審判事件", "insolvency": "申立事件", "execution": "事件",
                "criminal": "被告事件", "juvenile": "保護事件", "none": "交渉事件",
                "advisory": "業務"}

EXHIBIT_TITLES = (
    "契約書", "領収書", "請求書", "電子メール", "診断書", "現場写真", "登記事項証明書",
    "通帳写し", "LINEのやり取り", "交通事故証明書", "給与明細", "源泉徴収票", "戸籍謄本",
    "住民票", "内容証明郵便", "見積書", "議事録", "就業規則", "タイムカード", "録音反訳書",
)
OTHER_TITLES = (
    "打合せメモ", "経過報告書", "法律相談票", "調査報告書", "判例調査メモ", "期日報告書",
    "和解案検討メモ", "依頼者宛報告書", "送付書", "意見書",
)
SUBMISSION_TITLES = ("期日変更", "進行に関する意見", "記録の閲覧謄写", "和解に関する意見",
                     "保釈請求", "送達場所の届出")
