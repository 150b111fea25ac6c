"""Details of an uploaded report (P4.4): date, institution and remarks, confirmed by the patient."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Institution, Report
from bot.models.enums import ReportSource

from . import audit


def receive(
    session: Session,
    patient_id: int,
    *,
    image_path: str,
    image_sha256: str,
    account_id: int | None,
    actor: audit.Actor,
) -> tuple[Report, bool]:
    """Keep an uploaded photo as the patient's report; the same photo twice is one report."""
    existing = session.scalar(
        select(Report).where(Report.patient_id == patient_id, Report.image_sha256 == image_sha256)
    )
    if existing is not None:
        existing.confirmed = False  # its details are asked again
        return existing, False
    report = Report(
        patient_id=patient_id,
        source=ReportSource.SELF,
        uploaded_by_account_id=account_id,
        image_path=image_path,
        image_sha256=image_sha256,
    )
    session.add(report)
    session.flush()
    audit.record(
        session, actor, "create", "report", report.id, patient_id=patient_id, context="chat"
    )
    return report, True


def awaiting_details(session: Session, patient_id: int) -> Report | None:
    """The patient's latest uploaded report not yet confirmed."""
    return session.scalar(
        select(Report)
        .where(Report.patient_id == patient_id, Report.confirmed.is_(False))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(1)
    )


def confirm_details(
    session: Session,
    report: Report,
    *,
    report_date: date,
    institution_name: str,
    remarks: str | None,
    actor: audit.Actor,
) -> Report:
    known = session.scalar(
        select(Institution).where(
            (Institution.name == institution_name) | (Institution.short_name == institution_name)
        )
    )
    report.report_date = report_date
    report.institution_id = known.id if known else None
    report.institution_name = known.name if known else institution_name
    report.remarks = remarks
    report.confirmed = True
    audit.record(
        session, actor, "update", "report", report.id, patient_id=report.patient_id, context="chat"
    )
    return report
