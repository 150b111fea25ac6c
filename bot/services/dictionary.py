"""Reading and publishing versions of the clinical dictionary (A7.1), its sections as the
admin web edits them, and what changed between two versions."""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.care.defaults import DEFAULT_DICTIONARY, FOLLOW_UP_QUESTIONS, LAB_ITEMS
from bot.care.dictionary import (
    LATER_CODE_LISTS,
    Dictionary,
    DictionaryError,
    build_dictionary,
    validate_payload,
)
from bot.models import Catheter, ClinicalDictionary, Staff
from bot.models.enums import CatheterState

from . import audit
from .stats.definitions import CENTRAL_DEVICES, DEFINITIONS, THROMBOSIS, UNPLANNED_BY_DEVICE


class NoDictionary(LookupError):
    """The database has no dictionary yet: run ``flask init-db``."""


class StaleDictionary(DictionaryError):
    """Someone else published a newer version since this edit was read: nothing published."""

    def __init__(self, newer: int) -> None:
        super().__init__([f"发布失败：字典刚被其他人更新为第 {newer} 版，请刷新后在最新版本上修改"])
        self.newer = newer


def current(session: Session) -> Dictionary:
    """The dictionary in force (the highest version)."""
    version = session.scalar(select(func.max(ClinicalDictionary.version)))
    if version is None:
        raise NoDictionary("no clinical dictionary in the database; run `flask init-db`")
    return by_version(session, version)


def by_version(session: Session, version: int) -> Dictionary:
    return build_dictionary(payload_of(session, version), version)


def payload_of(session: Session, version: int) -> dict[str, Any]:
    """The stored payload of a version, as stored (a copy: the caller may change it)."""
    row = session.scalar(select(ClinicalDictionary).where(ClinicalDictionary.version == version))
    if row is None:
        raise NoDictionary(f"dictionary version {version} does not exist")
    return copy.deepcopy(row.payload)


def ensure_default(session: Session) -> bool:
    """Write the shipped defaults as version 1 if the table is empty. True if written."""
    if session.scalar(select(func.count()).select_from(ClinicalDictionary)):
        return False
    session.add(
        ClinicalDictionary(version=1, payload=copy.deepcopy(DEFAULT_DICTIONARY), note="出厂默认值")
    )
    return True


def check(session: Session, payload: Mapping[str, Any]) -> list[str]:
    """Every reason, in Chinese, that ``payload`` cannot be put in force (empty: it can)."""
    problems = _shape_problems(payload)
    if problems:  # the rules below read entries as objects
        return problems
    try:
        problems = validate_payload(payload)
    except (AttributeError, TypeError, KeyError) as exc:  # a nested entry of the wrong kind
        return [f"字典结构不正确（某一项的类型不对）：{exc}"]
    problems += _indicator_problems(payload)
    if not problems:
        try:  # whatever validates must also load, or every page would fail after publishing
            build_dictionary(payload, 0)
        except (DictionaryError, ValueError, TypeError, KeyError, AttributeError) as exc:
            problems.append(f"字典无法加载：{exc}")
    return problems + _removed_in_use(session, payload)


def publish(
    session: Session,
    payload: Mapping[str, Any],
    actor: audit.Actor,
    note: str,
    based_on: int | None = None,
) -> ClinicalDictionary:
    """Put a new version in force. Raises DictionaryError (with every reason) if the
    payload would break a rule or the note is empty, and StaleDictionary if a version other
    than ``based_on`` (the one the edit was made on; None: any) is in force or another publish
    takes the next number first; nothing is written then (after StaleDictionary the caller
    rolls the session back)."""
    problems = check(session, payload)
    if not note.strip():
        problems.append("请填写修改说明")
    if problems:
        raise DictionaryError(problems)
    latest = session.scalar(select(func.max(ClinicalDictionary.version))) or 0
    if based_on is not None and latest != based_on:
        raise StaleDictionary(latest)
    row = ClinicalDictionary(
        version=latest + 1, payload=dict(payload), note=note.strip(), created_by_id=actor.id
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # published at the same moment: the version number is unique
        raise StaleDictionary(latest + 1) from None
    audit.record(
        session,
        actor,
        "update",
        "clinical_dictionary",
        row.version,
        context="publish",
        detail={"note": note.strip()},
    )
    return row


def _shape_problems(payload: Mapping[str, Any]) -> list[str]:
    """A section of the wrong kind (an object where a list belongs, an entry that is not an
    object), named before the rules, which assume the shape."""
    problems = []
    for key, shipped in DEFAULT_DICTIONARY.items():
        if key not in payload:
            continue
        value, label = payload[key], section_label(key)
        if isinstance(shipped, list) and not isinstance(value, list):
            problems.append(f"「{label}」应为列表 [ … ]")
        elif isinstance(shipped, dict) and not isinstance(value, dict):
            problems.append(f"「{label}」应为对象 {{ … }}")
        elif (
            shipped
            and isinstance(shipped, list)
            and isinstance(shipped[0], dict)
            and any(not isinstance(entry, dict) for entry in value)
        ):
            problems.append(f"「{label}」的每一项都应为对象 {{ … }}")
    return problems


def _indicator_problems(payload: Mapping[str, Any]) -> list[str]:
    """The codes and flags the statistics are computed by (stats.definitions), kept: without
    them an edit would silently change the indicators reported to the national platform."""
    devices = {
        e.get("code"): e for e in payload.get("device_types") or [] if isinstance(e, Mapping)
    }
    complications = [e for e in payload.get("complications") or [] if isinstance(e, Mapping)]
    problems = []
    for code, indicator in UNPLANNED_BY_DEVICE.items():
        if code not in devices:
            problems.append(
                f"导管类型 {code} 不能删除：统计指标“{DEFINITIONS[indicator].label}”按此编码计算"
            )
    clabsi = DEFINITIONS["clabsi_rate"].label
    for code in CENTRAL_DEVICES:
        if code in devices and not devices[code].get("central"):
            problems.append(
                f"导管类型 {code} 须标为中心静脉导管（central: true）：统计指标“{clabsi}”的"
                "中心导管日按此计算"
            )
    if THROMBOSIS not in {e.get("code") for e in complications}:
        label = DEFINITIONS["thrombosis_rate"].label
        problems.append(f"并发症 {THROMBOSIS} 不能删除：统计指标“{label}”按此编码计算")
    if not any(e.get("clabsi") for e in complications):
        problems.append(
            f"并发症目录中须至少有一项标为导管相关血流感染（clabsi: true）：统计指标“{clabsi}”"
            "按此计数"
        )
    return problems


IN_USE: tuple[tuple[str, str, Any], ...] = (
    ("device_types", "导管类型", Catheter.device_type),
    ("tiers", "随访分级", Catheter.tier),
    ("dressing_types", "敷料类型", Catheter.dressing_type),
)


def _codes(payload: Mapping[str, Any], key: str) -> set[Any]:
    return {e.get("code") for e in payload.get(key) or [] if isinstance(e, Mapping)}


def _removed_in_use(session: Session, payload: Mapping[str, Any]) -> list[str]:
    """A code taken out of the version in force while catheters in place still carry it."""
    latest = session.scalar(select(func.max(ClinicalDictionary.version)))
    if latest is None:
        return []
    in_force = payload_of(session, latest)
    problems = []
    for key, label, column in IN_USE:
        removed = _codes(in_force, key) - _codes(payload, key)
        if not removed:
            continue
        counts = session.execute(
            select(column, func.count())
            .where(Catheter.state == CatheterState.IN_PLACE, column.in_(removed))
            .group_by(column)
        ).all()
        for code, n in sorted(counts):
            problems.append(f"{label} {code} 仍有 {n} 根在位导管使用，不能删除")
    return problems


@dataclass(frozen=True)
class VersionInfo:
    version: int
    created_at: datetime
    by: str
    note: str


def versions(session: Session) -> list[VersionInfo]:
    """Every version, newest first, with who published it (系统 for the CLI and defaults)."""
    rows = session.execute(
        select(ClinicalDictionary, Staff.name)
        .outerjoin(Staff, Staff.id == ClinicalDictionary.created_by_id)
        .order_by(ClinicalDictionary.version.desc())
    ).all()
    return [VersionInfo(r.version, r.created_at, name or "系统", r.note or "") for r, name in rows]


# --- sections: what the admin web shows and edits as one piece -------------------------------


@dataclass(frozen=True)
class Section:
    key: str  # in the URL
    label: str
    keys: tuple[str, ...]  # top-level payload keys edited together; () is the whole payload
    help: str = ""


SECTIONS: tuple[Section, ...] = (
    Section(
        "device_types",
        "导管类型",
        ("device_types",),
        "code 编码（英文，导管记录引用，不可删除在用的）；label 名称；short 简称；snomed SNOMED CT "
        "编码列表（FHIR 导出用）；central 是否中心静脉导管（CLABSI 统计）；max_dwell_days 最长留置"
        "天数（正整数或 null）。新增导管类型须在「整本字典」中同时补齐其维护间隔。PICC、CVC 为"
        "非计划拔管率所用，不可删除；PICC、PORT、CVC 须保持 central: true。",
    ),
    Section(
        "maintenance_intervals",
        "维护间隔",
        ("maintenance_intervals",),
        "每条：device_type 导管类型编码；when 敷料类型编码（输液港为 PORT_IDLE 未使用 / "
        "PORT_IN_USE 持续输液）；days 间隔天数（正整数）；label 维护内容。每种导管的每种情形须"
        "且仅须一条。",
    ),
    Section(
        "reminders",
        "到期与提醒",
        ("due_soon_days", "reminder_days_before"),
        "due_soon_days：到期前几天显示为「即将到期」；reminder_days_before：到期前几天提醒患者。"
        "均为 0–30 的整数。",
    ),
    Section(
        "red_flags",
        "红旗阈值",
        ("red_flags",),
        "external_length_change_cm 外露长度变化（cm，提示导管移位）；"
        "arm_circumference_increase_cm 臂围增加（cm，提示血栓）。均为正数。",
    ),
    Section(
        "tiers",
        "随访分级",
        ("tiers",),
        "code 编码；label 名称；follow_up_days 随访间隔天数（null：不随访）；"
        "escalate_overdue_days 维护逾期几天通知责任护士（null：不升级）；description 说明。",
    ),
    Section(
        "complications",
        "并发症目录",
        ("complications",),
        "code 编码；label 名称；scale 分级量表编码（见「分级量表」，可无）；clabsi: true 标记导管"
        "相关血流感染（CLABSI 统计，须至少一项）；THROMBOSIS 为血栓发生率所用，不可删除；其余属性"
        "如 alert（并发症预警）、device_types（适用的导管类型）。",
    ),
    Section(
        "scales",
        "分级量表",
        ("scales",),
        "量表编码 → 各级：grade 级别（整数）；label 描述。",
    ),
    Section(
        "handling_steps", "处理措施", ("handling_steps",), "code 编码；label 名称；cues 识别用词。"
    ),
    Section(
        "complication_outcomes", "并发症转归", ("complication_outcomes",), "code 编码；label 名称。"
    ),
    Section(
        "follow_up_questions",
        "随访问卷",
        ("follow_up_questions",),
        "code 编码；label 问题；answers 答案（至少两个）：code、label、level（OK / CONCERN / "
        "URGENT）、flag 红旗编码（level 非 OK 时必填）。",
    ),
    Section(
        "removal_reasons",
        "拔管原因",
        ("removal_reasons",),
        "code 编码；label 名称；unplanned 是否非计划拔管（计入非计划拔管率）。",
    ),
    Section(
        "lab_items",
        "检验项目",
        ("lab_items",),
        "code 编码；label 名称；aliases 报告上的别名；unit 单位；low / high 成人参考范围；kind "
        "类别（blood_routine / coagulation / biochemistry）；cue 偏低 low / 偏高 high 提示的风险"
        "（bleeding / thrombosis / infection）。",
    ),
    Section("dressing_types", "敷料类型", ("dressing_types",), "code 编码；label 名称。"),
    Section("veins", "静脉", ("veins",), "code 编码；label 名称。"),
    Section("sides", "侧别", ("sides",), "code 编码；label 名称。"),
    Section("techniques", "置管技术", ("techniques",), "code 编码；label 名称。"),
    Section("tip_confirmation", "尖端定位方式", ("tip_confirmation",), "code 编码；label 名称。"),
    Section("port_sites", "输液港部位", ("port_sites",), "code 编码；label 名称。"),
    Section(
        "site_findings",
        "穿刺点评估",
        ("site_findings",),
        "code 编码；label 名称；其余为判断用属性。",
    ),
    Section("patency", "通畅情况", ("patency",), "code 编码；label 名称。"),
    Section("services", "门诊服务项目", ("services",), "code 编码；label 名称。"),
    Section("units", "计量单位", ("units",), "测量项 → 单位。"),
)
WHOLE = Section(
    "all",
    "整本字典",
    (),
    "整本字典的 JSON；跨栏目的修改（如新增导管类型及其维护间隔）在此一次完成。",
)
# what a payload without a later list has in force (bot.care.dictionary)
SHIPPED_LATER: Mapping[str, Any] = {
    **LATER_CODE_LISTS,
    "lab_items": LAB_ITEMS,
    "follow_up_questions": FOLLOW_UP_QUESTIONS,
}
FIELD_LABELS = {
    "code": "编码",
    "label": "名称",
    "short": "简称",
    "snomed": "SNOMED CT",
    "central": "中心静脉",
    "max_dwell_days": "最长留置天数",
    "device_type": "导管类型",
    "when": "情形",
    "days": "间隔天数",
    "follow_up_days": "随访间隔天数",
    "escalate_overdue_days": "逾期升级天数",
    "description": "说明",
    "scale": "分级量表",
    "grade": "级别",
    "unplanned": "非计划拔管",
    "aliases": "别名",
    "unit": "单位",
    "low": "下限",
    "high": "上限",
    "kind": "类别",
    "cue": "风险提示",
    "cues": "识别用词",
    "answers": "答案",
    "level": "级别",
    "flag": "红旗编码",
    "verify": "待核实",
    "external_length_change_cm": "外露长度变化阈值（cm）",
    "arm_circumference_increase_cm": "臂围增加阈值（cm）",
    "due_soon_days": "即将到期提前天数",
    "reminder_days_before": "提醒提前天数",
}


def section_label(key: str) -> str:
    """The Chinese name of a top-level payload key (the key itself if unknown)."""
    for s in SECTIONS:
        if s.keys == (key,):
            return s.label
    return FIELD_LABELS.get(key, key)


def sections_of(payload: Mapping[str, Any]) -> list[Section]:
    """The sections to show for a payload: the known ones, then any other top-level key."""
    known = {k for s in SECTIONS for k in s.keys}
    extra = [Section(k, k, (k,)) for k in payload if k not in known]
    return [*SECTIONS, *extra]


def find_section(payload: Mapping[str, Any], key: str) -> Section | None:
    if key == WHOLE.key:
        return WHOLE
    return next((s for s in sections_of(payload) if s.key == key), None)


def section_value(payload: Mapping[str, Any], section: Section) -> Any:
    """What the section holds (the shipped list where the payload has none yet)."""
    if not section.keys:
        return copy.deepcopy(dict(payload))
    if len(section.keys) == 1:
        key = section.keys[0]
        return copy.deepcopy(payload.get(key, SHIPPED_LATER.get(key)))
    return {k: copy.deepcopy(payload.get(k)) for k in section.keys}


def as_text(value: Any) -> str:
    """Pretty JSON, Chinese kept readable: what the editor shows and the text diff compares."""
    return json.dumps(value, ensure_ascii=False, indent=2)


JSON_MESSAGES = {
    "Expecting ',' delimiter": "缺少逗号",
    "Expecting ':' delimiter": "缺少冒号",
    "Expecting value": "缺少值或多了逗号",
    "Expecting property name enclosed in double quotes": "键名须用英文双引号括起，或多了逗号",
    "Extra data": "多余的内容（括号已闭合后还有字符）",
    "Unterminated string starting at": "字符串缺少结束的双引号",
    "Invalid control character at": "字符串中有换行等控制字符",
    "Invalid \\escape": "无效的转义字符",
}


class SectionInputError(ValueError):
    """The text is not JSON, or not the kind of value the section holds; message in Chinese."""


def parse_section(text: str, section: Section, in_force: Any) -> Any:
    """The section's new value from the editor's text; raises SectionInputError."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = JSON_MESSAGES.get(exc.msg, exc.msg)
        raise SectionInputError(
            f"JSON 格式错误：第 {exc.lineno} 行第 {exc.colno} 列，{reason}"
        ) from None
    if isinstance(in_force, dict) and not isinstance(value, dict):
        raise SectionInputError(f"「{section.label}」应为对象 {{ … }}")
    if isinstance(in_force, list) and not isinstance(value, list):
        raise SectionInputError(f"「{section.label}」应为列表 [ … ]")
    if len(section.keys) > 1 and set(value) != set(section.keys):
        raise SectionInputError(f"「{section.label}」须且仅须包含：{'、'.join(section.keys)}")
    return value


def with_section(payload: Mapping[str, Any], section: Section, value: Any) -> dict[str, Any]:
    """A copy of ``payload`` with the section replaced by ``value``."""
    if not section.keys:
        new = copy.deepcopy(dict(value))
        new.pop("version", None)  # `flask dictionary show` prints it; it is not content
        return new
    new = copy.deepcopy(dict(payload))
    if len(section.keys) == 1:
        new[section.keys[0]] = value
    else:
        new.update(value)
    return new


# --- differences between two versions --------------------------------------------------------


@dataclass(frozen=True)
class Change:
    path: tuple[str, ...]  # top-level key, then entry codes and field names
    kind: Literal["added", "removed", "changed"]
    old: Any = None
    new: Any = None
    where: str = ""  # the path in Chinese: 导管类型 › PICC（…） › 最长留置天数

    @property
    def kind_label(self) -> str:
        return {"added": "新增", "removed": "删除", "changed": "修改"}[self.kind]


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """What changed from ``old`` to ``new``: entries of code lists matched by their code (a
    maintenance rule by device type and situation, a grade by its number), so a moved entry
    is no change and an edited one names the field."""
    out: list[Change] = []
    _walk((), (), old, new, out)
    return out


def _entry_key(entry: Any) -> str | None:
    if not isinstance(entry, Mapping):
        return None
    if "code" in entry:
        return str(entry["code"])
    if "device_type" in entry and "when" in entry:
        return f"{entry['device_type']}/{entry['when']}"
    if "grade" in entry:
        return f"{entry['grade']}级"
    return None


def _keyed(entries: list[Any]) -> dict[str, Any] | None:
    keys = [_entry_key(e) for e in entries]
    if None in keys or len(set(keys)) != len(keys):
        return None
    return dict(zip(keys, entries, strict=True))  # type: ignore[arg-type]


def _walk(
    path: tuple[str, ...], where: tuple[str, ...], old: Any, new: Any, out: list[Change]
) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        pairs: Mapping[str, tuple[Any, Any]] = {
            k: (old.get(k, _MISSING), new.get(k, _MISSING)) for k in _union(old, new)
        }
        label = section_label if not path else (lambda k: FIELD_LABELS.get(k, k))
        _pairs(path, where, pairs, label, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        old_keyed, new_keyed = _keyed(old), _keyed(new)
        if old_keyed is not None and new_keyed is not None and (old or new):
            pairs = {
                k: (old_keyed.get(k, _MISSING), new_keyed.get(k, _MISSING))
                for k in _union(old_keyed, new_keyed)
            }
            _pairs(path, where, pairs, None, out)
            return
    if old != new or type(old) is not type(new):
        out.append(Change(path, "changed", old, new, " › ".join(where)))


_MISSING = object()


def _union(a: Iterable[str], b: Iterable[str]) -> list[str]:
    seen = list(a)
    return seen + [k for k in b if k not in seen]


def _pairs(
    path: tuple[str, ...],
    where: tuple[str, ...],
    pairs: Mapping[str, tuple[Any, Any]],
    label: Any,
    out: list[Change],
) -> None:
    for key, (a, b) in pairs.items():
        if label is not None:
            step = label(key)
        else:  # an entry of a code list: its code and, if it has one, its name
            name = (b if b is not _MISSING else a).get("label")
            step = f"{key}（{name}）" if name and name != key else key
        here, there = (*path, key), (*where, step)
        if a is _MISSING:
            out.append(Change(here, "added", None, b, " › ".join(there)))
        elif b is _MISSING:
            out.append(Change(here, "removed", a, None, " › ".join(there)))
        else:
            _walk(here, there, a, b, out)


def shown(value: Any) -> str:
    """A value as the diff page prints it."""
    if value is None:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def text_diff(old: Mapping[str, Any], new: Mapping[str, Any], old_name: str, new_name: str) -> str:
    """The unified diff of the two payloads as pretty JSON: the fallback view."""
    return "\n".join(
        difflib.unified_diff(
            as_text(old).splitlines(),
            as_text(new).splitlines(),
            fromfile=old_name,
            tofile=new_name,
            lineterm="",
        )
    )
