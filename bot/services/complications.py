"""Complications handled to the end (P6.4, C3.4, C3.5): reported once (a double tap or a
colleague's second report of the same thing is the same record), photos kept once each, a
timeline of handling steps until it is closed with an outcome (reopening is a step too), and
the clinicians' list and record, within the access rules and audited.

Every function works in the caller's unit of work and raises ``ComplicationRefused`` (the
reason in Chinese) with nothing written by it; the caller rolls back and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.adapters.media import MediaStore
from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import (
    Catheter,
    Complication,
    ComplicationPhoto,
    ComplicationStep,
    Consultation,
    Patient,
    Removal,
    utcnow,
)
from bot.models.enums import CatheterState, ComplicationStatus, Sex
from bot.ocr.images import BadImage, open_photo
from bot.security.images import NotAnImage, check_photo

from . import access, audit, complication_alerts


class ComplicationRefused(Exception):
    """The change cannot be accepted; the message says why, in Chinese."""


class NeedsReopen(ComplicationRefused):
    """A handling step for a closed complication: ask whether to reopen it first."""

    def __init__(self) -> None:
        super().__init__("该并发症已结案，是否重新开启后再记录处理？")


@dataclass(frozen=True)
class Reported:
    complication: Complication
    created: bool
    outbox_ids: list[int]


OPEN_STATES = (ComplicationStatus.OPEN, ComplicationStatus.HANDLING)
STATUS_LABELS = {
    ComplicationStatus.OPEN: "待处理",
    ComplicationStatus.HANDLING: "处理中",
    ComplicationStatus.CLOSED: "已结案",
}
# steps the system writes for the timeline; the dictionary's handling_steps are the rest
SYSTEM_STEPS = {"REPORT": "上报", "CLOSE": "结案", "REOPEN": "重新开启"}
MAX_PHOTOS = 9  # what WeChat's picture picker allows at once
MAX_TEXT = 2000
SEX_WORDS = {Sex.MALE: "男", Sex.FEMALE: "女"}
_STEP_SLACK = timedelta(minutes=5)  # a phone's clock a little ahead is not "in the future"


def status_label(status: ComplicationStatus) -> str:
    return STATUS_LABELS[status]


def step_label(d: Dictionary, kind: str) -> str:
    return SYSTEM_STEPS.get(kind) or d.label("handling_steps", kind)


def step_kind(d: Dictionary, text: str) -> str:
    """The handling-step code the text means by the dictionary's cues: the longest cue found
    wins (湿热敷 over 敷料), ties go to the earlier code; NOTE when nothing matches."""
    best, best_len = "NOTE", 0
    for code, entry in d.codes.get("handling_steps", {}).items():
        for cue in entry.attrs.get("cues") or []:
            if cue and cue in text and len(cue) > best_len:
                best, best_len = code, len(cue)
    return best


def scale_of(d: Dictionary, type_code: str) -> list[int]:
    """The grades of the type's scale (0–4 for phlebitis); empty for a type without one."""
    scale = d.codes.get("complications", {}).get(type_code)
    name = scale.attrs.get("scale") if scale else None
    return [int(g["grade"]) for g in d.payload.get("scales", {}).get(name, [])] if name else []


def _text(value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_TEXT:
        raise ComplicationRefused(f"填写内容过长，每项最多{MAX_TEXT}字。")
    return text or None


def _check_type_and_grade(
    d: Dictionary, catheter: Catheter, type_code: str, grade: int | None
) -> None:
    entry = d.codes.get("complications", {}).get(type_code)
    if entry is None:
        raise ComplicationRefused("并发症类型不在字典中，请重新选择。")
    allowed = entry.attrs.get("device_types")
    if allowed and catheter.device_type not in allowed:
        devices = "、".join(d.label("device_types", x) for x in allowed)
        raise ComplicationRefused(f"“{entry.label}”只适用于{devices}，请重新选择类型。")
    grades = scale_of(d, type_code)
    if grades and grade is None:
        raise ComplicationRefused(f"请选择{entry.label}分级（{min(grades)}–{max(grades)}级）。")
    if grades and grade not in grades:
        raise ComplicationRefused(f"{entry.label}分级应为 {min(grades)}–{max(grades)} 级。")
    if not grades and grade is not None:
        raise ComplicationRefused(f"“{entry.label}”没有分级，请不要填写分级。")


def basic_info_of(d: Dictionary, catheter: Catheter, today: date, tz: ZoneInfo) -> str:
    """The generated 基本信息 line: sex, age, device (side, vein), placement date, dwell day."""
    p = catheter.patient
    parts = []
    if p.sex in SEX_WORDS:
        parts.append(SEX_WORDS[p.sex])
    if p.birth_date:
        age = (
            today.year
            - p.birth_date.year
            - ((today.month, today.day) < p.birth_date.timetuple()[1:3])
        )
        parts.append(f"{age}岁")
    where = "".join(
        x for x in (d.label("sides", catheter.side), d.label("veins", catheter.vein)) if x
    )
    parts.append(d.label("device_types", catheter.device_type) + (f"（{where}）" if where else ""))
    placed = rules.local_date(catheter.placed_at, tz)
    parts.append(f"置管日期{placed:%Y-%m-%d}")
    parts.append(f"置管第{rules.catheter_days(placed, None, today)}天")
    return "，".join(parts)


def report(
    session: Session,
    d: Dictionary,
    catheter_id: int,
    *,
    type_code: str,
    onset_on: date,
    grade: int | None,
    brief_history: str | None,
    tz: ZoneInfo,
    actor: audit.Actor,
    institution_id: int | None,
    basic_info: str | None = None,
    treatment: str | None = None,
    nursing_exam: str | None = None,
    idempotency_key: str | None = None,
    context: str = "chat",
) -> Reported:
    """Report a complication of a catheter in place (P6.4). The same key again, or the same
    type and onset date while one is still open, returns that record (``created`` False).
    A new one asks ``complication_alerts`` which alerts it raises (``outbox_ids``, to enqueue
    after commit). Refused: unknown catheter or type, a removed catheter, a grade off the
    type's scale, an onset before placement or after today."""
    # the catheter's row lock first: a double tap's second request waits here, then sees
    # the first one's record by its key
    catheter = session.get(Catheter, catheter_id, with_for_update=True)
    if catheter is None:
        raise ComplicationRefused("找不到这根导管，请重新扫码或查找患者。")
    if idempotency_key:
        same = session.scalar(
            select(Complication).where(Complication.idempotency_key == idempotency_key)
        )
        if same is not None:
            return Reported(same, False, [])
    if catheter.state is CatheterState.REMOVED:
        when = f"（{catheter.removed_on:%Y-%m-%d}）" if catheter.removed_on else ""
        raise ComplicationRefused(f"该导管已拔管{when}，不能再登记并发症。")
    _check_type_and_grade(d, catheter, type_code, grade)
    now = utcnow()
    today = rules.local_date(now, tz)
    placed_on = rules.local_date(catheter.placed_at, tz)
    if not placed_on <= onset_on <= today:
        raise ComplicationRefused(f"发生日期应在置管日期（{placed_on:%Y-%m-%d}）与今天之间。")
    texts = {
        "basic_info": _text(basic_info) or basic_info_of(d, catheter, today, tz),
        "brief_history": _text(brief_history),
        "treatment": _text(treatment),
        "nursing_exam": _text(nursing_exam),
    }
    open_same = session.scalar(
        select(Complication).where(
            Complication.catheter_id == catheter.id,
            Complication.type == type_code,
            Complication.onset_on == onset_on,
            Complication.status.in_(OPEN_STATES),
        )
    )
    if open_same is not None:
        return Reported(open_same, False, [])
    complication = Complication(
        catheter_id=catheter.id,
        patient_id=catheter.patient_id,
        type=type_code,
        idempotency_key=idempotency_key,
        onset_on=onset_on,
        grade=grade,
        institution_id=institution_id,
        department_id=catheter.department_id,
        reported_by_id=actor.id,
        responsible_staff_id=catheter.responsible_staff_id,
        reported_at=now,
        last_step_at=now,
        **texts,
    )
    session.add(complication)
    session.flush()
    label = d.label("complications", type_code) + (f" {grade}级" if grade is not None else "")
    _system_step(session, complication, actor, "REPORT", f"上报：{label}", now)
    _audit(session, actor, "create", complication, context)
    session.flush()
    return Reported(complication, True, complication_alerts.on_reported(session, d, complication))


def _audit(
    session: Session,
    actor: audit.Actor,
    action: str,
    complication: Complication,
    context: str,
    detail: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        actor,
        action,
        "complication",
        complication.id,
        patient_id=complication.patient_id,
        context=context,
        detail=detail,
    )


def _system_step(
    session: Session,
    complication: Complication,
    actor: audit.Actor,
    kind: str,
    action: str,
    at: datetime,
) -> None:
    """A REPORT, CLOSE or REOPEN step: the timeline tells the whole story."""
    step = ComplicationStep(
        complication_id=complication.id, staff_id=actor.id, kind=kind, at=at, action=action
    )
    session.add(step)


def _locked(session: Session, complication_id: int) -> Complication:
    complication = session.get(Complication, complication_id, with_for_update=True)
    if complication is None:
        raise ComplicationRefused("找不到该并发症记录，请从并发症列表重新打开。")
    return complication


def _checked_photo(data: bytes) -> str:
    """The content type of a usable photo, else ComplicationRefused: the report photos'
    checks (JPEG/PNG up to 10 MB, decodable, not a bomb, not a thumbnail)."""
    try:
        content_type = check_photo(data)
        open_photo(data, long_side=320)
    except NotAnImage as exc:
        raise ComplicationRefused(str(exc)) from exc
    except BadImage as exc:  # its words are about reports; these photos are of the site
        reason = exc.reason.replace("整张报告", "拍摄部位").replace("报告内容", "内容")
        raise ComplicationRefused(reason.replace("报告的照片", "照片")) from exc
    return content_type


def add_photos(
    session: Session,
    complication_id: int,
    photos: list[tuple[bytes, str]],
    *,
    actor: audit.Actor,
    media: MediaStore,
    step_id: int | None = None,
    context: str = "chat",
) -> list[ComplicationPhoto]:
    """Attach photos (bytes, the name it came with: a file name or "") to a complication,
    each checked first and kept once by its content hash: the same photo again is the photo
    already kept. One bad photo refuses them all, naming it; the complication stays."""
    complication = _locked(session, complication_id)
    if not photos:
        raise ComplicationRefused("请先选择照片。")
    if len(photos) > MAX_PHOTOS:
        raise ComplicationRefused(f"一次最多上传{MAX_PHOTOS}张照片，请分几次上传。")
    checked = []
    for n, (data, name) in enumerate(photos, 1):
        try:
            checked.append((data, _checked_photo(data)))
        except ComplicationRefused as exc:
            which = f"第{n}张照片" + (f"（{name}）" if name else "")
            raise ComplicationRefused(f"{which}：{exc}") from exc
    kept: dict[str, ComplicationPhoto] = {
        p.sha256: p
        for p in session.scalars(
            select(ComplicationPhoto).where(ComplicationPhoto.complication_id == complication.id)
        )
    }
    result = []
    for data, content_type in checked:
        stored = media.save(data, content_type)
        photo = kept.get(stored.sha256)
        if photo is None:
            photo = ComplicationPhoto(
                complication_id=complication.id,
                step_id=step_id,
                path=str(stored.path),
                sha256=stored.sha256,
                content_type=content_type,
                uploaded_by_id=actor.id,
            )
            session.add(photo)
            session.flush()
            kept[stored.sha256] = photo
            audit.record(
                session,
                actor,
                "create",
                "complication_photo",
                photo.id,
                patient_id=complication.patient_id,
                context=context,
                detail={"complication_id": complication.id},
            )
        result.append(photo)
    return result


def add_step(
    session: Session,
    d: Dictionary,
    complication_id: int,
    *,
    text: str,
    actor: audit.Actor,
    kind: str | None = None,
    at: datetime | None = None,
    idempotency_key: str | None = None,
    context: str = "chat",
) -> ComplicationStep:
    """Record what was done (冷敷, 溶栓, 更换敷料 …): ``kind`` a handling_steps code, or read
    from the text's words. The first step moves the complication from 待处理 to 处理中. The
    same key again returns the step already kept. A closed complication raises NeedsReopen."""
    complication = _locked(session, complication_id)  # a double tap waits here, then replays
    if idempotency_key:
        same = session.scalar(
            select(ComplicationStep).where(ComplicationStep.idempotency_key == idempotency_key)
        )
        if same is not None:
            return same
    if complication.status is ComplicationStatus.CLOSED:
        raise NeedsReopen()
    action = _text(text)
    if action is None:
        raise ComplicationRefused("请填写处理内容，如“硫酸镁湿敷”。")
    if kind and not d.has_code("handling_steps", kind):
        raise ComplicationRefused("处理类别不在字典中，请重新选择。")
    now = utcnow()
    at = at or now
    if at > now + _STEP_SLACK:
        raise ComplicationRefused("处理时间不能晚于现在。")
    step = ComplicationStep(
        complication_id=complication.id,
        idempotency_key=idempotency_key,
        at=at,
        staff_id=actor.id,
        kind=kind or step_kind(d, action),
        action=action,
    )
    session.add(step)
    if complication.status is ComplicationStatus.OPEN:
        complication.status = ComplicationStatus.HANDLING
    if complication.last_step_at is None or at > complication.last_step_at:
        complication.last_step_at = at
    session.flush()
    _audit(
        session, actor, "add_step", complication, context, {"step_id": step.id, "kind": step.kind}
    )
    return step


def close(
    session: Session,
    d: Dictionary,
    complication_id: int,
    *,
    outcome: str,
    note: str | None,
    actor: audit.Actor,
    context: str = "chat",
) -> Complication:
    """Close with an outcome (complication_outcomes: 已痊愈, 好转, 导致拔管, 转诊/转科处理),
    written as the timeline's CLOSE step. Closing again with the same outcome changes nothing."""
    complication = _locked(session, complication_id)
    if not d.has_code("complication_outcomes", outcome):
        raise ComplicationRefused("请选择转归（已痊愈、好转、导致拔管或转诊/转科处理）。")
    if complication.status is ComplicationStatus.CLOSED:
        if complication.outcome == outcome:
            return complication
        raise ComplicationRefused(
            f"该并发症已结案（{d.label('complication_outcomes', complication.outcome)}），"
            "如需修改请先重新开启。"
        )
    now = utcnow()
    text = _text(note)
    label = d.label("complication_outcomes", outcome)
    _system_step(
        session, complication, actor, "CLOSE", f"结案：{label}" + (f"。{text}" if text else ""), now
    )
    complication.status = ComplicationStatus.CLOSED
    complication.outcome = outcome
    complication.outcome_note = text
    complication.resolved_at = now
    complication.closed_by_id = actor.id
    complication.last_step_at = now
    complication.led_to_removal = complication.led_to_removal or outcome == "REMOVED"
    _audit(session, actor, "close", complication, context, {"outcome": outcome})
    session.flush()
    return complication


def reopen(
    session: Session,
    complication_id: int,
    *,
    reason: str,
    actor: audit.Actor,
    context: str = "chat",
) -> Complication:
    """Reopen a closed complication (处理中 again), the reason kept as a REOPEN step; the
    outcome is cleared, and so is "led to removal" unless a removal names it."""
    complication = _locked(session, complication_id)
    if complication.status is not ComplicationStatus.CLOSED:
        raise ComplicationRefused("该并发症尚未结案，无需重新开启。")
    why = _text(reason)
    if why is None:
        raise ComplicationRefused("请填写重新开启的原因。")
    now = utcnow()
    _system_step(session, complication, actor, "REOPEN", f"重新开启：{why}", now)
    complication.status = ComplicationStatus.HANDLING
    complication.reopened_count += 1
    complication.resolved_at = None
    complication.closed_by_id = None
    complication.outcome = None
    complication.outcome_note = None
    complication.last_step_at = now
    complication.led_to_removal = (
        session.scalar(select(Removal.id).where(Removal.complication_id == complication.id))
        is not None
    )
    _audit(session, actor, "reopen", complication, context, {"reason": why})
    session.flush()
    return complication


def latest_reported_by(session: Session, staff_id: int, *, since: datetime) -> Complication | None:
    """The complication this clinician reported last, if at or after ``since`` (chat photos
    sent right after a report attach to it)."""
    return session.scalar(
        select(Complication)
        .where(Complication.reported_by_id == staff_id, Complication.reported_at >= since)
        .order_by(Complication.reported_at.desc(), Complication.id.desc())
        .limit(1)
    )


def find_open_for_catheter(
    session: Session, catheter_id: int, type_code: str | None = None
) -> list[Complication]:
    """The catheter's complications not closed yet (of that type), newest report first."""
    query = select(Complication).where(
        Complication.catheter_id == catheter_id, Complication.status.in_(OPEN_STATES)
    )
    if type_code:
        query = query.where(Complication.type == type_code)
    return list(
        session.scalars(query.order_by(Complication.reported_at.desc(), Complication.id.desc()))
    )


@dataclass(frozen=True)
class Entry:
    """One line of the clinicians' complication list."""

    id: int
    catheter_id: int
    patient_id: int
    patient_name: str
    hospital_patient_id: str | None
    device: str
    type_label: str
    grade: int | None
    onset_on: date
    days_open: int
    status: ComplicationStatus
    status_label: str
    last_step: str | None
    last_step_at: datetime | None
    photo_count: int


def listing(
    session: Session,
    d: Dictionary,
    *,
    actor: audit.Actor,
    status: str | None = None,
    type_code: str | None = None,
    device_type: str | None = None,
    department_id: int | None = None,
    mine: bool = False,
    limit: int = 100,
) -> list[Entry]:
    """Complications this clinician may see: open ones (待处理, 处理中) first, longest open
    first; then closed ones, latest closed first. ``status``: "open", "closed" or None (all);
    ``mine``: reported by or the responsibility of this clinician. The listing is a staff
    read of patient data, audited once with the patients it showed."""
    staff = access.staff_of(session, actor)
    query = (
        select(Complication, Catheter.device_type, Patient.name, Patient.hospital_patient_id)
        .join(Catheter, Catheter.id == Complication.catheter_id)
        .join(Patient, Patient.id == Complication.patient_id)
        .where(access.visible_patients_clause(staff))
    )
    if status == "open":
        query = query.where(Complication.status.in_(OPEN_STATES))
    elif status == "closed":
        query = query.where(Complication.status == ComplicationStatus.CLOSED)
    if type_code:
        query = query.where(Complication.type == type_code)
    if device_type:
        query = query.where(Catheter.device_type == device_type)
    if department_id:
        query = query.where(Complication.department_id == department_id)
    if mine:
        query = query.where(
            or_(
                Complication.reported_by_id == staff.id,
                Complication.responsible_staff_id == staff.id,
            )
        )
    closed = Complication.status == ComplicationStatus.CLOSED
    query = query.order_by(
        case((closed, 1), else_=0),
        case((closed, None), else_=Complication.reported_at).asc(),
        Complication.resolved_at.desc(),
        Complication.id,
    ).limit(limit)
    rows = session.execute(query).all()
    ids = [row[0].id for row in rows]
    photos = _photo_counts(session, ids)
    last = _last_steps(session, ids)
    now = utcnow()
    entries = [
        Entry(
            id=c.id,
            catheter_id=c.catheter_id,
            patient_id=c.patient_id,
            patient_name=name,
            hospital_patient_id=hospital_id,
            device=d.label("device_types", device),
            type_label=d.label("complications", c.type),
            grade=c.grade,
            onset_on=c.onset_on,
            days_open=max(0, ((c.resolved_at or now) - c.reported_at).days),
            status=c.status,
            status_label=STATUS_LABELS[c.status],
            last_step=last.get(c.id, (None, None))[0],
            last_step_at=last.get(c.id, (None, None))[1],
            photo_count=photos.get(c.id, 0),
        )
        for c, device, name, hospital_id in rows
    ]
    audit.record(
        session,
        actor,
        "read",
        "complication_list",
        None,
        context="complications",
        detail={
            "patients": sorted({e.patient_id for e in entries}),
            "filters": {
                "status": status,
                "type": type_code,
                "device": device_type,
                "department_id": department_id,
                "mine": mine,
            },
        },
    )
    return entries


def _photo_counts(session: Session, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = session.execute(
        select(ComplicationPhoto.complication_id, func.count(ComplicationPhoto.id))
        .where(ComplicationPhoto.complication_id.in_(ids))
        .group_by(ComplicationPhoto.complication_id)
    )
    return {cid: int(n) for cid, n in rows}


def _last_steps(session: Session, ids: list[int]) -> dict[int, tuple[str, datetime]]:
    """Each complication's latest step (its text and time)."""
    if not ids:
        return {}
    rows = session.execute(
        select(ComplicationStep.complication_id, ComplicationStep.action, ComplicationStep.at)
        .where(ComplicationStep.complication_id.in_(ids))
        .order_by(ComplicationStep.at, ComplicationStep.id)
    )
    return {cid: (action, at) for cid, action, at in rows}  # the latest wins


def detail(
    session: Session,
    d: Dictionary,
    complication_id: int,
    *,
    actor: audit.Actor,
    context: str = "h5",
) -> Complication:
    """The whole record (its steps and photos loaded) if this clinician may see its patient,
    the read audited; ``access.NotVisible`` otherwise (a refusal of an existing record is
    audited as denied). Its consultations: ``consultations(session, complication_id)``."""
    complication = session.scalar(
        select(Complication)
        .options(selectinload(Complication.steps), selectinload(Complication.photos))
        .where(Complication.id == complication_id)
    )
    if complication is None:
        raise access.NotVisible(f"complication {complication_id}")
    access.check_patient(
        session, actor, "complication", complication.id, complication.patient_id, context=context
    )
    return complication


def consultations(session: Session, complication_id: int) -> list[Consultation]:
    """The consultations held about this complication, oldest first."""
    return list(
        session.scalars(
            select(Consultation)
            .where(Consultation.complication_id == complication_id)
            .order_by(Consultation.created_at, Consultation.id)
        )
    )


def photo_of(
    session: Session,
    complication_id: int,
    photo_id: int,
    *,
    actor: audit.Actor,
    context: str = "h5",
) -> ComplicationPhoto:
    """One of the complication's photos, access-checked and its read audited like the record."""
    photo = session.get(ComplicationPhoto, photo_id)
    complication = session.get(Complication, complication_id)
    if photo is None or complication is None or photo.complication_id != complication.id:
        raise access.NotVisible(f"complication photo {photo_id}")
    access.check_patient(
        session, actor, "complication_photo", photo.id, complication.patient_id, context=context
    )
    return photo


def describe(d: Dictionary, complication: Complication) -> dict[str, Any]:
    """The words a page or a chat reply shows of a complication's fields."""
    return {
        "type": d.label("complications", complication.type),
        "grade": f"{complication.grade}级" if complication.grade is not None else "无分级",
        "status": STATUS_LABELS[complication.status],
        "outcome": d.label("complication_outcomes", complication.outcome),
    }
