"""The raw records of a period an administrator may export (A6.2): what each kind selects,
its columns in Chinese, and how a value is shown (dictionary labels, local times, identifiers
masked unless shown in full).

A masked export leaves out the free-text columns (备注, 培养结果, 适应证, 尖端位置: whatever a
nurse typed): a note may name the patient or give a phone number, which no mask reaches. The
coded columns, the numbers and dates, the device's brand, model and lot, and the names of the
staff and places stay. An export with identifiers in full has every column.

Every kind is one SELECT over the record joined with its catheter and patient, filtered by the
record's own date in the period and by the catheter (device type, department, institution,
inserter: the cohort the dashboard's filters describe), ordered by the record's id so a file is
the same each time it is written. ``statement`` gives the rows, ``count_statement`` the cheap
COUNT asked before anything is queued.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import aliased

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import (
    Catheter,
    Complication,
    Department,
    Institution,
    MaintenanceRecord,
    Patient,
    Reminder,
    Removal,
    Staff,
)
from bot.models.enums import CatheterState, DeliveryStatus
from bot.security.crypto import PiiCipher
from bot.security.masking import mask_id_card, mask_name, mask_phone, mask_tail
from bot.services.complications import STATUS_LABELS as COMPLICATION_STATUS
from bot.services.reminders import CHANNEL_LABELS, KIND_LABELS
from bot.services.stats import Filters

# what the export form and an export's page say of a masked export's columns
FREE_TEXT_LEFT_OUT = "脱敏导出不含备注、培养结果等自由文本列（其中可能写有姓名、电话）"

STATE_LABELS = {CatheterState.IN_PLACE: "在位", CatheterState.REMOVED: "已拔除"}
DELIVERY_LABELS = {
    DeliveryStatus.PENDING: "待发送",
    DeliveryStatus.QUEUED: "已交发送",
    DeliveryStatus.SENT: "已发送",
    DeliveryStatus.DELIVERED: "已送达",
    DeliveryStatus.FAILED: "发送失败",
    DeliveryStatus.SKIPPED: "未发送",
}


class Shown:
    """What a value is shown with: the dictionary's labels, the hospital's clock, and the
    identifiers masked, or decrypted in full (``full``)."""

    def __init__(self, dictionary: Dictionary, tz: ZoneInfo, cipher: PiiCipher, full: bool):
        self.dictionary, self.tz, self.full = dictionary, tz, full
        # a patient's numbers come again on each of their records: decrypt each blob once
        self.decrypt = lru_cache(maxsize=4096)(
            lambda blob, context: cipher.decrypt(blob, context=context)
        )


Show = Callable[[Any, Shown], Any]


@dataclass(frozen=True)
class Col:
    header: str
    expr: Any  # a column or SQL expression
    show: Show | None = None  # None: the value as it is
    free_text: bool = False  # typed by a person: left out of a masked export


def _name(value: str | None, s: Shown) -> str:
    return (value or "") if s.full else mask_name(value)


def _id_card(blob: bytes | None, s: Shown) -> str:
    number = s.decrypt(blob, "patient.id_card")
    return (number or "") if s.full else mask_id_card(number)


def _phone(blob: bytes | None, s: Shown) -> str:
    phone = s.decrypt(blob, "patient.phone")
    return (phone or "") if s.full else mask_phone(phone)


def _hospital_id(value: str | None, s: Shown) -> str:
    return (value or "") if s.full else mask_tail(value)


def _label(list_name: str) -> Show:
    return lambda code, s: s.dictionary.label(list_name, code)


def _labels(list_name: str) -> Show:
    return lambda codes, s: "、".join(s.dictionary.label(list_name, c) for c in codes or [])


def _words(words: dict[Any, str]) -> Show:
    return lambda value, s: words.get(value, "" if value is None else str(value))


def _local(moment: datetime | None, s: Shown) -> datetime | None:
    """Excel has no time zones: the hospital's wall clock, to the second."""
    if moment is None:
        return None
    return moment.astimezone(s.tz).replace(tzinfo=None, microsecond=0)


def _yes_no(value: bool | None, s: Shown) -> str:
    return "" if value is None else ("是" if value else "否")


def utc_bounds(filters: Filters, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The period's local midnights as UTC instants, for timestamp columns."""
    return rules.day_start(filters.start, tz), rules.day_start(filters.end, tz)


def _patient_columns() -> list[Col]:
    return [
        Col("患者姓名", Patient.name, _name),
        Col("病案号", Patient.hospital_patient_id, _hospital_id),
        Col("身份证号", Patient.id_card_enc, _id_card),
        Col("手机号", Patient.phone_enc, _phone),
    ]


@dataclass(frozen=True)
class RecordKind:
    code: str
    label: str  # what the file and the log call it
    record: Any  # the mapped class whose rows are exported
    in_period: Callable[[Filters, ZoneInfo], ColumnElement[bool]]
    make_columns: Callable[[], Sequence[Col]]
    joins: Callable[[Select[Any]], Select[Any]] = lambda q: q  # outer joins for names

    @cached_property
    def columns(self) -> Sequence[Col]:
        """Every column: an export with identifiers in full."""
        return self.make_columns()

    @cached_property
    def masked_columns(self) -> Sequence[Col]:
        """The columns of a masked export: the free text left out."""
        return [c for c in self.columns if not c.free_text]

    def columns_for(self, full: bool) -> Sequence[Col]:
        return self.columns if full else self.masked_columns

    def headers(self, full: bool) -> list[str]:
        return [c.header for c in self.columns_for(full)]

    def left_out(self, full: bool) -> list[str]:
        """The headers of the free-text columns a masked export leaves out (none in full)."""
        return [] if full else [c.header for c in self.columns if c.free_text]

    def _filtered(self, query: Select[Any], f: Filters, tz: ZoneInfo) -> Select[Any]:
        if self.record is not Catheter:
            query = query.join(Catheter, Catheter.id == self.record.catheter_id)
        return f.narrow(query.where(self.in_period(f, tz)))

    def count_statement(self, f: Filters, tz: ZoneInfo) -> Select[Any]:
        return self._filtered(select(func.count()).select_from(self.record), f, tz)

    def statement(self, f: Filters, tz: ZoneInfo, full: bool) -> Select[Any]:
        query = select(*[c.expr for c in self.columns_for(full)]).select_from(self.record)
        query = self._filtered(query, f, tz).join(Patient, Patient.id == Catheter.patient_id)
        return self.joins(query).order_by(self.record.id)

    def show(self, row: Sequence[Any], s: Shown) -> list[Any]:
        """A row of ``statement(…, full=s.full)`` as the file shows it."""
        shows = self._full_shows if s.full else self._masked_shows
        return [
            value if show is None else show(value, s)
            for show, value in zip(shows, row, strict=True)
        ]

    @cached_property
    def _full_shows(self) -> list[Show | None]:
        return [c.show for c in self.columns]

    @cached_property
    def _masked_shows(self) -> list[Show | None]:
        return [c.show for c in self.masked_columns]


# names of the people and places a record points to (outer joins: a name may be missing)
Inserter = aliased(Staff, name="inserter")
Worker = aliased(Staff, name="worker")
PlacedAt = aliased(Institution, name="placed_at_institution")
DoneAt = aliased(Institution, name="done_at_institution")


def _placements() -> list[Col]:
    c = Catheter
    return [
        Col("导管编号", c.id),
        *_patient_columns(),
        Col("导管类型", c.device_type, _label("device_types")),
        Col("置管时间", c.placed_at, _local),
        Col("置管机构", func.coalesce(PlacedAt.name, c.outside_institution_name)),
        Col("科室", Department.name),
        Col("置管者", func.coalesce(Inserter.name, c.inserter_name)),
        Col("品牌", c.brand),
        Col("型号", c.model),
        Col("批号", c.lot_number),
        Col("静脉", c.vein, _label("veins")),
        Col("侧别", c.side, _label("sides")),
        Col("置入长度(cm)", c.insertion_length_cm),
        Col("外露长度(cm)", c.external_length_cm),
        Col("臂围(cm)", c.arm_circumference_cm),
        Col("尖端位置", c.tip_position, free_text=True),
        Col("尖端定位", c.tip_confirmation, _label("tip_confirmation")),
        Col("穿刺次数", c.attempts),
        Col("适应证", c.indication, free_text=True),
        Col("状态", c.state, _words(STATE_LABELS)),
        Col("拔管日期", c.removed_on),
    ]


def _maintenance() -> list[Col]:
    m = MaintenanceRecord
    return [
        Col("记录编号", m.id),
        Col("导管编号", m.catheter_id),
        *_patient_columns(),
        Col("导管类型", Catheter.device_type, _label("device_types")),
        Col("维护时间", m.performed_at, _local),
        Col("维护机构", DoneAt.name),
        Col("维护者", func.coalesce(Worker.name, m.performed_by_name)),
        Col("局部情况", m.site_findings, _labels("site_findings")),
        Col("外露长度(cm)", m.external_length_cm),
        Col("臂围(cm)", m.arm_circumference_cm),
        Col("冲管", m.flushed, _yes_no),
        Col("封管", m.locked, _yes_no),
        Col("更换敷料", m.dressing_changed, _yes_no),
        Col("更换接头", m.connector_changed, _yes_no),
        Col("回血", m.blood_return, _yes_no),
        Col("通畅情况", m.patency, _label("patency")),
        Col("下次维护日期", m.next_due_on),
        Col("备注", m.notes, free_text=True),
    ]


def _complications() -> list[Col]:
    k = Complication
    return [
        Col("记录编号", k.id),
        Col("导管编号", k.catheter_id),
        *_patient_columns(),
        Col("导管类型", Catheter.device_type, _label("device_types")),
        Col("并发症类型", k.type, _label("complications")),
        Col("分级", k.grade),
        Col("发生日期", k.onset_on),
        Col("上报时间", k.reported_at, _local),
        Col("科室", Department.name),
        Col("状态", k.status, _words(COMPLICATION_STATUS)),
        Col("结局", k.outcome, _label("complication_outcomes")),
        Col("导致拔管", k.led_to_removal, _yes_no),
        Col("结案时间", k.resolved_at, _local),
    ]


def _removals() -> list[Col]:
    r = Removal
    return [
        Col("记录编号", r.id),
        Col("导管编号", r.catheter_id),
        *_patient_columns(),
        Col("导管类型", Catheter.device_type, _label("device_types")),
        Col("置管时间", Catheter.placed_at, _local),
        Col("拔管日期", r.removed_on),
        Col("拔管原因", r.reason, _label("removal_reasons")),
        Col("非计划拔管", r.unplanned, _yes_no),
        Col("留置天数", r.dwell_days),
        Col("导管完整", r.catheter_intact, _yes_no),
        Col("尖端培养送检", r.tip_culture_sent, _yes_no),
        Col("培养结果", r.tip_culture_result, free_text=True),
        Col("拔管机构", DoneAt.name),
        Col("操作者", Worker.name),
        Col("备注", r.notes, free_text=True),
    ]


def _reminders() -> list[Col]:
    r = Reminder
    return [
        Col("记录编号", r.id),
        Col("导管编号", r.catheter_id),
        *_patient_columns(),
        Col("导管类型", Catheter.device_type, _label("device_types")),
        Col("应维护日期", r.due_on),
        Col("提醒类型", r.kind, _words(KIND_LABELS)),
        Col("渠道", r.channel, _words(CHANNEL_LABELS)),
        Col("状态", r.status, _words(DELIVERY_LABELS)),
        Col("尝试次数", r.attempts),
        Col("生成时间", r.created_at, _local),
        Col("发送时间", r.sent_at, _local),
        Col("失败原因", r.last_error),
    ]


def _dated(column: Any) -> Callable[[Filters, ZoneInfo], ColumnElement[bool]]:
    """A date column in [start, end)."""
    return lambda f, tz: (column >= f.start) & (column < f.end)


def _timed(column: Any) -> Callable[[Filters, ZoneInfo], ColumnElement[bool]]:
    """A timestamp in the period's local days."""

    def where(f: Filters, tz: ZoneInfo) -> ColumnElement[bool]:
        start, end = utc_bounds(f, tz)
        return (column >= start) & (column < end)

    return where


KINDS: dict[str, RecordKind] = {
    k.code: k
    for k in (
        RecordKind(
            "placements",
            "置管记录",
            Catheter,
            _timed(Catheter.placed_at),
            _placements,
            lambda q: (
                q.outerjoin(PlacedAt, PlacedAt.id == Catheter.institution_id)
                .outerjoin(Department, Department.id == Catheter.department_id)
                .outerjoin(Inserter, Inserter.id == Catheter.inserter_id)
            ),
        ),
        RecordKind(
            "maintenance",
            "维护记录",
            MaintenanceRecord,
            _timed(MaintenanceRecord.performed_at),
            _maintenance,
            lambda q: q.outerjoin(DoneAt, DoneAt.id == MaintenanceRecord.institution_id).outerjoin(
                Worker, Worker.id == MaintenanceRecord.staff_id
            ),
        ),
        RecordKind(
            "complications",
            "并发症记录",
            Complication,
            _dated(Complication.onset_on),
            _complications,
            lambda q: q.outerjoin(Department, Department.id == Complication.department_id),
        ),
        RecordKind(
            "removals",
            "拔管记录",
            Removal,
            _dated(Removal.removed_on),
            _removals,
            lambda q: q.outerjoin(DoneAt, DoneAt.id == Removal.institution_id).outerjoin(
                Worker, Worker.id == Removal.staff_id
            ),
        ),
        RecordKind(
            "reminders",
            "提醒记录",
            Reminder,
            _timed(Reminder.created_at),  # as the dashboard's reminder reach counts them
            _reminders,
        ),
    )
}


def period_words(f: Filters) -> str:
    """2026-03-01 至 2026-03-31 (the last day, not the exclusive end)."""
    last = date.fromordinal(f.end.toordinal() - 1)
    return f"{f.start.isoformat()} 至 {last.isoformat()}"
