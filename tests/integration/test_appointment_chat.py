"""我的预约 and 取消预约 / 改约 in chat (P8.1), turn by turn as Rasa runs them, against the
database: the list with its buttons, a numbered choice, a confirmation, the place freed; a
button's booking skips the choice; 改约 hands over to the H5 page; nothing booked says how to
book; clinicians are refused. Booking in chat offers only the maintenance of the devices in
place, and a slot of another device's maintenance is refused."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.models import Appointment, AppointmentSlot, Catheter, utcnow
from bot.models.enums import ActorType, AppointmentStatus
from bot.services import appointments, audit
from nlu.actions import appointment, appointment_cancel
from tests.integration import test_forms
from tests.integration.test_forms import count, nurse_form, patient_form
from tests.support.forms import FormDriver

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("action_runtime"), pytest.mark.req("P8.1")]
ward = test_forms.ward  # the fixture: a bound patient, a nurse, two slots tomorrow


def book_both(session, ward) -> list[int]:
    """The ward's patient, with a PICC, gets a port too, so both maintenance slots fit."""
    picc = ward["picc"]
    session.add(Catheter(patient_id=picc.patient_id, device_type="PORT", placed_at=picc.placed_at))
    session.flush()
    ids = []
    for slot in ward["slots"]:
        result = appointments.book(
            session,
            slot.id,
            patient_id=ward["patient_id"],
            account_id=ward["account"].id,
            actor=audit.Actor(ActorType.PATIENT, ward["account"].id),
        )
        ids.append(result.appointment.id)
    session.commit()
    return ids


def my_appointments(domain, ward, **meta) -> tuple[str, list[dict]]:
    f = patient_form(appointment_cancel.ValidateAppointmentCancelForm(), domain, ward, **meta)
    tracker = f._tracker("我的预约", "my_appointments", [])
    dispatcher = CollectingDispatcher()
    appointment_cancel.ActionMyAppointments().run(dispatcher, tracker, domain)
    text = "\n".join(m.get("text") or "" for m in dispatcher.messages)
    return text, [b for m in dispatcher.messages for b in m.get("buttons") or []]


def cancel_form(domain, ward) -> FormDriver:
    return patient_form(appointment_cancel.ValidateAppointmentCancelForm(), domain, ward)


def status(session_factory, appointment_id) -> AppointmentStatus:
    with session_factory() as s:
        return s.get(Appointment, appointment_id).status


def test_p8_1_my_appointments_lists_the_bookings_with_cancel_and_change_buttons(
    domain, ward, session
):
    text, buttons = my_appointments(domain, ward)
    assert "您目前没有待就诊的预约" in text and "/h5/appointments/new" in text
    assert buttons == [{"title": "预约维护", "payload": "/book_appointment"}]
    picc, port = book_both(session, ward)
    text, buttons = my_appointments(domain, ward)
    assert "1. " in text and "08:00-11:00 本院 PICC维护（王丽娟）" in text
    assert "2. " in text and "输液港维护" in text and "/h5/appointments" in text
    payloads = [b["payload"] for b in buttons]
    assert f'/cancel_appointment{{"appointment_id": {picc}}}' in payloads
    change = next(p for p in payloads if p.startswith("/cancel_appointment") and "change" in p)
    assert json.loads(change.removeprefix("/cancel_appointment")) == {
        "appointment_id": picc,
        "appointment_action": "change",
    }
    assert [b["title"] for b in buttons] == ["取消第1个", "改约第1个", "取消第2个", "改约第2个"]


def test_p8_1_cancelling_in_chat_asks_which_then_confirms_and_frees_the_place(
    domain, ward, session, session_factory
):
    picc, port = book_both(session, ward)
    f = cancel_form(domain, ward)
    said = f.say("取消预约", "cancel_appointment")
    assert f.asking == "ca_appointment" and "1. " in said and "2. " in said
    assert "序号" in f.say("第九个")  # not on the list: asked again
    said = f.say("2")
    assert f.asking == "ca_confirm" and "确认取消预约" in said and "输液港维护" in said
    assert "请回复“确认”" in f.say("嗯嗯嗯")
    f.say("确认")
    said = f.submit(appointment_cancel.ActionCancelAppointment())
    assert "已取消预约" in said and "名额已释放" in said
    assert status(session_factory, port) is AppointmentStatus.CANCELLED
    assert status(session_factory, picc) is AppointmentStatus.BOOKED
    with session_factory() as s:
        assert s.get(AppointmentSlot, ward["slots"][1].id).booked == 0
    assert all(v is None for k, v in f.slots.items() if k.startswith("ca_"))


def test_p8_1_a_typed_hash_that_is_not_a_booking_number_is_asked_again(
    domain, ward, session, session_factory
):
    picc, _ = book_both(session, ward)
    f = cancel_form(domain, ward)
    f.say("取消预约", "cancel_appointment")
    for typed in ("#abc", "#", "#²", "#99999999"):  # no crash: what is expected is said again
        assert "请回复上面列表中预约前的序号" in f.say(typed), typed
        assert f.asking == "ca_appointment"
    said = f.say(f"#{picc}")  # the form's own way of naming a booking still works
    assert f.asking == "ca_confirm" and "PICC维护" in said
    f.cancel()
    assert status(session_factory, picc) is AppointmentStatus.BOOKED


def test_p8_1_a_cancel_button_skips_the_choice_and_no_keeps_the_booking(
    domain, ward, session, session_factory
):
    picc, _ = book_both(session, ward)
    f = cancel_form(domain, ward)
    f.say("取消第1个", "cancel_appointment", [("appointment_id", picc)])
    assert f.asking == "ca_confirm"
    f.say("不了", "deny")
    assert "预约保留不变" in f.submit(appointment_cancel.ActionCancelAppointment())
    assert status(session_factory, picc) is AppointmentStatus.BOOKED
    # typed "取消第1个" (how a button reads on the official account) names it too
    g = cancel_form(domain, ward)
    g.say("取消第1个", "cancel_appointment")
    assert g.asking == "ca_confirm"
    g.say("确认")
    assert "已取消预约" in g.submit(appointment_cancel.ActionCancelAppointment())
    assert status(session_factory, picc) is AppointmentStatus.CANCELLED


def test_p8_1_a_foreign_booking_on_a_button_is_not_taken(domain, ward, session, session_factory):
    book_both(session, ward)
    foreign = Appointment(slot_id=ward["slots"][1].id, patient_id=ward["port"].patient_id)
    session.add(foreign)
    session.commit()
    f = cancel_form(domain, ward)
    f.say("取消预约", "cancel_appointment", [("appointment_id", foreign.id)])
    assert f.asking == "ca_appointment"  # asked which of the patient's own instead
    f.cancel()
    assert status(session_factory, foreign.id) is AppointmentStatus.BOOKED


def test_p8_1_change_in_chat_hands_over_to_the_h5_page(domain, ward, session, session_factory):
    picc, _ = book_both(session, ward)
    f = cancel_form(domain, ward)
    f.say(
        "改约第1个",
        "cancel_appointment",
        [("appointment_id", picc), ("appointment_action", "change")],
    )
    assert not f.active
    said = f.submit(appointment_cancel.ActionCancelAppointment())
    assert f"/h5/appointments/{picc}/change" in said
    assert status(session_factory, picc) is AppointmentStatus.BOOKED  # until the new one


def test_p8_1_cancel_with_nothing_booked_says_how_to_book(domain, ward):
    f = cancel_form(domain, ward)
    assert f.say("取消预约", "cancel_appointment") == ""
    assert not f.active
    said = f.submit(appointment_cancel.ActionCancelAppointment())
    assert "您目前没有待就诊的预约" in said and "预约维护" in said


def test_p8_1_a_past_booking_is_not_offered_for_cancelling(domain, ward, session):
    picc, port = book_both(session, ward)
    for slot in session.query(AppointmentSlot):  # both slots have begun
        slot.starts_at = utcnow().replace(microsecond=0) - (slot.ends_at - slot.starts_at)
    session.commit()
    f = cancel_form(domain, ward)
    f.say("取消预约", "cancel_appointment", [("appointment_id", picc)])
    assert "您目前没有待就诊的预约" in f.submit(appointment_cancel.ActionCancelAppointment())


def test_p8_1_clinicians_are_refused_my_appointments_and_cancelling(domain, ward):
    f = nurse_form(appointment_cancel.ValidateAppointmentCancelForm(), domain, ward)
    f.say("取消预约", "cancel_appointment")
    assert "该功能面向患者" in f.submit(appointment_cancel.ActionCancelAppointment())
    tracker = f._tracker("我的预约", "my_appointments", [])
    dispatcher = CollectingDispatcher()
    appointment_cancel.ActionMyAppointments().run(dispatcher, tracker, domain)
    assert "该功能面向患者" in dispatcher.messages[0]["text"]


def test_p8_1_booking_in_chat_offers_only_the_maintenance_of_the_devices_in_place(
    domain, ward, session_factory
):
    tomorrow = (ward["today"] + timedelta(days=1)).isoformat()
    f = patient_form(appointment.ValidateAppointmentForm(), domain, ward)  # 王丽娟, a PICC
    assert "1. 本院" in f.say("预约维护", "book_appointment")
    f.say("1")
    said = f.say("明天")
    assert "1. 08:00-11:00 PICC维护（余1）" in said and "输液港维护" not in said
    port = FormDriver(
        appointment.ValidateAppointmentForm(),
        domain,
        "mp:o-port",
        role="patient",
        channel="mp",
        account_id=None,
        active_patient_id=ward["port"].patient_id,
    )
    port.say("预约维护", "book_appointment")
    port.say("1")
    said = port.say("明天")
    assert "1. 13:00-16:00 输液港维护（余5）" in said and "PICC维护" not in said
    # a port's slot pushed at the PICC patient (an old button) is refused, nothing booked
    g = patient_form(appointment.ValidateAppointmentForm(), domain, ward)
    g.slots.update(
        a_institution=ward["home"].id, a_date=tomorrow, a_slot=ward["slots"][1].id, a_confirm=True
    )
    said = g.submit(appointment.ActionSubmitAppointment())
    assert "预约未成功：就诊人目前登记在用的导管是PICC，不能预约输液港维护" in said
    assert count(session_factory, Appointment) == 0
    with session_factory() as s:
        assert s.get(AppointmentSlot, ward["slots"][1].id).booked == 0
