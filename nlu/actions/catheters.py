"""Which catheter a clinician means: the one just scanned, or found by the patient's name.

Shared by the maintenance, complication and consultation forms. Only catheters in place of
patients the clinician may see are offered (bot/services/access.py); every lookup is an
audited read of patient data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.care.rules import local_date
from bot.container import current as container
from bot.models import Catheter, Patient, Staff
from bot.models.enums import ActorType, CatheterState
from bot.security.masking import mask_name
from bot.services import access, audit
from bot.services import dictionary as dictionary_service

from . import gate, parsing

MAX_CANDIDATES = 5
# The slot a QR scan fills with the scanned catheter's id (issue 6).
SCANNED = "scanned_catheter_id"
_FILLER = re.compile(r"患者|病人|病员|床|的|给|帮|查|找|一下|是|叫|姓名|名字|[\s，,。.、:：]")


def actor(tracker: Tracker) -> audit.Actor:
    return audit.Actor(ActorType.STAFF, gate.metadata(tracker).get("staff_id"))


@dataclass(frozen=True)
class Found:
    catheter_id: int | None
    candidates: list[int] | None = None
    message: str | None = None


def describe(d: Any, c: Catheter) -> str:
    where = "".join(x for x in (d.label("sides", c.side), d.label("veins", c.vein)) if x)
    placed = local_date(c.placed_at, container().settings.timezone)  # the hospital's calendar
    return (
        f"{c.patient.name} {d.label('device_types', c.device_type)}"
        f"{('（' + where + '）') if where else ''} {placed:%Y-%m-%d}置入"
    )


def resolve(tracker: Tracker, value: Any) -> Found:
    """Turn what the clinician typed (a name, or a number from the offered list) into one
    catheter in place."""
    candidates = tracker.get_slot("candidates") or []
    text = parsing.normalise(str(value or ""))
    if candidates and (index := parsing.choice(text, len(candidates))) is not None:
        return _by_id(tracker, int(candidates[index]))
    if isinstance(value, int) and not isinstance(value, bool):  # a scanned catheter
        return _by_id(tracker, value)
    name = gate.patient_name(tracker) or _FILLER.sub("", text)
    if not name or len(name) > 20 or text.startswith("/"):
        return Found(
            None, message="请发送患者姓名（例如“张三”），或点击菜单“扫码”扫描患者的置管二维码。"
        )
    rt = container()
    staff_id = gate.metadata(tracker).get("staff_id")
    with rt.uow() as uow:
        staff = uow.session.get(Staff, staff_id) if staff_id else None
        if staff is None:
            return Found(None, message=gate.UNKNOWN_STAFF)
        d = dictionary_service.current(uow.session)
        rows = access.find_catheters(
            uow.session,
            actor(tracker),
            Patient.name == name,
            Catheter.state == CatheterState.IN_PLACE,
            context="chat-form",
            limit=MAX_CANDIDATES + 1,
        )
        lines = [f"{n}. {describe(d, c)}" for n, c in enumerate(rows[:MAX_CANDIDATES], 1)]
        ids = [c.id for c in rows[:MAX_CANDIDATES]]
        uow.commit()
    if not rows:
        return Found(
            None,
            message=f"没有找到带管在位的患者“{mask_name(name)}”（或您无权查看）。请核对姓名，或扫描患者的置管二维码。",
        )
    if len(rows) == 1:
        return Found(ids[0])
    more = "\n（同名较多，仅列出最近5根，建议扫码）" if len(rows) > MAX_CANDIDATES else ""
    return Found(
        None,
        candidates=ids,
        message="找到多根在位导管，请回复序号选择：\n" + "\n".join(lines) + more,
    )


def meant(tracker: Tracker) -> int | str | None:
    """What a form's first message says about the catheter: the one just scanned, else the
    patient's name (resolved by ``validate``), else nothing (the form asks)."""
    scanned: int | None = tracker.get_slot(SCANNED)
    # "张金根下次维护定在下周五": a name the clinician may see, or the model's; not a guess
    return scanned or gate.patient_name(tracker, guessed=False)


def validate(
    slot: str, value: Any, tracker: Tracker, dispatcher: CollectingDispatcher
) -> dict[str, Any]:
    """A form's catheter slot: the one catheter meant, or what to say and the list offered."""
    found = resolve(tracker, value)
    if found.catheter_id is None:
        dispatcher.utter_message(text=found.message)
    return {slot: found.catheter_id, "candidates": found.candidates}


def _by_id(tracker: Tracker, catheter_id: int) -> Found:
    staff_id = gate.metadata(tracker).get("staff_id")
    with container().uow() as uow:
        if not staff_id or uow.session.get(Staff, staff_id) is None:
            return Found(None, message=gate.UNKNOWN_STAFF)
        try:
            catheter = access.open_catheter(
                uow.session, actor(tracker), catheter_id, context="chat-form"
            )
        except access.NotVisible:
            uow.commit()  # a refusal is audited as denied
            return Found(None, message="找不到这根导管（或您无权查看），请重新扫码或发送患者姓名。")
        if catheter.state is not CatheterState.IN_PLACE:
            return Found(None, message="该导管已拔除，请发送其他患者姓名，或回复“取消”。")
        uow.commit()
    return Found(catheter_id)


def load(catheter_id: int) -> tuple[Catheter, Any]:
    """The catheter (with its patient loaded) and the current dictionary, detached."""
    with container().uow() as uow:
        catheter = uow.session.get(Catheter, catheter_id)
        assert catheter is not None
        _ = catheter.patient.name
        d = dictionary_service.current(uow.session)
        uow.session.expunge_all()
    return catheter, d
