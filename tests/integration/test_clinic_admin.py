"""门诊排班 in the admin web (P8.1): weekly sessions created and edited generate and update the
coming slots (never below booked), a moved or deactivated session takes no new bookings, bad
input is refused in Chinese, a closure shows what it cancels before it is confirmed, then
cancels and tells; slot capacity is edited, never below booked; administrators only."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot.models import (
    Appointment,
    AppointmentSlot,
    AuditLog,
    ClinicClosure,
    ClinicSession,
    InAppMessage,
    Patient,
    utcnow,
)
from bot.models.enums import AppointmentStatus
from bot.services import appointments, audit
from server import create_app
from tests.integration import test_staff_web
from tests.integration.test_staff_web import sign_in

pytestmark = [pytest.mark.db, pytest.mark.redis, pytest.mark.req("P8.1")]
people = test_staff_web.people  # the fixture: 本院, an administrator and a nurse


@pytest.fixture
def admin(settings, engine, redis_conn, people):
    client = create_app(settings).test_client()
    sign_in(client, "A001", "Admin1234")
    return client


def token(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    return found.group(1)


def session_form(people, **changes) -> dict[str, str]:
    return {
        "institution_id": str(people["home"].id),
        "service": "PICC_MAINT",
        "weekday": "0",
        "starts_at": "08:00",
        "ends_at": "11:30",
        "capacity": "6",
        "active": "y",
    } | changes


def slots(session_factory, **where) -> list[AppointmentSlot]:
    with session_factory() as s:
        query = select(AppointmentSlot).filter_by(**where).order_by(AppointmentSlot.starts_at)
        return list(s.scalars(query))


def test_p8_1_a_weekly_session_made_in_the_admin_web_generates_its_slots(
    admin, people, session_factory, settings
):
    url = "/admin/clinic_sessions/new/"
    r = admin.post(url, data={"csrf_token": token(admin, url), **session_form(people)})
    assert r.status_code == 302
    made = slots(session_factory)
    tz = settings.timezone
    assert 3 <= len(made) <= 4  # the Mondays of the next 28 days
    assert all(s.starts_at.astimezone(tz).weekday() == 0 and s.capacity == 6 for s in made)
    listing = admin.get("/admin/clinic_sessions/").get_data(as_text=True)
    assert "PICC维护" in listing and "周一" in listing and "08:00–11:30" in listing
    calendar = admin.get("/admin/clinic-calendar/").get_data(as_text=True)
    assert "0 / 6" in calendar and "（周一）" in calendar
    with session_factory() as s:
        assert s.scalar(select(AuditLog).where(AuditLog.object_type == "clinic_session"))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"starts_at": "8点"}, "开始时间格式应为 HH:MM"),
        ({"ends_at": "07:00"}, "结束时间应晚于开始时间"),
        ({"capacity": "-1"}, "名额应为0到500"),
        ({"institution_id": "999"}, "请选择启用中的机构"),
    ],
)
def test_p8_1_the_session_form_refuses_bad_input_in_chinese(
    admin, people, session_factory, changes, reason
):
    url = "/admin/clinic_sessions/new/"
    r = admin.post(url, data={"csrf_token": token(admin, url), **session_form(people, **changes)})
    assert r.status_code == 200 and reason in r.get_data(as_text=True)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ClinicSession)) == 0


def _book_first(session, session_factory, n: int = 2) -> AppointmentSlot:
    first = slots(session_factory)[0]
    for i in range(n):
        p = Patient(name=f"患者{i}")
        session.add(p)
        session.flush()
        appointments.book(session, first.id, patient_id=p.id, account_id=None, actor=audit.SYSTEM)
    session.commit()
    return first


def test_p8_1_editing_a_session_updates_future_slots_never_below_booked(
    admin, people, session, session_factory, settings
):
    url = "/admin/clinic_sessions/new/"
    admin.post(url, data={"csrf_token": token(admin, url), **session_form(people)})
    first = _book_first(session, session_factory, 2)
    cs = session.scalar(select(ClinicSession))
    edit = f"/admin/clinic_sessions/edit/?id={cs.id}"
    changed = session_form(people, capacity="1", ends_at="12:00")
    r = admin.post(edit, data={"csrf_token": token(admin, edit), **changed})
    assert r.status_code == 302
    tz = settings.timezone
    for s in slots(session_factory):
        assert s.capacity == (2 if s.id == first.id else 1)
        # a new end time reaches the slots too (the start would be another slot)
        assert f"{s.starts_at.astimezone(tz):%H:%M}-{s.ends_at.astimezone(tz):%H:%M}" == (
            "08:00-12:00"
        )
    # moved to Tuesday: the Monday slots take no new bookings, the booked ones stay
    r = admin.post(
        edit, data={"csrf_token": token(admin, edit), **session_form(people, weekday="1")}
    )
    assert r.status_code == 302
    mondays = [s for s in slots(session_factory) if s.starts_at.astimezone(tz).weekday() == 0]
    tuesdays = [s for s in slots(session_factory) if s.starts_at.astimezone(tz).weekday() == 1]
    assert all(s.capacity == s.booked for s in mondays) and tuesdays
    assert appointments.bookable_institutions(session, utcnow()) != []  # Tuesdays
    with session_factory() as s:
        assert s.get(AppointmentSlot, first.id).booked == 2
    # deactivated: no new bookings on any of its slots, the booked ones stay
    deactivated = session_form(people, weekday="1")
    del deactivated["active"]
    r = admin.post(edit, data={"csrf_token": token(admin, edit), **deactivated})
    assert r.status_code == 302
    assert all(s.capacity == s.booked for s in slots(session_factory))
    assert appointments.bookable_institutions(session, utcnow()) == []
    with session_factory() as s:
        assert s.get(AppointmentSlot, first.id).booked == 2
        assert not s.scalar(select(ClinicSession)).active


def test_p8_1_slot_capacity_is_edited_never_below_booked(admin, people, session, session_factory):
    url = "/admin/clinic_sessions/new/"
    admin.post(url, data={"csrf_token": token(admin, url), **session_form(people)})
    first = _book_first(session, session_factory, 2)
    calendar = "/admin/clinic-calendar/"
    t = token(admin, calendar)
    post = f"/admin/clinic-calendar/slots/{first.id}/capacity"
    r = admin.post(post, data={"csrf_token": t, "capacity": "1"}, follow_redirects=True)
    assert "名额不能少于已预约人数（2人）" in r.get_data(as_text=True)
    for wrong in ("abc", "501", "99999999999"):  # not a number, or beyond what a clinic seats
        r = admin.post(post, data={"csrf_token": t, "capacity": wrong}, follow_redirects=True)
        assert r.status_code == 200 and "名额应为0到500的整数" in r.get_data(as_text=True)
    with session_factory() as s:
        assert s.get(AppointmentSlot, first.id).capacity == 6
    r = admin.post(post, data={"csrf_token": t, "capacity": "9"}, follow_redirects=True)
    assert "名额已更新" in r.get_data(as_text=True) and "2 / 9" in r.get_data(as_text=True)


def _closure_of_a_booked_day(admin, people, session, session_factory, settings, bookings):
    """A weekly session, its first slot booked ``bookings`` times, and the closure form of
    that slot's day (not yet confirmed)."""
    url = "/admin/clinic_sessions/new/"
    admin.post(url, data={"csrf_token": token(admin, url), **session_form(people)})
    first = _book_first(session, session_factory, bookings)
    form = {
        "csrf_token": token(admin, "/admin/clinic-calendar/"),
        "institution": str(people["home"].id),
        "day": first.starts_at.astimezone(settings.timezone).date().isoformat(),
        "reason": "节假日",
    }
    return first, form


def test_p8_1_a_closure_shows_what_it_cancels_then_cancels_and_tells(
    admin, people, session, session_factory, settings
):
    first, form = _closure_of_a_booked_day(admin, people, session, session_factory, settings, 2)
    day = date.fromisoformat(form["day"])
    preview = admin.post("/admin/clinic-calendar/closures", data=form).get_data(as_text=True)
    assert "将取消 <strong>2</strong> 个已有预约" in preview
    assert "今天停诊只关闭尚未开始的时段" not in preview
    today = {**form, "day": utcnow().astimezone(settings.timezone).date().isoformat()}
    preview = admin.post("/admin/clinic-calendar/closures", data=today).get_data(as_text=True)
    assert "今天停诊只关闭尚未开始的时段" in preview  # what a closure of today leaves alone
    with session_factory() as s:  # nothing done yet
        assert s.scalar(select(func.count()).select_from(ClinicClosure)) == 0
    r = admin.post(
        "/admin/clinic-calendar/closures", data={**form, "confirm": "yes"}, follow_redirects=True
    )
    page = r.get_data(as_text=True)
    assert "停诊" in page and "节假日" in page
    with session_factory() as s:
        assert s.get(AppointmentSlot, first.id).closed
        cancelled = s.scalars(select(Appointment)).all()
        assert [a.status for a in cancelled] == [AppointmentStatus.CANCELLED] * 2
        assert s.scalar(select(func.count()).select_from(InAppMessage)) == 2
    r = admin.post(
        "/admin/clinic-calendar/closures", data={**form, "confirm": "yes"}, follow_redirects=True
    )
    assert "已设置停诊" in r.get_data(as_text=True)
    past = {**form, "day": (day - timedelta(days=60)).isoformat(), "confirm": "yes"}
    r = admin.post("/admin/clinic-calendar/closures", data=past, follow_redirects=True)
    assert "不能为已过去的日期设置停诊" in r.get_data(as_text=True)


def test_p8_1_a_closure_can_be_withdrawn_and_the_day_opens_again(
    admin, people, session, session_factory, settings
):
    first, form = _closure_of_a_booked_day(admin, people, session, session_factory, settings, 1)
    calendar = "/admin/clinic-calendar/"
    admin.post("/admin/clinic-calendar/closures", data={**form, "confirm": "yes"})
    with session_factory() as s:
        closure = s.scalars(select(ClinicClosure)).one()
        assert s.get(AppointmentSlot, first.id).closed
    withdraw = f"/admin/clinic-calendar/closures/{closure.id}/withdraw"
    assert admin.post(withdraw, data={"institution": str(people["home"].id)}).status_code == 400
    r = admin.post(
        withdraw,
        data={"csrf_token": token(admin, calendar), "institution": str(people["home"].id)},
        follow_redirects=True,
    )
    assert "已撤销" in r.get_data(as_text=True) and "已取消的预约不会恢复" in r.get_data(
        as_text=True
    )
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ClinicClosure)) == 0
        slot = s.get(AppointmentSlot, first.id)
        assert not slot.closed and slot.closed_reason is None  # bookable again
        (booking,) = s.scalars(select(Appointment)).all()
        assert booking.status is AppointmentStatus.CANCELLED  # told it was cancelled; stays so
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.object_type == "clinic_closure", AuditLog.action == "delete")
            )
            == 1
        )
    r = admin.post(
        withdraw,
        data={"csrf_token": token(admin, calendar), "institution": str(people["home"].id)},
        follow_redirects=True,
    )
    assert "没有找到这个停诊日" in r.get_data(as_text=True)


def test_p8_1_only_administrators_edit_clinic_schedules(settings, engine, redis_conn, people):
    client = create_app(settings).test_client()
    sign_in(client, "N001", "Nurse1234")
    assert client.get("/admin/clinic_sessions/").status_code == 403
    assert client.get("/admin/clinic-calendar/").status_code == 403
