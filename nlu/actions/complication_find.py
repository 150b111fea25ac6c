"""Which complication a clinician means in chat: the patient named or scanned, else their own
open ones, narrowed by the type said (bot/services/complications.listing checks access and
audits the read); and how a complication is named in replies."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from sqlalchemy import select

from bot.container import current as container
from bot.models import Catheter, Complication, Patient
from bot.models.enums import ComplicationStatus
from bot.services import access
from bot.services import complications as complication_service
from bot.services import dictionary as dictionary_service

from . import catheters, forms, gate, parsing
from .complication import type_code

MAX_CHOICES = 5


def dictionary() -> Any:
    with container().uow() as uow:
        return dictionary_service.current(uow.session)


def type_meant(tracker: Tracker, text: str, d: Any) -> str | None:
    entity = gate.entity(tracker, "complication")
    code = type_code(str(entity), d) if entity else None
    if code is None and re.search(r"静脉炎|血栓|堵|渗|感染|移位|过敏|脱出|断", text):
        code = type_code(text, d)
    if code in ("OCCLUSION_PARTIAL", "OCCLUSION_COMPLETE"):
        return "OCCLUSION"  # either kind of occlusion
    return code


def name_meant(tracker: Tracker, value: Any) -> str | None:
    name = gate.patient_name(tracker) or parsing.normalise(str(value or ""))
    return name if name and len(name) <= 20 and not name.startswith("/") else None


def find(tracker: Tracker, spec: dict[str, Any]) -> tuple[list[int], bool]:
    """The complications meant (open ones first; closed ones only when none is open) and
    whether they came from the broad fallback (all open ones this clinician may see)."""
    actor = catheters.actor(tracker)
    if not gate.metadata(tracker).get("staff_id"):
        return [], False
    kind = spec.get("type")
    with container().uow() as uow:
        s = uow.session
        where: list[Any] = []
        if spec.get("catheter"):
            where.append(Catheter.id == int(spec["catheter"]))
        elif spec.get("name"):
            where.append(Patient.name == spec["name"])
        if where:
            found = access.find_catheters(s, actor, *where, context="chat-form", limit=10)
            query = select(Complication).where(Complication.catheter_id.in_([c.id for c in found]))
            if kind:
                query = query.where(_type_clause(kind))
            rows = list(s.scalars(query.order_by(Complication.reported_at.desc())))
            uow.commit()
            still_open = [c.id for c in rows if c.status is not ComplicationStatus.CLOSED]
            return (still_open or [c.id for c in rows])[:MAX_CHOICES], False
        d = dictionary_service.current(s)
        mine = complication_service.listing(s, d, actor=actor, status="open", mine=True)
        mine = [e for e in mine if not kind or _type_matches(s, e.id, kind)]
        broad: list[Any] = []
        if not mine and kind:
            broad = complication_service.listing(s, d, actor=actor, status="open")
            broad = [e for e in broad if _type_matches(s, e.id, kind)]
        uow.commit()
    chosen = mine or broad
    return [e.id for e in chosen][:MAX_CHOICES], not mine


def _type_clause(kind: str) -> Any:
    if kind == "OCCLUSION":
        return Complication.type.in_(["OCCLUSION_PARTIAL", "OCCLUSION_COMPLETE"])
    return Complication.type == kind


def _type_matches(session: Any, complication_id: int, kind: str) -> bool:
    c = session.get(Complication, complication_id)
    return c is not None and (c.type == kind or (kind == "OCCLUSION" and "OCCLUSION" in c.type))


def none_found(spec: dict[str, Any]) -> str:
    who = f"{spec['name']}的" if spec.get("name") else "您负责的"
    what = "并发症"
    if spec.get("type"):
        d = dictionary()
        what = d.label("complications", spec["type"]) or "堵管"
    return (
        f"没有找到{who}{what}记录（或您无权查看）。请发送患者姓名，"
        "或回复“取消”；新发生的并发症请发送“上报并发症”。"
    )


def status(complication_id: int) -> str:
    with container().uow() as uow:
        c = uow.session.get(Complication, complication_id)
        return c.status.name if c else "CLOSED"


def describe(complication_id: int) -> str:
    with container().uow() as uow:
        d = dictionary_service.current(uow.session)
        c = uow.session.get(Complication, complication_id)
        assert c is not None
        grade = f" {c.grade}级" if c.grade is not None else ""
        return (
            f"#{c.id} {c.catheter.patient.name} {d.label('device_types', c.catheter.device_type)}"
            f" {d.label('complications', c.type)}{grade}（{c.onset_on:%m-%d}发生，"
            f"{complication_service.status_label(c.status)}）"
        )


def choices(ids: list[int], heading: str = "找到以下并发症，请回复序号选择：") -> str:
    return heading + "\n" + "\n".join(f"{n}. {describe(i)}" for n, i in enumerate(ids, 1))


def closed_text(complication_id: int) -> str:
    with container().uow() as uow:
        d = dictionary_service.current(uow.session)
        c = uow.session.get(Complication, complication_id)
        assert c is not None
        when = f"于{forms.local(c.resolved_at):%Y-%m-%d}" if c.resolved_at else ""
        outcome = d.label("complication_outcomes", c.outcome) if c.outcome else ""
    return f"{describe(complication_id)}已{when}结案" + (f"（{outcome}）" if outcome else "") + "。"


def closed_in(session: Any, complication_id: int) -> bool:
    c = session.get(Complication, complication_id)
    return c is not None and c.status is ComplicationStatus.CLOSED


def describe_in(session: Any, d: Any, complication_id: int) -> str:
    c = session.get(Complication, complication_id)
    device = d.label("device_types", c.catheter.device_type)
    return f"#{c.id} {c.catheter.patient.name} {device} {d.label('complications', c.type)}"
