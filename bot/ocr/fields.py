"""What a report says, from its rows and tables (P4.3): kind, institution, report date, lab
items with their flags, and the conclusion of imaging and culture reports."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from bot.care.dictionary import Dictionary
from bot.care.lab_items import LabItem

from . import layout
from .layout import Row, Table

KINDS = (
    "blood_routine",
    "coagulation",
    "biochemistry",
    "ultrasound",
    "chest_xray",
    "blood_culture",
    "other",
)
LAB_KINDS = ("blood_routine", "coagulation", "biochemistry")
# words naming the kind of report; found in the title they count three times
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "ultrasound": ("超声", "彩超", "B超", "多普勒", "声像图"),
    "chest_xray": ("X线", "DR检查", "DR)", "胸片", "胸部正位", "胸部平片", "放射科"),
    "blood_culture": ("血培养", "细菌培养", "微生物", "培养结果"),
    "coagulation": ("凝血",),
    "blood_routine": ("血常规", "血细胞分析", "全血细胞计数", "血液分析"),
    "biochemistry": ("生化", "肝功能", "肾功能", "电解质", "肝肾功"),
}
INSTITUTION = re.compile(
    r"([\u4e00-\u9fffA-Za-z0-9（）()]{2,30}?"
    r"(?:医院|卫生院|卫生服务中心|保健院|医学检验实验室|医学检验所|检验中心|医疗中心|诊所|门诊部))"
)
# date labels, best first: the report's own date beats the specimen's
DATE_LABELS = (
    ("报告时间", 0),
    ("报告日期", 0),
    ("报告", 0),
    ("审核时间", 1),
    ("审核日期", 1),
    ("检验时间", 2),
    ("检验日期", 2),
    ("检查时间", 2),
    ("检查日期", 2),
    ("接收时间", 3),
    ("签收时间", 3),
    ("送检时间", 3),
    ("送检日期", 3),
    ("采样时间", 3),
    ("采集时间", 3),
    ("采血时间", 3),
    ("申请时间", 4),
)
DATE = re.compile(r"(20\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
CONCLUSION_LABELS = (
    "超声提示",
    "超声诊断",
    "检查结论",
    "诊断意见",
    "影像诊断",
    "诊断结论",
    "检查提示",
    "培养结果",
    "鉴定结果",
    "印象",
    "结论",
)
FINDING_LABELS = ("检查所见", "超声所见", "影像所见", "影像表现", "检查描述", "所见")
# the signature and date rows after a section: "医师" or "审核" anywhere, as the word before
# them (报告/审核/诊断医师) is often misread
SECTION_END = re.compile(
    r"医师|医生|审核|检验者|签名|本报告|^(报告时间|报告日期|检查时间|检查日期|备注|打印)"
)
REPORT_WORDS = (
    "医院",
    "报告",
    "检验",
    "检查",
    "姓名",
    "性别",
    "年龄",
    "科室",
    "床号",
    "标本",
    "参考",
    "结果",
    "项目",
    "诊断",
    "所见",
    "住院号",
    "门诊号",
    "送检",
    "采样",
)
HIGH = {"↑", "H", "h", "高", "偏高", "▲", "↑↑", "HH", "个"}  # 个: how the engine misreads ↑
LOW = {"↓", "L", "l", "低", "偏低", "▼", "↓↓", "LL"}
NUMBER = re.compile(r"^[<>≤≥]?\s*[-+]?\d+(?:\.\d+)?")
RANGE = re.compile(
    r"(?P<op>[<>≤≥＜＞])?\s*(?P<a>\d+(?:\.\d+)?)\s*(?:[-~～—–－一]+\s*(?P<b>\d+(?:\.\d+)?))?"
)


@dataclass(frozen=True)
class Item:
    """One row of a lab table. ``value`` is the result as printed (without its flag)."""

    name: str
    code: str | None
    value: str
    unit: str | None
    reference_range: str | None
    flag: str | None  # "H", "L" or None


def flat(text: str) -> str:
    """Text as compared: NFKC (full-width to half-width), no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def kind(rows: Sequence[Row], items: Sequence[Item], dictionary: Dictionary) -> str:
    """The report's kind: by the words of its title and body, else by its known items."""
    title = flat("".join(r.text for r in rows[:4]))
    body = flat("".join(r.text for r in rows))
    scores: Counter[str] = Counter()
    for name, words in KIND_WORDS.items():
        for word in words:
            scores[name] += 3 * title.count(word) + body.count(word)
    if scores and scores.most_common(1)[0][1] > 0:
        return scores.most_common(1)[0][0]
    kinds = Counter(dictionary.lab_items[i.code].kind for i in items if i.code)
    if kinds and kinds.most_common(1)[0][1] >= 2:
        return kinds.most_common(1)[0][0]
    return "other"


def institution(rows: Sequence[Row]) -> str | None:
    """The hospital in the header: "XX市人民医院检验报告单" → "XX市人民医院"."""
    for row in rows[:6]:
        m = INSTITUTION.search(flat(row.text))
        if m:
            return m.group(1).lstrip("0123456789")
    return None


def report_date(rows: Sequence[Row]) -> date | None:
    """The report's date: 报告时间 first, then 审核, 检验/检查, and the specimen's times
    (采样/接收/送检) only when nothing better is printed; a date with no label last."""
    found: list[tuple[int, int, date]] = []
    for n, row in enumerate(rows):
        text = flat(row.text)
        labels: list[tuple[int, int, int]] = []  # (start, end, rank)
        for label, rank in DATE_LABELS:
            for m in re.finditer(label, text):
                if not any(s <= m.start() < e for s, e, _ in labels):
                    labels.append((m.start(), m.end(), rank))
        for m in DATE.finditer(text):
            day = _date(m)
            if day is None:
                continue
            before = [lab for lab in labels if lab[1] <= m.start() and m.start() - lab[1] <= 3]
            rank = max(before, key=lambda lab: lab[1])[2] if before else 5
            found.append((rank, n, day))
    return min(found)[2] if found else None


def _date(m: re.Match[str]) -> date | None:
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def conclusion(rows: Sequence[Row]) -> str | None:
    """The text under the first conclusion label (超声提示, 诊断意见, 培养结果 …), else
    under the findings label (检查所见 …); None when there is neither."""
    texts = [re.sub(r"\s+", "", r.text) for r in rows]  # as printed: full-width stays
    for labels in (CONCLUSION_LABELS, FINDING_LABELS):
        for label in labels:
            for n, text in enumerate(texts):
                if not text.startswith(label):
                    continue
                parts = [text[len(label) :].lstrip(":：")]
                for following in texts[n + 1 :]:
                    if SECTION_END.search(following) or _label(following):
                        break
                    parts.append(following)
                section = "".join(parts).strip()
                if section:
                    return section
    return None


def _label(text: str) -> bool:
    return any(text.startswith(x) for x in (*CONCLUSION_LABELS, *FINDING_LABELS))


def items(tables: Sequence[Table], dictionary: Dictionary, lab: bool) -> list[Item]:
    """Items of every table row with a name and a result. Names are matched to the
    dictionary's lab items; unknown names are kept (code None) on lab reports only."""
    out = []
    for table in tables:
        for cells in table.rows:
            item = _item(cells, dictionary)
            if item and (item.code or lab):
                out.append(item)
    return out


def loose_items(rows: Sequence[Row], dictionary: Dictionary) -> list[Item]:
    """Items of a page without a table header (its top cut off, or a lab system that prints
    none): rows whose words name a known item followed by a number. The words after the
    value are told apart by their look: a range (3.5-9.5, <0.55), a flag, else the unit."""
    out = []
    for row in rows:
        words = [w.text for w in layout.words_of(row)]
        # the name starts the row, after a row number if there is one (not an abbreviation
        # further right: 血小板压积 PCT is not procalcitonin)
        for start in (0, 1) if words and words[0].isdigit() else (0,):
            for end in (start + 1, start + 2):  # a name the engine cut in two
                name = "".join(words[start:end])
                cells = _by_look(words[end:]) if dictionary.lab_item(name) else None
                if cells is not None:
                    item = _item({"name": name, **cells}, dictionary)
                    if item and item.code:
                        out.append(item)
                    break
            else:
                continue
            break
    return out


def _by_look(words: Sequence[str]) -> dict[str, str] | None:
    """value, flag, unit and range of the words after a name; None without a value. An
    abbreviation between name and value (WBC) is passed over."""
    at = next((n for n, w in enumerate(words[:3]) if NUMBER.match(w) and not _is_range(w)), None)
    if at is None:
        return None
    cells = {"value": words[at]}
    for word in words[at + 1 :]:
        if _flag(word):
            cells["flag"] = word
        elif _is_range(word):
            cells.setdefault("range", word)
        else:
            cells.setdefault("unit", word)
    return cells


def _is_range(word: str) -> bool:
    text = unicodedata.normalize("NFKC", word)
    return bool(re.fullmatch(r"[<>≤≥]\s*\d+(\.\d+)?|\d+(\.\d+)?\s*[-~～—–一]+\s*\d+(\.\d+)?", text))


def _item(cells: dict[str, str], dictionary: Dictionary) -> Item | None:
    name = cells.get("name", "").strip()
    value, flag = _value(cells.get("value", ""))
    if not name or not value or not re.search(r"[\u4e00-\u9fffA-Za-z]", name):
        return None
    known = dictionary.lab_item(name)
    if known is None and cells.get("code") and not re.search(r"[\u4e00-\u9fff]", name):
        known = dictionary.lab_item(cells["code"])
    printed = _flag(cells.get("flag", ""))
    unit = cells.get("unit", "").strip() or None
    reference = cells.get("range", "").strip() or None
    return Item(
        name=re.sub(r"^\d{1,2}[.、]?\s*", "", name).replace(" ", ""),
        code=known.code if known else None,
        value=value,
        unit=unit,
        reference_range=reference,
        flag=printed or flag or computed_flag(value, reference, known),
    )


def _value(text: str) -> tuple[str, str | None]:
    """The result as printed and a flag printed next to it ("14.3 ↑", "14.3H")."""
    words = text.split()
    flag = None
    while words and _flag(words[-1]):
        flag = _flag(words.pop())
    value = " ".join(words)
    m = re.match(r"^(.*\d)\s*([↑↓HL▲▼个])$", value)
    if m and NUMBER.match(m.group(1)):
        value, flag = m.group(1), flag or _flag(m.group(2))
    return value.strip(), flag


def _flag(text: str) -> str | None:
    text = text.strip()
    if text in HIGH:
        return "H"
    if text in LOW:
        return "L"
    return None


def computed_flag(value: str, reference: str | None, known: LabItem | None) -> str | None:
    """No flag printed: compare the value with the printed range, else with the dictionary's
    range of the item. Values that are not plain numbers ("<0.05", "阴性") get no flag."""
    try:
        number = Decimal(unicodedata.normalize("NFKC", value))
    except InvalidOperation:
        return None
    low, high = range_of(reference) if reference else (None, None)
    if low is None and high is None and known is not None:
        low, high = known.low, known.high
    if high is not None and number > high:
        return "H"
    if low is not None and number < low:
        return "L"
    return None


def range_of(text: str) -> tuple[Decimal | None, Decimal | None]:
    """The bounds of a printed reference range ("3.5-9.5", "<0.5", "≥60"); None where open."""
    m = RANGE.search(unicodedata.normalize("NFKC", text))
    if not m:
        return None, None
    a = Decimal(m.group("a"))
    if m.group("b"):
        return a, Decimal(m.group("b"))
    op = m.group("op") or ""
    if op in "<≤＜" and op:
        return None, a
    if op in ">≥＞" and op:
        return a, None
    return None, None


def is_report(rows: Sequence[Row], found: Sequence[Item]) -> bool:
    """A report has lab items, or at least three of the words every report prints
    (医院, 报告, 姓名, 检查 …); a selfie, a dressing or a wall has neither."""
    text = flat("".join(r.text for r in rows))
    words = sum(1 for w in REPORT_WORDS if w in text)
    return sum(1 for i in found if i.code) >= 2 or words >= 3
