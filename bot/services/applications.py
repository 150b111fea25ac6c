"""Outside clinicians apply to use the service (C1.2); an admin reviews (A2, issue 5)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import OutsideApplication
from bot.models.enums import ApprovalStatus
from bot.security.crypto import PiiCipher

from . import audit

MOBILE = re.compile(r"^1[3-9]\d{9}$")
# 医师/护士执业证书编码: digits, sometimes with a letter prefix; 8–30 characters.
LICENCE = re.compile(r"^[A-Za-z0-9]{8,30}$")

STATUS_LABELS = {
    ApprovalStatus.PENDING: "待审核",
    ApprovalStatus.APPROVED: "已通过",
    ApprovalStatus.REJECTED: "未通过",
}


@dataclass(frozen=True)
class Applicant:
    name: str
    institution_name: str
    department_name: str
    title: str | None
    phone: str
    licence_no: str
    wecom_userid: str | None = None


@dataclass(frozen=True)
class Applied:
    application: OutsideApplication
    created: bool  # False: an application is already pending or approved for this phone


def existing(session: Session, cipher: PiiCipher, phone: str) -> OutsideApplication | None:
    """The applicant's pending or approved application; a rejected one may apply again."""
    return session.scalar(
        select(OutsideApplication)
        .where(
            OutsideApplication.phone_index == cipher.blind_index(phone, kind="phone"),
            OutsideApplication.status != ApprovalStatus.REJECTED,
        )
        .order_by(OutsideApplication.id.desc())
        .limit(1)
    )


def apply(session: Session, cipher: PiiCipher, applicant: Applicant, actor: audit.Actor) -> Applied:
    if not MOBILE.match(applicant.phone):
        raise ValueError("phone must be a mainland mobile number")
    if not LICENCE.match(applicant.licence_no):
        raise ValueError("licence number must be 8–30 letters or digits")
    if (found := existing(session, cipher, applicant.phone)) is not None:
        return Applied(found, False)
    phone_enc = cipher.encrypt(applicant.phone, context="outside_application.phone")
    phone_index = cipher.blind_index(applicant.phone, kind="phone")
    assert phone_enc is not None and phone_index is not None
    application = OutsideApplication(
        name=applicant.name,
        institution_name=applicant.institution_name,
        department_name=applicant.department_name,
        title=applicant.title,
        phone_enc=phone_enc,
        phone_index=phone_index,
        licence_no=applicant.licence_no.upper(),
        wecom_userid=applicant.wecom_userid,
    )
    session.add(application)
    session.flush()
    audit.record(session, actor, "create", "outside_application", application.id, context="chat")
    return Applied(application, True)
