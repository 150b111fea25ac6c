"""Patients through the internet hospital (P1.1–P1.3, P2.1): agreements accepted first, the
account bound, its 就诊人 imported and matched to clinical patients by the ID-card blind
index (new patients created, existing ones — e.g. from the demo data — linked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.adapters.internet_hospital import IhPatient, IhUser
from bot.models import (
    Agreement,
    AgreementAcceptance,
    Patient,
    PatientAccount,
    PatientProfile,
    utcnow,
)
from bot.models.enums import ActorType, Sex
from bot.security import idcard
from bot.security.crypto import PiiCipher
from bot.security.masking import mask_name

from . import audit


class BindingRefused(Exception):
    """The binding cannot go ahead; the message says why, in Chinese."""


@dataclass
class Imported:
    linked: list[PatientProfile] = field(default_factory=list)
    created: int = 0  # clinical patients that did not exist before
    refused: list[str] = field(default_factory=list)  # "姓名：原因"


def current_agreements(session: Session) -> list[Agreement]:
    """The latest published version of each kind."""
    latest = (
        select(Agreement.kind, func.max(Agreement.version).label("version"))
        .where(Agreement.published_at.is_not(None))
        .group_by(Agreement.kind)
        .subquery()
    )
    return list(
        session.scalars(
            select(Agreement)
            .join(
                latest, (Agreement.kind == latest.c.kind) & (Agreement.version == latest.c.version)
            )
            .order_by(Agreement.kind)
        )
    )


def pending_agreements(session: Session, account_id: int) -> list[Agreement]:
    """Current agreements this account has not accepted (a new version must be accepted again)."""
    accepted = set(
        session.scalars(
            select(AgreementAcceptance.agreement_id).where(
                AgreementAcceptance.account_id == account_id
            )
        )
    )
    return [a for a in current_agreements(session) if a.id not in accepted]


def accept(session: Session, account_id: int, agreement_ids: list[int]) -> None:
    for agreement in pending_agreements(session, account_id):
        if agreement.id in agreement_ids:
            session.add(AgreementAcceptance(account_id=account_id, agreement_id=agreement.id))
            audit.record(
                session,
                audit.Actor(ActorType.PATIENT, account_id),
                "accept",
                "agreement",
                agreement.id,
            )


def bind(
    session: Session,
    cipher: PiiCipher,
    account: PatientAccount,
    user: IhUser,
    patients: list[IhPatient],
) -> Imported:
    other = session.scalar(
        select(PatientAccount).where(
            PatientAccount.ih_user_id == user.user_id, PatientAccount.id != account.id
        )
    )
    if other is not None:
        raise BindingRefused("该互联网医院账号已绑定另一个微信，请先在原微信中解除绑定。")
    account.ih_user_id = user.user_id
    account.bound_at = utcnow()
    result = Imported()
    # 本人 first, so the account's own record becomes the active 就诊人
    for p in sorted(patients, key=lambda p: p.relation != "本人"):
        try:
            number = idcard.validate(p.id_card or "")
        except idcard.IdCardError as exc:
            result.refused.append(f"{mask_name(p.name)}：{exc}")
            continue
        index = cipher.blind_index(number, kind="id_card")
        patient = session.scalar(select(Patient).where(Patient.id_card_index == index))
        if patient is not None and not patient.active:
            # deactivated in the admin web (A1.1); a merged duplicate has no ID card left
            result.refused.append(f"{mask_name(p.name)}：该就诊人的档案已停用，请联系医院")
            continue
        if patient is None:
            patient = Patient(
                name=p.name,
                sex=Sex.MALE if idcard.sex(number) == "M" else Sex.FEMALE,
                birth_date=idcard.birth_date(number),
                id_card_enc=cipher.encrypt(number, context="patient.id_card"),
                id_card_index=index,
                phone_enc=cipher.encrypt(p.phone, context="patient.phone") if p.phone else None,
                phone_index=cipher.blind_index(p.phone, kind="phone") if p.phone else None,
                hospital_patient_id=_free_hospital_id(session, p.hospital_patient_id),
            )
            session.add(patient)
            session.flush()
            result.created += 1
        profile = session.scalar(
            select(PatientProfile).where(
                PatientProfile.account_id == account.id, PatientProfile.patient_id == patient.id
            )
        )
        if profile is None:
            profile = PatientProfile(
                account_id=account.id,
                patient_id=patient.id,
                relation=p.relation[:16],
                ih_profile_id=p.id,
            )
            session.add(profile)
            session.flush()
        result.linked.append(profile)
    if account.active_profile_id is None and result.linked:
        account.active_profile_id = result.linked[0].id
    audit.record(
        session,
        audit.Actor(ActorType.PATIENT, account.id),
        "bind",
        "patient_account",
        account.id,
        detail={"profiles": len(result.linked), "refused": len(result.refused)},
    )
    return result


def _free_hospital_id(session: Session, value: str | None) -> str | None:
    if not value:
        return None
    taken = session.scalar(select(Patient.id).where(Patient.hospital_patient_id == value))
    return None if taken else value


def switch(session: Session, account: PatientAccount, profile_id: int) -> PatientProfile:
    profile = session.get(PatientProfile, profile_id)
    if profile is None or profile.account_id != account.id:
        raise BindingRefused("该就诊人不属于您的账号。")
    account.active_profile_id = profile.id
    return profile


def unbind(session: Session, account: PatientAccount) -> None:
    """Forget the internet-hospital link and the 就诊人; clinical records stay."""
    account.active_profile_id = None
    session.flush()
    for profile in list(account.profiles):
        session.delete(profile)
    account.ih_user_id = None
    account.bound_at = None
    audit.record(
        session, audit.Actor(ActorType.PATIENT, account.id), "unbind", "patient_account", account.id
    )


def birth_year(d: date | None) -> str:
    return f"{d:%Y}年生" if d else ""
