"""The removal form's summary and its submit action: the removal registered once through
bot/services/removals.register, the patient's messages sent after the commit."""

from __future__ import annotations

from contextlib import suppress
from datetime import date

import redis
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.container import current as container
from bot.jobs.queues import enqueue_send
from bot.models import Removal
from bot.services import dictionary as dictionary_service
from bot.services import removals

from . import catheters, forms, gate
from . import complication_find as which

FORM = "removal_form"
COMPLICATION = removals.COMPLICATION


def summary(tracker: Tracker) -> str:
    catheter, d = catheters.load(int(tracker.get_slot("r_catheter")))
    culture = tracker.get_slot("r_culture") or {}
    linked = tracker.get_slot("r_complication")
    lines = [
        "请核对拔管登记：",
        f"导管：{catheters.describe(d, catheter)}",
        f"拔管日期：{tracker.get_slot('r_date')}",
        f"原因：{d.label('removal_reasons', tracker.get_slot('r_reason'))}",
    ]
    if tracker.get_slot("r_reason") == COMPLICATION:
        what = which.describe(linked) if linked else "未关联（无未结案并发症）"
        lines.append(f"关联并发症：{what}")
    lines.append(f"导管完整：{'是' if tracker.get_slot('r_intact') else '否'}")
    sent = "未送" if not culture.get("sent") else f"已送，{culture.get('result') or '待结果'}"
    lines.append(f"尖端培养：{sent}")
    return "\n".join(lines)


PATIENT_TOLD = (
    "拔管由医护人员在系统中登记，登记后维护提醒和随访会自动停止。"
    "如导管意外脱出，请用干净纱布按压穿刺点，并立即到医院处理。"
)


class ActionSubmitRemoval(forms.SubmitAction):
    form = FORM
    confirm_slot = "r_confirm"

    def refusal(self, tracker: Tracker) -> str | None:
        refused = gate.refusal_for_clinician_feature(tracker)
        return PATIENT_TOLD if refused == gate.CLINICIAN_ONLY else refused

    def save(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        rt = container()
        culture = tracker.get_slot("r_culture") or {}
        catheter_id = int(tracker.get_slot("r_catheter"))
        removed_on = date.fromisoformat(str(tracker.get_slot("r_date")))
        reason = str(tracker.get_slot("r_reason"))
        with rt.uow() as uow:
            d = dictionary_service.current(uow.session)
            try:
                result = removals.register(
                    uow.session,
                    d,
                    catheter_id,
                    removed_on=removed_on,
                    reason=reason,
                    tz=rt.settings.timezone,
                    actor=catheters.actor(tracker),
                    institution_id=gate.metadata(tracker).get("institution_id"),
                    complication_id=tracker.get_slot("r_complication") or None,
                    catheter_intact=tracker.get_slot("r_intact"),
                    tip_culture_sent=bool(culture.get("sent")),
                    tip_culture_result=culture.get("result"),
                    confirmed=tracker.get_slot("r_date_check") is True,
                    context="chat",
                )
            except removals.RemovalRefused as exc:
                uow.rollback()
                same = uow.session.scalar(select(Removal).where(Removal.catheter_id == catheter_id))
                if same is not None and (same.removed_on, same.reason) == (removed_on, reason):
                    dispatcher.utter_message(text="这次拔管已经登记过，没有重复保存。")
                else:
                    dispatcher.utter_message(text=f"未能登记拔管：{exc}")
                return
            removal = result.removal
            text = (
                f"拔管已登记：{removal.removed_on:%Y-%m-%d}，"
                f"{d.label('removal_reasons', removal.reason)}，留置{removal.dwell_days}天。"
                + ("已计入非计划拔管。" if removal.unplanned else "")
                + (
                    f"并发症 #{removal.complication_id} 已结案（导致拔管）。"
                    if removal.complication_id
                    else ""
                )
                + "维护提醒和随访已停止"
                + ("，已通知患者。" if result.outbox_ids else "。")
            )
            uow.commit()
        with suppress(redis.RedisError):  # rows stay pending; the sweeper sends them later
            for outbox_id in result.outbox_ids:
                enqueue_send(rt.redis, outbox_id)
        dispatcher.utter_message(text=text)
