"""What a generated report says: hospital, patient, dates, table rows or findings (no pixels).

``devtools.report_images`` lays it out on a page and photographs it. Everything is drawn from a
``random.Random`` so that one seed always gives the same report. Names are invented.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.care.defaults import LAB_ITEMS

LAB_KINDS = ("blood_routine", "coagulation", "biochemistry")
TEXT_KINDS = ("ultrasound", "chest_xray", "blood_culture")
KINDS = LAB_KINDS + TEXT_KINDS

CITIES = ("江州", "滨海", "临川", "青原", "安平", "东陵", "南屏", "望江", "云阳", "石桥")
HOSPITALS = ("市人民医院", "市第一人民医院", "市中心医院", "市第二人民医院", "市中医医院")
UNIVERSITY = ("医科大学附属第一医院", "大学附属第二医院", "医学院附属医院")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "秀英明华建国丽红军伟芳娟敏静强磊洋勇艳杰涛超霞平刚桂兰"
WARDS = ("肿瘤内科", "血液内科", "乳腺外科", "消化内科", "胸外科", "重症医学科", "门诊")

LAB_TITLES = ("检验报告单", "临床检验报告单", "检验科检验报告单", "医学检验报告单")
KIND_TITLES = {
    "blood_routine": ("血常规", "血细胞分析", "血常规+CRP"),
    "coagulation": ("凝血功能", "凝血四项", "凝血功能检测"),
    "biochemistry": ("生化全套", "肝肾功能+电解质", "生化检验"),
}
# rows a real report prints that the dictionary does not know
UNKNOWN_ROWS = {
    "blood_routine": [
        ("红细胞分布宽度", "RDW-CV", "%", "11.0", "16.0", 1),
        ("平均血小板体积", "MPV", "fL", "7.4", "12.5", 1),
        ("血小板压积", "PCT", "%", "0.11", "0.28", 2),
    ],
    "coagulation": [("抗凝血酶III", "AT-III", "%", "80", "120", 0)],
    "biochemistry": [
        ("总胆汁酸", "TBA", "μmol/L", "0.0", "10.0", 1),
        ("前白蛋白", "PA", "mg/L", "200", "400", 0),
    ],
}
DATE_FORMATS = (
    "{:%Y-%m-%d %H:%M}",
    "{:%Y/%m/%d %H:%M:%S}",
    "{:%Y.%m.%d %H:%M}",
    "{:%Y年%m月%d日 %H:%M}",
)


@dataclass
class Row:
    """One printed table row and what the reader should get from it."""

    name: str
    code: str | None
    abbreviation: str
    value: str
    unit: str
    range: str
    flag: str | None  # "H", "L" or None, as the value compares with the range


@dataclass
class Report:
    kind: str
    institution: str
    title: str  # the header line: institution + document title
    two_line_header: bool
    info: list[str]  # patient and specimen lines
    dates: dict[str, datetime]  # label -> time, e.g. {"采样时间": ..., "报告时间": ...}
    date_format: str
    rows: list[Row] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)  # (label, text)
    conclusion: str | None = None
    footer: str = ""
    table_header: bool = True  # False: the lab table is printed without its header row

    def truth(self) -> dict[str, Any]:
        """The ground truth a reading is compared with."""
        report_date = next(v for k, v in self.dates.items() if k.startswith("报告"))
        return {
            "kind": self.kind,
            "institution": self.institution,
            "title": self.title,
            "report_date": report_date.date().isoformat(),
            "other_dates": {
                k: v.date().isoformat() for k, v in self.dates.items() if not k.startswith("报告")
            },
            "items": [
                {
                    "name": r.name,
                    "code": r.code,
                    "value": r.value,
                    "unit": r.unit or None,
                    "reference_range": r.range or None,
                    "flag": r.flag,
                }
                for r in self.rows
            ],
            "conclusion": self.conclusion,
        }


def institution(rng: random.Random) -> str:
    city = rng.choice(CITIES)
    if rng.random() < 0.25:
        return city + rng.choice(UNIVERSITY)
    return city + rng.choice(HOSPITALS)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


def patient_lines(rng: random.Random, specimen: str | None) -> list[str]:
    sex = rng.choice(("男", "女"))
    first = f"姓名：{person(rng)}    性别：{sex}    年龄：{rng.randint(18, 86)}岁"
    ward, bed, number = rng.choice(WARDS), rng.randint(1, 48), rng.randint(100000, 999999)
    second = f"科室：{ward}    床号：{bed}    住院号：{number}"
    lines = [first, second]
    if specimen:
        lines.append(f"标本类型：{specimen}    样本号：{rng.randint(1000, 9999)}")
    return lines


def report_times(rng: random.Random, lab: bool) -> dict[str, datetime]:
    """Sampling (or examination) a day or two before the report, so a reader that takes the
    wrong label gets the wrong date."""
    day = datetime(2026, 1, 5) + timedelta(days=rng.randint(0, 330))
    taken = day.replace(hour=rng.randint(6, 10), minute=rng.randint(0, 59))
    received = taken + timedelta(minutes=rng.randint(20, 90))
    reported = taken + timedelta(days=rng.choice((1, 1, 2)), hours=rng.randint(0, 6))
    if lab:
        return {"采样时间": taken, "接收时间": received, "报告时间": reported}
    label = rng.choice(("报告时间", "报告日期"))
    return {"检查时间": taken, label: reported}


def _decimals(item: dict[str, Any]) -> int:
    digits = [len(str(v).split(".")[1]) for v in (item["low"], item["high"]) if "." in str(v)]
    places = max(digits, default=0)
    if places == 0 and float(item["high"]) < 20:
        places = 1
    return places


def _fmt(value: float, places: int) -> str:
    return f"{value:.{places}f}"


def lab_row(rng: random.Random, item: dict[str, Any], abnormal: bool) -> Row:
    low = float(item["low"]) if item["low"] is not None else 0.0
    high = float(item["high"])
    places = _decimals(item)
    width = high - low
    if abnormal and (item["low"] is None or rng.random() < 0.5):
        value = high + width * rng.uniform(0.1, 1.5)
    elif abnormal:
        value = max(low - width * rng.uniform(0.05, 0.4), low * 0.3)
    else:
        value = rng.uniform(low + width * 0.1, high - width * 0.1)
    text = _fmt(value, places)
    shown = Decimal(text)
    flag = "H" if shown > Decimal(str(high)) else None
    if item["low"] is not None and shown < Decimal(str(item["low"])):
        flag = "L"
    names = [item["label"], *(a for a in item["aliases"] if not a.isascii())]
    name = item["label"] if rng.random() < 0.6 else rng.choice(names)
    abbreviation = next((a for a in item["aliases"] if a.isascii() and len(a) > 1), item["code"])
    lo_text = _fmt(low, places) if item["low"] is not None else None
    hi_text = _fmt(high, places)
    style = rng.choice(("-", "--", "~", "－"))
    printed = (
        f"<{hi_text}"
        if lo_text is None and rng.random() < 0.5
        else f"{lo_text or _fmt(0, places)}{style}{hi_text}"
    )
    return Row(name, item["code"], abbreviation, text, item["unit"] or "", printed, flag)


def unknown_row(rng: random.Random, spec: tuple[str, str, str, str, str, int]) -> Row:
    name, abbreviation, unit, low, high, places = spec
    value = rng.uniform(float(low), float(high))
    return Row(name, None, abbreviation, _fmt(value, places), unit, f"{low}-{high}", None)


def lab_report(rng: random.Random, kind: str) -> Report:
    items = [i for i in LAB_ITEMS if i["kind"] == kind]
    if kind == "biochemistry":  # a ward sends a few panels, not all of them
        items = rng.sample(items, rng.randint(8, min(16, len(items))))
    elif kind == "blood_routine" and rng.random() < 0.5:
        items = [i for i in items if i["code"] != "CRP"]
    abnormal = set(rng.sample(range(len(items)), rng.randint(1, max(1, len(items) // 3))))
    rows = [lab_row(rng, item, n in abnormal) for n, item in enumerate(items)]
    for spec in UNKNOWN_ROWS[kind]:
        if rng.random() < 0.6:
            rows.insert(rng.randint(0, len(rows)), unknown_row(rng, spec))
    hospital = institution(rng)
    title = hospital + rng.choice(LAB_TITLES)
    info = patient_lines(rng, "全血" if kind == "blood_routine" else rng.choice(("血清", "血浆")))
    info.append(f"检验项目：{rng.choice(KIND_TITLES[kind])}")
    return Report(
        kind=kind,
        institution=hospital,
        title=title,
        two_line_header=rng.random() < 0.3,
        info=info,
        dates=report_times(rng, lab=True),
        date_format=rng.choice(DATE_FORMATS),
        rows=rows,
        footer=f"检验者：{person(rng)}    审核者：{person(rng)}    本报告仅对所检标本负责",
    )


VEINS = ("贵要静脉", "肱静脉", "腋静脉", "锁骨下静脉", "头静脉")


def ultrasound(rng: random.Random) -> Report:
    side = rng.choice(("左", "右"))
    vein = rng.choice(VEINS)
    if rng.random() < 0.5:
        seen = (
            f"{side}上肢PICC置管术后，{side}侧{vein}管腔内可见导管回声，其周围可见低回声充填，"
            "探头加压管腔不能压闭，CDFI：管腔内未见明显血流信号。"
        )
        conclusion = f"{side}侧{vein}血栓形成（PICC置管侧）"
    else:
        seen = (
            f"{side}上肢PICC置管术后，{side}侧{vein}内可见导管强回声，管腔内未见明显异常回声，"
            "探头加压可压闭，CDFI：血流充盈良好。"
        )
        conclusion = f"{side}上肢深静脉未见明显血栓形成"
    hospital = institution(rng)
    return Report(
        kind="ultrasound",
        institution=hospital,
        title=hospital + rng.choice(("超声检查报告单", "彩色多普勒超声检查报告", "超声诊断报告单")),
        two_line_header=rng.random() < 0.5,
        info=[*patient_lines(rng, None), f"检查部位：{side}上肢静脉"],
        dates=report_times(rng, lab=False),
        date_format=rng.choice(DATE_FORMATS),
        sections=[("检查所见", seen), ("超声提示", conclusion)],
        conclusion=conclusion,
        footer=f"报告医师：{person(rng)}    审核医师：{person(rng)}",
    )


def chest_xray(rng: random.Random) -> Report:
    level = rng.choice(("T5", "T6", "T7", "T8"))
    side = rng.choice(("右", "左"))
    seen = (
        f"{side}上肢PICC置管术后，导管走行自然，导管尖端位于{level}椎体水平。"
        "双肺纹理清晰，未见明显实质性病变，心影大小形态正常，双侧膈面光整。"
    )
    if level in ("T5", "T6", "T7"):
        conclusion = f"{side}上肢PICC置管术后，导管尖端位于{level}椎体水平"
    else:
        conclusion = f"导管尖端位于{level}椎体水平，位置偏深，请结合临床"
    hospital = institution(rng)
    label = rng.choice(("诊断意见", "检查结论", "影像诊断"))
    return Report(
        kind="chest_xray",
        institution=hospital,
        title=hospital + rng.choice(("放射科X线检查报告单", "医学影像诊断报告单", "DR检查报告单")),
        two_line_header=rng.random() < 0.5,
        info=[*patient_lines(rng, None), "检查项目：胸部正位片（DR）"],
        dates=report_times(rng, lab=False),
        date_format=rng.choice(DATE_FORMATS),
        sections=[("影像所见", seen), (label, conclusion)],
        conclusion=conclusion,
        footer=f"报告医师：{person(rng)}    审核医师：{person(rng)}",
    )


def blood_culture(rng: random.Random) -> Report:
    positive = rng.random() < 0.5
    if positive:
        germ = rng.choice(("表皮葡萄球菌", "金黄色葡萄球菌", "白色念珠菌", "大肠埃希菌"))
        conclusion = f"检出{germ}"
        remark = "已电话通知临床，药敏结果见后续报告"
    else:
        conclusion = f"培养{rng.choice(('5', '5', '7'))}天无细菌生长"
        remark = "阴性结果，必要时重复送检"
    hospital = institution(rng)
    site = rng.choice(("外周静脉血", "导管血（PICC）", "经导管采血"))
    return Report(
        kind="blood_culture",
        institution=hospital,
        title=hospital + rng.choice(("微生物检验报告单", "血培养报告单", "细菌培养检验报告单")),
        two_line_header=rng.random() < 0.3,
        info=[*patient_lines(rng, f"血液（{site}）"), "检验项目：血培养（需氧+厌氧）"],
        dates=report_times(rng, lab=True),
        date_format=rng.choice(DATE_FORMATS),
        sections=[("培养结果", conclusion), ("备注", remark)],
        conclusion=conclusion,
        footer=f"检验者：{person(rng)}    审核者：{person(rng)}",
    )


def make(rng: random.Random, kind: str) -> Report:
    if kind in LAB_KINDS:
        return lab_report(rng, kind)
    return {"ultrasound": ultrasound, "chest_xray": chest_xray, "blood_culture": blood_culture}[
        kind
    ](rng)
