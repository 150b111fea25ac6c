"""服务协议与隐私政策 (A5.1): versions per kind, a draft edited as Markdown with a preview,
publishing after a confirmation, and who accepted which version when. Changes and the
acceptance list are audited by the service."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request
from flask_admin import BaseView, expose
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from bot.models import Agreement
from bot.models.enums import AgreementKind
from bot.services import agreements, markdown
from web import container, db, require_csrf, uow

from .base import AdminOnly, admin_actor


class AgreementView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> Any:
        s = db()
        return self.render(
            "admin/agreements.html",
            kinds=[(k, label, agreements.versions(s, k)) for k, label in _kinds()],
            counts=agreements.acceptance_counts(s),
            csrf=generate_csrf(),
            tz=container().settings.timezone,
        )

    @expose("/new", methods=["POST"])
    def new(self) -> Any:
        require_csrf()
        try:
            kind = AgreementKind(request.form.get("kind", ""))
        except ValueError:
            abort(400)
        draft = agreements.new_draft(db(), kind, admin_actor())
        uow().commit()
        return redirect(self.get_url(".edit", id=draft.id))

    @expose("/edit", methods=["GET", "POST"])
    def edit(self) -> Any:
        s = db()
        agreement = s.get(Agreement, request.args.get("id", 0, type=int))
        if agreement is None:
            abort(404)
        title, body, note = agreement.title, agreement.body, agreement.note or ""
        if request.method == "POST":
            require_csrf()
            title, body = request.form.get("title", ""), request.form.get("body", "")
            note = request.form.get("note", "")
            try:
                agreements.save_draft(s, agreement.id, title, body, note, admin_actor())
            except agreements.AgreementRefused as exc:
                uow().rollback()
                flash(str(exc), "error")
            else:
                uow().commit()
                if request.form.get("do") != "preview":
                    flash(f"已保存第{agreement.version}版草稿（未发布，患者看不到）。")
                    return redirect(self.get_url(".edit", id=agreement.id))
        return self.render(
            "admin/agreement_edit.html",
            a=agreement,
            label=agreements.KIND_LABELS[agreement.kind],
            title=title,
            body=body,
            note=note,
            preview=Markup(markdown.to_html(body)),
            csrf=generate_csrf(),
            tz=container().settings.timezone,
        )

    @expose("/publish", methods=["POST"])
    def publish(self) -> Any:
        require_csrf()
        agreement_id = request.form.get("id", 0, type=int)
        if request.form.get("confirm") != "yes":
            flash("请勾选确认：发布后所有患者下次使用前都须重新同意。", "error")
            return redirect(self.get_url(".edit", id=agreement_id))
        try:
            published = agreements.publish(db(), agreement_id, admin_actor())
        except agreements.AgreementRefused as exc:
            uow().rollback()
            flash(str(exc), "error")
            return redirect(self.get_url(".edit", id=agreement_id))
        uow().commit()
        flash(f"已发布《{published.title}》第{published.version}版：所有患者下次使用前须重新同意。")
        return redirect(self.get_url(".index"))

    @expose("/discard", methods=["POST"])
    def discard(self) -> Any:
        require_csrf()
        try:
            agreements.discard_draft(db(), request.form.get("id", 0, type=int), admin_actor())
        except agreements.AgreementRefused as exc:
            uow().rollback()
            flash(str(exc), "error")
        else:
            uow().commit()
            flash("已删除草稿。")
        return redirect(self.get_url(".index"))

    @expose("/acceptances")
    def acceptances(self) -> Any:
        q = (request.args.get("account") or "").strip()[:64]
        rows = agreements.acceptances(db(), admin_actor(), q)
        uow().commit()
        return self.render(
            "admin/agreement_acceptances.html",
            rows=rows,
            q=q,
            labels=agreements.KIND_LABELS,
            tz=container().settings.timezone,
        )


def _kinds() -> list[tuple[AgreementKind, str]]:
    return list(agreements.KIND_LABELS.items())
