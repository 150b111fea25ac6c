"""What the patient and the nurse read about a follow-up check-in (A7.4), in Chinese."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

LEVEL_LABELS = {"OK": "无异常", "CONCERN": "需关注", "URGENT": "紧急"}
STATUS_LABELS = {
    "sent": "待回复",
    "answered": "已回复",
    "no_answer": "未回复",
    "stopped": "已停止（已拔管）",
}
FLAG_LABELS = {
    "UNCLEAR": "回复无法识别，原话转交",
    "DECLINED": "患者不愿回答",
    "NO_FOLLOWER": "未关注公众号，请电话随访",
}
HELD = "待发送（免打扰时段）"


def numbered(questions: Sequence[Mapping[str, Any]], codes: Sequence[str] | None = None) -> str:
    """The questions, numbered as in the first check-in, with their answers to choose from;
    only ``codes`` when given (the ones still missing)."""
    lines = []
    for n, q in enumerate(questions, 1):
        if codes is not None and q["code"] not in codes:
            continue
        options = "、".join(str(a["label"]) for a in q["answers"])
        lines.append(f"{n}. {q['label']}（{options}）")
    return "\n".join(lines)


# the check-in and its reminder, worded by the database for thousands at once
# (``sql_words.render``): {name} the patient, {device} the device, {asked} ``numbered(...)``
CHECK_IN = (
    "【导管随访】{name}您好，今天是您{device}的随访日，请在一条消息里回答以下问题"
    "（例如“1没有 2没有 3没有 4没有”，也可以直接说哪里不舒服）：\n"
    "{asked}\n"
    "都没有不适请回复“都好”。如情况紧急，请立即就医。"
)
REMINDER = (
    "【随访提醒】{name}您好，昨天的{device}随访还没有收到您的回复，"
    "请抽空回答（都没有不适请回复“都好”）：\n"
    "{asked}"
)
# the title of the subscribe / template message sent when the 48-hour window is closed
TITLES = {"check_in": "导管随访问询", "reminder": "随访问询待回复"}


def ask_missing(questions: Sequence[Mapping[str, Any]], missing: Sequence[str]) -> str:
    return f"谢谢您的回复。还想了解一下：\n{numbered(questions, missing)}"


def ask_again(questions: Sequence[Mapping[str, Any]], missing: Sequence[str]) -> str:
    return (
        "抱歉，没能看懂您的回复。请按序号回答，例如“1没有 2没有”，"
        "都没有不适请回复“都好”：\n"
        f"{numbered(questions, missing)}"
    )


def next_check_in(questions: Sequence[Mapping[str, Any]], name: str, device: str) -> str:
    return (
        f"还有一份随访：{name}的{device}。请在下一条消息里回答"
        f"（都没有不适请回复“都好”）：\n{numbered(questions)}"
    )


PASSED_ON = "抱歉，我还是没能看懂。您的原话已转给护士，护士会尽快联系您。"
DECLINED = "好的，谢谢您。本次随访不再询问；如有任何不适，请随时告诉我们或联系护士。"
THANKS_OK = "谢谢您的回复，导管情况良好。请继续按时维护，如有不适随时告诉我们。"
THANKS_CONCERN = "谢谢您的回复，已通知您的责任护士，护士会尽快联系您。"


def urgent(advice: Sequence[str]) -> str:
    what = "\n".join(f"· {a}" for a in advice)
    return f"【请立即处理】根据您的回复：\n{what}\n已同时通知您的责任护士。"


def answers_in_words(
    questions: Sequence[Mapping[str, Any]], answers: Mapping[str, str]
) -> list[str]:
    """ "穿刺点…？红肿/疼痛" lines, in the questions' order."""
    lines = []
    for q in questions:
        code = answers.get(q["code"])
        if code is None:
            continue
        label = next((a["label"] for a in q["answers"] if a["code"] == code), code)
        lines.append(f"{q['label']} {label}")
    return lines


def to_nurse(
    questions: Sequence[Mapping[str, Any]],
    *,
    level: str,
    name: str,
    device: str,
    due: date,
    answers: Mapping[str, str],
    free_text: str | None,
    unclear: bool,
) -> str:
    head = f"【随访·{LEVEL_LABELS.get(level, level)}】{name}（{device}，{due:%m月%d日}随访）"
    lines = answers_in_words(questions, answers)
    body = "\n".join(lines) if lines else ""
    said = f"患者原话：“{free_text}”" if free_text else ""
    ask = "回复无法识别，请联系患者了解情况。" if unclear else "请尽快联系患者。"
    return "\n".join(part for part in (head, body, said, ask) if part)


def no_answer(names: Sequence[str], total: int, link: str) -> str:
    shown = "、".join(names)
    more = f"等{total}人" if total > len(names) else f"共{total}人"
    return f"【随访未回复】{shown}{more}的随访问卷48小时未回复，已列入今日随访，请电话联系：{link}"
