"""Reading a patient's reply to a follow-up check-in (A7.4) against the dictionary's questions.

A reply may be numbered ("1没有 2肿了"), a blanket all-clear ("都好", "没事"), colloquial free
text ("胳膊有点肿", "针眼那里红了", "昨晚发烧还打寒战", "贴膜翘起来了"), a refusal ("算了"),
or something else altogether ("我要预约维护"), which belongs to the normal dialogue. No I/O
here: ``read`` takes the dictionary's questions and the text, and says what it found.

Words for the shipped answer codes are below; an answer the dictionary adds later is still
recognised by the words of its label (split at "/").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LEVELS = {"OK": 0, "CONCERN": 1, "URGENT": 2}

# (question code, answer code) -> colloquial words, common typos included
WORDS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("SITE", "RED"): ("红肿", "发红", "红了", "有点红", "变红", "红", "疼", "痛", "发炎", "红种"),
    ("SITE", "OOZE"): ("渗液", "渗血", "渗水", "流水", "渗出", "有点血", "一点血", "渗"),
    ("SITE", "PUS"): ("流脓", "化脓", "有脓", "脓", "流浓"),
    ("ARM", "SWOLLEN"): (
        "肿胀",
        "肿涨",
        "肿了",
        "肿",
        "变粗",
        "粗了",
        "胀",
        "发紧",
        "紧绷",
        "种了",
    ),
    ("FEVER", "FEVER"): ("发烧", "发热", "低烧", "高烧", "烧", "体温高", "法烧", "发骚", "发少"),
    ("FEVER", "CHILLS"): ("寒战", "寒颤", "打寒", "冷战", "打摆子", "发抖", "哆嗦", "发冷"),
    ("DRESSING", "LOOSE"): (
        "翘起",
        "翘了",
        "翘",
        "撬起",
        "起边",
        "卷边",
        "松了",
        "松脱",
        "松",
        "脱落",
        "掉了",
        "潮湿",
        "湿了",
        "进水",
        "打湿",
        "贴不住",
        "开了",
    ),
    ("DRESSING", "BLEEDING"): ("出血不止", "血止不住", "一直出血", "一直流血", "流血", "出血"),
}
# a clause about the puncture site, the arm or the dressing: decides whose a word is ("肿")
SITE_WORDS = ("穿刺", "针眼", "伤口", "管口", "进针", "置管处", "管子那", "插管")
ARM_WORDS = ("胳膊", "手臂", "臂", "手", "膀子")
DRESSING_WORDS = ("贴膜", "敷料", "膜", "胶布", "贴的", "贴子", "贴模")
# a word counts for its question's all-clear when one of these comes just before it
NEGATIONS = ("没有", "没", "不", "无", "未")
DECLINE = ("算了", "不想回答", "不想答", "不回答", "不想说", "别问了", "不用问", "不填", "拒绝回答")
_OK_WORDS = "好|正常|没有|没事|没|无|不|ok|可以|挺好|还好|很好|不错|没问题|没什么|没有不适"
BLANKET_OK = re.compile(
    rf"^(都|全|全部|一切|均|各方面|其他|其它)?(都|很|挺|还|也)?({_OK_WORDS})"
    r"(不适|问题|异常|事)?(的|了|啊|呀|哦|吧|呢|哈|谢谢|，|。)*$",
    re.IGNORECASE,
)
# words of the other things a patient asks the bot for: such a message is not an answer
OTHER_TOPICS = (
    "预约",
    "报告",
    "维护",
    "挂号",
    "绑定",
    "查询",
    "查看",
    "我的",
    "二维码",
    "地址",
    "电话",
    "门诊",
    "医院",
    "几点",
    "时间",
    "怎么",
    "什么",
    "哪里",
    "多少",
    "能不能",
    "可以吗",
    "人工",
    "医生",
    "护士",
    "取消",
    "帮我",
    "?",
    "？",
)
_CLAUSE = re.compile(r"[，,。.;；！!、\s]+|还有|而且|并且|但是|就是|还")
_NUMBERED = re.compile(r"(?:^|(?<=[^\d]))([1-9])\s*[\.、:：)）.\-]?\s*([^\d]*)")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


@dataclass
class Reading:
    """What a reply said: answers by question code, and whether it was an all-clear, a
    refusal, something else (for the dialogue), or not understood (none of these)."""

    answers: dict[str, str] = field(default_factory=dict)
    all_clear: bool = False
    declined: bool = False
    other: bool = False

    @property
    def understood(self) -> bool:
        return bool(self.answers) or self.all_clear or self.declined


def read(questions: Sequence[Mapping[str, Any]], text: str) -> Reading:
    """Read ``text`` against ``questions`` (the dictionary's ``follow_up_questions``)."""
    cleaned = text.translate(_FULL_WIDTH).strip()
    if any(w in cleaned for w in DECLINE):
        return Reading(declined=True)
    numbered = _numbered(questions, cleaned)
    answers = numbered if numbered is not None else _free_text(questions, cleaned)
    bare = re.sub(r"[\s，,。.!！~～]+", "", cleaned)
    blanket = bool(BLANKET_OK.match(bare)) or any(
        p in cleaned
        for p in ("都好", "都没有", "都没", "都正常", "一切正常", "一切都好", "没有不适")
    )
    if answers or blanket:
        return Reading(answers=answers, all_clear=blanket)
    return Reading(other=any(w in cleaned for w in OTHER_TOPICS))


def level_of(questions: Sequence[Mapping[str, Any]], answers: Mapping[str, str]) -> str:
    """The highest level among the answers (OK when there are none)."""
    levels = [_answer(questions, q, a).get("level", "OK") for q, a in answers.items()]
    return max(levels, key=LEVELS.__getitem__, default="OK")


def flags_of(questions: Sequence[Mapping[str, Any]], answers: Mapping[str, str]) -> list[str]:
    """The red flags the answers raise, in the questions' order."""
    found = []
    for q in questions:
        if q["code"] in answers:
            flag = _answer(questions, q["code"], answers[q["code"]]).get("flag")
            if flag:
                found.append(str(flag))
    return found


def ok_answer(question: Mapping[str, Any]) -> str:
    """The question's all-clear answer code (the first answer of level OK)."""
    return next(a["code"] for a in question["answers"] if a.get("level") == "OK")


def _answer(questions: Sequence[Mapping[str, Any]], q_code: str, a_code: str) -> Mapping[str, Any]:
    for q in questions:
        if q["code"] == q_code:
            for a in q["answers"]:
                if a["code"] == a_code:
                    return a
    return {}


def _words(question: Mapping[str, Any], answer: Mapping[str, Any]) -> tuple[str, ...]:
    own = tuple(w for w in str(answer.get("label", "")).split("/") if w and w != "没有")
    return (*WORDS.get((question["code"], answer["code"]), ()), *own)


def _numbered(questions: Sequence[Mapping[str, Any]], text: str) -> dict[str, str] | None:
    """Answers of a numbered reply ("1没有 2肿了"), None when the reply is not numbered."""
    parts = [(int(n), body) for n, body in _NUMBERED.findall(text) if body.strip()]
    parts = [(n, body) for n, body in parts if 1 <= n <= len(questions)]
    if not parts:
        return None
    answers: dict[str, str] = {}
    for n, body in parts:
        q = questions[n - 1]
        found = _best(q, body, negated_ok=True)
        if found is None and _is_no(body):
            found = ok_answer(q)
        if found is not None:
            answers[q["code"]] = found
    return answers


def _is_no(body: str) -> bool:
    bare = re.sub(r"[\s，,。.!！;；]+", "", body)
    return bool(bare) and (bool(BLANKET_OK.match(bare)) or bare in ("否", "无", "没", "N", "n"))


def _free_text(questions: Sequence[Mapping[str, Any]], text: str) -> dict[str, str]:
    """Answers found clause by clause; a word followed after a negation ("没有发烧", "不肿")
    is that question's all-clear; within a question the most worrying answer wins."""
    answers: dict[str, str] = {}
    for clause in (c for c in _CLAUSE.split(text) if c):
        for q in _questions_for(questions, clause):
            found = _best(q, clause, negated_ok=True)
            if found is None:
                continue
            prior = answers.get(q["code"])
            if prior is None or _rank(q, found) > _rank(q, prior):
                answers[q["code"]] = found
    return answers


def _questions_for(questions: Sequence[Mapping[str, Any]], clause: str) -> list[Mapping[str, Any]]:
    """The questions a clause may answer. "肿"/"红"/"渗血" in a clause naming the puncture site
    or the dressing are about that, not the arm; the arm's words make it the arm."""
    site = any(w in clause for w in SITE_WORDS)
    arm = any(w in clause for w in ARM_WORDS)
    dressing = any(w in clause for w in DRESSING_WORDS)
    chosen = []
    for q in questions:
        if q["code"] == "ARM" and (site or dressing) and not arm:
            continue
        if q["code"] == "SITE" and arm and not site and _only_swelling(clause):
            continue
        if q["code"] == "DRESSING" and site and not dressing and "血" in clause:
            continue  # bleeding named at the site is the site's oozing unless it is the dressing
        chosen.append(q)
    return chosen


def _only_swelling(clause: str) -> bool:
    return not any(w in clause for w in ("红", "疼", "痛", "脓", "渗"))


def _best(question: Mapping[str, Any], text: str, *, negated_ok: bool) -> str | None:
    """The most worrying answer of ``question`` whose words ``text`` holds; a negated word
    counts as the all-clear. Longer words are matched first and use up their characters."""
    candidates = sorted(
        (
            (w, a)
            for a in question["answers"]
            if a.get("level") != "OK"
            for w in _words(question, a)
        ),
        key=lambda pair: -len(pair[0]),
    )
    rest = text
    best: str | None = None
    saw_negated = False
    for word, answer in candidates:
        at = rest.find(word)
        if at < 0:
            continue
        rest = rest[:at] + "\0" * len(word) + rest[at + len(word) :]
        before = text[max(0, at - 3) : at]
        if negated_ok and any(before.endswith(n) or n in before[-2:] for n in NEGATIONS):
            saw_negated = True
            continue
        if best is None or _rank(question, answer["code"]) > _rank(question, best):
            best = answer["code"]
    if best is None and saw_negated:
        return ok_answer(question)
    return best


def _rank(question: Mapping[str, Any], code: str) -> int:
    for a in question["answers"]:
        if a["code"] == code:
            return LEVELS.get(str(a.get("level")), 0)
    return 0
