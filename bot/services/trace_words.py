"""How the trace and the outside-records list say who did what where (A7.5, C4.1): the
institution of a record (its own, else the institution of the staff member who entered it),
the person, and each kind of record in one line of Chinese.

Shared by ``trace`` and ``outside_records`` so both name people and places alike.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.models import (
    Catheter,
    Complication,
    ComplicationPhoto,
    ComplicationStep,
    Institution,
    MaintenanceRecord,
    Removal,
    Report,
    Staff,
)
from bot.models.enums import PlacementSource, ReportSource

from . import complications, history
from . import reports as report_service

UNKNOWN_PLACE = "院外（未注明医院）"
HOME = "本院"
OUTSIDE = "外院"
SELF_UPLOADED = "患者上传"
ARROWS = {"H": "↑", "L": "↓"}


class Names:
    """Staff members and institutions by id, each loaded once per trace."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._staff: dict[int, Staff | None] = {}
        self._institutions: dict[int, Institution | None] = {}

    def staff(self, staff_id: int | None) -> Staff | None:
        if staff_id is None:
            return None
        if staff_id not in self._staff:
            self._staff[staff_id] = self._session.get(Staff, staff_id)
        return self._staff[staff_id]

    def person(self, staff_id: int | None, written: str | None = None) -> str:
        """The staff member's name with their title, else the name as written, else "—"."""
        staff = self.staff(staff_id)
        if staff is None:
            return written or "—"
        return f"{staff.name}（{staff.title}）" if staff.title else staff.name

    def institution(self, institution_id: int | None, staff_id: int | None = None) -> str:
        """The record's institution, else that of the staff member who entered it."""
        found = self._institution(institution_id)
        if found is None:
            staff = self.staff(staff_id)
            found = self._institution(staff.institution_id) if staff else None
        return found.name if found else "—"

    def _institution(self, institution_id: int | None) -> Institution | None:
        if institution_id is None:
            return None
        if institution_id not in self._institutions:
            self._institutions[institution_id] = self._session.get(Institution, institution_id)
        return self._institutions[institution_id]


def on_day(day: date, recorded_at: datetime | None, tz: ZoneInfo) -> datetime:
    """A date-only fact as a moment to sort by: when it was recorded if that was the same
    local day, else noon of that day."""
    if recorded_at is not None and recorded_at.astimezone(tz).date() == day:
        return recorded_at
    return datetime.combine(day, time(12), tzinfo=tz).astimezone(UTC)


def placement_place(names: Names, c: Catheter) -> str:
    if c.source is PlacementSource.BROUGHT_IN:
        return c.outside_institution_name or UNKNOWN_PLACE
    return names.institution(c.institution_id, c.registered_by_id)


def placement_person(names: Names, c: Catheter) -> str:
    return names.person(c.inserter_id, c.inserter_name)


def placement_text(d: Dictionary, names: Names, c: Catheter) -> str:
    device = d.device_types.get(c.device_type)
    parts = [device.label if device else c.device_type]
    make = " ".join(x for x in (c.brand, c.model or c.port_model) if x)
    parts.append(f"品牌型号：{make or '未记录'}")
    parts.append(f"批号：{c.lot_number or '未记录'}")
    where = "".join(x for x in (d.label("sides", c.side), d.label("veins", c.vein)) if x)
    if where:
        parts.append(where)
    if c.insertion_length_cm is not None:
        parts.append(f"置入{c.insertion_length_cm}cm")
    if c.external_length_cm is not None:
        parts.append(f"外露{c.external_length_cm}cm")
    if c.tip_position:
        parts.append(f"尖端：{c.tip_position}")
    if c.source is PlacementSource.BROUGHT_IN:
        parts.append(f"院外带入，由{names.person(c.registered_by_id)}登记")
    return "；".join(parts)


def maintenance_place(names: Names, m: MaintenanceRecord) -> str:
    return names.institution(m.institution_id, m.staff_id)


def maintenance_text(d: Dictionary, m: MaintenanceRecord) -> str:
    parts = ["、".join(history.items_done(m)) or "评估"]
    if m.site_findings:
        parts.append("穿刺点：" + "、".join(d.label("site_findings", f) for f in m.site_findings))
    if m.external_length_cm is not None:
        parts.append(f"外露{m.external_length_cm}cm")
    if m.arm_circumference_cm is not None:
        parts.append(f"臂围{m.arm_circumference_cm}cm")
    if m.red_flags:
        parts.append("⚠需评估")
    if m.notes:
        parts.append(f"备注：{m.notes}")
    return "；".join(parts)


def complication_place(names: Names, x: Complication) -> str:
    return names.institution(x.institution_id, x.reported_by_id)


def complication_title(d: Dictionary, x: Complication) -> str:
    grade = f" {x.grade}级" if x.grade is not None else ""
    return d.label("complications", x.type) + grade


def complication_text(d: Dictionary, x: Complication, photos: int) -> str:
    parts = [f"{complication_title(d, x)}，发生于{x.onset_on:%Y-%m-%d}"]
    for label, value in (("简要病史", x.brief_history), ("治疗措施", x.treatment)):
        if value:
            parts.append(f"{label}：{value}")
    parts.append(f"照片{photos}张")
    parts.append(complications.status_label(x.status))
    if x.outcome:
        parts.append(f"转归：{d.label('complication_outcomes', x.outcome)}")
    if x.led_to_removal:
        parts.append("导致拔管")
    return "；".join(parts)


def photo_counts(session: Session, complication_ids: Collection[int]) -> dict[int, int]:
    """How many photos each complication has."""
    rows = session.execute(
        select(ComplicationPhoto.complication_id, func.count(ComplicationPhoto.id))
        .where(ComplicationPhoto.complication_id.in_(complication_ids))
        .group_by(ComplicationPhoto.complication_id)
    )
    return {cid: int(n) for cid, n in rows}


def step_text(d: Dictionary, x: Complication, step: ComplicationStep) -> str:
    return f"{complication_title(d, x)} · {complications.step_label(d, step.kind)}：{step.action}"


def report_at(r: Report, tz: ZoneInfo) -> datetime:
    """The report's date (its time of upload if the same day), else when it was uploaded."""
    return on_day(r.report_date, r.created_at, tz) if r.report_date else r.created_at


def report_place(names: Names, r: Report) -> str:
    if r.institution_id is None and r.institution_name:
        return r.institution_name
    place = names.institution(r.institution_id, r.uploaded_by_staff_id)
    return place if place != "—" else (r.institution_name or "医院未注明")


def report_text(r: Report) -> str:
    parts = [report_service.kind_label(r.report_type)]
    flagged = [f"{i.name} {i.value or ''}{ARROWS[i.flag]}" for i in r.items if i.flag in ARROWS]
    parts.append("异常：" + "、".join(flagged) if flagged else "无异常标记")
    if r.conclusion:
        parts.append(f"结论：{r.conclusion}")
    parts.append("患者上传" if r.source is ReportSource.SELF else "医院报告")
    return "；".join(parts)


def report_person(names: Names, r: Report) -> str:
    if r.source is ReportSource.SELF:
        return "患者本人"
    return names.person(r.uploaded_by_staff_id, "—")


def removal_place(names: Names, r: Removal) -> str:
    return names.institution(r.institution_id, r.staff_id)


def removal_text(d: Dictionary, r: Removal) -> str:
    parts = [f"原因：{d.label('removal_reasons', r.reason)}"]
    parts.append("非计划拔管" if r.unplanned else "计划拔管")
    if r.catheter_intact is not None:
        parts.append("导管完整" if r.catheter_intact else "导管不完整")
    if r.tip_culture_sent:
        parts.append(f"尖端培养：{r.tip_culture_result or '已送检，结果待回'}")
    else:
        parts.append("尖端培养：未送检")
    parts.append(f"留置{r.dwell_days}天")
    if r.notes:
        parts.append(f"备注：{r.notes}")
    return "；".join(parts)
