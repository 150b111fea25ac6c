"""Who hears of a follow-up in WeChat Work: the catheter's responsible nurse, else the active
vascular-access experts of the catheter's institution (A7.4)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Catheter, Staff


def recipients(session: Session, catheter: Catheter) -> list[str]:
    """The WeChat Work userids to tell about ``catheter``'s follow-up (may be empty: the
    follow-up list still shows it)."""
    return Recipients(session).of(catheter.responsible_staff_id, catheter.institution_id)


class Recipients:
    """``recipients`` for many catheters, each nurse and institution looked up once."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._nurses: dict[int, str | None] = {}
        self._experts: dict[int, list[str]] = {}

    def of(self, responsible_staff_id: int | None, institution_id: int | None) -> list[str]:
        if responsible_staff_id is not None:
            if responsible_staff_id not in self._nurses:
                nurse = self._session.get(Staff, responsible_staff_id)
                usable = nurse if nurse is not None and nurse.active else None
                self._nurses[responsible_staff_id] = usable.wecom_userid if usable else None
            userid = self._nurses[responsible_staff_id]
            if userid:
                return [userid]
        if institution_id is None:
            return []
        if institution_id not in self._experts:
            self._experts[institution_id] = list(
                self._session.scalars(
                    select(Staff.wecom_userid)
                    .where(
                        Staff.institution_id == institution_id,
                        Staff.is_vascular_expert.is_(True),
                        Staff.active.is_(True),
                        Staff.wecom_userid.is_not(None),
                    )
                    .order_by(Staff.id)
                )
            )
        return self._experts[institution_id]
