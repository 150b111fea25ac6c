"""Health-education pages for patients (P7.1): the published articles by stage of the device's
life (the patient's device types first) and one article as sanitised HTML, its read counted
once per reader and day (not counted when Redis is down); the images administrators uploaded,
served only from the articles' own folder (MEDIA_ROOT/articles/, never patients' photos).

Public pages, no sign-in: articles are public health education, and a link sent in chat must
open at once, also when forwarded to a family member. A follower who is signed in (the H5
session) sees their devices' articles first. Anything not published is "not found".
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import abort, render_template, request, send_file, session
from markupsafe import Markup

from bot.care.rules import local_date
from bot.models import PatientAccount, PatientProfile, utcnow
from bot.models.enums import ArticleStage
from bot.services import directory, education
from bot.services.markdown import to_html
from web import container, db, uow

from .patient import bp

STAGES = [(s.value, education.STAGE_LABELS[s]) for s in ArticleStage]


@bp.get("/articles")
def articles() -> Any:
    devices = _devices()
    stage = request.args.get("stage") or None
    if stage not in {s for s, _ in STAGES}:
        stage = None
    rows = education.published_list(db(), devices, stage=stage)
    groups: dict[str, list[Any]] = {}
    for a in rows:
        groups.setdefault(a.stage or "", []).append(a)
    ordered = [(s, label, groups[s]) for s, label in STAGES if s in groups]
    if "" in groups:
        ordered.append(("", "更多护理知识", groups[""]))
    return render_template(
        "h5/articles.html",
        groups=ordered,
        stages=STAGES,
        stage=stage,
        devices=[directory.DEVICE_LABELS.get(d, d) for d in devices],
        device_labels=directory.DEVICE_LABELS,
    )


@bp.get("/articles/<int:article_id>")
def article(article_id: int) -> Any:
    s = db()
    a = education.published(s, article_id)
    if a is None:
        return render_template(
            "h5/problem.html",
            title="文章不存在",
            message="这篇文章不存在或已下线，请返回科普列表查看其他文章。",
        ), 404
    tz = container().settings.timezone
    if education.count_read(s, container().redis, a.id, _reader(), local_date(utcnow(), tz)):
        uow().commit()
        s.refresh(a)
    return render_template(
        "h5/article.html",
        a=a,
        published_on=local_date(a.published_at, tz) if a.published_at else None,
        html=Markup(to_html(a.body)),  # noqa: S704  sanitised by nh3 (bot/services/markdown.py)
        stage_label=education.STAGE_LABELS.get(a.stage or ""),
        devices=[directory.DEVICE_LABELS.get(d, d) for d in a.device_types or []],
    )


@bp.get("/articles/media/<name>")
def article_image(name: str) -> Any:
    """An image inserted into an article, by its content hash: only from the articles' image
    folder, so no other file under MEDIA_ROOT (a patient's photo) is served here."""
    path = education.images.path_of(container().settings.media_root, name)
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/png" if name.endswith(".png") else "image/jpeg")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.max_age = 7 * 24 * 3600  # content-addressed: never changes
    return response


def _reader() -> str:
    """Who reads, for counting each reader once a day: the follower's account when signed
    in, else a random id kept in this browser's session."""
    if session.get("account_id"):
        return f"a{session['account_id']}"
    if "reader" not in session:
        session["reader"] = secrets.token_urlsafe(12)
    return f"r{session['reader']}"


def _devices() -> list[str]:
    """The device types in place of the signed-in follower's active 就诊人 (none otherwise)."""
    account_id = session.get("account_id")
    if not account_id:
        return []
    s = db()
    account = s.get(PatientAccount, account_id)
    if account is None or not account.active_profile_id:
        return []
    profile = s.get(PatientProfile, account.active_profile_id)
    return directory.patient_device_types(s, profile.patient_id if profile else None)
