"""The live tracking board of open complications (A7.2, A7.3), for administrators and the
home hospital's vascular-access experts.

The page lists the open complications and polls ``feed`` every few seconds for the whole
list again (steps and closures show too), with ``after`` (the newest id it has seen) and
``since`` (the newest id when it was loaded): complications above ``since`` are marked as
arrived, those above ``after`` are audited as read the first time they are shown. A page
load audits every complication it shows; a poll audits only what is new to that page.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import abort, jsonify, redirect, render_template, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_login import current_user

from bot.models import Complication, ComplicationPhoto, utcnow
from bot.models.enums import StaffRole
from bot.services import complication_board
from bot.services import dictionary as dictionary_service
from bot.services.access import staff_may_see_patient
from web import container, db, uow

from .base import admin_actor

log = logging.getLogger(__name__)
CONTEXT = "admin_board"
POLL_SECONDS = 3


def may_use_board(staff: Any) -> bool:
    """Administrators, and home-hospital nurses and doctors who are vascular-access experts."""
    if not staff.is_authenticated:
        return False
    if staff.role is StaffRole.ADMIN:
        return True
    return bool(staff.is_vascular_expert and staff.role in (StaffRole.NURSE, StaffRole.DOCTOR))


class BoardView(BaseView):
    def is_accessible(self) -> bool:
        return may_use_board(current_user)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        signed_in = current_user.is_authenticated
        if name == "feed":  # the page's script: an answer it can read, not a login page
            message = "无权查看并发症看板" if signed_in else "登录已失效，请重新登录"
            return jsonify(error=message), 403 if signed_in else 401
        if not signed_in:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    @expose("/")
    def index(self) -> Any:
        s = db()
        now = utcnow()
        latest = complication_board.cursor(s)
        entries = complication_board.board(s, dictionary_service.current(s), now)
        complication_board.audit_shown(s, admin_actor(), entries, CONTEXT)
        uow().commit()
        return self.render(
            "admin/board.html",
            entries=entries,
            cursor=latest,
            poll_ms=POLL_SECONDS * 1000,
            **_formatting(now),
        )

    @expose("/feed")
    def feed(self) -> Any:
        after = request.args.get("after", type=int)
        since = request.args.get("since", default=after, type=int)
        if after is None or since is None or after < 0 or since < 0:
            log.info("board feed with a bad cursor: %r", request.query_string)
            return jsonify(error="参数无效：after 应为非负整数"), 400
        s = db()
        now = utcnow()
        latest = max(after, complication_board.cursor(s))
        entries = complication_board.board(s, dictionary_service.current(s), now, after=since)
        new = [e for e in entries if e.id > after]
        complication_board.audit_shown(s, admin_actor(), new, CONTEXT)
        uow().commit()
        rows = render_template("admin/board_rows.html", entries=entries, **_formatting(now))
        return (
            jsonify(cursor=latest, count=len(entries), new=[e.id for e in new], rows=rows),
            200,
            {"Cache-Control": "no-store"},
        )

    @expose("/photos/<int:photo_id>")
    def photo(self, photo_id: int) -> Any:
        """A complication photo, for a staff member who may see its patient; 404 otherwise
        (a refusal never tells that a photo exists)."""
        s = db()
        photo = s.get(ComplicationPhoto, photo_id)
        complication = s.get(Complication, photo.complication_id) if photo else None
        if photo is None or complication is None:
            abort(404)
        if not staff_may_see_patient(s, current_user, complication.patient_id):
            abort(404)
        path = _media_path(photo.path)
        if path is None:
            log.warning(
                "complication photo %s: %s is missing or outside MEDIA_ROOT", photo.id, photo.path
            )
            abort(404)
        response = send_file(path, mimetype=photo.content_type, max_age=3600)
        response.cache_control.public = False
        response.cache_control.private = True
        return response


def _media_path(stored: str) -> Path | None:
    """The file under MEDIA_ROOT a stored path names (absolute, or relative to the root)."""
    root = container().settings.media_root.resolve()
    path = Path(stored)
    path = (path if path.is_absolute() else root / path).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def _formatting(now: datetime) -> dict[str, Any]:
    tz = container().settings.timezone

    def when(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%m-%d %H:%M")

    return {"when": when, "refreshed": now.astimezone(tz).strftime("%H:%M:%S")}
