"""The clinicians' consultation pages (C5.1, C3.5): "我的会诊", the case page the group chat's
card links to (``/staff/consultations/<id>``, a fixed address) with its photos, voice notes
and videos, the advice, conclusion, close and add-member forms, and the request form opened
from a catheter or a complication. Routes of the clinician blueprint; every read goes through
``consultations.views``, which checks access and audits it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import redis
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from bot.jobs.queues import enqueue_consultation, enqueue_send
from bot.models import Consultation, Staff, utcnow
from bot.models.enums import ConsultationStatus, StaffRole
from bot.security.masking import initials
from bot.services import access
from bot.services import complications as complication_service
from bot.services import dictionary as dictionary_service
from bot.services.consultations import (
    NOT_CLOSER,
    NOT_CONSULTANT,
    NOT_INVITER,
    NOT_MEMBER,
    ConsultationError,
    chat,
    decisions,
    requests,
    status_label,
)
from bot.services.consultations import views as svc
from web import container, db, require_csrf, uow

from .consultation_uploads import UPLOAD_LIMIT, Upload, read_uploads, too_large
from .staff import CLINICAL, _actor, _open, bp, clinician_required

log = logging.getLogger(__name__)


@bp.app_template_global("consultation_status")
def consultation_status(status: ConsultationStatus) -> str:
    """待建群 / 会诊中 / 已出结论 / 已结束, for the complication page's list."""
    return status_label(status)


def _case(consultation_id: int) -> svc.Case:
    """The case page's facts if this clinician may see them, the read audited; 404 else."""
    settings = container().settings
    try:
        return svc.case(
            db(), consultation_id, _actor(), cipher=container().cipher, tz=settings.timezone
        )
    except access.NotVisible:
        uow().commit()  # a refusal of an existing consultation is audited as denied
        abort(404)


def _consultation(consultation_id: int, action: str) -> Consultation:
    """The consultation for a form's change, access-checked and audited as ``action``."""
    try:
        return svc.open_consultation(db(), consultation_id, _actor(), action=action)
    except access.NotVisible:
        uow().commit()
        abort(404)


def _is_admin() -> bool:
    return bool(current_user.role is StaffRole.ADMIN)


def _enqueue(consultation_id: int, outbox_ids: list[int] | None = None) -> None:
    """After the commit: the chat job posts what changed (a note, a member, the case), and
    the messages a decision wrote (the note to the group, the requester asked) go out. The
    change is saved whatever Redis says: a job not queued is logged, and the scheduled sweep
    queues the consultation (and the outbox its unsent rows) again."""
    try:
        for outbox_id in outbox_ids or []:
            enqueue_send(container().redis, outbox_id)
        enqueue_consultation(container().redis, consultation_id)
    except redis.RedisError:
        log.exception("consultation %s: could not enqueue its jobs", consultation_id)


@bp.get("/staff/consultations")
@clinician_required
def consultations() -> Any:
    """我的会诊: 我发起的 / 我参与的, those not closed first."""
    s = db()
    staff = s.get_one(Staff, current_user.id)
    lines = svc.mine(s, staff, limit=200, actor=_actor())
    uow().commit()
    return render_template(
        "staff/consultations.html",
        requested=[line for line in lines if line.role == "requester"],
        taking_part=[line for line in lines if line.role != "requester"],
        tz=container().settings.timezone,
    )


@bp.get("/staff/consultations/<int:consultation_id>")
@clinician_required
def consultation(consultation_id: int) -> Any:
    facts = _case(consultation_id)
    uow().commit()
    return _case_page(facts)


def _case_page(facts: svc.Case, error: str | None = None, status: int = 200) -> Any:
    role = facts.viewer_role
    k = facts.consultation
    closed = facts.status is ConsultationStatus.CLOSED
    return render_template(
        "staff/consultation.html",
        f=facts,
        k=k,
        tz=container().settings.timezone,
        csrf=generate_csrf(),
        error=error,
        created=request.args.get("created"),
        duplicate=request.args.get("dup"),
        may_advise=role is not None and not closed,
        may_conclude=facts.may_conclude,
        may_close=not closed
        and ((role == "requester" and facts.status is ConsultationStatus.CONCLUDED) or _is_admin()),
        may_invite=not closed and (role in ("requester", "consultant") or _is_admin()),
        may_retry=_is_admin() and bool(facts.chat_error) and not closed,
        closed=closed,
    ), status


def _refused(consultation_id: int, reason: str, status: int) -> Any:
    """The case page again with the reason; nothing of the refused change kept."""
    log.info("consultation %s: %s refused: %s", consultation_id, request.path, reason)
    uow().rollback()
    facts = _case(consultation_id)
    uow().commit()
    return _case_page(facts, reason, status)


@bp.get("/staff/consultations/<int:consultation_id>/media/<int:media_id>")
@clinician_required
def consultation_media(consultation_id: int, media_id: int) -> Response:
    """A photo, voice note (AMR/SPEEX, as a download), video or file of the consultation, for
    whoever may see the consultation; 404 otherwise, audited either way."""
    try:
        media = svc.media_of(db(), consultation_id, media_id, _actor(), context="h5")
    except access.NotVisible:
        uow().commit()
        abort(404)
    uow().commit()
    path = _media_file(media.path)
    if path is None:
        log.warning("consultation media %s: %s is missing", media.id, media.path)
        abort(404)
    download = media.kind in ("voice", "file")
    response = send_file(
        path,
        mimetype=media.content_type,
        as_attachment=download,
        download_name=f"consultation-{consultation_id}-{media.id}{path.suffix}",
        conditional=True,  # Range requests: a video plays while it loads
    )
    response.cache_control.private = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _media_file(stored: str) -> Path | None:
    """The file under MEDIA_ROOT a stored path names (relative to the root, or absolute)."""
    root = container().settings.media_root.resolve()
    path = Path(stored)
    path = (path if path.is_absolute() else root / path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


@bp.post("/staff/consultations/<int:consultation_id>/advice")
@clinician_required
def consultation_advice(consultation_id: int) -> Any:
    return _note(consultation_id, conclusion=False)


@bp.post("/staff/consultations/<int:consultation_id>/conclusion")
@clinician_required
def consultation_conclusion(consultation_id: int) -> Any:
    return _note(consultation_id, conclusion=True)


def _note(consultation_id: int, *, conclusion: bool) -> Any:
    require_csrf()
    # opened as a read: record_note audits the advice or conclusion it writes, a refusal
    # below writes nothing of it
    k = _consultation(consultation_id, "read")
    uow().commit()
    role = svc.role_of(k, current_user.id)
    if conclusion and role != "consultant":
        return _refused(consultation_id, NOT_CONSULTANT, 403)
    if role is None:
        return _refused(consultation_id, NOT_MEMBER, 403)
    text = (request.form.get("text") or "").strip()
    if not text:
        return _refused(
            consultation_id, "请填写" + ("会诊结论。" if conclusion else "会诊意见。"), 400
        )
    try:
        decisions.record_note(
            db(),
            k,
            text,
            conclusion=conclusion,
            actor=_actor(),
            now=utcnow(),
            base_url=container().settings.public_base_url,
            context="h5",
        )
    except ConsultationError as exc:
        return _refused(consultation_id, str(exc), 400)
    sends = decisions.pending_sends(db(), k)
    uow().commit()
    _enqueue(k.id, sends)
    flash("会诊结论已保存，并将发到会诊群。" if conclusion else "会诊意见已保存，并将发到会诊群。")
    return redirect(url_for("clinic.consultation", consultation_id=k.id) + "#notes")


@bp.post("/staff/consultations/<int:consultation_id>/close")
@clinician_required
def close_consultation(consultation_id: int) -> Any:
    require_csrf()
    k = _consultation(consultation_id, "read")  # the service audits the close
    uow().commit()
    role = svc.role_of(k, current_user.id)
    if role != "requester" and not _is_admin():
        return _refused(consultation_id, NOT_CLOSER, 403)
    try:
        closed = decisions.close(db(), k, actor=_actor(), now=utcnow())
    except ConsultationError as exc:
        return _refused(consultation_id, str(exc), 400)
    sends = decisions.pending_sends(db(), k)
    uow().commit()
    if closed:
        _enqueue(k.id, sends)
    flash("会诊已结束。" if closed else "该会诊已经结束。")
    return redirect(url_for("clinic.consultation", consultation_id=k.id))


@bp.post("/staff/consultations/<int:consultation_id>/members")
@clinician_required
def add_consultation_member(consultation_id: int) -> Any:
    """Invite a clinician by name or staff number (a staff id when the page offered a choice
    between people of the same name)."""
    require_csrf()
    k = _consultation(consultation_id, "read")  # the service audits the invite
    uow().commit()
    if svc.role_of(k, current_user.id) not in ("requester", "consultant") and not _is_admin():
        return _refused(consultation_id, NOT_INVITER, 403)
    found, problem = _clinician(request.form.get("who") or "", request.form.get("staff_id"))
    if found is None:
        return _refused(consultation_id, problem, 400)
    name = found.name
    try:
        added = requests.add_member(db(), k, found, actor=_actor())
        uow().commit()
    except ConsultationError as exc:
        return _refused(consultation_id, str(exc), 400)
    except IntegrityError:  # the same person added twice at once: the other request won
        uow().rollback()
        log.info("consultation %s: %s was added meanwhile", consultation_id, name)
        added = False
    if added:
        _enqueue(consultation_id)
    flash(f"已邀请{name}加入会诊。" if added else f"{name}已在本次会诊中。")
    return redirect(url_for("clinic.consultation", consultation_id=consultation_id) + "#members")


def _clinician(who: str, staff_id: str | None) -> tuple[Staff | None, str]:
    """The one active clinician named (exactly, by name or staff number), or why not."""
    s = db()
    clinical = (Staff.active.is_(True), Staff.role.in_(list(CLINICAL)))
    if staff_id and staff_id.isdigit():
        chosen = s.scalar(select(Staff).where(Staff.id == int(staff_id), *clinical))
        return (chosen, "") if chosen else (None, "所选医护不存在或已停用，请重新填写。")
    who = who.strip()
    if not who:
        return None, "请填写要邀请的医护姓名或工号。"
    found = s.scalars(
        select(Staff)
        .where(or_(Staff.name == who, Staff.staff_no == who), *clinical)
        .order_by(Staff.name, Staff.id)
        .limit(6)
    ).all()
    if not found:
        return None, f"没有找到在职医护“{who}”，请核对姓名或工号。"
    if len(found) > 1:
        named = "、".join(f"{x.name}（工号{x.staff_no}，{x.institution.name}）" for x in found)
        return None, f"有多位医护名为“{who}”：{named}。请填写工号。"
    return found[0], ""


@bp.post("/staff/consultations/<int:consultation_id>/retry")
@clinician_required
def retry_consultation_chat(consultation_id: int) -> Any:
    """An administrator's 重试建群 after the group chat failed."""
    require_csrf()
    if not _is_admin():
        return _refused(consultation_id, "只有管理员可以重试建群。", 403)
    k = _consultation(consultation_id, "retry_chat")
    uow().commit()
    if not k.chat_error:
        flash("会诊群没有失败记录，无需重试。")
        return redirect(url_for("clinic.consultation", consultation_id=k.id))
    again = chat.retry(db(), k)  # a chat not made yet: its attempts start again
    uow().commit()
    _enqueue(k.id)
    flash(
        "已重新提交建群，请稍后刷新查看。"
        if again
        else "已重新提交，未发出的资料和消息将重新发到会诊群。"
    )
    return redirect(url_for("clinic.consultation", consultation_id=k.id))


@bp.route("/staff/consultations/new", methods=["GET", "POST"])
@clinician_required
def new_consultation() -> Any:
    """The request form opened from a catheter (``?catheter=``) or a complication
    (``?complication=``): the question, 加急, a named consultant (optional), photos, voice
    notes and videos within WeChat Work's limits. The same form sent twice is one request."""
    uploads: list[Upload] = []
    error = None
    oversize = False
    if request.method == "POST":
        try:
            uploads, error = read_uploads(request)
        except RequestEntityTooLarge:
            error, oversize = too_large(), True
    subject = _subject()
    uow().commit()  # the read is kept whatever happens to the form
    s = db()
    form: dict[str, Any] = {"question": "", "urgent": False, "consultant": ""}
    # an oversize body is never parsed (request.form would raise 413 again): the friendly
    # error alone, nothing saved, so no CSRF check is needed for it
    if request.method == "POST" and not oversize:
        require_csrf()
        form = {
            "question": (request.form.get("question") or "").strip(),
            "urgent": request.form.get("urgent") == "1",
            "consultant": request.form.get("consultant") or "",
        }
        if error is None:
            error, done = _ask(subject, form, uploads)
            if done is not None:
                return done
    return render_template(
        "staff/consultation_new.html",
        subject=subject,
        patient_initials=initials(subject.catheter.patient.name),
        d=dictionary_service.current(s),
        form=form,
        error=error,
        consultants=svc.consultant_choices(s),
        csrf=generate_csrf(),
        limit_mb=UPLOAD_LIMIT // 1024 // 1024,
        tz=container().settings.timezone,
    ), (413 if oversize else 400 if error and request.method == "POST" else 200)


class Subject:
    """What a request is about: a catheter, or a complication (and its catheter)."""

    def __init__(self, catheter: Any, complication: Any = None) -> None:
        self.catheter = catheter
        self.complication = complication
        self.patient_id: int = catheter.patient_id


def _subject() -> Subject:
    complication_id = request.args.get("complication", type=int)
    catheter_id = request.args.get("catheter", type=int)
    if complication_id:
        try:
            c = complication_service.detail(
                db(), dictionary_service.current(db()), complication_id, actor=_actor()
            )
        except access.NotVisible:
            uow().commit()
            abort(404)
        return Subject(c.catheter, c)
    if catheter_id:
        return Subject(_open(catheter_id))
    abort(404)


def _ask(subject: Subject, form: dict[str, Any], uploads: list[Upload]) -> tuple[str | None, Any]:
    """(the reason it was refused, None) or (None, the redirect to the case page)."""
    s = db()
    raw = str(form["consultant"])
    if raw and not raw.isdigit():
        return "请从列表中选择会诊专家。", None
    settings = container().settings
    before = set(
        s.scalars(
            select(Consultation.id).where(
                Consultation.requested_by_id == current_user.id,
                Consultation.status != ConsultationStatus.CLOSED,
            )
        )
    )
    try:
        k = requests.request(
            s,
            patient_id=subject.patient_id,
            catheter_id=subject.catheter.id,
            complication_id=subject.complication.id if subject.complication else None,
            question=str(form["question"]),
            urgent=bool(form["urgent"]),
            actor=_actor(),
            now=utcnow(),
            tz=settings.timezone,
            consultant_id=int(raw) if raw else None,
            context="h5",
        )
        for upload in uploads:
            stored = container().media.save(upload.data, upload.content_type)
            requests.attach_media(
                s,
                k,
                stored,
                upload.kind,
                actor=_actor(),
                media_root=str(settings.media_root),
                context="h5",
            )
    except ConsultationError as exc:
        uow().rollback()
        log.info("consultation request refused: %s", exc)
        return str(exc) + ("（文件需重新选择）" if uploads else ""), None
    except access.NotVisible:
        uow().commit()
        abort(404)
    uow().commit()
    _enqueue(k.id)
    flag = "dup" if k.id in before else "created"
    target = url_for("clinic.consultation", consultation_id=k.id)
    return None, redirect(f"{target}?{flag}=1")
