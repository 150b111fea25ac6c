"""Outside clinicians apply to use the service (C1.2); an admin reviews (A2, issue 5)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Institution, OutsideApplication, Staff, utcnow
from bot.models.enums import ApprovalStatus, StaffRole
from bot.security.crypto import PiiCipher

from . import audit, auth

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
    badge_photo_path: str | None = None


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
        badge_photo_path=applicant.badge_photo_path,
    )
    session.add(application)
    session.flush()
    audit.record(session, actor, "create", "outside_application", application.id, context="chat")
    return Applied(application, True)


class ReviewRefused(Exception):
    """The review cannot be recorded; the message says why, in Chinese."""


@dataclass(frozen=True)
class Approved:
    staff: Staff
    temporary_password: str


def _pending(session: Session, application_id: int) -> OutsideApplication:
    application = session.get(OutsideApplication, application_id, with_for_update=True)
    if application is None:
        raise ReviewRefused("申请不存在")
    if application.status is not ApprovalStatus.PENDING:
        raise ReviewRefused(f"该申请已审核（{STATUS_LABELS[application.status]}），不能重复审核")
    return application


def approve(
    session: Session, cipher: PiiCipher, application_id: int, admin: audit.Actor
) -> Approved:
    """Create (or re-activate) the outside clinician's staff account with a temporary
    password, under their hospital (created as an outside institution if new)."""
    application = _pending(session, application_id)
    institution = session.scalar(
        select(Institution).where(Institution.name == application.institution_name)
    )
    if institution is None:
        institution = Institution(
            code=f"EXT{application.id:05d}", name=application.institution_name, is_home=False
        )
        session.add(institution)
        session.flush()
    phone = cipher.decrypt(application.phone_enc, context="outside_application.phone")
    staff = session.scalar(select(Staff).where(Staff.phone_index == application.phone_index))
    if staff is None:
        staff = Staff(
            institution_id=institution.id,
            staff_no=f"W{application.id:05d}",
            name=application.name,
            role=StaffRole.OUTSIDE_CLINICIAN,
            title=application.title,
            phone_enc=cipher.encrypt(phone, context="staff.phone"),
            phone_index=application.phone_index,
            wecom_userid=application.wecom_userid,
        )
        session.add(staff)
        session.flush()
    staff.active = True
    password = auth.reset_password(session, staff, admin)
    application.status = ApprovalStatus.APPROVED
    application.institution_id = institution.id
    application.staff_id = staff.id
    application.reviewed_by_id = admin.id
    application.reviewed_at = utcnow()
    audit.record(session, admin, "approve", "outside_application", application.id)
    return Approved(staff, password)


def reject(
    session: Session, application_id: int, reason: str, admin: audit.Actor
) -> OutsideApplication:
    reason = reason.strip()
    if len(reason) < 2:
        raise ReviewRefused("请填写不通过的原因")
    application = _pending(session, application_id)
    application.status = ApprovalStatus.REJECTED
    application.reason = reason[:500]
    application.reviewed_by_id = admin.id
    application.reviewed_at = utcnow()
    audit.record(
        session, admin, "reject", "outside_application", application.id, detail={"reason": reason}
    )
    return application
