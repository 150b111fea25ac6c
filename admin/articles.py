"""科普宣教 (A4.1): articles written in Markdown with a live preview (rendered and sanitised by
the server, as patients will see it), images uploaded once by content hash into the articles'
own folder (MEDIA_ROOT/articles/: public, never cleaned up), filed by category, device types
and stage; draft → 提交审核 → 发布 (by another administrator) → 下线; every save a
version with a note, each old text viewable and restorable. The lifecycle and its audit rows
are in bot/services/education."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import abort, flash, jsonify, redirect, request
from flask_admin import BaseView, expose
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from bot.models import ArticleVersion, EducationArticle, Staff, utcnow
from bot.models.enums import ArticleStage, PublishStatus
from bot.security.images import NotAnImage, check_photo
from bot.services import audit, directory, education, markdown
from web import container, db, require_csrf, uow

from .base import AdminOnly, admin_actor

MAX_IMAGE_BYTES = 5 * 1024 * 1024
FIELDS = ("title", "summary", "category", "stage", "keywords", "body", "note")


class ArticleView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> Any:
        s = db()
        status = request.args.get("status") or None
        query = select(EducationArticle).order_by(EducationArticle.updated_at.desc())
        if status in {p.value for p in PublishStatus}:
            query = query.where(EducationArticle.status == status)
        return self.render(
            "admin/articles.html",
            rows=list(s.scalars(query)),
            status=status,
            **_labels(),
            tz=container().settings.timezone,
        )

    @expose("/new", methods=["GET", "POST"])
    def new(self) -> Any:
        form = _form_values(request.form if request.method == "POST" else None)
        if request.method == "POST":
            require_csrf()
            draft = _draft(request.form)
            problems = draft.problems()
            if not problems and request.form.get("do") != "preview":
                article = education.create(db(), draft, admin_actor(), request.form.get("note"))
                uow().commit()
                flash(
                    f"已保存为草稿（第{article.version}版），提交审核并由另一位管理员发布后患者才能看到。"
                )
                return redirect(self.get_url(".edit", id=article.id))
            for message in problems.values():
                flash(message, "error")
        return self._editor(None, form)

    @expose("/<int:id>", methods=["GET", "POST"])
    def edit(self, id: int) -> Any:
        article = db().get(EducationArticle, id)
        if article is None:
            abort(404)
        if request.method == "POST":
            require_csrf()
            if request.form.get("do") != "preview" and _changed(
                lambda: education.save(
                    db(), id, _draft(request.form), admin_actor(), request.form.get("note")
                ),
                lambda a: f"已保存第{a.version}版（草稿，须重新审核发布）。",
            ):
                return redirect(self.get_url(".edit", id=id))
            return self._editor(article, _form_values(request.form))
        return self._editor(article, _form_values(None, article))

    @expose("/<int:id>/<step>", methods=["POST"])
    def step(self, id: int, step: str) -> Any:
        """提交审核 / 发布 / 下线."""
        require_csrf()
        s, actor = db(), admin_actor()
        actions = {
            "submit": (lambda: education.submit(s, id, actor), "已提交审核，请另一位管理员发布。"),
            "publish": (
                lambda: education.publish(s, id, actor, utcnow()),
                "已发布，患者可以看到。",
            ),
            "unpublish": (lambda: education.unpublish(s, id, actor), "已下线，患者看不到此文章。"),
        }
        if step not in actions:
            abort(404)
        run, done = actions[step]
        _changed(run, lambda _: done)
        return redirect(self.get_url(".edit", id=id))

    @expose("/<int:id>/versions/<int:version>")
    def version(self, id: int, version: int) -> Any:
        s = db()
        v = s.scalar(
            select(ArticleVersion).where(
                ArticleVersion.article_id == id, ArticleVersion.version == version
            )
        )
        if v is None:
            abort(404)
        return self.render(
            "admin/article_version.html",
            v=v,
            article=s.get(EducationArticle, id),
            html=Markup(markdown.to_html(v.body)),  # noqa: S704  sanitised by nh3
            author=s.get(Staff, v.created_by_id) if v.created_by_id else None,
            csrf=generate_csrf(),
            **_labels(),
            tz=container().settings.timezone,
        )

    @expose("/<int:id>/versions/<int:version>/restore", methods=["POST"])
    def restore(self, id: int, version: int) -> Any:
        require_csrf()
        _changed(
            lambda: education.restore(db(), id, version, admin_actor()),
            lambda a: f"已将第{version}版的内容恢复为第{a.version}版（草稿，须重新审核发布）。",
        )
        return redirect(self.get_url(".edit", id=id))

    @expose("/preview", methods=["POST"])
    def preview(self) -> Any:
        """The Markdown as patients will see it (sanitised), for the editor's live preview."""
        require_csrf()
        return Markup(markdown.to_html(request.form.get("body", "")))  # noqa: S704

    @expose("/upload", methods=["POST"])
    def upload(self) -> Any:
        """A JPG or PNG of at most 5 MB (checked by its content), stored once by its hash in
        the articles' image folder (never with patients' photos); answers the Markdown that
        shows it."""
        require_csrf()
        file = request.files.get("image")
        data = file.read(MAX_IMAGE_BYTES + 1) if file else b""
        try:
            if len(data) > MAX_IMAGE_BYTES:
                raise NotAnImage("图片不能超过5MB，请压缩后重新上传")
            content_type = check_photo(data)
        except NotAnImage as exc:
            return jsonify(error=str(exc)), 400
        stored = education.images.store(container().settings.media_root, data, content_type)
        audit.record(
            db(),
            admin_actor(),
            "upload",
            "article_image",
            stored.sha256[:40],
            context="admin",
            detail={"bytes": stored.size, "type": content_type},
        )
        uow().commit()
        alt = re.sub(r"[\[\]()]", "", (file.filename if file else "") or "")[:40] or "图片"
        alt = alt.rsplit(".", 1)[0]
        url = education.images.url(stored)
        return jsonify(markdown=f"![{alt}]({url})", url=url)

    def _editor(self, article: EducationArticle | None, form: dict[str, Any]) -> Any:
        return self.render(
            "admin/article_edit.html",
            article=article,
            form=form,
            preview=Markup(markdown.to_html(form["body"])),  # noqa: S704  sanitised by nh3
            versions=education.versions(db(), article.id) if article else [],
            staff_names=_staff_names(),
            csrf=generate_csrf(),
            **_labels(),
            tz=container().settings.timezone,
        )


def _changed(
    change: Callable[[], EducationArticle], done: Callable[[EducationArticle], str]
) -> bool:
    """Run a lifecycle step and commit it with its message, or roll back and show why not."""
    try:
        article = change()
    except education.LifecycleRefused as exc:
        uow().rollback()
        flash(str(exc), "error")
        return False
    uow().commit()
    flash(done(article))
    return True


def _labels() -> dict[str, Any]:
    return {
        "status_labels": {s.value: label for s, label in education.STATUS_LABELS.items()},
        "stage_labels": dict(education.STAGE_LABELS),
        "device_labels": directory.DEVICE_LABELS,
        "stages": [(s.value, education.STAGE_LABELS[s]) for s in ArticleStage],
    }


def _staff_names() -> dict[int, str]:
    return {staff_id: name for staff_id, name in db().execute(select(Staff.id, Staff.name))}


def _keywords(text: str) -> list[str]:
    return [k for k in re.split(r"[,，、;；\s]+", text or "") if k]


def _draft(form: Any) -> education.Draft:
    return education.Draft(
        title=form.get("title", ""),
        body=form.get("body", ""),
        summary=form.get("summary") or None,
        category=form.get("category") or None,
        device_types=form.getlist("device_types"),
        keywords=_keywords(form.get("keywords", "")),
        stage=form.get("stage") or None,
    )


def _form_values(posted: Any, article: EducationArticle | None = None) -> dict[str, Any]:
    """What the editor shows: what was posted, else the article's current text."""
    if posted is not None:
        values = {name: posted.get(name, "") for name in FIELDS}
        values["device_types"] = posted.getlist("device_types")
        return values
    if article is None:
        return {**{name: "" for name in FIELDS}, "device_types": []}
    return {
        "title": article.title,
        "summary": article.summary or "",
        "category": article.category or "",
        "stage": article.stage or "",
        "keywords": "、".join(article.keywords or []),
        "body": article.body,
        "note": "",
        "device_types": list(article.device_types or []),
    }
