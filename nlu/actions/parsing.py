"""Reading values out of what people type in a form: numbers, lengths, dates, yes / no.

Nurses and patients type "外露3.5厘米", "35mm", "三天前", "11月20号", "确认"; the NLU model
finds the intent, these functions find the value, so a form never depends on an entity the
model might miss.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}


def normalise(text: str | None) -> str:
    """Full-width digits, letters and punctuation (Chinese input methods) to ASCII."""
    return unicodedata.normalize("NFKC", text or "").strip()


def cn_int(token: str) -> int | None:
    """ "3", "十二", "二十", "二十五", "两" → int (0–99); anything else → None."""
    if token.isdigit():
        return int(token)
    if not token or any(ch not in _CN_DIGITS and ch != "十" for ch in token):
        return None
    if "十" not in token:
        return _CN_DIGITS[token] if len(token) == 1 else None
    tens, _, ones = token.partition("十")
    t = _CN_DIGITS.get(tens, 0) if tens else 1
    o = _CN_DIGITS.get(ones, 0) if ones else 0
    if (tens and tens not in _CN_DIGITS) or (ones and ones not in _CN_DIGITS):
        return None
    return t * 10 + o


_NUMBER = re.compile(
    r"(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十]+(?:点[零〇一二三四五六七八九])?)"
)


def number(text: str | None) -> Decimal | None:
    """The first number in the text, Arabic or Chinese ("三点五" = 3.5)."""
    m = _NUMBER.search(normalise(text))
    if not m:
        return None
    token = m.group(1)
    if "点" in token:
        whole, _, frac = token.partition("点")
        w = cn_int(whole)
        return None if w is None else Decimal(f"{w}.{_CN_DIGITS[frac]}")
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        try:
            return Decimal(token)
        except InvalidOperation:
            return None
    value = cn_int(token)
    return None if value is None else Decimal(value)


def length_cm(text: str | None) -> Decimal | None:
    """A length in centimetres; millimetres ("35mm", "35毫米") are converted."""
    value = number(text)
    if value is None:
        return None
    if re.search(r"mm|毫米", normalise(text), re.IGNORECASE):
        value = value / 10
    return value.quantize(Decimal("0.1"))


def relative_date(text: str | None, today: date) -> date | None:
    """Dates as people type them: 今天, 昨天, 前天, 3天前, 三天后, 明天, 下周三, 周五,
    11月20日, 11-20, 2026-11-20, 2026年11月20日, 2026/11/20. None if there is no date."""
    t = normalise(text)
    words = {
        "今天": 0,
        "今日": 0,
        "昨天": -1,
        "昨日": -1,
        "前天": -2,
        "大前天": -3,
        "明天": 1,
        "明日": 1,
        "后天": 2,
        "大后天": 3,
    }
    for word in sorted(words, key=len, reverse=True):
        if word in t:
            return today + timedelta(days=words[word])
    m = re.search(r"([0-9零〇一二两三四五六七八九十]+)\s*天\s*(前|以前|之前|后|以后|之后)", t)
    if m and (n := cn_int(m.group(1))) is not None:
        return today + timedelta(days=-n if "前" in m.group(2) else n)
    m = re.search(r"(下下|下|这|本|上)?\s*(?:周|星期|礼拜)([一二三四五六日天])", t)
    if m:
        target = _WEEKDAYS[m.group(2)]
        monday = today - timedelta(days=today.weekday())
        week = {"下下": 2, "下": 1, "上": -1}.get(m.group(1) or "", 0)
        day = monday + timedelta(days=7 * week + target)
        if not m.group(1) and day < today:  # "周五" said on a Saturday means next Friday
            day += timedelta(days=7)
        return day
    m = re.search(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})", t)
    if m:
        return _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = re.search(r"(\d{1,2})\s*(?:月|-|/|\.)\s*(\d{1,2})\s*(?:日|号)?", t)
    if m:
        month, day_ = int(m.group(1)), int(m.group(2))
        candidate = _date(today.year, month, day_)
        return candidate
    m = re.search(r"(下个?月|这个?月|本月|上个?月)?\s*(\d{1,2})\s*(?:日|号)", t)
    if m:
        shift = {"下": 1, "上": -1}.get((m.group(1) or " ")[0], 0)
        year, month = divmod(today.year * 12 + today.month - 1 + shift, 12)
        return _date(year, month + 1, int(m.group(2)))
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_YES = re.compile(
    r"^(确认|确定|是|是的|对|对的|好|好的|可以|没问题|没错|提交|ok|okay|yes|y|嗯|嗯嗯|行|同意)[!！。.～~]*$",
    re.I,
)
_NO = re.compile(r"(不对|不是|不确认|不提交|错了|有误|不行|^否|^no?$|^不$|修改|重填)", re.I)


def yes_no(text: str | None, intent: str | None = None) -> bool | None:
    """True for a confirmation, False for a refusal, None if neither."""
    t = normalise(text)
    if _NO.search(t) or intent == "deny":
        return False
    if _YES.match(t) or intent == "affirm":
        return True
    return None


def choice(text: str | None, count: int) -> int | None:
    """A 1-based choice from a numbered list ("2", "第二个", "选3") → 0-based index."""
    t = normalise(text)
    m = re.fullmatch(r"(?:第|选|选择)?\s*([0-9一二两三四五六七八九十]+)\s*(?:个|号|项|条)?", t)
    if not m:
        return None
    n = cn_int(m.group(1))
    return n - 1 if n is not None and 1 <= n <= count else None
