"""“我的预约” and “取消预约 / 改约” in chat (P8.1). 我的预约 lists the upcoming bookings of
every 就诊人 of the account, each with 取消 / 改约 buttons whose payloads carry the booking
(``/cancel_appointment{"appointment_id": 12}``, ``"appointment_action": "change"``); typed
“取消第2个” means the same. Cancelling is a small form: which booking (a numbered choice when
several), a confirmation, then the place is freed. A change is handed to the H5 page, where the
other slots with their remaining places are shown."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.container import current as container
from bot.models import utcnow
from bot.models.enums import ActorType
from bot.services import appointments, audit

from . import forms, gate, parsing

FORM = "appointment_cancel_form"
CHANGE = "change"
SHOWN = 5  # bookings listed in chat; the H5 page has them all
NUMBERED = re.compile(r"第?\s*([0-9一二两三四五]+)\s*个")
CHANGE_WORDS = ("改约", "改期", "改到", "改成", "换个时间", "改一下", "改时间", "往后推")


def _base() -> str:
    return container().settings.public_base_url


def _upcoming(tracker: Tracker) -> list[appointments.Booking]:
    account_id = gate.metadata(tracker).get("account_id")
    if not account_id:
        return []
    with container().uow() as uow:
        return appointments.upcoming(uow.session, int(account_id), utcnow())[:SHOWN]


def _label(b: appointments.Booking) -> str:
    tz = container().settings.timezone
    return f"{b.when(tz)} {b.institution} {b.service_label}（{b.patient_name}）"


def _no_bookings() -> str:
    return (
        "您目前没有待就诊的预约。如需预约导管维护，请回复“预约维护”，"
        f"或打开 {_base()}/h5/appointments/new"
    )


def _unbound(tracker: Tracker) -> str | None:
    if refused := gate.refusal_for_patient_feature(tracker):
        return refused
    if not gate.metadata(tracker).get("account_id"):
        return "请先绑定就诊人（菜单“我的”→“绑定就诊人”）。"
    return None


class ActionMyAppointments(gate.PatientAction):
    """“我的预约”: the upcoming bookings with 取消 / 改约 buttons, or the way to book."""

    def name(self) -> str:
        return "action_my_appointments"

    def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[Any]:
        if refused := _unbound(tracker):
            dispatcher.utter_message(text=refused)
            return []
        bookings = _upcoming(tracker)
        if not bookings:
            dispatcher.utter_message(
                text=_no_bookings(), buttons=[{"title": "预约维护", "payload": "/book_appointment"}]
            )
            return []
        lines = [f"{n}. {_label(b)}" for n, b in enumerate(bookings, 1)]
        buttons = []
        for n, b in enumerate(bookings[:3], 1):
            entity = f'"appointment_id": {b.id}'
            buttons.append({"title": f"取消第{n}个", "payload": f"/cancel_appointment{{{entity}}}"})
            buttons.append(
                {
                    "title": f"改约第{n}个",
                    "payload": f'/cancel_appointment{{{entity}, "appointment_action": "change"}}',
                }
            )
        dispatcher.utter_message(
            text="您的预约：\n"
            + "\n".join(lines)
            + f"\n也可在线查看、取消或改约：{_base()}/h5/appointments",
            buttons=buttons,
        )
        return []


def _wants_change(tracker: Tracker) -> bool:
    if gate.entity(tracker, "appointment_action") == CHANGE:
        return True
    return any(w in forms.latest_text(tracker) for w in CHANGE_WORDS)


def _chosen(tracker: Tracker, bookings: list[appointments.Booking]) -> int | None:
    """The booking the activating message names: a button's id, "第2个", the only one, or
    the only one on the date / for the device it says."""
    given = gate.entity(tracker, "appointment_id")
    if given is not None and str(given).isdigit():
        return int(given)
    if m := NUMBERED.search(parsing.normalise(forms.latest_text(tracker))):
        n = parsing.cn_int(m.group(1))
        if n is not None and 1 <= n <= len(bookings):
            return bookings[n - 1].id
    tz = container().settings.timezone
    day = parsing.relative_date(str(gate.entity(tracker, "date") or ""), forms.today())
    device = gate.entity(tracker, "device_type")
    fits = [
        b
        for b in bookings
        if (day is None or b.starts_at.astimezone(tz).date() == day)
        and (device is None or b.service.startswith(str(device)))
    ]
    return fits[0].id if len(fits) == 1 else None


class ValidateAppointmentCancelForm(forms.ChatForm):
    form = FORM
    slots = ("ca_appointment", "ca_confirm")

    def permitted(self, tracker: Tracker) -> bool:
        return _unbound(tracker) is None and bool(_upcoming(tracker))

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        chosen = _chosen(tracker, _upcoming(tracker))
        return {
            "ca_appointment": f"#{chosen}" if chosen else None,
            "ca_confirm": CHANGE if _wants_change(tracker) else None,
        }

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        bookings = _upcoming(tracker)
        if slot == "ca_appointment":
            dispatcher.utter_message(
                text="您有以下预约：\n"
                + "\n".join(f"{n}. {_label(b)}" for n, b in enumerate(bookings, 1))
            )
        elif slot == "ca_confirm":
            chosen = _booking(tracker, bookings)
            if chosen is not None:
                dispatcher.utter_message(text=f"确认取消预约：{_label(chosen)}？")

    def validate_ca_appointment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        bookings = _upcoming(tracker)
        text = str(value)
        if (
            text.startswith("#")
            and text[1:].isdecimal()
            and int(text[1:]) in {b.id for b in bookings}
        ):
            return {"ca_appointment": text}
        index = parsing.choice(text, len(bookings))
        if index is None:
            dispatcher.utter_message(text="请回复上面列表中预约前的序号，回复“算了”可退出。")
            return {"ca_appointment": None}
        return {"ca_appointment": f"#{bookings[index].id}"}

    def validate_ca_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == CHANGE:
            return {"ca_confirm": CHANGE}
        answer = parsing.yes_no(str(value), forms.latest_intent(tracker))
        if answer is None:
            dispatcher.utter_message(text="请回复“确认”取消该预约，或回复“算了”保留预约。")
        return {"ca_confirm": answer}


def _booking(tracker: Tracker, bookings: list[appointments.Booking]) -> appointments.Booking | None:
    chosen = str(tracker.get_slot("ca_appointment") or "").removeprefix("#")
    return next((b for b in bookings if str(b.id) == chosen), None)


class ActionCancelAppointment(forms.SubmitAction):
    """The cancel form's submit: cancel (the place freed), or the change page, or nothing."""

    form = FORM

    def name(self) -> str:
        return "action_cancel_appointment"

    def refusal(self, tracker: Tracker) -> str | None:
        if refused := _unbound(tracker):
            return refused
        return None if _upcoming(tracker) else _no_bookings()

    def save(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        choice = tracker.get_slot("ca_confirm")
        booking = _booking(tracker, _upcoming(tracker))
        if booking is None:
            dispatcher.utter_message(text="没有找到这个预约，请回复“我的预约”查看。")
            return
        if choice == CHANGE:
            dispatcher.utter_message(
                text=f"请在页面上选择新的时段（原预约在改约成功后才释放）：\n"
                f"{_base()}/h5/appointments/{booking.id}/change"
            )
            return
        if choice is not True:
            dispatcher.utter_message(text="好的，预约保留不变。")
            return
        account_id = int(gate.metadata(tracker)["account_id"])
        with container().uow() as uow:
            try:
                appointments.cancel(
                    uow.session,
                    booking.id,
                    account_id=account_id,
                    actor=audit.Actor(ActorType.PATIENT, account_id),
                    now=utcnow(),
                )
            except appointments.Refused as exc:
                uow.rollback()
                dispatcher.utter_message(text=f"未能取消：{exc}")
                return
            uow.commit()
        dispatcher.utter_message(
            text=f"已取消预约：{_label(booking)}。名额已释放，如需重新预约请回复“预约维护”。"
        )
