"""The clinicians' follow-up list (A7.4): "今日随访" beside "今日待维护" — today's check-ins,
those awaiting an answer, unanswered, declined or worrying, worrying first. A route of the
clinician blueprint; the listing is an audited read (``follow_ups.today_list``)."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_login import current_user

from bot.care.rules import local_date
from bot.models import utcnow
from bot.services import dictionary as dictionary_service
from bot.services import follow_ups
from web import container, db, uow

from .staff import _actor, bp, clinician_required

LEVEL_COLOURS = {"URGENT": "#d93025", "CONCERN": "#e37400", "OK": "#188038"}


@bp.get("/staff/follow-ups")
@clinician_required
def follow_up_list() -> Any:
    s = db()
    d = dictionary_service.current(s)
    today = local_date(utcnow(), container().settings.timezone)
    entries = follow_ups.today_list(
        s, d, today, actor=_actor(), institution_id=current_user.institution_id
    )
    uow().commit()
    return render_template(
        "staff/follow_ups.html", entries=entries, today=today, colours=LEVEL_COLOURS
    )
