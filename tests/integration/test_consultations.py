"""Consultations in WeChat Work group chats (C5.1, C3.5): the request (access, roster,
one per request), the group chat opened through the production client against the
simulator (members, the case card then the media, retries, failures told), and the
decisions (conclusion by a consultant only, posted, attached to the complication, closed,
the 48-hour reminder)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.models import (
    AuditLog,
    Catheter,
    Complication,
    ConsultantDuty,
    Consultation,
    Department,
    Institution,
    Patient,
    Staff,
)
from bot.models.enums import ActorType, ConsultationStatus, StaffRole
from bot.services import access, audit
from bot.services.consultations import ConsultationError, requests, roster

pytestmark = [pytest.mark.db]

# Tuesday 2026-12-08 10:00 in the hospital (Asia/Shanghai)
T0 = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
BASE = "https://vam.example"


def _staff(institution, no, name, role=StaffRole.NURSE, **kw):
    return Staff(institution=institution, staff_no=no, name=name, role=role, **kw)


@pytest.fixture
def ward(session):
    """张小明's PICC placed here, an outside nurse of 县医院 who maintained it, two experts on
    the roster (周 weekdays by day, 陈 nights), a third expert off the roster, an admin."""
    home = Institution(code="HOME", name="本院", is_home=True)
    county = Institution(code="CTY", name="县医院")
    dept = Department(institution=home, code="HEM", name="血液科")
    people = {
        "nurse": _staff(home, "N001", "李护士", wecom_userid="n0001"),
        "outside": _staff(
            county, "W001", "赵外院", StaffRole.OUTSIDE_CLINICIAN, wecom_userid="w0001"
        ),
        "stranger": _staff(
            county, "W002", "钱外院", StaffRole.OUTSIDE_CLINICIAN, wecom_userid="w0002"
        ),
        "day": _staff(home, "E001", "周专家", is_vascular_expert=True, wecom_userid="e0001"),
        "night": _staff(
            home, "D001", "陈医生", StaffRole.DOCTOR, is_vascular_expert=True, wecom_userid="d0001"
        ),
        "spare": _staff(home, "E002", "吴专家", is_vascular_expert=True, wecom_userid="e0002"),
        "admin": _staff(home, "A001", "王管理", StaffRole.ADMIN, wecom_userid="a0001"),
    }
    patient = Patient(name="张小明")
    other = Patient(name="孙大伟")
    session.add_all([home, county, dept, patient, other, *people.values()])
    session.flush()
    catheter = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        institution_id=home.id,
        department_id=dept.id,
        placed_at=T0 - timedelta(days=20),
        responsible_staff_id=people["nurse"].id,
    )
    other_catheter = Catheter(
        patient_id=other.id, device_type="PORT", institution_id=home.id, placed_at=T0
    )
    session.add_all([catheter, other_catheter])
    session.flush()
    # the outside nurse registered care for 张小明 (a complication), not for 孙大伟
    complication = Complication(
        catheter_id=catheter.id,
        patient_id=patient.id,
        type="PHLEBITIS",
        onset_on=(T0 - timedelta(days=1)).date(),
        grade=2,
        institution_id=county.id,
        reported_by_id=people["outside"].id,
        reported_at=T0 - timedelta(hours=3),
        last_step_at=T0 - timedelta(hours=3),
    )
    session.add(complication)
    session.add_all(
        [
            ConsultantDuty(
                staff_id=people["day"].id,
                weekdays=[1, 2, 3, 4, 5],
                starts_at="08:00",
                ends_at="18:00",
            ),
            ConsultantDuty(staff_id=people["night"].id, starts_at="18:00", ends_at="08:00"),
        ]
    )
    session.commit()
    return {
        "home": home,
        "patient": patient,
        "other": other,
        "catheter": catheter,
        "other_catheter": other_catheter,
        "complication": complication,
        **people,
    }


def actor(staff):
    return audit.Actor(ActorType.STAFF, staff.id)


def ask(
    session, ward, settings, *, by="outside", now=T0, question="穿刺点红肿，是否需要拔管？", **kw
):
    kw.setdefault("patient_id", ward["patient"].id)
    kw.setdefault("catheter_id", ward["catheter"].id)
    kw.setdefault("complication_id", ward["complication"].id)
    consultation = requests.request(
        session,
        question=question,
        urgent=kw.pop("urgent", False),
        actor=actor(ward[by]),
        now=now,
        tz=settings.timezone,
        **kw,
    )
    session.commit()
    return consultation


def roles(consultation):
    return sorted((m.role, m.staff_id) for m in consultation.members)


# --- the request ------------------------------------------------------------------------


@pytest.mark.req("C5.1")
def test_c5_1_the_roster_on_duty_is_consulted_by_day_and_by_night(session, ward, settings):
    by_day = ask(session, ward, settings)
    assert by_day.status is ConsultationStatus.REQUESTED
    assert roles(by_day) == [("consultant", ward["day"].id), ("requester", ward["outside"].id)]
    # Tuesday 23:30 local: the night duty (over midnight) covers it, the day duty does not
    night = ask(
        session, ward, settings, now=T0 + timedelta(hours=13, minutes=30), question="夜间渗血"
    )
    assert roles(night) == [("consultant", ward["night"].id), ("requester", ward["outside"].id)]
    # Saturday 10:00: the weekday duty is off, the night duty's morning ended at 08:00
    saturday = T0 + timedelta(days=4)
    assert roster.on_duty(session, saturday, settings.timezone) == []


@pytest.mark.req("C5.1")
def test_c5_1_nobody_on_duty_falls_back_to_every_home_expert_and_a_named_one_is_asked(
    session, ward, settings
):
    saturday = T0 + timedelta(days=4)
    c = ask(session, ward, settings, now=saturday)
    experts = sorted(ward[k].id for k in ("day", "night", "spare"))
    assert sorted(s for r, s in roles(c) if r == "consultant") == experts
    named = ask(session, ward, settings, question="请吴专家看看", consultant_id=ward["spare"].id)
    assert roles(named) == [("consultant", ward["spare"].id), ("requester", ward["outside"].id)]
    # an outside clinician cannot be named a consultant: the roster is asked instead
    c2 = ask(session, ward, settings, question="再问一次", consultant_id=ward["stranger"].id)
    assert [s for r, s in roles(c2) if r == "consultant"] == [ward["day"].id]


@pytest.mark.req("C5.1")
def test_c5_1_the_same_request_twice_is_one_consultation(session, ward, settings):
    first = ask(session, ward, settings)
    again = ask(session, ward, settings, question=" 穿刺点红肿，是否需要拔管？ ")
    assert again.id == first.id
    assert session.scalars(select(Consultation)).all() == [first]
    creates = session.scalars(
        select(AuditLog).where(AuditLog.object_type == "consultation", AuditLog.action == "create")
    ).all()
    assert len(creates) == 1


@pytest.mark.req("C5.1")
def test_c5_1_a_patient_the_requester_may_not_see_is_refused_and_audited(session, ward, settings):
    with pytest.raises(access.NotVisible):
        ask(
            session,
            ward,
            settings,
            patient_id=ward["other"].id,
            catheter_id=ward["other_catheter"].id,
            complication_id=None,
        )
    session.commit()  # the refusal's audit row commits with the caller's unit of work
    denied = session.scalars(select(AuditLog).where(AuditLog.action == "denied")).all()
    assert [(d.actor_id, d.patient_id) for d in denied] == [(ward["outside"].id, ward["other"].id)]
    assert session.scalars(select(Consultation)).all() == []


@pytest.mark.req("C5.1")
def test_c5_1_an_empty_question_or_nobody_to_consult_is_refused_in_words(session, ward, settings):
    with pytest.raises(ConsultationError, match="请填写会诊问题"):
        ask(session, ward, settings, question="  ")
    for key in ("day", "night", "spare"):
        ward[key].active = False
    session.commit()
    with pytest.raises(ConsultationError, match="没有可以接受会诊的专家"):
        ask(session, ward, settings)
