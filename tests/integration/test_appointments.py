"""Appointments (P8.1) against the database: cancelling frees the place exactly once, only the
account's own future bookings, changes are all-or-nothing, concurrent bookings never exceed
capacity, the reminder goes the day before once and not in quiet hours, schedules generate
idempotently, closures cancel and tell, the clinic marks arrived / no-show."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import delete, func, select

from bot.models import (
    Appointment,
    AppointmentSlot,
    AuditLog,
    ClinicClosure,
    ClinicSession,
    InAppMessage,
    Institution,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    Staff,
    utcnow,
)
from bot.models.enums import ActorType, AppointmentStatus, StaffRole
from bot.services import access, appointments, audit
from bot.services.reminders import WeChatFallback

pytestmark = [pytest.mark.db, pytest.mark.req("P8.1")]


def at(day: date, hour: int, tz, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


@pytest.fixture
def postgres(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent sessions: PostgreSQL only")


@pytest.fixture
def clinic(session, settings):
    """The home clinic with two slots tomorrow, a past one, and two accounts: one with two
    就诊人 (mother and son), one with a stranger."""
    tz = settings.timezone
    today = utcnow().astimezone(tz).date()
    tomorrow = today + timedelta(days=1)
    home = Institution(code="HOME", name="本院", is_home=True)
    other = Institution(code="OUT", name="县医院")
    session.add_all([home, other])
    session.flush()
    nurse = Staff(institution_id=home.id, staff_no="N1", name="李护士", role=StaffRole.NURSE)
    outsider = Staff(
        institution_id=other.id, staff_no="X1", name="外院医生", role=StaffRole.OUTSIDE_CLINICIAN
    )
    mother, son, stranger = Patient(name="王丽娟"), Patient(name="王小明"), Patient(name="陌生人")
    session.add_all([nurse, outsider, mother, son, stranger])
    session.flush()
    family = PatientAccount(openid="o-family")
    other_account = PatientAccount(openid="o-other")
    session.add_all([family, other_account])
    session.flush()
    session.add_all(
        [
            PatientProfile(account_id=family.id, patient_id=mother.id),
            PatientProfile(account_id=family.id, patient_id=son.id, relation="子女"),
            PatientProfile(account_id=other_account.id, patient_id=stranger.id),
        ]
    )

    def slot(day: date, hour: int, capacity: int, service="PICC_MAINT") -> AppointmentSlot:
        s = AppointmentSlot(
            institution_id=home.id,
            service=service,
            starts_at=at(day, hour, tz),
            ends_at=at(day, hour + 3, tz),
            capacity=capacity,
        )
        session.add(s)
        return s

    morning, afternoon = slot(tomorrow, 8, 1), slot(tomorrow, 13, 5, "PORT_MAINT")
    past = slot(today - timedelta(days=2), 8, 5)
    session.commit()
    return {
        "tz": tz,
        "today": today,
        "home": home,
        "nurse": nurse,
        "outsider": outsider,
        "mother": mother.id,
        "son": son.id,
        "stranger": stranger.id,
        "family": family.id,
        "other_account": other_account.id,
        "morning": morning.id,
        "afternoon": afternoon.id,
        "past": past.id,
    }


def patient_actor(account_id: int) -> audit.Actor:
    return audit.Actor(ActorType.PATIENT, account_id)


def book(session, clinic, slot: str, patient: str = "mother", account: str = "family"):
    result = appointments.book(
        session,
        clinic[slot],
        patient_id=clinic[patient],
        account_id=clinic[account],
        actor=patient_actor(clinic[account]),
    )
    session.commit()
    return result.appointment.id


def cancel_as_family(session, clinic, appointment_id: int, now: datetime | None = None) -> None:
    appointments.cancel(
        session,
        appointment_id,
        account_id=clinic["family"],
        actor=patient_actor(clinic["family"]),
        now=now or utcnow(),
    )
    session.commit()


def booked(session_factory, slot_id: int) -> int:
    with session_factory() as s:
        return s.get(AppointmentSlot, slot_id).booked


def test_p8_1_cancelling_frees_the_place_for_someone_else(session, session_factory, clinic):
    mine = book(session, clinic, "morning")
    with pytest.raises(appointments.Refused):  # one place, taken
        book(session, clinic, "morning", "stranger", "other_account")
    session.rollback()

    cancel_as_family(session, clinic, mine)
    assert booked(session_factory, clinic["morning"]) == 0
    with session_factory() as s:
        a = s.get(Appointment, mine)
        assert a.status is AppointmentStatus.CANCELLED and a.cancelled_at
        assert a.cancel_reason == "患者取消"
        assert s.scalar(select(AuditLog).where(AuditLog.action == "cancel")).object_id == str(mine)
    book(session, clinic, "morning", "stranger", "other_account")
    assert booked(session_factory, clinic["morning"]) == 1


def test_p8_1_any_jiuzhenren_of_the_account_may_be_cancelled(session, clinic):
    sons = book(session, clinic, "afternoon", "son")
    cancel_as_family(session, clinic, sons)
    assert session.get(Appointment, sons).status is AppointmentStatus.CANCELLED


def test_p8_1_cancelling_someone_elses_a_past_or_a_cancelled_booking_is_refused(
    session, session_factory, clinic
):
    mine = book(session, clinic, "afternoon")
    now = utcnow()

    def cancel(appointment_id: int, account: str = "family") -> str:
        with pytest.raises(appointments.Refused) as refused:
            appointments.cancel(
                session,
                appointment_id,
                account_id=clinic[account],
                actor=patient_actor(clinic[account]),
                now=now,
            )
        session.rollback()
        return str(refused.value)

    assert cancel(mine, "other_account") == "没有找到这个预约。"
    assert cancel(999999) == "没有找到这个预约。"
    # a booking whose time has come
    old = Appointment(slot_id=clinic["past"], patient_id=clinic["mother"])
    session.add(old)
    session.commit()
    assert "不能取消" in cancel(old.id)
    # twice: the place is freed once
    appointments.cancel(
        session, mine, account_id=clinic["family"], actor=patient_actor(clinic["family"]), now=now
    )
    session.commit()
    assert cancel(mine) == "这个预约已经取消了。"
    assert booked(session_factory, clinic["afternoon"]) == 0
    with session_factory() as s:
        assert s.get(Appointment, mine).status is AppointmentStatus.CANCELLED


def test_p8_1_a_change_moves_the_booking_and_frees_the_old_place(session, session_factory, clinic):
    old = book(session, clinic, "afternoon")
    new = appointments.change(
        session,
        old,
        clinic["morning"],
        account_id=clinic["family"],
        actor=patient_actor(clinic["family"]),
        now=utcnow(),
    )
    session.commit()
    with session_factory() as s:
        assert s.get(Appointment, old).status is AppointmentStatus.CANCELLED
        assert s.get(Appointment, old).cancel_reason == "改约"
        moved = s.get(Appointment, new.id)
        assert moved.replaces_id == old and moved.slot_id == clinic["morning"]
        assert moved.status is AppointmentStatus.BOOKED
    assert booked(session_factory, clinic["afternoon"]) == 0
    assert booked(session_factory, clinic["morning"]) == 1


def test_p8_1_a_change_to_a_full_slot_changes_nothing(session, session_factory, clinic):
    book(session, clinic, "morning", "stranger", "other_account")  # the only place
    old = book(session, clinic, "afternoon")
    with pytest.raises(appointments.Refused, match="约满"):
        appointments.change(
            session,
            old,
            clinic["morning"],
            account_id=clinic["family"],
            actor=patient_actor(clinic["family"]),
            now=utcnow(),
        )
    session.commit()  # whatever the caller commits after a refusal
    with session_factory() as s:
        assert s.get(Appointment, old).status is AppointmentStatus.BOOKED
        assert s.scalar(select(func.count()).select_from(Appointment)) == 2
    assert booked(session_factory, clinic["afternoon"]) == 1
    assert booked(session_factory, clinic["morning"]) == 1


def _race(session_factory, jobs) -> list[object]:
    """Run each job in its own thread and session, all released at once."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list[object] = [None] * len(jobs)

    def run(n: int) -> None:
        with session_factory() as s:
            barrier.wait()
            try:
                outcomes[n] = jobs[n](s)
                s.commit()
            except Exception as exc:  # the outcome is what the test checks
                s.rollback()
                outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


@pytest.mark.usefixtures("postgres")
def test_p8_1_two_patients_racing_for_the_last_place_one_wins(session_factory, clinic):
    def booking(patient: str, account: str):
        return lambda s: appointments.book(
            s,
            clinic["morning"],
            patient_id=clinic[patient],
            account_id=clinic[account],
            actor=patient_actor(clinic[account]),
        )

    outcomes = _race(
        session_factory, [booking("mother", "family"), booking("stranger", "other_account")]
    )
    assert sum(isinstance(o, appointments.Booked) for o in outcomes) == 1
    assert sum(isinstance(o, appointments.Refused) for o in outcomes) == 1
    assert booked(session_factory, clinic["morning"]) == 1


@pytest.mark.usefixtures("postgres")
def test_p8_1_cancels_and_bookings_racing_keep_the_count_true(session, session_factory, clinic):
    extra = [Patient(name=f"患者{n}") for n in range(4)]
    session.add_all(extra)
    session.flush()
    slot = session.get(AppointmentSlot, clinic["afternoon"])
    slot.capacity = 3
    session.commit()
    first = [book(session, {**clinic, "p": p.id}, "afternoon", "p") for p in extra[:3]]
    now = utcnow()

    def cancelling(appointment_id: int):
        return lambda s: appointments.release(s, appointment_id, reason="患者取消", now=now)

    def booking(patient_id: int):
        return lambda s: appointments.book(
            s, clinic["afternoon"], patient_id=patient_id, account_id=None, actor=audit.SYSTEM
        )

    jobs = [cancelling(a) for a in first] + [cancelling(first[0])]
    jobs += [booking(extra[3].id), booking(clinic["mother"]), booking(clinic["son"])]
    _race(session_factory, jobs)
    with session_factory() as s:
        live = s.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(
                Appointment.slot_id == clinic["afternoon"],
                Appointment.status == AppointmentStatus.BOOKED,
            )
        )
        slot = s.get(AppointmentSlot, clinic["afternoon"])
        assert slot.booked == live <= slot.capacity


def live_bookings(session_factory, slot_id: int) -> int:
    with session_factory() as s:
        return s.scalar(
            select(func.count())
            .select_from(Appointment)
            .where(Appointment.slot_id == slot_id, Appointment.status == AppointmentStatus.BOOKED)
        )


def booking_of(clinic, slot: str, patient: str = "mother", account: str = "family"):
    return lambda s: appointments.book(
        s,
        clinic[slot],
        patient_id=clinic[patient],
        account_id=clinic[account],
        actor=patient_actor(clinic[account]),
    )


@pytest.mark.usefixtures("postgres")
def test_p8_1_a_double_tap_booking_a_cancelled_slot_again_takes_one_place(
    session, session_factory, clinic
):
    mine = book(session, clinic, "afternoon")
    cancel_as_family(session, clinic, mine)
    assert booked(session_factory, clinic["afternoon"]) == 0
    for _ in range(3):  # a race is not won every time: run it a few times
        outcomes = _race(session_factory, [booking_of(clinic, "afternoon")] * 2)
        assert all(isinstance(o, appointments.Booked) for o in outcomes), outcomes
        assert sorted(o.created for o in outcomes) == [False, True]
        assert {o.appointment.id for o in outcomes} == {mine}
        assert booked(session_factory, clinic["afternoon"]) == 1
        assert live_bookings(session_factory, clinic["afternoon"]) == 1
        with session_factory() as s:
            a = s.get(Appointment, mine)
            assert a.cancelled_at is None and a.cancel_reason is None
            appointments.release(s, mine, reason="患者取消", now=utcnow())
            s.commit()
    assert booked(session_factory, clinic["afternoon"]) == 0


@pytest.mark.usefixtures("postgres")
def test_p8_1_a_double_submitted_first_booking_is_one_booking_without_an_error(
    session_factory, clinic
):
    outcomes = _race(session_factory, [booking_of(clinic, "afternoon")] * 2)
    assert all(isinstance(o, appointments.Booked) for o in outcomes), outcomes
    assert sorted(o.created for o in outcomes) == [False, True]
    assert booked(session_factory, clinic["afternoon"]) == 1
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Appointment)) == 1
        assert (
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "create"))
            == 1
        )


@pytest.mark.usefixtures("postgres")
def test_p8_1_a_change_racing_a_booking_of_the_same_slot_is_refused_not_an_error(
    session, session_factory, clinic
):
    book(session, clinic, "morning")  # the mother's, which stays
    old = book(session, clinic, "afternoon", "son")  # the son's, to change to the morning

    def changing(s):
        return appointments.change(
            s,
            old,
            clinic["morning"],
            account_id=clinic["family"],
            actor=patient_actor(clinic["family"]),
            now=utcnow(),
        )

    session.get(AppointmentSlot, clinic["morning"]).capacity = 3
    session.commit()
    outcomes = _race(session_factory, [changing, booking_of(clinic, "morning", "son")])
    assert all(
        isinstance(o, appointments.Booked | Appointment | appointments.Refused) for o in outcomes
    ), outcomes
    assert (
        booked(session_factory, clinic["morning"])
        == live_bookings(session_factory, clinic["morning"])
        == 2
    )  # the mother's and one of the son's
    assert booked(session_factory, clinic["afternoon"]) == live_bookings(
        session_factory, clinic["afternoon"]
    )


def test_p8_1_an_inactive_institution_is_not_bookable(session, session_factory, clinic):
    tz, tomorrow = clinic["tz"], clinic["today"] + timedelta(days=1)
    assert appointments.bookable_institutions(session, utcnow()) != []
    clinic["home"].active = False
    session.commit()
    assert appointments.bookable_institutions(session, utcnow()) == []
    assert appointments.open_days(session, clinic["home"].id, tz, utcnow()) == []
    assert appointments.open_slots(session, clinic["home"].id, tomorrow, tz, utcnow()) == []
    with pytest.raises(appointments.Refused, match="该机构已暂停预约"):
        book(session, clinic, "afternoon")
    session.rollback()
    assert booked(session_factory, clinic["afternoon"]) == 0


def fallback(settings) -> WeChatFallback:
    return WeChatFallback("subscribe", "tpl-1", settings.public_base_url)


def test_p8_1_the_reminder_goes_the_day_before_once_and_not_in_quiet_hours(
    session, session_factory, settings, clinic
):
    tz, today = clinic["tz"], clinic["today"]
    mine = book(session, clinic, "afternoon")
    book(session, clinic, "morning", "son")
    in_quiet = at(today, 22, tz)  # the default quiet hours: 21:00–08:00
    assert appointments.remind_due(session, in_quiet, tz, fallback(settings)) == []
    two_days_before = at(today - timedelta(days=1), 10, tz)
    assert appointments.remind_due(session, two_days_before, tz, fallback(settings)) == []

    outbox = appointments.remind_due(session, at(today, 10, tz), tz, fallback(settings))
    session.commit()
    assert len(outbox) == 2  # one per booking, to the family's follower
    assert appointments.remind_due(session, at(today, 18, tz), tz, fallback(settings)) == []
    session.commit()
    with session_factory() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert {r.recipient for r in rows} == {"o-family"}
        assert rows[0].payload["_fallback"]["_api"] == "subscribe"
        assert "明日门诊预约提醒" in rows[0].payload["text"]["content"]
        messages = s.scalars(select(InAppMessage).where(InAppMessage.kind == "appointment"))
        assert sorted(m.patient_id for m in messages) == sorted([clinic["mother"], clinic["son"]])
        assert s.get(Appointment, mine).reminded_at is not None


def test_p8_1_a_booking_made_in_the_evenings_quiet_hours_is_reminded_the_next_morning(
    session, session_factory, settings, clinic
):
    tz, tomorrow = clinic["tz"], clinic["today"] + timedelta(days=1)
    evening = book(session, clinic, "afternoon")  # tomorrow 13:00, booked today
    same_day = book(session, clinic, "afternoon", "son")
    session.get(Appointment, same_day).created_at = at(tomorrow, 7, tz)  # booked that morning
    session.commit()
    # 22:00 and 07:00: quiet hours (21:00–08:00); at midnight the booking became "today's"
    assert (
        appointments.remind_due(session, at(clinic["today"], 22, tz), tz, fallback(settings)) == []
    )
    assert appointments.remind_due(session, at(tomorrow, 7, tz), tz, fallback(settings)) == []
    outbox = appointments.remind_due(session, at(tomorrow, 9, tz), tz, fallback(settings))
    session.commit()
    assert len(outbox) == 1  # the evening's booking; the son's was made that morning
    with session_factory() as s:
        (row,) = s.scalars(select(OutboxMessage)).all()
        assert "今日门诊预约提醒" in row.payload["text"]["content"]
        assert "您预约了今天的导管维护" in row.payload["text"]["content"]
        assert s.get(Appointment, evening).reminded_at is not None
        assert s.get(Appointment, same_day).reminded_at is None
    assert appointments.remind_due(session, at(tomorrow, 10, tz), tz, fallback(settings)) == []


def test_p8_1_a_booking_cancelled_and_booked_again_is_reminded_again_on_wechat(
    session, session_factory, settings, clinic
):
    tz, today = clinic["tz"], clinic["today"]
    mine = book(session, clinic, "afternoon")
    assert len(appointments.remind_due(session, at(today, 10, tz), tz, fallback(settings))) == 1
    session.commit()
    cancel_as_family(session, clinic, mine, at(today, 11, tz))
    assert book(session, clinic, "afternoon") == mine  # the same row, booked again
    assert session.get(Appointment, mine).reminded_at is None
    again = appointments.remind_due(session, at(today, 12, tz), tz, fallback(settings))
    session.commit()
    with session_factory() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert len(rows) == 2 and again == [rows[1].id]  # a new WeChat message, not the old one
        assert rows[0].dedupe_key != rows[1].dedupe_key
        assert all("明日门诊预约提醒" in r.payload["text"]["content"] for r in rows)
        assert s.scalar(select(func.count()).select_from(InAppMessage)) == 2


@pytest.mark.usefixtures("postgres")
def test_p8_1_concurrent_reminder_runs_remind_once(session, session_factory, settings, clinic):
    book(session, clinic, "afternoon")
    noon = at(clinic["today"], 12, clinic["tz"])
    outcomes = _race(
        session_factory,
        [lambda s: appointments.remind_due(s, noon, clinic["tz"], fallback(settings))] * 3,
    )
    assert sum(len(o) for o in outcomes) == 1
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(InAppMessage)) == 1


def _sessions(session, clinic) -> ClinicSession:
    weekly = [
        ClinicSession(
            institution_id=clinic["home"].id,
            service="PICC_MAINT",
            weekday=wd,
            starts_at="08:00",
            ends_at="11:30",
            capacity=6,
        )
        for wd in range(5)
    ]
    session.add_all(weekly)
    session.commit()
    return weekly[0]


def future_slots(session_factory, clinic, service="PICC_MAINT") -> list[AppointmentSlot]:
    with session_factory() as s:
        return list(
            s.scalars(
                select(AppointmentSlot)
                .where(
                    AppointmentSlot.service == service,
                    AppointmentSlot.starts_at > utcnow(),
                    AppointmentSlot.id.not_in([clinic["morning"]]),
                )
                .order_by(AppointmentSlot.starts_at)
            )
        )


def test_p8_1_slots_are_generated_from_the_weekly_schedule_once(session, session_factory, clinic):
    _sessions(session, clinic)
    tz, now = clinic["tz"], utcnow()
    made = appointments.extend(session, tz, now)
    session.commit()
    assert appointments.extend(session, tz, now) == 0  # the second run adds nothing
    session.commit()
    slots = future_slots(session_factory, clinic)
    assert len(slots) == made > 0
    for slot in slots:
        local = slot.starts_at.astimezone(tz)
        assert local.weekday() < 5 and f"{local:%H:%M}" == "08:00" and slot.capacity == 6
        assert f"{slot.ends_at.astimezone(tz):%H:%M}" == "11:30"
        assert clinic["today"] <= local.date() < clinic["today"] + timedelta(days=28)


def test_p8_1_a_capacity_edit_reaches_future_slots_never_below_booked(
    session, session_factory, clinic
):
    monday = _sessions(session, clinic)
    tz, now = clinic["tz"], utcnow()
    appointments.extend(session, tz, now)
    session.commit()
    first_monday = next(
        s
        for s in future_slots(session_factory, clinic)
        if s.starts_at.astimezone(tz).weekday() == 0
    )
    for p in ("mother", "son", "stranger"):
        appointments.book(
            session, first_monday.id, patient_id=clinic[p], account_id=None, actor=audit.SYSTEM
        )
    monday = session.get(ClinicSession, monday.id)
    monday.capacity = 2
    appointments.apply_session(session, monday, tz, now)
    session.commit()
    for slot in future_slots(session_factory, clinic):
        weekday = slot.starts_at.astimezone(tz).weekday()
        expected = 3 if slot.id == first_monday.id else 2 if weekday == 0 else 6
        assert slot.capacity == expected
    with pytest.raises(appointments.Refused, match="不能少于已预约人数"):
        appointments.set_capacity(session, first_monday.id, 1)
    assert appointments.set_capacity(session, first_monday.id, 10).capacity == 10


def close_tomorrow(session, clinic, settings, reason: str, now: datetime | None = None):
    """Close the home clinic tomorrow as its nurse, and commit: the closure and outbox ids."""
    closure, outbox = appointments.close_day(
        session,
        clinic["home"].id,
        clinic["today"] + timedelta(days=1),
        reason,
        actor=audit.Actor(ActorType.STAFF, clinic["nurse"].id),
        tz=clinic["tz"],
        now=now or utcnow(),
        base_url=settings.public_base_url,
    )
    session.commit()
    return closure, outbox


def test_p8_1_a_closure_cancels_the_days_bookings_and_tells_each_patient(
    session, session_factory, settings, clinic
):
    tz = clinic["tz"]
    tomorrow = clinic["today"] + timedelta(days=1)
    mine, sons = book(session, clinic, "morning"), book(session, clinic, "afternoon", "son")
    assert appointments.closure_preview(session, clinic["home"].id, tomorrow, tz, utcnow()) == 2
    closure, outbox = close_tomorrow(session, clinic, settings, "护士培训")
    assert len(outbox) == 2
    with session_factory() as s:
        for a in (s.get(Appointment, mine), s.get(Appointment, sons)):
            assert a.status is AppointmentStatus.CANCELLED and a.cancel_reason == "停诊：护士培训"
        for slot_id in (clinic["morning"], clinic["afternoon"]):
            slot = s.get(AppointmentSlot, slot_id)
            assert slot.closed and slot.booked == 0 and slot.closed_reason == "护士培训"
        assert all("护士培训" in m.body for m in s.scalars(select(InAppMessage)))
    # closed slots are not bookable, and generation does not bring the day back
    assert appointments.open_slots(session, clinic["home"].id, tomorrow, tz, utcnow()) == []
    with pytest.raises(appointments.Refused):
        book(session, clinic, "afternoon", "stranger", "other_account")
    session.rollback()
    _sessions(session, clinic)
    appointments.extend(session, tz, utcnow())
    session.commit()
    assert all(
        s.starts_at.astimezone(tz).date() != tomorrow for s in future_slots(session_factory, clinic)
    )
    with pytest.raises(appointments.Refused, match="已设置停诊"):
        close_tomorrow(session, clinic, settings, "再次")


def test_p8_1_closing_a_day_under_way_leaves_the_slots_that_have_begun(
    session, session_factory, settings, clinic
):
    tz = clinic["tz"]
    tomorrow = clinic["today"] + timedelta(days=1)
    seen, later = book(session, clinic, "morning"), book(session, clinic, "afternoon", "son")
    ten = at(tomorrow, 10, tz)  # the 08:00 slot has begun, the 13:00 one not
    home = clinic["home"].id
    assert appointments.closure_preview(session, home, tomorrow, tz, ten) == 1
    nurse = audit.Actor(ActorType.STAFF, clinic["nurse"].id)
    _, outbox = close_tomorrow(session, clinic, settings, "停电", ten)
    assert len(outbox) == 1
    with session_factory() as s:
        assert s.get(Appointment, seen).status is AppointmentStatus.BOOKED  # to be marked
        assert not s.get(AppointmentSlot, clinic["morning"]).closed
        assert s.get(Appointment, later).status is AppointmentStatus.CANCELLED
        assert s.get(AppointmentSlot, clinic["afternoon"]).closed
        assert [m.patient_id for m in s.scalars(select(InAppMessage))] == [clinic["son"]]
    appointments.mark(session, seen, "attended", actor=nurse, now=ten, tz=tz)
    session.commit()


def test_p8_1_a_closure_tells_a_booking_cancelled_and_booked_again(
    session, session_factory, settings, clinic
):
    """The closure notice is keyed by booking round too: an earlier closure notice of the same
    booking row (a closure lifted since) does not swallow the new one."""
    mine = book(session, clinic, "afternoon")
    _, first = close_tomorrow(session, clinic, settings, "培训")
    # the closure is lifted (by hand in the database) and the patient books again
    session.execute(delete(ClinicClosure))
    slot = session.get(AppointmentSlot, clinic["afternoon"])
    slot.closed, slot.closed_reason = False, None
    session.commit()
    assert book(session, clinic, "afternoon") == mine
    _, second = close_tomorrow(session, clinic, settings, "培训")
    assert len(first) == len(second) == 1 and first != second
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_p8_1_a_new_end_time_reaches_the_sessions_future_slots(session, session_factory, clinic):
    monday = _sessions(session, clinic)
    tz, now = clinic["tz"], utcnow()
    appointments.extend(session, tz, now)
    session.commit()
    monday = session.get(ClinicSession, monday.id)
    monday.ends_at = "12:15"
    appointments.apply_session(session, monday, tz, now)
    session.commit()
    slots = future_slots(session_factory, clinic)
    assert slots
    for slot in slots:
        local = slot.starts_at.astimezone(tz)
        assert f"{local:%H:%M}" == "08:00"  # the start is the slot's identity: unchanged
        end = f"{slot.ends_at.astimezone(tz):%H:%M}"
        assert end == ("12:15" if local.weekday() == 0 else "11:30")


def test_p8_1_the_clinic_marks_arrived_and_no_show_on_the_day(session, session_factory, clinic):
    tz = clinic["tz"]
    tomorrow = clinic["today"] + timedelta(days=1)
    mine, sons = book(session, clinic, "morning"), book(session, clinic, "afternoon", "son")
    nurse = audit.Actor(ActorType.STAFF, clinic["nurse"].id)
    entries = appointments.day_list(session, clinic["home"].id, tomorrow, tz, actor=nurse)
    assert [(e.patient_name, e.service_label) for e in entries] == [
        ("王丽娟", "PICC维护"),
        ("王小明", "输液港维护"),
    ]
    with pytest.raises(appointments.Refused, match="当天"):  # not before the day
        appointments.mark(session, mine, "attended", actor=nurse, now=utcnow(), tz=tz)
    on_the_day = at(tomorrow, 9, tz)
    appointments.mark(session, mine, "attended", actor=nurse, now=on_the_day, tz=tz)
    appointments.mark(session, sons, "no_show", actor=nurse, now=on_the_day, tz=tz)
    session.commit()
    with session_factory() as s:
        assert s.get(Appointment, mine).status is AppointmentStatus.ATTENDED
        assert s.get(Appointment, mine).marked_by_id == clinic["nurse"].id
        assert s.get(Appointment, sons).status is AppointmentStatus.NO_SHOW
        read = s.scalar(select(AuditLog).where(AuditLog.object_type == "clinic_day"))
        assert read.action == "read" and sorted(read.detail["patients"]) == sorted(
            [clinic["mother"], clinic["son"]]
        )
        assert {
            a.action
            for a in s.scalars(select(AuditLog).where(AuditLog.object_type == "appointment"))
        } >= {"attended", "no_show"}


def test_p8_1_other_institutions_staff_cannot_see_or_mark_the_clinic(session, clinic):
    tz = clinic["tz"]
    mine = book(session, clinic, "morning")
    outsider = audit.Actor(ActorType.STAFF, clinic["outsider"].id)
    with pytest.raises(access.NotVisible):
        appointments.day_list(session, clinic["home"].id, clinic["today"], tz, actor=outsider)
    with pytest.raises(access.NotVisible):
        appointments.mark(session, mine, "attended", actor=outsider, now=utcnow(), tz=tz)
    session.commit()
    assert session.scalar(select(AuditLog).where(AuditLog.action == "denied")) is not None
    assert appointments.clinics_for(session, outsider) == []


@pytest.mark.redis
@pytest.mark.usefixtures("action_runtime", "redis_conn")
def test_p8_1_the_scheduled_jobs_generate_slots_and_remind(session, session_factory, clinic):
    from bot.jobs import appointments as jobs

    _sessions(session, clinic)
    assert jobs.extend_clinic_slots().startswith("created ")
    assert jobs.extend_clinic_slots() == "created 0 slots"
    book(session, clinic, "afternoon")
    local_hour = utcnow().astimezone(clinic["tz"]).hour
    expected = "queued 0" if local_hour >= 21 or local_hour < 8 else "queued 1"
    assert jobs.remind_appointments() == expected
    assert jobs.remind_appointments() == "queued 0"
