"""What a nurse types in the removal form (拔管), read: the reason, catheter intact, the tip
culture (sent? result), the date."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from bot.services import removals

from . import forms, parsing

REASONS = [
    ("DEATH", r"死亡|去世|过世|病故"),
    ("ACCIDENTAL", r"意外|非计划|脱出|滑脱|滑出|自行|自己拔|自拔|拽出|扯出|掉了"),
    ("PATIENT_REQUEST", r"患者要求|病人要求|本人要求|家属要求|要求拔|不想留|拒绝"),
    ("COMPLICATION", r"并发症|感染|血栓|静脉炎|堵管|堵塞|渗出|外渗|移位|断裂|破损|发热"),
    ("END_OF_THERAPY", r"治疗结束|疗程结束|化疗结束|治疗完|疗程完|结疗|到期|出院|不需要|用完"),
]
BED = re.compile(r"[0-9一二两三四五六七八九十]+\s*号?\s*床")
_DATE_WORDS = re.compile(r"今|昨|明|后天|前天|天前|[0-9]+\s*[月号日]|[-/]|周|星期|礼拜")
_NOT_INTACT = re.compile(r"不完整|不全|断|缺|破|残留|少了|否|^不|没有完整")
_INTACT = re.compile(r"完整|完好|好的|无损|^是|^对|^有$|没问题")
_NOT_SENT = re.compile(r"未送|没送|不送|没有送|未做|没做|不做|未培养|无需|不需要|^无$|^否|^没有$")
_SENT = re.compile(r"送|培养|已做|做了")
_RESULT_PREFIX = re.compile(
    r"^(?:已经?|尖端)?(?:送检|送培养|送了|送|培养)?(?:了)?(?:结果)?[，,：:\s]*"
)
_PENDING = re.compile(r"^(?:待|等|未出|没出|还没|结果未|暂无)")


def reason_of(text: str) -> str | None:
    for code, words in REASONS:
        if re.search(words, text, re.I):
            return code
    return None


def culture_of(text: str) -> dict[str, Any] | None:
    """{"sent": bool, "result": str | None} from "未送", "已送，待结果", "已送，阴性"."""
    t = parsing.normalise(text)
    if _NOT_SENT.search(t):
        return {"sent": False, "result": None}
    if not _SENT.search(t) and not re.search(r"阴性|阳性|生长|菌", t):
        return None
    result = _RESULT_PREFIX.sub("", t).strip("。. ")
    if not result or _PENDING.search(result):
        return {"sent": True, "result": None}
    return {"sent": True, "result": result[: removals.TIP_RESULT_MAX]}


def intact_of(text: str) -> bool | None:
    t = parsing.normalise(text)
    if _NOT_INTACT.search(t):
        return False
    return True if _INTACT.search(t) else None


def day_of(text: str) -> date | None:
    t = BED.sub(" ", parsing.normalise(text))
    return parsing.relative_date(t, forms.today()) if _DATE_WORDS.search(t) else None


def is_iso(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
