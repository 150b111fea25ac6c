"""Appointment pages (P8.1): the patient books on H5 (institution → day → slot), sees the booking
on 我的预约, changes and cancels it; another account's booking cannot be touched; the clinic's
nurses list the day's bookings (audited) and mark arrived / no-show; outside clinicians cannot."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.care.rules import local_date
from bot.models import (
    Appointment,
    AppointmentSlot,
    AuditLog,
    Catheter,
    Institution,
    Patient,
    PatientAccount,
    PatientProfile,
    utcnow,
)
from bot.models.enums import AppointmentStatus
from server import create_app
from tests.integration.test_staff_pages import add_nurse_and_outsider, csrf
from tests.integration.test_staff_web import sign_in

pytestmark = [pytest.mark.db, pytest.mark.redis, pytest.mark.req("P8.1")]


@pytest.fixture
def world(settings, engine, redis_conn, session, cipher):
    tz = settings.timezone
    add_nurse_and_outsider(session, cipher)
    session.flush()
    home = session.scalar(select(Institution).where(Institution.code == "HOME"))
    today = local_date(utcnow(), tz)
    tomorrow = today + timedelta(days=1)

    def at(day, hour):
        return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)

    slots = [
        AppointmentSlot(
            institution_id=home.id,
            service=service,
            starts_at=at(day, hour),
            ends_at=at(day, hour + 3),
            capacity=capacity,
        )
        for day, hour, service, capacity in [
            (tomorrow, 8, "PICC_MAINT", 1),
            (tomorrow, 13, "PORT_MAINT", 4),
            (today, 0, "PICC_MAINT", 4),  # today's clinic, begun
        ]
    ]
    zhao, qian = Patient(name="赵大爷"), Patient(name="钱阿姨")
    a_zhao, a_qian = PatientAccount(openid="o_zhao"), PatientAccount(openid="o_qian")
    session.add_all([*slots, zhao, qian, a_zhao, a_qian])
    session.flush()
    for account, patient in ((a_zhao, zhao), (a_qian, qian)):
        profile = PatientProfile(account_id=account.id, patient_id=patient.id)
        session.add(profile)
        session.flush()
        account.active_profile_id = profile.id
    todays = Appointment(slot_id=slots[2].id, patient_id=qian.id, account_id=a_qian.id)
    slots[2].booked = 1
    session.add(todays)
    session.commit()
    return {
        "app": create_app(settings),
        "home": home.id,
        "slots": [s.id for s in slots],
        "accounts": (a_zhao.id, a_qian.id),
        "todays": todays.id,
        "today": today,
        "tomorrow": tomorrow,
    }


def follower(world, which: int = 0):
    client = world["app"].test_client()
    with client.session_transaction() as web_session:
        web_session["account_id"] = world["accounts"][which]
    return client


def booked(session_factory, slot_id):
    with session_factory() as s:
        return s.get(AppointmentSlot, slot_id).booked


def test_p8_1_a_patient_books_sees_and_cancels_on_h5(world, session_factory):
    client = follower(world)
    page = client.get("/h5/appointments").get_data(as_text=True)
    assert "我的预约" in page and "暂无预约" in page and "/h5/appointments/new" in page
    pick = client.get("/h5/appointments/new").get_data(as_text=True)  # one clinic: chosen
    assert "本院" in pick and "3. 选择日期" in pick
    url = f"/h5/appointments/new?institution={world['home']}&day={world['tomorrow'].isoformat()}"
    pick = client.get(url).get_data(as_text=True)
    assert "08:00-11:00 PICC维护（余1）" in pick and "13:00-16:00 输液港维护（余4）" in pick
    r = client.post(url, data={"csrf_token": csrf(pick), "slot_id": world["slots"][0]})
    assert r.status_code == 302 and r.location.endswith("/h5/appointments")
    page = client.get("/h5/appointments").get_data(as_text=True)
    assert "预约成功" in page and "本院 · PICC维护 · 就诊人：赵大爷" in page
    assert booked(session_factory, world["slots"][0]) == 1
    with session_factory() as s:
        mine = s.scalar(select(Appointment).where(Appointment.slot_id == world["slots"][0]))
    client.post(f"/h5/appointments/{mine.id}/cancel", data={"csrf_token": csrf(page)})
    page = client.get("/h5/appointments").get_data(as_text=True)
    assert "预约已取消，名额已释放" in page and "【已取消：患者取消】" in page
    assert booked(session_factory, world["slots"][0]) == 0


def test_p8_1_a_full_slot_is_refused_on_the_page(world, session_factory):
    url = f"/h5/appointments/new?institution={world['home']}&day={world['tomorrow'].isoformat()}"
    first, second = follower(world, 0), follower(world, 1)
    token1, token2 = (
        csrf(first.get(url).get_data(as_text=True)),
        csrf(second.get(url).get_data(as_text=True)),
    )
    first.post(url, data={"csrf_token": token1, "slot_id": world["slots"][0]})
    r = second.post(
        url, data={"csrf_token": token2, "slot_id": world["slots"][0]}, follow_redirects=True
    )
    assert "预约未成功：该时段已约满" in r.get_data(as_text=True)
    assert booked(session_factory, world["slots"][0]) == 1


def test_p8_1_another_accounts_booking_cannot_be_cancelled_or_changed(world, session_factory):
    client = follower(world)  # 赵's follower; the booking is 钱's
    token = csrf(client.get("/h5/home").get_data(as_text=True))
    r = client.post(
        f"/h5/appointments/{world['todays']}/cancel",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "未能取消：没有找到这个预约" in r.get_data(as_text=True)
    r = client.get(f"/h5/appointments/{world['todays']}/change", follow_redirects=True)
    assert "没有找到可改约的预约" in r.get_data(as_text=True)
    # and its own follower cannot cancel it once begun
    own = follower(world, 1)
    token = csrf(own.get("/h5/home").get_data(as_text=True))
    r = own.post(
        f"/h5/appointments/{world['todays']}/cancel",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "不能取消" in r.get_data(as_text=True)
    with session_factory() as s:
        assert s.get(Appointment, world["todays"]).status is AppointmentStatus.BOOKED
    assert client.post(f"/h5/appointments/{world['todays']}/cancel").status_code == 400  # CSRF


def test_p8_1_a_patient_changes_a_booking_to_another_slot(world, session_factory):
    client = follower(world)
    url = f"/h5/appointments/new?institution={world['home']}&day={world['tomorrow'].isoformat()}"
    client.post(
        url,
        data={
            "csrf_token": csrf(client.get(url).get_data(as_text=True)),
            "slot_id": world["slots"][0],
        },
    )
    with session_factory() as s:
        old = s.scalar(select(Appointment).where(Appointment.slot_id == world["slots"][0]))
    page = client.get("/h5/appointments").get_data(as_text=True)
    assert f"/h5/appointments/{old.id}/change" in page
    day = world["tomorrow"].isoformat()
    change = f"/h5/appointments/{old.id}/change?institution={world['home']}&day={day}"
    pick = client.get(change).get_data(as_text=True)
    assert "改约：原本院" in pick
    r = client.post(
        change,
        data={"csrf_token": csrf(pick), "slot_id": world["slots"][1]},
        follow_redirects=True,
    )
    assert "改约成功" in r.get_data(as_text=True)
    assert booked(session_factory, world["slots"][0]) == 0
    assert booked(session_factory, world["slots"][1]) == 1
    with session_factory() as s:
        new = s.scalar(select(Appointment).where(Appointment.slot_id == world["slots"][1]))
        assert new.replaces_id == old.id


def give(session_factory, name: str, *devices: str, service_tomorrow: str | None = None):
    """Catheters in place for the patient called ``name``; optionally one more slot tomorrow
    at 17:00 for ``service_tomorrow``. The new slot's id, if any."""
    with session_factory() as s:
        patient = s.scalar(select(Patient).where(Patient.name == name))
        placed = utcnow() - timedelta(days=3)
        s.add_all(Catheter(patient_id=patient.id, device_type=d, placed_at=placed) for d in devices)
        slot = None
        if service_tomorrow:
            first = s.scalar(select(AppointmentSlot).order_by(AppointmentSlot.id))
            start = first.starts_at + timedelta(hours=9)
            slot = AppointmentSlot(
                institution_id=first.institution_id,
                service=service_tomorrow,
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                capacity=2,
            )
            s.add(slot)
        s.commit()
        return slot.id if slot else None


def services_listed(page: str, which: str = "main") -> list[str]:
    """The service choices of the picker's list ``main`` or ``others``, the chosen one starred."""
    block = page.split(f'data-services="{which}"', 1)[1].split("</ul>", 1)[0]
    return [
        ("*" if 'class="chosen"' in a else "") + a.rsplit(">", 1)[1]
        for a in block.split("</a>")[:-1]
    ]


def test_p8_1_a_picc_patient_is_offered_picc_maintenance_first_and_chosen(world, session_factory):
    place_slot = give(session_factory, "赵大爷", "PICC", service_tomorrow="PICC_PLACE")
    client = follower(world)
    day = f"institution={world['home']}&day={world['tomorrow'].isoformat()}"
    pick = client.get(f"/h5/appointments/new?{day}").get_data(as_text=True)
    assert services_listed(pick) == ["*PICC维护"]
    assert "08:00-11:00 PICC维护（余1）" in pick
    assert "输液港维护" not in pick and "PICC置管（余" not in pick
    # a placement consultation stays reachable behind 其他服务; a port's maintenance does not
    assert "其他服务" in pick and services_listed(pick, "others") == ["PICC置管"]
    pick = client.get(f"/h5/appointments/new?service=PICC_PLACE&{day}").get_data(as_text=True)
    assert services_listed(pick, "others") == ["*PICC置管"] and "<details open>" in pick
    assert "17:00-19:00 PICC置管（余2）" in pick and "PICC维护（余" not in pick
    r = client.post(
        f"/h5/appointments/new?service=PICC_PLACE&{day}",
        data={"csrf_token": csrf(pick), "slot_id": place_slot},
        follow_redirects=True,
    )
    assert "预约成功" in r.get_data(as_text=True) and booked(session_factory, place_slot) == 1
    pick = client.get(f"/h5/appointments/new?service=PORT_MAINT&{day}").get_data(as_text=True)
    assert services_listed(pick) == ["*PICC维护"] and "输液港维护" not in pick


def test_p8_1_a_port_patient_is_offered_port_maintenance_and_both_devices_both(
    world, session_factory
):
    give(session_factory, "钱阿姨", "PORT")
    day = f"institution={world['home']}&day={world['tomorrow'].isoformat()}"
    pick = follower(world, 1).get(f"/h5/appointments/new?{day}").get_data(as_text=True)
    assert services_listed(pick) == ["*输液港维护"]
    assert "13:00-16:00 输液港维护（余4）" in pick and "PICC维护" not in pick
    give(session_factory, "钱阿姨", "PICC")
    pick = follower(world, 1).get(f"/h5/appointments/new?{day}").get_data(as_text=True)
    assert services_listed(pick) == ["*PICC维护", "输液港维护"]


def test_p8_1_without_a_fitting_catheter_every_service_is_offered(world, session_factory):
    give(session_factory, "赵大爷", service_tomorrow="PORT_PLACE")  # nothing in place
    client = follower(world)
    day = f"institution={world['home']}&day={world['tomorrow'].isoformat()}"
    pick = client.get(f"/h5/appointments/new?{day}").get_data(as_text=True)
    assert services_listed(pick) == ["PICC维护", "输液港维护", "输液港植入"]
    assert "其他服务" not in pick and "没有对应的维护门诊" not in pick
    for slot in ("PICC维护（余1）", "输液港维护（余4）", "输液港植入（余2）"):
        assert slot in pick
    give(session_factory, "赵大爷", "MIDLINE")  # no maintenance service of its own
    pick = client.get(f"/h5/appointments/new?{day}").get_data(as_text=True)
    assert "您登记的导管（中线导管）没有对应的维护门诊" in pick
    assert services_listed(pick) == ["PICC维护", "输液港维护", "输液港植入"]
    r = client.post(
        f"/h5/appointments/new?{day}",
        data={"csrf_token": csrf(pick), "slot_id": world["slots"][1]},
        follow_redirects=True,
    )
    assert (
        "预约成功" in r.get_data(as_text=True) and booked(session_factory, world["slots"][1]) == 1
    )


def test_p8_1_booking_the_maintenance_of_a_device_not_in_place_is_refused(world, session_factory):
    give(session_factory, "赵大爷", "PICC")
    client = follower(world)
    url = f"/h5/appointments/new?institution={world['home']}&day={world['tomorrow'].isoformat()}"
    pick = client.get(url).get_data(as_text=True)
    r = client.post(
        url, data={"csrf_token": csrf(pick), "slot_id": world["slots"][1]}, follow_redirects=True
    )
    page = r.get_data(as_text=True)
    assert "预约未成功：就诊人目前登记在用的导管是PICC，不能预约输液港维护" in page
    assert "请联系置管医院或门诊更正" in page
    assert booked(session_factory, world["slots"][1]) == 0
    with session_factory() as s:
        assert s.scalar(select(Appointment).where(Appointment.slot_id == world["slots"][1])) is None
    # nor can a PICC booking be changed to it
    client.post(url, data={"csrf_token": csrf(pick), "slot_id": world["slots"][0]})
    with session_factory() as s:
        mine = s.scalar(select(Appointment).where(Appointment.slot_id == world["slots"][0]))
    change = f"/h5/appointments/{mine.id}/change?institution={world['home']}"
    r = client.post(
        change, data={"csrf_token": csrf(pick), "slot_id": world["slots"][1]}, follow_redirects=True
    )
    assert "改约未成功：就诊人目前登记在用的导管是PICC" in r.get_data(as_text=True)
    assert booked(session_factory, world["slots"][0]) == 1
    assert booked(session_factory, world["slots"][1]) == 0


def test_p8_1_the_clinic_lists_the_day_and_marks_arrivals(world, session_factory):
    client = world["app"].test_client()
    sign_in(client, "N001", "Nurse1234")
    page = client.get("/staff/appointments").get_data(as_text=True)
    assert "钱阿姨" in page and "PICC维护" in page and "【已预约】" in page and "共1人预约" in page
    r = client.post(
        f"/staff/appointments/{world['todays']}/mark",
        data={
            "csrf_token": csrf(page),
            "outcome": "attended",
            "institution": world["home"],
            "day": world["today"].isoformat(),
        },
        follow_redirects=True,
    )
    assert "【已到诊】" in r.get_data(as_text=True)
    with session_factory() as s:
        assert s.get(Appointment, world["todays"]).status is AppointmentStatus.ATTENDED
        reads = s.scalars(select(AuditLog).where(AuditLog.object_type == "clinic_day")).all()
        assert reads and all(r.action == "read" for r in reads)
        assert s.scalar(select(AuditLog).where(AuditLog.action == "attended")) is not None
    tomorrow = client.get(f"/staff/appointments?day={world['tomorrow'].isoformat()}")
    assert "这一天没有预约" in tomorrow.get_data(as_text=True)


def test_p8_1_outside_clinicians_cannot_open_the_clinic_list(world, session_factory):
    client = world["app"].test_client()
    sign_in(client, "13900009999", "Outside123")
    assert client.get("/staff/appointments").status_code == 403
    page = client.get("/staff/placements/new").get_data(as_text=True)
    r = client.post(
        f"/staff/appointments/{world['todays']}/mark",
        data={"csrf_token": csrf(page), "outcome": "no_show"},
    )
    assert r.status_code == 404
    with session_factory() as s:
        assert s.get(Appointment, world["todays"]).status is AppointmentStatus.BOOKED
