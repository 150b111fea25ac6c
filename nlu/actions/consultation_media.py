"""Photos, voice notes and videos a clinician sends in the app chat for a consultation (C5.1):
sent while the request form runs, they are kept and attached when it is submitted; sent
within ``MEDIA_WINDOW_MINUTES`` of the request (or of its last media), they are attached to it
and the consultation job brings them into the group chat. A photo goes to whichever came last
of the clinician's consultation request and their complication report or handling step
(``complication_photos``). The turn has already downloaded the media into MEDIA_ROOT
(entities ``media_path``, ``sha256``, ``content_type``)."""

from __future__ import annotations

import logging
import mimetypes
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.adapters.media import StoredMedia
from bot.container import current as container
from bot.jobs.queues import enqueue_consultation
from bot.models import (
    Complication,
    ComplicationStep,
    Consultation,
    ConsultationMedia,
    utcnow,
)
from bot.models.enums import ComplicationStatus
from bot.services.consultations import MEDIA_WINDOW_MINUTES, ConsultationError, requests, views

from . import catheters, common, complication_photos, forms, gate

log = logging.getLogger(__name__)
HELD = "k_media"  # media sent while the request form runs: [{"path", "sha256", ...}]
FORM = "consultation_form"
KINDS = {"upload_image": "image", "voice_unrecognized": "voice", "upload_video": "video"}
WORDS = views.MEDIA_LABELS
VOICE_NOT_HEARD = "抱歉，没有听清这段语音。请再说一遍，或直接输入文字。"
RECENT = timedelta(days=7)  # a complication this clinician reported or handled "recently"


def concerned(
    session: Session, catheter_id: int, staff_id: int | None, now: datetime
) -> int | None:
    """The complication a request is about: the catheter's latest one not closed that this
    clinician reported or handled within ``RECENT``; None if there is none."""
    if staff_id is None:
        return None
    handled = (
        select(ComplicationStep.complication_id)
        .where(ComplicationStep.staff_id == staff_id, ComplicationStep.at >= now - RECENT)
        .scalar_subquery()
    )
    mine = or_(
        (Complication.reported_by_id == staff_id) & (Complication.reported_at >= now - RECENT),
        Complication.id.in_(handled),
    )
    return session.scalar(
        select(Complication.id)
        .where(
            Complication.catheter_id == catheter_id,
            Complication.status != ComplicationStatus.CLOSED,
            mine,
        )
        .order_by(
            func.coalesce(Complication.last_step_at, Complication.reported_at).desc(),
            Complication.id.desc(),
        )
        .limit(1)
    )


def _stored(tracker: Tracker) -> StoredMedia | None:
    path, sha256 = gate.entity(tracker, "media_path"), gate.entity(tracker, "sha256")
    if not path or not sha256:
        return None
    content_type = str(
        gate.entity(tracker, "content_type")
        or mimetypes.guess_type(str(path))[0]
        or "application/octet-stream"
    )
    try:
        size = Path(str(path)).stat().st_size
    except OSError:
        return None
    return StoredMedia(Path(str(path)), str(sha256), content_type, size)


def _attach(consultation_id: int, stored: StoredMedia, kind: str, tracker: Tracker) -> str:
    """Attach one medium and bring it to the group; what to tell the clinician."""
    rt = container()
    with rt.uow() as uow:
        consultation = uow.session.get(Consultation, consultation_id)
        assert consultation is not None
        try:
            added = requests.attach_media(
                uow.session,
                consultation,
                stored,
                kind,
                actor=catheters.actor(tracker),
                media_root=str(rt.settings.media_root),
            )
        except ConsultationError as exc:
            uow.rollback()
            return f"未加入会诊（编号 {consultation_id}）：{exc}"
        count = uow.session.scalar(
            select(func.count(ConsultationMedia.id)).where(
                ConsultationMedia.consultation_id == consultation_id
            )
        )
        uow.commit()
    if not added:
        return f"这个{WORDS[kind]}已在会诊（编号 {consultation_id}）中，无需重复发送。"
    try:
        enqueue_consultation(rt.redis, consultation_id)
    except redis.RedisError:  # the next media, a note or the admin's retry brings it along
        log.exception("could not enqueue consultation %s", consultation_id)
    return f"已加入会诊（第{count}个附件），将转发到会诊群。"


def attach_held(dispatcher: CollectingDispatcher, tracker: Tracker, consultation_id: int) -> int:
    """Attach the media kept while the request form ran; how many were added."""
    added = 0
    for held in tracker.get_slot(HELD) or []:
        stored = StoredMedia(
            Path(held["path"]), held["sha256"], held["content_type"], int(held["size"])
        )
        said = _attach(consultation_id, stored, held["kind"], tracker)
        if said.startswith("已加入"):
            added += 1
        else:
            dispatcher.utter_message(text=said)
    return added


class MediaKeepingForm(forms.ChatForm):
    """A form during which a photo, voice note or video may arrive: it is not an answer (the
    form is rejected, the media rule runs ``action_clinician_media``, the form goes on)."""

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if forms.latest_intent(tracker) in KINDS and tracker.get_slot(forms.REQUESTED_SLOT):
            return []
        return await super().get_extraction_events(dispatcher, tracker, domain)


class ActionClinicianMedia(Action):
    """A photo, voice note or video: a consultation's, a complication's, or said where to go."""

    def name(self) -> str:
        return "action_clinician_media"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        kind = KINDS.get(forms.latest_intent(tracker), "image")
        if not gate.is_clinician(tracker):
            return self._patient(kind, dispatcher, tracker, domain)
        if gate.entity(tracker, "media_error"):
            dispatcher.utter_message(text=f"{WORDS[kind]}没有收到（可能已过期），请重新发送。")
            return []
        stored = _stored(tracker)
        if stored is None:
            dispatcher.utter_message(text=f"{WORDS[kind]}没有收到，请重新发送。")
            return []
        if tracker.active_loop.get("name") == FORM:
            return self._hold(kind, stored, dispatcher, tracker)
        staff_id = gate.metadata(tracker).get("staff_id")
        consultation = self._open(int(staff_id)) if staff_id else None
        if kind == "image":
            step = complication_photos.latest(tracker)
            if consultation is None or (step is not None and step[0] > consultation[1]):
                return complication_photos.ActionComplicationPhoto().run(
                    dispatcher, tracker, domain
                )
        if consultation is None:
            dispatcher.utter_message(
                text=f"这段{WORDS[kind]}没有对应的会诊。申请会诊后{MEDIA_WINDOW_MINUTES}分钟内"
                f"发送的照片、语音和视频会带入会诊群：请先发送“请求会诊”（可扫码后发送）。"
                "如需记录文字内容，请直接输入文字。"
            )
            return []
        dispatcher.utter_message(text=_attach(consultation[0], stored, kind, tracker))
        return []

    @staticmethod
    def _open(staff_id: int) -> tuple[int, datetime] | None:
        """The consultation taking media now, and since when (its request or last media)."""
        with container().uow() as uow:
            c = requests.accepting_media(uow.session, staff_id, utcnow())
            if c is None:
                return None
            last = uow.session.scalar(
                select(func.max(ConsultationMedia.created_at)).where(
                    ConsultationMedia.consultation_id == c.id
                )
            )
            return c.id, max(x for x in (c.created_at, last) if x is not None)

    @staticmethod
    def _hold(
        kind: str, stored: StoredMedia, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        try:
            requests.check_media(kind, stored)
        except ConsultationError as exc:
            dispatcher.utter_message(text=f"未收下：{exc}")
            return []
        held: list[dict[str, Any]] = [
            h for h in tracker.get_slot(HELD) or [] if h["sha256"] != stored.sha256
        ]
        held.append(
            {
                "path": str(stored.path),
                "sha256": stored.sha256,
                "content_type": stored.content_type,
                "size": stored.size,
                "kind": kind,
            }
        )
        dispatcher.utter_message(text=f"已收到{len(held)}个附件，提交会诊申请后一并带入会诊群。")
        return [SlotSet(HELD, held)]

    @staticmethod
    def _patient(
        kind: str, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if kind == "voice":
            dispatcher.utter_message(text=VOICE_NOT_HEARD)
        elif kind == "video":
            return common.ActionMediaUnsupported().run(dispatcher, tracker, domain)
        return []  # a patient's photo is a report (action_receive_report)
