"""A patient's reports (P4, P6.2, C4.2): photos received, read by OCR on the ``reports`` queue,
corrected by the patient, listed for the patient and for clinicians.

What OCR read is written by ``report_reading.apply``; this module keeps the report itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.models import Institution, Report, ReportItem, utcnow
from bot.models.enums import OcrStatus, ReportSource
from bot.ocr.fields import computed_flag, range_of

from . import access, audit

EARLIEST = date(1990, 1, 1)  # a report date before this is a misreading
BATCH_WINDOW = timedelta(minutes=3)  # photos sent together are counted together
HIDDEN = (OcrStatus.WOUND_PHOTO,)  # not reports: kept for the nurse only
SOURCE_LABELS = {
    ReportSource.SELF: "本人上传",
    ReportSource.HOSPITAL: "本院",
    ReportSource.OUTSIDE: "外院",
}
STATUS_LABELS = {
    OcrStatus.PENDING: "识别中",
    OcrStatus.FAILED: "未能识别",
    OcrStatus.NOT_A_REPORT: "待确认",
    OcrStatus.WOUND_PHOTO: "已发给护士查看",
}
KIND_LABELS = {
    "blood_routine": "血常规",
    "coagulation": "凝血功能",
    "biochemistry": "生化",
    "ultrasound": "超声",
    "chest_xray": "胸片",
    "blood_culture": "血培养",
    "other": "其他报告",
}


class ReportError(ValueError):
    """A correction that cannot be saved; the message says why, in Chinese."""


def kind_label(kind: str | None) -> str:
    return KIND_LABELS.get(kind or "other", "其他报告")


def status_label(report: Report) -> str | None:
    """What a list says of a report not read yet or not read well; None for a report that is
    read, or that the patient filled in by hand after OCR failed."""
    if report.ocr_status is OcrStatus.FAILED and report.confirmed:
        return None
    return STATUS_LABELS.get(report.ocr_status)


def receive(
    session: Session,
    patient_id: int,
    *,
    image_path: str,
    image_sha256: str,
    account_id: int | None,
    actor: audit.Actor,
    context: str = "chat",
) -> tuple[Report, bool]:
    """Keep an uploaded photo as the patient's report, to be read (P4.1). The same photo twice
    is one report; one that failed or was not a report is read again. ``context`` says where
    it came from in the audit row ("chat", "h5")."""
    existing = session.scalar(
        select(Report).where(Report.patient_id == patient_id, Report.image_sha256 == image_sha256)
    )
    if existing is not None:
        if existing.ocr_status in (OcrStatus.FAILED, OcrStatus.WOUND_PHOTO):
            existing.ocr_status = OcrStatus.PENDING
            existing.ocr_attempts = 0
        return existing, False
    report = Report(
        patient_id=patient_id,
        source=ReportSource.SELF,
        uploaded_by_account_id=account_id,
        image_path=image_path,
        image_sha256=image_sha256,
        ocr_status=OcrStatus.PENDING,
    )
    session.add(report)
    session.flush()
    audit.record(
        session, actor, "create", "report", report.id, patient_id=patient_id, context=context
    )
    return report, True


def received_lately(session: Session, patient_id: int, account_id: int | None) -> int:
    """How many photos this account sent for the patient in the last few minutes (the batch
    the chat's "已收到 N 张" counts)."""
    since = utcnow() - BATCH_WINDOW
    return (
        session.scalar(
            select(func.count(Report.id)).where(
                Report.patient_id == patient_id,
                Report.uploaded_by_account_id == account_id,
                Report.created_at >= since,
                Report.ocr_status.not_in(HIDDEN),
            )
        )
        or 0
    )


def for_patient(session: Session, patient_id: int, limit: int | None = None) -> list[Report]:
    """The patient's reports, newest first (by report date, then upload), with their items."""
    query = (
        select(Report)
        .options(selectinload(Report.items))
        .where(Report.patient_id == patient_id, Report.ocr_status.not_in(HIDDEN))
        .order_by(
            func.coalesce(Report.report_date, func.date(Report.created_at)).desc(),
            Report.id.desc(),
        )
    )
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def followed_report(session: Session, account_id: int, report_id: int) -> Report | None:
    """The report if the account follows its patient; None for a missing or foreign id alike,
    so a page cannot be used to learn which ids exist."""
    report = session.get(Report, report_id)
    if report is None or not access.account_may_see_patient(session, account_id, report.patient_id):
        return None
    return report


def check_date(value: date, today: date) -> date:
    if value > today:
        raise ReportError("报告日期不能晚于今天，请核对后重新填写。")
    if value < EARLIEST:
        raise ReportError("报告日期不能早于1990年，请核对后重新填写。")
    return value


def _institution(session: Session, name: str) -> tuple[int | None, str]:
    known = session.scalar(
        select(Institution).where((Institution.name == name) | (Institution.short_name == name))
    )
    return (known.id, known.name) if known else (None, name)


@dataclass(frozen=True)
class ItemChange:
    item_id: int
    value: str


def correct(
    session: Session,
    report: Report,
    changes: Mapping[str, Any],
    *,
    actor: audit.Actor,
    today: date,
    items: list[ItemChange] | None = None,
    context: str = "h5",
) -> Report:
    """Save what the patient corrected (P4.4), with who changed what in the audit log.

    ``changes`` may hold report_date (date), institution (str), remarks (str | None).
    Raises ReportError, with nothing changed, for a date in the future or before 1990, an
    empty institution, or an item value that is not a value.
    """
    detail: dict[str, list[Any]] = {}
    if "report_date" in changes:
        new_date = check_date(changes["report_date"], today)
        if new_date != report.report_date:
            detail["report_date"] = [_iso(report.report_date), new_date.isoformat()]
            report.report_date = new_date
    if "institution" in changes:
        name = " ".join(str(changes["institution"] or "").split())
        if not 2 <= len(name) <= 60:
            raise ReportError("请填写出具报告的医院名称（2–60个字）。")
        if name != report.institution_name:
            detail["institution"] = [report.institution_name, name]
            report.institution_id, report.institution_name = _institution(session, name)
    if "remarks" in changes:
        remarks = (changes["remarks"] or "").strip()[:200] or None
        if remarks != report.remarks:
            detail["remarks"] = [report.remarks, remarks]
            report.remarks = remarks
    by_id = {item.id: item for item in report.items}
    for change in items or []:
        item = by_id.get(change.item_id)
        if item is None:
            raise ReportError("要修改的检验项目不在这份报告里。")
        value = change.value.strip()
        if not value or len(value) > 40:
            raise ReportError(f"“{item.name}”的结果不能为空，也不能超过40个字。")
        if value != item.value:
            detail[f"item:{item.name}"] = [item.value, value]
            item.value = value
            item.flag = recomputed_flag(value, item.reference_range, item.flag)
    if report.report_date and report.institution_name:
        report.confirmed = True
    if detail:
        audited_change(session, actor, report, detail, context)
    return report


def audited_change(
    session: Session, actor: audit.Actor, report: Report, detail: dict[str, Any], context: str
) -> None:
    """The audit row of a change to a report: who changed what, old → new."""
    audit.record(
        session,
        actor,
        "update",
        "report",
        report.id,
        patient_id=report.patient_id,
        context=context,
        detail=detail,
    )


def recomputed_flag(value: str, reference: str | None, old: str | None) -> str | None:
    """The flag of a corrected value from its printed range (as OCR computes one); the old
    flag when there is no range or the value is not a number ("阴性")."""
    low, high = range_of(reference) if reference else (None, None)
    try:
        Decimal(value.strip())
    except InvalidOperation:
        return old
    if low is None and high is None:
        return old
    return computed_flag(value.strip(), reference, None)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def keep_anyway(session: Session, report: Report, actor: audit.Actor) -> Report:
    """The patient says a photo OCR took for something else is a report after all."""
    if report.ocr_status is OcrStatus.NOT_A_REPORT:
        report.ocr_status = OcrStatus.DONE
        report.report_type = report.report_type or "other"
        audited_change(session, actor, report, {"ocr_status": ["not_a_report", "done"]}, "h5")
    return report


def item_rows(report: Report) -> list[ReportItem]:
    return sorted(report.items, key=lambda i: i.position)
