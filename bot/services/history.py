"""A patient's own records (P6.1, P6.3): every placement with its status and maintenance
count, and one catheter's maintenance records, for the patient's H5 pages and chat summary.

Access is the caller's business for the patient as a whole (``access.account_may_see_patient``);
``followed_catheter`` answers it for one catheter id, so a foreign id looks like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.care.rules import STATUS_LABELS, DueStatus, days_overdue, local_date, status_on
from bot.models import Catheter, InAppMessage, MaintenanceRecord
from bot.models.enums import CatheterState

from . import access
from .maintenance import ITEM_LABELS


@dataclass(frozen=True)
class Placement:
    """One catheter as a line of the patient's history."""

    catheter: Catheter
    device: str  # the device type in words
    placed_on: date  # local date
    status: DueStatus
    status_label: str
    overdue_days: int
    visits: int  # maintenance records
    last_visit_on: date | None  # local date

    @property
    def in_place(self) -> bool:
        return self.catheter.state is CatheterState.IN_PLACE


def placements(
    session: Session, d: Dictionary, patient_id: int, today: date, tz: ZoneInfo
) -> list[Placement]:
    """Every catheter of the patient, newest placement first, in two queries."""
    catheters = session.scalars(
        select(Catheter)
        .where(Catheter.patient_id == patient_id)
        .order_by(Catheter.placed_at.desc())
    ).all()
    counts = {
        row.catheter_id: (row.visits, row.last)
        for row in session.execute(
            select(
                MaintenanceRecord.catheter_id,
                func.count(MaintenanceRecord.id).label("visits"),
                func.max(MaintenanceRecord.performed_at).label("last"),
            )
            .where(MaintenanceRecord.catheter_id.in_([c.id for c in catheters]))
            .group_by(MaintenanceRecord.catheter_id)
        )
    }
    out = []
    for c in catheters:
        in_place = c.state is CatheterState.IN_PLACE
        status = status_on(
            c.next_due_on, today, removed=not in_place, due_soon_days=d.due_soon_days
        )
        visits, last = counts.get(c.id, (0, None))
        out.append(
            Placement(
                catheter=c,
                device=d.label("device_types", c.device_type),
                placed_on=local_date(c.placed_at, tz),
                status=status,
                status_label=STATUS_LABELS[status],
                overdue_days=days_overdue(c.next_due_on, today) if in_place else 0,
                visits=visits,
                last_visit_on=local_date(last, tz) if last is not None else None,
            )
        )
    return out


def visits(
    session: Session, catheter_ids: list[int], limit: int | None = None
) -> list[MaintenanceRecord]:
    """The maintenance records of these catheters, newest first."""
    query = (
        select(MaintenanceRecord)
        .where(MaintenanceRecord.catheter_id.in_(catheter_ids))
        .order_by(MaintenanceRecord.performed_at.desc(), MaintenanceRecord.id.desc())
    )
    return list(session.scalars(query.limit(limit) if limit else query))


def items_done(record: MaintenanceRecord) -> list[str]:
    """What was done at a visit, in words (冲封管, 更换敷料, …)."""
    done = {
        "FLUSH_LOCK": record.flushed,
        "DRESSING": record.dressing_changed,
        "CONNECTOR": record.connector_changed,
        "NEEDLE": record.needle_changed,
    }
    return [ITEM_LABELS[code] for code, yes in done.items() if yes]


def followed_catheter(session: Session, account_id: int, catheter_id: int) -> Catheter | None:
    """The catheter if the account follows its patient; None for a missing or foreign id
    alike, so a page cannot be used to learn which ids exist."""
    catheter = session.get(Catheter, catheter_id)
    if catheter is None or not access.account_may_see_patient(
        session, account_id, catheter.patient_id
    ):
        return None
    return catheter


def unread_count(session: Session, patient_id: int) -> int:
    """In-app messages (reminders) the patient has not read."""
    query = select(func.count(InAppMessage.id)).where(
        InAppMessage.patient_id == patient_id, InAppMessage.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)
