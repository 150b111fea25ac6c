"""Booking a maintenance appointment (P8.1): institution, day, time slot, confirmation; only
the services the H5 page offers the 就诊人 (not the maintenance of a device they do not have)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from bot.container import current as container
from bot.models import AppointmentSlot, Institution, utcnow
from bot.models.enums import ActorType
from bot.services import appointments, audit

from . import forms, gate, parsing
from .appointment_cancel import (  # noqa: F401  (registers 我的预约 and 取消预约)
    ActionCancelAppointment,
    ActionMyAppointments,
    ValidateAppointmentCancelForm,
)

FORM = "appointment_form"
HORIZON_DAYS = 30
SERVICES = appointments.SERVICES


def refusal(tracker: Tracker) -> str | None:
    if refused := gate.refusal_for_patient_feature(tracker):
        return refused
    if not gate.metadata(tracker).get("active_patient_id"):
        return "预约前请先绑定就诊人（菜单“我的”→“绑定就诊人”）。"
    return None


def _services(session: Session, tracker: Tracker) -> list[str] | None:
    """The services the active 就诊人 may book, as the H5 page offers them (the maintenance
    of a device they do not have left out); None (any) without a 就诊人."""
    patient_id = gate.metadata(tracker).get("active_patient_id")
    if not patient_id:
        return None
    fit = appointments.fit_for(session, int(patient_id))
    return fit.offered(appointments.bookable_services(session, utcnow()))


def _institutions(tracker: Tracker) -> list[tuple[int, str]]:
    with container().uow() as uow:
        s = uow.session
        places = appointments.bookable_institutions(s, utcnow(), _services(s, tracker))
        return [(i.id, i.name) for i in places]


def _slots(tracker: Tracker, institution_id: int, day: date) -> list[tuple[int, str]]:
    rt = container()
    tz = rt.settings.timezone
    with rt.uow() as uow:
        s = uow.session
        rows = appointments.open_slots(s, institution_id, day, tz, utcnow(), _services(s, tracker))
        return [
            (
                slot.id,
                f"{slot.starts_at.astimezone(tz):%H:%M}-{slot.ends_at.astimezone(tz):%H:%M} "
                f"{SERVICES.get(slot.service, slot.service)}（余{slot.capacity - slot.booked}）",
            )
            for slot in rows
        ]


class ValidateAppointmentForm(forms.ChatForm):
    form = FORM
    slots = ("a_institution", "a_date", "a_slot", "a_confirm")

    def permitted(self, tracker: Tracker) -> bool:
        return refusal(tracker) is None

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        return {
            "a_institution": gate.entity(tracker, "institution"),
            "a_date": gate.entity(tracker, "date"),
        }

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        if slot == "a_institution":
            options = _institutions(tracker)
            dispatcher.utter_message(
                text="可预约的机构：\n"
                + "\n".join(f"{n}. {name}" for n, (_, name) in enumerate(options, 1))
                if options
                else "近期暂无可预约的时段，请稍后再试或致电门诊。"
            )
        elif slot == "a_slot":
            options = _slots(
                tracker,
                int(tracker.get_slot("a_institution")),
                date.fromisoformat(tracker.get_slot("a_date")),
            )
            dispatcher.utter_message(
                text="可预约时段：\n"
                + "\n".join(f"{n}. {label}" for n, (_, label) in enumerate(options, 1))
            )
        elif slot == "a_confirm":
            dispatcher.utter_message(text=summary(tracker))

    def validate_a_institution(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        options = _institutions(tracker)
        text = parsing.normalise(str(value))
        index = parsing.choice(text, len(options))
        if index is None:
            index = next(
                (
                    n
                    for n, (_, name) in enumerate(options)
                    if text and (text in name or name in text)
                ),
                None,
            )
        if index is None:
            dispatcher.utter_message(text="请回复上面列表中的序号或机构名称。")
            return {"a_institution": None}
        return {"a_institution": options[index][0]}

    def validate_a_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        today = forms.today()
        day = parsing.relative_date(str(value), today)
        if day is None or not today <= day <= today + timedelta(days=HORIZON_DAYS):
            dispatcher.utter_message(
                text=f"请选择今天起{HORIZON_DAYS}天内的日期，如“明天”“下周三”“12月3日”。"
            )
            return {"a_date": None}
        if not _slots(tracker, int(tracker.get_slot("a_institution")), day):
            dispatcher.utter_message(text=f"{day:%m月%d日}没有可预约的时段，请换一天。")
            return {"a_date": None}
        return {"a_date": day.isoformat()}

    def validate_a_slot(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        options = _slots(
            tracker,
            int(tracker.get_slot("a_institution")),
            date.fromisoformat(tracker.get_slot("a_date")),
        )
        index = parsing.choice(str(value), len(options))
        if index is None:
            dispatcher.utter_message(text="请回复时段前的序号。")
            return {"a_slot": None}
        return {"a_slot": options[index][0]}

    def validate_a_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.validate_yes_no("a_confirm", value, tracker, dispatcher)


def summary(tracker: Tracker) -> str:
    rt = container()
    tz = rt.settings.timezone
    with rt.uow() as uow:
        slot = uow.session.get(AppointmentSlot, int(tracker.get_slot("a_slot")))
        place = uow.session.get(Institution, int(tracker.get_slot("a_institution")))
        assert slot is not None and place is not None
        return (
            f"请核对预约：{place.name}，{slot.starts_at.astimezone(tz):%Y年%m月%d日 %H:%M}-"
            f"{slot.ends_at.astimezone(tz):%H:%M}，{SERVICES.get(slot.service, slot.service)}"
        )


class ActionSubmitAppointment(forms.SubmitAction):
    form = FORM
    confirm_slot = "a_confirm"

    def refusal(self, tracker: Tracker) -> str | None:
        return refusal(tracker)

    def save(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        meta = gate.metadata(tracker)
        text = summary(tracker).replace("请核对预约：", "")
        with container().uow() as uow:
            try:
                result = appointments.book(
                    uow.session,
                    int(tracker.get_slot("a_slot")),
                    patient_id=int(meta["active_patient_id"]),
                    account_id=meta.get("account_id"),
                    actor=audit.Actor(ActorType.PATIENT, meta.get("account_id")),
                )
            except appointments.BookingRefused as exc:
                uow.rollback()
                dispatcher.utter_message(text=f"预约未成功：{exc}")
                return
            uow.commit()
        prefix = "预约成功" if result.created else "您已预约过该时段"
        dispatcher.utter_message(text=f"{prefix}：{text}。请携带导管维护手册按时就诊。")
