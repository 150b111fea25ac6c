"""Complication photos sent in the clinician chat (C3.4): a photo sent while a report or a
handling step is being written is kept for it and saved with it; one sent within 30 minutes
after the clinician's own report or handling step is added to that complication (to the
step, when it follows one); otherwise the bot says where to add it. Each photo is checked and
kept once by the service (bot/services/complications.add_photos)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.container import current as container
from bot.models import Complication, utcnow
from bot.services import complications as complication_service
from bot.services import dictionary as dictionary_service

from . import catheters, forms, gate

log = logging.getLogger(__name__)
PENDING = "c_photos"  # photos sent while a form runs: [{"path", "sha256"}]
PHOTO_TARGET = "photo_target"  # the step just recorded: {"complication", "step", "at"}
WITHIN = timedelta(minutes=30)
HOLDING_FORMS = ("complication_form", "handling_form")


def photo_target(complication_id: int, step_id: int | None) -> SlotSet:
    return SlotSet(
        PHOTO_TARGET,
        {"complication": complication_id, "step": step_id, "at": utcnow().isoformat()},
    )


def _target(tracker: Tracker) -> tuple[int, int | None] | None:
    """Where a photo sent now goes: the later of this clinician's last handling step in chat
    and their last report, if within 30 minutes."""
    found = latest(tracker)
    return (found[1], found[2]) if found else None


def latest(tracker: Tracker) -> tuple[datetime, int, int | None] | None:
    """When, on which complication and step this clinician last reported or handled one in
    chat, if within 30 minutes (a consultation requested later takes the photo instead)."""
    now = utcnow()
    value = tracker.get_slot(PHOTO_TARGET)
    step: tuple[datetime, int, int | None] | None = None
    if isinstance(value, dict) and value.get("complication"):
        at = datetime.fromisoformat(str(value["at"]))
        if now - at <= WITHIN:
            step = (at, int(value["complication"]), value.get("step"))
    staff_id = gate.metadata(tracker).get("staff_id")
    with container().uow() as uow:
        reported = (
            complication_service.latest_reported_by(uow.session, int(staff_id), since=now - WITHIN)
            if staff_id
            else None
        )
        report = (reported.reported_at, reported.id, None) if reported else None
    return max((x for x in (step, report) if x), default=None, key=lambda x: x[0])


def attach(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    complication_id: int,
    photos: list[dict[str, Any]],
    step_id: int | None = None,
) -> int:
    """Add the photos to the complication and say so; how many were added (0 when refused:
    the complication is kept as it was)."""
    if not photos:
        return 0
    rt = container()
    try:
        data = [(Path(str(p["path"])).read_bytes(), "") for p in photos]
    except OSError as exc:
        log.warning("complication photo unreadable: %s", exc)
        dispatcher.utter_message(text="照片没有保存成功，请重新发送。")
        return 0
    with rt.uow() as uow:
        try:
            kept = complication_service.add_photos(
                uow.session,
                complication_id,
                data,
                actor=catheters.actor(tracker),
                media=rt.media,
                step_id=step_id,
            )
        except complication_service.ComplicationRefused as exc:
            uow.rollback()
            log.info("complication photo refused: %s", exc)
            dispatcher.utter_message(text=f"照片未添加：{exc}")
            return 0
        d = dictionary_service.current(uow.session)
        c = uow.session.get(Complication, complication_id)
        assert c is not None
        what = f"{c.catheter.patient.name} {d.label('complications', c.type)}"
        uow.commit()
    dispatcher.utter_message(text=f"已添加{len(kept)}张照片到并发症 #{complication_id}（{what}）。")
    return len(kept)


def pending(tracker: Tracker) -> list[dict[str, Any]]:
    return list(tracker.get_slot(PENDING) or [])


class PhotoKeepingForm(forms.ChatForm):
    """A form during which a photo may arrive: the photo is not an answer to the question
    asked (the form is rejected, the photo rule runs this module's action, the form goes on)."""

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if forms.latest_intent(tracker) == "upload_image":
            return []
        return await super().get_extraction_events(dispatcher, tracker, domain)


class ActionComplicationPhoto(Action):
    def name(self) -> str:
        return "action_complication_photo"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if not gate.is_clinician(tracker):
            return []  # a patient's photo is a report (action_receive_report)
        if gate.entity(tracker, "media_error"):
            dispatcher.utter_message(text="照片没有收到（可能已过期），请重新发送。")
            return []
        path, sha256 = gate.entity(tracker, "media_path"), gate.entity(tracker, "sha256")
        if not path or not sha256:
            dispatcher.utter_message(text="照片没有收到，请重新发送。")
            return []
        photo = {"path": str(path), "sha256": str(sha256)}
        if tracker.active_loop.get("name") in HOLDING_FORMS:
            held = [p for p in pending(tracker) if p["sha256"] != photo["sha256"]] + [photo]
            dispatcher.utter_message(text=f"已收到{len(held)}张照片，提交后一并保存。")
            return [SlotSet(PENDING, held)]
        target = _target(tracker)
        if target is None:
            base = container().settings.public_base_url
            dispatcher.utter_message(
                text="这张照片没有对应的并发症。请先上报并发症或记录处理，30分钟内发送照片即可添加；"
                f"也可在并发症页面上传：{base}/staff/complications"
            )
            return []
        attach(dispatcher, tracker, target[0], [photo], step_id=target[1])
        return []
