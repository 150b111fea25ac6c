"""Asking for a consultation: one per request, within the requester's access, consultants
picked from the roster (or the one named)."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.adapters.media import StoredMedia
from bot.models import (
    Catheter,
    Complication,
    Consultation,
    ConsultationMedia,
    ConsultationMember,
    Patient,
    Staff,
)
from bot.models.enums import ConsultationStatus, StaffRole

from .. import access, audit
from . import MEDIA_WINDOW_MINUTES, ConsultationError, roster

log = logging.getLogger(__name__)

MAX_QUESTION = 2000
TITLE_LENGTH = 60
MB = 1 << 20
# WeChat Work's upload limits (what the group chat can carry), in bytes and in words
LIMITS = {
    "image": (10 * MB, "图片不能超过10MB，且须为JPG或PNG格式"),
    "voice": (2 * MB, "语音不能超过2MB（约60秒），且须为AMR或SPEEX格式"),
    "video": (10 * MB, "视频不能超过10MB，且须为MP4格式"),
    "file": (20 * MB, "文件不能超过20MB"),
}
IMAGE_TYPES = {"image/jpeg", "image/jpg", "image/png"}
VOICE_TYPES = {"audio/amr", "audio/speex", "audio/x-speex", "audio/speex-with-header-byte"}
VIDEO_TYPES = {"video/mp4"}
KIND_WORDS = {"image": "图片", "voice": "语音", "video": "视频", "file": "文件"}
ROLES = ("requester", "consultant", "member")


def _key(requester_id: int, patient_id: int, catheter_id: int | None, question: str) -> str:
    text = re.sub(r"\s+", "", question)
    raw = f"{requester_id}|{patient_id}|{catheter_id or ''}|{text}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _question(text: str) -> str:
    question = (text or "").strip()
    if not question:
        raise ConsultationError("请填写会诊问题，如“穿刺点红肿三天，是否需要拔管？”")
    if len(question) > MAX_QUESTION:
        raise ConsultationError(f"会诊问题过长，最多{MAX_QUESTION}字，请精简后再提交。")
    return question


def _title(question: str) -> str:
    first = question.splitlines()[0].strip()
    return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1] + "…"


def _visible_patient(session: Session, actor: audit.Actor, patient_id: int) -> Staff:
    """The requester if they may see the patient; NotVisible (audited "denied") otherwise."""
    staff = access.staff_of(session, actor)
    if session.get(Patient, patient_id) is None:
        raise access.NotVisible(f"patient {patient_id}")
    if not access.staff_may_see_patient(session, staff, patient_id):
        audit.record(
            session,
            actor,
            "denied",
            "patient",
            patient_id,
            patient_id=patient_id,
            context="consultation",
            detail={"wanted": "consult"},
        )
        raise access.NotVisible(f"patient {patient_id}")
    return staff


def _check_subjects(
    session: Session, patient_id: int, catheter_id: int | None, complication_id: int | None
) -> int | None:
    """The catheter (possibly the complication's) after checking both are the patient's."""
    if complication_id is not None:
        complication = session.get(Complication, complication_id)
        if complication is None or complication.patient_id != patient_id:
            raise ConsultationError("找不到该并发症记录，请从患者的并发症列表重新发起会诊。")
        if catheter_id is None:
            catheter_id = complication.catheter_id
        elif complication.catheter_id != catheter_id:
            raise ConsultationError("并发症与所选导管不符，请重新选择。")
    if catheter_id is not None:
        catheter = session.get(Catheter, catheter_id)
        if catheter is None or catheter.patient_id != patient_id:
            raise ConsultationError("找不到这根导管，请重新扫码或查找患者。")
    return catheter_id


def consultants_for(
    session: Session,
    now: datetime,
    tz: ZoneInfo,
    *,
    requester: Staff,
    consultant_id: int | None = None,
) -> list[Staff]:
    """The named consultant if they may consult, else the roster's on-duty consultants,
    else the home hospital's vascular experts; never the requester."""
    if consultant_id is not None:
        named = session.get(Staff, consultant_id)
        if named is not None and named.id != requester.id and roster.may_consult(session, named):
            return [named]
        log.info("named consultant %s may not consult; using the roster", consultant_id)
    for pick in (roster.on_duty(session, now, tz), roster.fallback(session)):
        people = [s for s in pick if s.id != requester.id]
        if people:
            return people
    return []


def request(
    session: Session,
    *,
    patient_id: int,
    catheter_id: int | None,
    complication_id: int | None,
    question: str,
    urgent: bool,
    actor: audit.Actor,
    now: datetime,
    tz: ZoneInfo,
    consultant_id: int | None = None,
    context: str = "chat",
) -> Consultation:
    """Record a consultation request (status REQUESTED) with its members: the requester
    (role "requester") and the consultants (role "consultant": ``consultant_id`` if given and
    a consultant may take it, else the roster's on-duty consultants at ``now``, else every
    active vascular expert of the home hospital). Raises ``access.NotVisible`` for a patient
    the requester may not see (audited "denied"), ``ConsultationError`` with a Chinese reason
    when nobody can be consulted or the question is empty. The same requester asking the same
    question about the same patient and catheter while the first is not closed gets the first
    one back (``request_key``), nothing new. Audited ("create"). The caller commits, then
    enqueues ``bot.jobs.queues.enqueue_consultation(conn, consultation.id)``."""
    requester = _visible_patient(session, actor, patient_id)
    text = _question(question)
    catheter_id = _check_subjects(session, patient_id, catheter_id, complication_id)
    key = _key(requester.id, patient_id, catheter_id, text)
    same = session.scalar(select(Consultation).where(Consultation.request_key == key))
    if same is not None:
        return same
    consultants = consultants_for(
        session, now, tz, requester=requester, consultant_id=consultant_id
    )
    if not consultants:
        raise ConsultationError(
            "目前没有可以接受会诊的专家（排班表和静脉治疗专家名单都为空），"
            "请电话联系静脉治疗专科，或请管理员维护会诊排班。"
        )
    consultation = Consultation(
        patient_id=patient_id,
        catheter_id=catheter_id,
        complication_id=complication_id,
        requested_by_id=requester.id,
        title=_title(text),
        summary=text,
        urgent=urgent,
        status=ConsultationStatus.REQUESTED,
        request_key=key,
        requested_consultant_id=consultant_id,
        created_at=now,
    )
    try:
        with session.begin_nested():  # a double tap racing this one: its row wins, use it
            session.add(consultation)
            session.flush()
    except IntegrityError:
        same = session.scalar(select(Consultation).where(Consultation.request_key == key))
        if same is None:
            raise
        return same
    session.add(
        ConsultationMember(
            consultation_id=consultation.id, staff_id=requester.id, role="requester", added_at=now
        )
    )
    for staff in consultants:
        session.add(
            ConsultationMember(
                consultation_id=consultation.id, staff_id=staff.id, role="consultant", added_at=now
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "consultation",
        consultation.id,
        patient_id=patient_id,
        context=context,
        detail={
            "consultants": [s.id for s in consultants],
            "catheter_id": catheter_id,
            "complication_id": complication_id,
            "urgent": urgent,
        },
    )
    session.expire(consultation, ["members"])
    return consultation


def accepting_media(session: Session, staff_id: int, now: datetime) -> Consultation | None:
    """The consultation a photo / voice note / video this staff member sends in the app chat
    belongs to: their latest request, not closed, made within ``MEDIA_WINDOW_MINUTES`` (or
    whose latest media came within that window)."""
    since = now - timedelta(minutes=MEDIA_WINDOW_MINUTES)
    latest = session.scalar(
        select(Consultation)
        .where(
            Consultation.requested_by_id == staff_id,
            Consultation.status != ConsultationStatus.CLOSED,
        )
        .order_by(Consultation.created_at.desc(), Consultation.id.desc())
        .limit(1)
    )
    if latest is None:
        return None
    if latest.created_at >= since:
        return latest
    last_media = session.scalar(
        select(func.max(ConsultationMedia.created_at)).where(
            ConsultationMedia.consultation_id == latest.id
        )
    )
    return latest if last_media is not None and last_media >= since else None


def _content_ok(kind: str, stored: StoredMedia) -> bool:
    content_type = stored.content_type.split(";")[0].strip().lower()
    suffix = stored.path.suffix.lower()
    if kind == "image":
        return content_type in IMAGE_TYPES
    if kind == "voice":
        return content_type in VOICE_TYPES or suffix in (".amr", ".speex", ".spx")
    if kind == "video":
        return content_type in VIDEO_TYPES or suffix == ".mp4"
    return stored.size > 0


def check_media(kind: str, stored: StoredMedia) -> None:
    """ConsultationError, saying the limit, for media the group chat cannot carry."""
    if kind not in LIMITS:
        raise ConsultationError("只能发送图片、语音、视频或文件。")
    limit, words = LIMITS[kind]
    if stored.size > limit or not _content_ok(kind, stored):
        size = f"{stored.size / MB:.1f}MB"
        raise ConsultationError(
            f"这段{KIND_WORDS[kind]}（{size}）无法转入会诊群：企业微信规定{words}。"
            + ("请分段录制后再发送。" if kind == "voice" else "请压缩或转换后再发送。")
        )


def _relative(path: Path, media_root: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(media_root).resolve()))
    except ValueError:
        return str(path)


def attach_media(
    session: Session,
    consultation: Consultation,
    stored: StoredMedia,
    kind: str,
    *,
    actor: audit.Actor,
    media_root: str,
    context: str = "chat",
) -> bool:
    """Keep a photo ("image"), voice note ("voice"), video ("video") or file ("file") with the
    consultation (once per content hash: False if it was there already). ``stored`` is already
    saved under MEDIA_ROOT (``MediaStore.fetch_inbound``). Refuses with ``ConsultationError``
    media over WeChat Work's limits (image 10 MB, voice 2 MB / AMR or SPEEX, video 10 MB MP4,
    file 20 MB), saying the limit. If the group chat is open already, the caller enqueues the
    posting job again so the new media reaches the group."""
    if consultation.status is ConsultationStatus.CLOSED:
        raise ConsultationError("该会诊已结束，不能再添加资料。如需继续讨论，请重新发起会诊。")
    check_media(kind, stored)
    exists = session.scalar(
        select(ConsultationMedia.id).where(
            ConsultationMedia.consultation_id == consultation.id,
            ConsultationMedia.sha256 == stored.sha256,
        )
    )
    if exists is not None:
        return False
    media = ConsultationMedia(
        consultation_id=consultation.id,
        kind=kind,
        path=_relative(stored.path, media_root),
        sha256=stored.sha256,
        content_type=stored.content_type,
        size=stored.size,
        uploaded_by_id=actor.id,
    )
    try:
        with session.begin_nested():  # the same file uploaded twice at once: one row
            session.add(media)
            session.flush()
    except IntegrityError:
        if (
            session.scalar(
                select(ConsultationMedia.id).where(
                    ConsultationMedia.consultation_id == consultation.id,
                    ConsultationMedia.sha256 == stored.sha256,
                )
            )
            is None
        ):
            raise
        return False
    audit.record(
        session,
        actor,
        "create",
        "consultation_media",
        media.id,
        patient_id=consultation.patient_id,
        context=context,
        detail={"consultation_id": consultation.id, "kind": kind},
    )
    session.expire(consultation, ["media"])
    return True


def role_of(session: Session, consultation: Consultation, staff_id: int | None) -> str | None:
    """The staff member's role in the consultation (requester / consultant / member)."""
    if staff_id is None:
        return None
    return session.scalar(
        select(ConsultationMember.role).where(
            ConsultationMember.consultation_id == consultation.id,
            ConsultationMember.staff_id == staff_id,
        )
    )


def is_admin(session: Session, staff_id: int | None) -> bool:
    staff = session.get(Staff, staff_id) if staff_id is not None else None
    return staff is not None and staff.active and staff.role is StaffRole.ADMIN


def add_member(
    session: Session, consultation: Consultation, staff: Staff, *, actor: audit.Actor
) -> bool:
    """Invite one more clinician (role "member"); the chat job adds them to the group chat
    (``appchat/update``). False if they were a member already. Only the requester, a consultant
    or an admin may add, and an outside clinician (who then sees the patient) only a
    consultant or an admin; ``ConsultationError`` otherwise."""
    inviter_role = role_of(session, consultation, actor.id)
    admin = is_admin(session, actor.id)
    if inviter_role not in ("requester", "consultant") and not admin:
        raise ConsultationError("只有会诊申请人、会诊专家或管理员可以邀请成员。")
    if staff.role is StaffRole.OUTSIDE_CLINICIAN and inviter_role != "consultant" and not admin:
        # an invited member sees the patient: outside clinicians only by a consultant or admin
        raise ConsultationError(
            f"{staff.name}是外院医护人员，加入会诊后可查看该患者资料，只能由会诊专家或管理员邀请。"
        )
    if consultation.status is ConsultationStatus.CLOSED:
        raise ConsultationError("该会诊已结束，不能再邀请成员。")
    if not staff.active:
        raise ConsultationError(f"{staff.name}的账号已停用，不能邀请。")
    if role_of(session, consultation, staff.id) is not None:
        return False
    member = ConsultationMember(consultation_id=consultation.id, staff_id=staff.id, role="member")
    try:
        with session.begin_nested():  # invited twice at once: one membership
            session.add(member)
            session.flush()
    except IntegrityError:
        if role_of(session, consultation, staff.id) is None:
            raise
        return False
    audit.record(
        session,
        actor,
        "add_member",
        "consultation",
        consultation.id,
        patient_id=consultation.patient_id,
        context="consultation",
        detail={"staff_id": staff.id},
    )
    session.expire(consultation, ["members"])
    return True
