"""The clinical dictionary as a typed, validated, immutable value.

A payload (JSON, as stored in ``clinical_dictionaries``) becomes a ``Dictionary`` only if it
passes ``validate_payload``; the rules in ``bot.care.rules`` compute from it.

``lab_items`` (the lab items OCR matches report rows against), ``handling_steps``,
``complication_outcomes`` and ``follow_up_questions`` came later than the first stored versions:
a payload without one is valid and gets the shipped default list (``bot.care.defaults``); a
payload that has it must have a valid one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import lab_items as lab
from .defaults import COMPLICATION_OUTCOMES, FOLLOW_UP_QUESTIONS, HANDLING_STEPS, LAB_ITEMS
from .lab_items import LabItem, LabNames

PORT_WHEN = ("PORT_IDLE", "PORT_IN_USE")
CODE_LISTS = (
    "dressing_types",
    "veins",
    "sides",
    "techniques",
    "tip_confirmation",
    "port_sites",
    "site_findings",
    "patency",
    "complications",
    "removal_reasons",
    "services",
)

# Code lists added after the first stored versions: the shipped list when a payload has none.
LATER_CODE_LISTS: Mapping[str, list[dict[str, Any]]] = {
    "handling_steps": HANDLING_STEPS,
    "complication_outcomes": COMPLICATION_OUTCOMES,
}
FOLLOW_UP_LEVELS = ("OK", "CONCERN", "URGENT")


class DictionaryError(ValueError):
    """The payload would break a rule. ``problems`` lists every reason, in Chinese."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class DeviceType:
    code: str
    label: str
    short: str
    central: bool
    max_dwell_days: int | None
    snomed: tuple[str, ...]


@dataclass(frozen=True)
class Tier:
    code: str
    label: str
    follow_up_days: int | None
    escalate_overdue_days: int | None
    description: str


@dataclass(frozen=True)
class Code:
    code: str
    label: str
    attrs: Mapping[str, Any]


@dataclass(frozen=True)
class Dictionary:
    version: int
    device_types: Mapping[str, DeviceType]
    intervals: Mapping[tuple[str, str], int]  # (device type, when) -> days
    tiers: Mapping[str, Tier]
    due_soon_days: int
    reminder_days_before: int
    external_length_change_cm: Decimal
    arm_circumference_increase_cm: Decimal
    codes: Mapping[str, Mapping[str, Code]]  # list name -> code -> Code
    payload: Mapping[str, Any]
    lab_items: Mapping[str, LabItem]  # code -> item, the shipped list when the payload has none
    follow_up_questions: tuple[Mapping[str, Any], ...]  # the check-in, in the order asked
    lab_names: LabNames

    def lab_item(self, printed_name: str) -> LabItem | None:
        """The lab item a name printed on a report means (OCR noise tolerated), or None."""
        code = self.lab_names.find(printed_name)
        return self.lab_items[code] if code else None

    def label(self, list_name: str, code: str | None) -> str:
        """The Chinese label of a code, or the code itself if unknown (old data)."""
        if code is None:
            return ""
        if list_name == "device_types":
            device = self.device_types.get(code)
            return device.short if device else code
        entry = self.codes.get(list_name, {}).get(code)
        return entry.label if entry else code

    def has_code(self, list_name: str, code: str) -> bool:
        if list_name == "device_types":
            return code in self.device_types
        return code in self.codes.get(list_name, {})

    def compromised_findings(self) -> frozenset[str]:
        return frozenset(
            c.code
            for c in self.codes["site_findings"].values()
            if c.attrs.get("dressing_compromised")
        )


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def validate_payload(payload: Mapping[str, Any]) -> list[str]:
    """Every reason the payload cannot be put in force (empty list: it is fine)."""
    problems: list[str] = []
    devices = payload.get("device_types") or []
    device_codes = [d.get("code") for d in devices if isinstance(d, Mapping)]
    if not device_codes:
        problems.append("至少需要一种导管类型")
    if len(set(device_codes)) != len(device_codes):
        problems.append("导管类型编码重复")
    for d in devices:
        if not d.get("label"):
            problems.append(f"导管类型 {d.get('code')} 缺少名称")
        dwell = d.get("max_dwell_days")
        if dwell is not None and not _positive_int(dwell):
            problems.append(f"导管类型 {d.get('code')} 的最长留置天数必须为正整数或留空")

    seen: set[tuple[str, str]] = set()
    for rule in payload.get("maintenance_intervals") or []:
        dt, when, days = rule.get("device_type"), rule.get("when"), rule.get("days")
        if dt not in device_codes:
            problems.append(f"维护间隔引用了未知的导管类型：{dt}")
            continue
        if not _positive_int(days):
            problems.append(f"维护间隔必须为正整数天：{dt}/{when} = {days}")
        if (dt, when) in seen:
            problems.append(f"维护间隔重复：{dt}/{when}")
        seen.add((dt, when))
    dressing_codes = {c.get("code") for c in payload.get("dressing_types") or []}
    for dt in device_codes:
        needed = set(PORT_WHEN) if dt == "PORT" else dressing_codes
        for when in sorted(needed - {w for d, w in seen if d == dt}):
            problems.append(f"缺少维护间隔：{dt}/{when}")

    tiers = payload.get("tiers") or []
    if not tiers:
        problems.append("至少需要一个随访分级")
    for t in tiers:
        for key in ("follow_up_days", "escalate_overdue_days"):
            value = t.get(key)
            if value is not None and not _positive_int(value):
                problems.append(f"分级 {t.get('code')} 的 {key} 必须为正整数或留空")
    for key in ("due_soon_days", "reminder_days_before"):
        value = payload.get(key)
        if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 30):
            problems.append(f"{key} 必须为 0–30 的整数")
    flags = payload.get("red_flags") or {}
    for key in ("external_length_change_cm", "arm_circumference_increase_cm"):
        value = flags.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            problems.append(f"红旗阈值 {key} 必须为正数")
    for name in CODE_LISTS:
        entries = payload.get(name)
        if not entries:
            problems.append(f"字典 {name} 不能为空")
            continue
        codes = [e.get("code") for e in entries]
        if len(set(codes)) != len(codes):
            problems.append(f"字典 {name} 中编码重复")
        if any(not e.get("label") for e in entries):
            problems.append(f"字典 {name} 中有条目缺少名称")
    if "lab_items" in payload:  # optional: versions stored before it have none
        problems.extend(lab.validate(payload["lab_items"]))
    for name in LATER_CODE_LISTS:
        if name in payload:
            problems.extend(_code_list_problems(name, payload[name]))
    if "follow_up_questions" in payload:
        problems.extend(_follow_up_problems(payload["follow_up_questions"]))
    return problems


def _code_list_problems(name: str, entries: Any) -> list[str]:
    if not entries:
        return [f"字典 {name} 不能为空"]
    problems = []
    codes = [e.get("code") for e in entries]
    if len(set(codes)) != len(codes):
        problems.append(f"字典 {name} 中编码重复")
    if any(not e.get("label") for e in entries):
        problems.append(f"字典 {name} 中有条目缺少名称")
    return problems


def _follow_up_problems(questions: Any) -> list[str]:
    problems = _code_list_problems("follow_up_questions", questions)
    for q in questions or []:
        answers = q.get("answers") or []
        if len(answers) < 2:
            problems.append(f"随访问题 {q.get('code')} 至少需要两个答案")
        problems.extend(_code_list_problems(f"follow_up_questions/{q.get('code')}", answers))
        for a in answers:
            if a.get("level") not in FOLLOW_UP_LEVELS:
                problems.append(
                    f"随访问题 {q.get('code')} 的答案 {a.get('code')} 的级别应为 OK/CONCERN/URGENT"
                )
            elif a["level"] != "OK" and not a.get("flag"):
                problems.append(f"随访问题 {q.get('code')} 的答案 {a.get('code')} 缺少红旗编码")
    return problems


def build_dictionary(payload: Mapping[str, Any], version: int) -> Dictionary:
    """Turn a stored payload into a Dictionary; raises DictionaryError if it is invalid."""
    problems = validate_payload(payload)
    if problems:
        raise DictionaryError(problems)
    devices = {
        d["code"]: DeviceType(
            code=d["code"],
            label=d["label"],
            short=d.get("short") or d["code"],
            central=bool(d.get("central")),
            max_dwell_days=d.get("max_dwell_days"),
            snomed=tuple(d.get("snomed") or ()),
        )
        for d in payload["device_types"]
    }
    tiers = {
        t["code"]: Tier(
            code=t["code"],
            label=t["label"],
            follow_up_days=t.get("follow_up_days"),
            escalate_overdue_days=t.get("escalate_overdue_days"),
            description=t.get("description", ""),
        )
        for t in payload["tiers"]
    }
    codes = {
        name: {
            e["code"]: Code(
                e["code"], e["label"], {k: v for k, v in e.items() if k not in ("code", "label")}
            )
            for e in payload[name]
        }
        for name in CODE_LISTS
    }
    for name, shipped in LATER_CODE_LISTS.items():
        codes[name] = {
            e["code"]: Code(
                e["code"], e["label"], {k: v for k, v in e.items() if k not in ("code", "label")}
            )
            for e in payload.get(name, shipped)
        }
    flags = payload["red_flags"]
    lab_items = lab.build(payload.get("lab_items", LAB_ITEMS))
    return Dictionary(
        version=version,
        device_types=devices,
        intervals={
            (r["device_type"], r["when"]): r["days"] for r in payload["maintenance_intervals"]
        },
        tiers=tiers,
        due_soon_days=payload["due_soon_days"],
        reminder_days_before=payload["reminder_days_before"],
        external_length_change_cm=Decimal(str(flags["external_length_change_cm"])),
        arm_circumference_increase_cm=Decimal(str(flags["arm_circumference_increase_cm"])),
        codes=codes,
        payload=payload,
        lab_items=lab_items,
        lab_names=LabNames.of(lab_items),
        follow_up_questions=tuple(payload.get("follow_up_questions", FOLLOW_UP_QUESTIONS)),
    )
