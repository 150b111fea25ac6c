"""Patient report pages (P4.1, P4.2, P4.4, P6.2): the active 就诊人's reports, photos uploaded
from the page and read by OCR on the ``reports`` queue, and each report's photo (zoomable) with
what was read, which the patient corrects; a photo that is not a report is kept anyway or sent
to the responsible nurse. Routes of the patient blueprint: a follower sees only their own
就诊人's reports, anything else is "not found"."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import suppress
from datetime import date
from functools import partial
from typing import Any

import redis
from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from PIL import Image
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from bot.adapters.wechat import MpClient, WeChatError
from bot.care.rules import local_date
from bot.jobs.queues import enqueue_report, enqueue_send
from bot.models import PatientAccount, PatientProfile, Report, utcnow
from bot.models.enums import ActorType, OcrStatus
from bot.ocr.images import BadImage, open_photo
from bot.services import audit, report_reading
from bot.services import reports as report_service
from web import container, db, limiter, require_csrf, uow

from .patient import _account, _problem, agreements_accepted, bp, follower_required
from .report_parts import photo_response

# One request carries a few phone photos (each at most 20 MB, checked by open_photo); the
# app's 12 MB limit stays for every other route.
UPLOAD_LIMIT = 60 * 1024 * 1024
MAX_FILES = 9  # what WeChat's own picture picker allows at once
REFRESH_SECONDS = 4  # a report page reloads this often while its photo is being read
CONTENT_TYPES = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png"}
CONTENT_TYPES |= {"WEBP": "image/webp", "BMP": "image/bmp", "TIFF": "image/tiff"}


def _actor(account: PatientAccount) -> audit.Actor:
    return audit.Actor(ActorType.PATIENT, account.id, request.remote_addr)


def _active() -> tuple[PatientAccount, PatientProfile | None]:
    account = _account()
    assert account is not None
    profile_id = account.active_profile_id
    return account, db().get(PatientProfile, profile_id) if profile_id else None


def _followed(report_id: int) -> Report:
    account = _account()
    assert account is not None
    report = report_service.followed_report(db(), account.id, report_id)
    if report is None:
        abort(404)  # a foreign report looks like a missing one
    return report


@bp.get("/reports")
@follower_required
@agreements_accepted
def reports() -> Any:
    """The active 就诊人's reports, newest first, and the upload form (P6.2, P4.1)."""
    return _list_page([])


def _list_page(errors: list[str], status: int = 200) -> Any:
    _, active = _active()
    if active is None:
        return redirect(url_for("patient.home"))  # it offers binding
    rows = report_service.for_patient(db(), active.patient_id)
    return render_template(
        "h5/reports.html",
        active=active,
        reports=rows,
        errors=errors,
        csrf=generate_csrf(),
        max_files=MAX_FILES,
        jssdk=_jssdk(),
    ), status


def _jssdk() -> dict[str, Any] | None:
    """``wx.config`` for this page when it is open in WeChat and the official account is
    configured, so the page can offer WeChat's own picture picker; None otherwise (the file
    input is always there)."""
    client = container().mp
    if client is None or "MicroMessenger" not in request.headers.get("User-Agent", ""):
        return None
    # signed for the address the phone shows: the public base, not the proxy's inner one
    url = container().settings.public_base_url + request.full_path.rstrip("?")
    try:
        return client.jssdk_config(url)
    except WeChatError:
        return None


@bp.post("/reports/upload")
@follower_required
@agreements_accepted
@limiter.limit("60 per hour")
def upload_reports() -> Any:
    """Photos chosen on the page (the phone offers its camera) become reports of the active
    就诊人, each read on the ``reports`` queue; a file that is no usable photo is refused with
    the reason and nothing of it is kept (P4.1)."""
    request.max_content_length = UPLOAD_LIMIT  # before the body is parsed
    require_csrf()
    files = [f for f in request.files.getlist("photos") if f.filename]
    return _keep_photos([(f"（{f.filename}）", f.read) for f in files])


@bp.post("/reports/upload-wechat")
@follower_required
@agreements_accepted
@limiter.limit("60 per hour")
def upload_wechat_reports() -> Any:
    """Photos chosen with WeChat's own picker (JS-SDK ``chooseImage`` → ``uploadImage``): the
    page sends their media ids, each photo is downloaded from WeChat and kept like an upload."""
    require_csrf()
    client = container().mp
    if client is None:
        abort(404)  # no official account configured: the page never offers the picker
    ids = [m for m in request.form.getlist("media_ids") if m]
    return _keep_photos([("", partial(_download, client, m)) for m in ids])


def _download(client: MpClient, media_id: str) -> bytes:
    try:
        data, _ = client.download(media_id)
    except WeChatError as exc:
        raise BadImage("照片没有从微信收到（可能已过期），请重新选择") from exc
    return data


def _keep_photos(photos: list[tuple[str, Callable[[], bytes]]]) -> Any:
    """Each photo (what to call it, how to read its bytes) checked, stored under its content
    hash and kept as a report of the active 就诊人, then read on the ``reports`` queue."""
    account, active = _active()
    if active is None:
        return redirect(url_for("patient.home"))
    if not photos:
        return _list_page(["请先选择要上传的报告照片。"], 400)
    if len(photos) > MAX_FILES:
        return _list_page([f"一次最多上传{MAX_FILES}张照片，请分几次上传。"], 400)
    errors: list[str] = []
    to_read: list[int] = []
    again = 0
    for n, (name, read) in enumerate(photos, 1):
        try:
            data = read()
            open_photo(data)
        except BadImage as exc:
            errors.append(f"第{n}张{name}：{exc.reason}。")
            continue
        stored = container().media.save(data, _content_type(data))
        report, created = report_service.receive(
            db(),
            active.patient_id,
            image_path=str(stored.path),
            image_sha256=stored.sha256,
            account_id=account.id,
            actor=_actor(account),
            context="h5",
        )
        if created or report.ocr_status is OcrStatus.PENDING:
            to_read.append(report.id)
        else:
            again += 1
    if not to_read and not again:
        return _list_page(errors, 400)
    uow().commit()
    for report_id in to_read:
        # if Redis is down it stays "识别中" and the sweeper enqueues it when Redis is back
        with suppress(redis.RedisError):
            enqueue_report(container().redis, report_id)
    if to_read:
        flash(f"已收到{len(to_read)}张报告，正在识别…")
    if again:
        flash(f"有{again}张报告之前已上传过，不再重复保存。")
    for error in errors:
        flash(error, "error")
    return redirect(url_for("patient.reports"))


def _content_type(data: bytes) -> str:
    """The stored file's type from its header (what the phone claims is not trusted)."""
    with Image.open(io.BytesIO(data)) as image:
        return CONTENT_TYPES.get(image.format or "", "image/jpeg")


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_exc: RequestEntityTooLarge) -> Any:
    return _problem(
        "照片太大",
        f"一次上传的照片合计不能超过{UPLOAD_LIMIT // 1024 // 1024}MB，请少选几张或分几次上传。",
        413,
    )


@bp.get("/reports/<int:report_id>")
@follower_required
@agreements_accepted
def report(report_id: int) -> Any:
    """A report's photo full-screen and zoomable, with what was read, to check and correct
    (P4.2, P4.4)."""
    return _report_page(_followed(report_id))


def _report_page(
    report: Report, error: str | None = None, typed: dict[str, str] | None = None
) -> Any:
    today = local_date(utcnow(), container().settings.timezone)
    return render_template(
        "h5/report.html",
        r=report,
        items=report_service.item_rows(report),
        error=error,
        typed=typed or {},
        today=today,
        csrf=generate_csrf(),
        refresh=REFRESH_SECONDS if report.ocr_status is OcrStatus.PENDING else None,
    ), (400 if error else 200)


@bp.get("/reports/<int:report_id>/photo")
@follower_required
@agreements_accepted
def report_photo(report_id: int) -> Response:
    return photo_response(_followed(report_id), thumb=request.args.get("thumb") == "1")


@bp.post("/reports/<int:report_id>")
@follower_required
@agreements_accepted
def correct_report(report_id: int) -> Any:
    """Save the patient's corrections: date, institution, remarks, each value (P4.4)."""
    require_csrf()
    report = _followed(report_id)
    account = _account()
    assert account is not None
    typed = {k: v for k, v in request.form.items() if k != "csrf_token"}
    changes: dict[str, Any] = {"remarks": typed.get("remarks", "")}
    raw_date = typed.get("report_date", "").strip()
    today = local_date(utcnow(), container().settings.timezone)
    if raw_date or report.report_date is not None:  # an unknown date stays asked for
        try:
            changes["report_date"] = report_service.check_date(date.fromisoformat(raw_date), today)
        except (ValueError, report_service.ReportError) as exc:
            reason = str(exc) if isinstance(exc, report_service.ReportError) else ""
            typed["report_date"] = ""  # asked again
            return _report_page(report, reason or "请按“年-月-日”填写报告日期。", typed)
    if typed.get("institution", "").strip() or report.institution_name:
        changes["institution"] = typed.get("institution", "")
    items = [
        report_service.ItemChange(item.id, typed[f"item-{item.id}"])
        for item in report.items
        if f"item-{item.id}" in typed
    ]
    try:
        report_service.correct(
            db(), report, changes, actor=_actor(account), today=today, items=items
        )
    except report_service.ReportError as exc:
        uow().rollback()
        return _report_page(_followed(report_id), str(exc), typed)
    uow().commit()
    flash("已保存。")
    return redirect(url_for("patient.report", report_id=report.id))


@bp.post("/reports/<int:report_id>/keep")
@follower_required
@agreements_accepted
def keep_report(report_id: int) -> Any:
    """A photo OCR took for something else is a report after all."""
    require_csrf()
    report = _followed(report_id)
    account = _account()
    assert account is not None
    report_service.keep_anyway(db(), report, _actor(account))
    uow().commit()
    flash("已作为报告保存，请核对并补充报告日期和医院。")
    return redirect(url_for("patient.report", report_id=report.id))


@bp.post("/reports/<int:report_id>/to-nurse")
@follower_required
@agreements_accepted
def report_to_nurse(report_id: int) -> Any:
    """A photo of the line's site, not a report: to the responsible nurse in WeChat Work."""
    require_csrf()
    report = _followed(report_id)
    account = _account()
    assert account is not None
    if report.ocr_status is not OcrStatus.NOT_A_REPORT:
        return redirect(url_for("patient.report", report_id=report.id))
    base_url = container().settings.public_base_url
    ids = report_reading.send_as_wound_photo(db(), report, _actor(account), base_url)
    if not ids:
        flash(
            "暂时联系不到负责您导管的护士，照片已保留在这里。"
            "如有红肿、渗液、疼痛或发热，请及时到医院就诊。",
            "error",
        )
        return redirect(url_for("patient.report", report_id=report.id))
    uow().commit()
    with suppress(redis.RedisError):  # the sweeper sends what was not enqueued
        for outbox_id in ids:
            enqueue_send(container().redis, outbox_id)
    flash("照片已发给负责您导管的护士查看。")
    return redirect(url_for("patient.reports"))
