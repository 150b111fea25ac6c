"""数据导出 (A6.2): the export log, the form that starts an export (prefilled from the
dashboard's links: ``/admin/exports/new?kind=table:<code>&start=…&end=…&format=xlsx``), an
export's page with its progress bar (polling ``/<id>/status``) and its download, audited as a
read of the export. An export with identifiers in full is downloaded only by an administrator
allowed to see them (whoever started it); anyone else is refused, audited "denied". Its file
is deleted after EXPORT_IDENTIFIED_KEEP_DAYS: a download then answers 410 with the reason (also
audited "denied") and the page offers the form filled in again. The file is written by the
``bot.jobs.exports.run_export`` job."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from flask import abort, flash, jsonify, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job
from werkzeug.wrappers import Response

from bot.care.rules import local_date
from bot.jobs.exports import enqueue_export
from bot.models import ExportLog, Staff, utcnow
from bot.models.enums import ExportStatus
from bot.services import audit, exports
from bot.services import dictionary as dictionary_service
from bot.services.exports import history
from web import container, db, require_csrf, uow

from . import dashboard_query
from .base import AdminOnly, admin_actor
from .dashboard import GROUP_BYS, filter_choices

log = logging.getLogger(__name__)
CONTEXT = "export"
PAGE_SIZE = 50


class ExportView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> Any:
        number = max(request.args.get("page", 1, type=int), 1)
        entries, total = history.page(db(), number, PAGE_SIZE)
        return self.render(
            "admin/exports.html",
            entries=entries,
            page=number,
            pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
            tz=container().settings.timezone,
            lowcode_labels=history.LOWCODE_LABELS,
            may_see=_may_see_identifiers(),
        )

    @expose("/new", methods=["GET", "POST"])
    def new(self) -> Any:
        s = db()
        d = dictionary_service.current(s)
        choices = filter_choices(s, d)
        source = request.form if request.method == "POST" else request.args
        q = dashboard_query.parse(
            source,
            _today(),
            device_types=d.device_types,
            known_ids=choices.known_ids(),
            group_bys=GROUP_BYS,
        )
        kind = source.get("kind") or "placements"
        fmt = source.get("format") or "xlsx"
        full = source.get("full_identifiers") == "1"
        reason = (source.get("reason") or "").strip()[:500]
        errors = list(q.errors)
        if request.method == "POST":
            require_csrf()
            if not errors:
                started = self._start(kind, q, fmt, full, reason)
                if isinstance(started, ExportLog):
                    return redirect(self.get_url(".status_page", export_id=started.id))
                errors.append(started)
        return self.render(
            "admin/export_new.html",
            q=q,
            kind=kind,
            fmt=fmt,
            full=full,
            reason=reason,
            errors=errors,
            kinds=exports.kinds(),
            formats=exports.FORMATS,
            choices=choices,
            group_bys=GROUP_BYS,
            may_see=exports.may_see_identifiers(current_user),
            min_reason=exports.MIN_REASON,
            limit=container().settings.export_max_rows,
            keep_days=container().settings.export_identified_keep_days,
            free_text_left_out=exports.FREE_TEXT_LEFT_OUT,
            csrf=generate_csrf(),
        )

    def _start(
        self, kind: str, q: dashboard_query.Query, fmt: str, full: bool, reason: str
    ) -> ExportLog | str:
        """The export started (committed and queued), or why not."""
        c = container()
        try:
            export = exports.start_export(
                db(),
                db().get_one(Staff, current_user.id),
                kind,
                q.filters,
                fmt,
                full_identifiers=full,
                reason=reason,
                max_rows=c.settings.export_max_rows,
                tz=c.settings.timezone,
                group_by=q.group_by if kind == "table:breakdown" else None,
            )
        except exports.ExportRefused as exc:
            uow().rollback()
            return str(exc)
        uow().commit()
        _enqueue(export.id)
        return export

    @expose("/<int:export_id>")
    def status_page(self, export_id: int) -> Any:
        entry = self._entry(export_id)
        return self.render(
            "admin/export_status.html",
            e=entry,
            p=history.progress(entry.export, _meta_rows(entry.export)),
            tz=container().settings.timezone,
            csrf=generate_csrf(),
            may_download=not entry.export.full_identifiers or _may_see_identifiers(),
            requeueable=exports.requeueable(entry.export, utcnow()),
            deleted_after=exports.deleted_after(entry.export, _keep()),
            again=_again_url(entry.export),
            expired_words=exports.EXPIRED,
        )

    @expose("/<int:export_id>/status")
    def status(self, export_id: int) -> Response:
        export = db().get(ExportLog, export_id)
        if export is None:
            abort(404)
        return jsonify(history.progress(export, _meta_rows(export)))

    @expose("/<int:export_id>/download")
    def download(self, export_id: int) -> Response:
        export = db().get(ExportLog, export_id)
        if export is None or export.status is not ExportStatus.DONE:
            abort(404)
        if export.full_identifiers and not _may_see_identifiers():
            _deny(export, {})
            abort(403, "该导出含完整身份信息，您没有查看完整身份信息的权限，不能下载。")
        if exports.expired(export):
            _deny(export, {"expired": True})
            abort(410, exports.EXPIRED)
        path = exports.stored_file(export, container().settings.media_root)
        if path is None or not path.is_file():
            abort(404)
        audit.record(
            db(),
            admin_actor(),
            "download",
            "export",
            export.id,
            context=CONTEXT,
            detail={
                "kind": export.kind,
                "sha256": export.file_sha256,
                "full_identifiers": export.full_identifiers,
            },
        )
        uow().commit()
        return send_file(
            path,
            as_attachment=True,
            download_name=exports.download_name(export),
            max_age=0,
        )

    @expose("/<int:export_id>/retry", methods=["POST"])
    def retry(self, export_id: int) -> Any:
        """Queue again an export whose job never ran (Redis was down), failed, or was left
        running longer than the job timeout (its worker died)."""
        require_csrf()
        export = db().get(ExportLog, export_id)
        if export is None:
            abort(404)
        if exports.requeueable(export, utcnow()) and _enqueue(export.id):
            flash("已重新排队导出。")
        return redirect(self.get_url(".status_page", export_id=export_id))

    def _entry(self, export_id: int) -> history.Entry:
        export = db().get(ExportLog, export_id)
        if export is None:
            abort(404)
        staff = db().get(Staff, export.staff_id) if export.staff_id else None
        return history.Entry(export, staff.name if staff else None)


def _deny(export: ExportLog, why: dict[str, Any]) -> None:
    """Audit a refused download (no permission, or the file deleted at the end of its
    keeping period), committed before the refusal is raised."""
    detail = {"wanted": "download", "kind": export.kind, "full_identifiers": True} | why
    audit.record(db(), admin_actor(), "denied", "export", export.id, context=CONTEXT, detail=detail)
    uow().commit()


def _keep() -> timedelta:
    return timedelta(days=container().settings.export_identified_keep_days)


def _again_url(export: ExportLog) -> str | None:
    """The export form filled in as this export was asked (重新导出, offered when its file
    has expired); None for anything but a record export."""
    if export.kind not in exports.KINDS:
        return None
    asked = {k: v for k, v in export.params.items() if v is not None}
    return url_for(".new", kind=export.kind, format=export.format, **asked)


def _today() -> date:
    return local_date(utcnow(), container().settings.timezone)


def _may_see_identifiers() -> bool:
    staff = db().get(Staff, current_user.id)
    return staff is not None and exports.may_see_identifiers(staff)


def _enqueue(export_id: int) -> bool:
    try:
        enqueue_export(container().redis, export_id)
    except RedisError:
        log.exception("export %s not queued", export_id)
        flash("任务队列暂时不可用：导出已记录，请稍后在本页点“重新排队”。", "error")
        return False
    return True


def _meta_rows(export: ExportLog) -> int | None:
    """Rows written as the running job last said (job.meta), ahead of the row's count."""
    if export.status is not ExportStatus.RUNNING or not export.rq_job_id:
        return None
    try:
        job = Job.fetch(export.rq_job_id, connection=container().redis)
    except (NoSuchJobError, RedisError):
        return None
    progress = job.get_meta(refresh=False).get("progress") or {}
    rows = progress.get("rows")
    return rows if isinstance(rows, int) else None
