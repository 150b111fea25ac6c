"""Who hears of a follow-up in WeChat Work: the catheter's responsible nurse, else the active
vascular-access experts of the catheter's institution (A7.4)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Catheter, Staff


def recipients(session: Session, catheter: Catheter) -> list[str]:
    """The WeChat Work userids to tell about ``catheter``'s follow-up (may be empty: the
    follow-up list still shows it)."""
    if catheter.responsible_staff_id is not None:
        nurse = session.get(Staff, catheter.responsible_staff_id)
        if nurse is not None and nurse.active and nurse.wecom_userid:
            return [nurse.wecom_userid]
    if catheter.institution_id is None:
        return []
    return list(
        session.scalars(
            select(Staff.wecom_userid)
            .where(
                Staff.institution_id == catheter.institution_id,
                Staff.is_vascular_expert.is_(True),
                Staff.active.is_(True),
                Staff.wecom_userid.is_not(None),
            )
            .order_by(Staff.id)
        )
    )
