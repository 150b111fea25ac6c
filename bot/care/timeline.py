"""What a trace (一键溯源, A7.5) is made of: events with their time, institution, person and
source, the devices it covers. Plain data, built by ``bot.services.trace`` and drawn by the pages
and by ``cards.trace_pdf``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

LABELS = {
    "placement": "置管",
    "maintenance": "维护",
    "complication": "并发症",
    "complication_step": "并发症处理",
    "consultation": "会诊申请",
    "consultation_conclusion": "会诊结论",
    "report": "检验检查报告",
    "reminder": "维护提醒",
    "follow_up": "随访问询",
    "removal": "拔管",
}
SYSTEM = "系统"


@dataclass(frozen=True)
class Event:
    at: datetime  # UTC
    kind: str  # a key of LABELS
    institution: str
    person: str
    text: str
    source: str  # 本院 / 外院 / 患者上传
    catheter_id: int | None = None
    date_only: bool = False  # a fact known by its date only (a report, a removal)
    target: str | None = None  # the staff H5 page of the record

    @property
    def label(self) -> str:
        return LABELS[self.kind]


@dataclass(frozen=True)
class Device:
    """A catheter as the trace's header names it."""

    catheter_id: int
    device: str  # the device type in full
    brand_model: str
    lot_number: str
    placed_at: datetime
    place: str
    person: str
    state: str  # 在置 / 已拔管（日期）


@dataclass(frozen=True)
class Trace:
    patient_id: int
    patient_name: str
    masked_name: str
    initials: str  # what the PDF shows: 张**
    id_card: str  # masked, "" when not recorded
    hospital_patient_id: str | None
    devices: list[Device]
    events: list[Event]  # oldest first
    catheter_id: int | None  # the trace of one catheter, or None for the patient's

    @property
    def newest_first(self) -> list[Event]:
        return self.events[::-1]

    @property
    def file_name(self) -> str:
        of = f"catheter-{self.catheter_id}" if self.catheter_id else f"patient-{self.patient_id}"
        return f"trace-{of}.pdf"
