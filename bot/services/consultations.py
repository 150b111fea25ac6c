"""Requesting a consultation (C5.1): the request is recorded with its requester."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.models import Catheter, Consultation, ConsultationMember

from . import audit


def request(
    session: Session,
    catheter: Catheter,
    *,
    question: str,
    urgent: bool,
    actor: audit.Actor,
) -> Consultation:
    if actor.id is None:
        raise ValueError("a consultation is requested by a staff member")
    title = ("【加急】" if urgent else "") + f"{catheter.patient.name} 导管会诊"
    consultation = Consultation(
        patient_id=catheter.patient_id,
        catheter_id=catheter.id,
        requested_by_id=actor.id,
        title=title[:120],
        summary=question,
    )
    session.add(consultation)
    session.flush()
    session.add(
        ConsultationMember(consultation_id=consultation.id, staff_id=actor.id, role="requester")
    )
    audit.record(
        session,
        actor,
        "create",
        "consultation",
        consultation.id,
        patient_id=catheter.patient_id,
        context="chat",
    )
    return consultation
