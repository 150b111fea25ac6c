"""The patient's own account pages, routes of the patient blueprint: 我的提醒 (P2.4, P2.5:
the latest in-app messages of the active 就诊人, marked read when shown), the agreements in
force to read again (A5.1) and 注销账号 (个人信息保护法: the account's personal data erased on
the person's request, clinical records kept by the hospital)."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, session, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from bot.models import AgreementAcceptance, InAppMessage, PatientProfile, utcnow
from bot.models.enums import ActorType, AgreementKind
from bot.services import account_erasure, audit, binding, markdown
from web import container, db, require_csrf, uow

from .patient import _account, agreements_accepted, bp, follower_required

REMINDER_PAGE = 30  # the latest in-app messages shown


@bp.get("/reminders")
@follower_required
@agreements_accepted
def reminders() -> Any:
    """The active 就诊人's latest reminders, newest first; the unread ones are marked read."""
    s = db()
    account = _account()
    assert account is not None
    active = s.get(PatientProfile, account.active_profile_id) if account.active_profile_id else None
    rows: list[InAppMessage] = []
    unread: set[int] = set()
    if active is not None:
        rows = list(
            s.scalars(
                select(InAppMessage)
                .where(InAppMessage.patient_id == active.patient_id)
                .order_by(InAppMessage.created_at.desc(), InAppMessage.id.desc())
                .limit(REMINDER_PAGE)
            )
        )
        unread = {m.id for m in rows if m.read_at is None}
        now = utcnow()
        for m in rows:
            m.read_at = m.read_at or now
        uow().commit()
    return render_template(
        "h5/reminders.html",
        active=active,
        rows=rows,
        unread=unread,
        tz=container().settings.timezone,
    )


@bp.route("/account/delete", methods=["GET", "POST"])
@follower_required
def delete_account() -> Any:
    """What deleting the account erases and what the hospital keeps, a confirmation, then the
    erasure. No agreement needs accepting first: leaving is always possible."""
    account = _account()
    assert account is not None
    if request.method == "POST":
        require_csrf()
        if request.form.get("confirm") != "yes":
            return render_template(
                "h5/account_delete.html",
                csrf=generate_csrf(),
                error="请勾选“我已了解”后再确认注销。",
            )
        account_erasure.erase(
            db(),
            account,
            audit.Actor(ActorType.PATIENT, account.id, request.remote_addr),
            "患者本人在公众号页面申请注销",
        )
        uow().commit()
        session.clear()
        return redirect(url_for("patient.account_deleted"))
    return render_template("h5/account_delete.html", csrf=generate_csrf(), error="")


@bp.get("/account/deleted")
def account_deleted() -> Any:
    return render_template("h5/account_deleted.html")


@bp.get("/agreements/<kind>")
@follower_required
def agreement(kind: str) -> Any:
    """The service agreement or privacy policy in force, to read again at any time."""
    try:
        wanted = AgreementKind(kind)
    except ValueError:
        abort(404)
    account = _account()
    assert account is not None
    current = next((a for a in binding.current_agreements(db()) if a.kind is wanted), None)
    if current is None:
        return render_template(
            "h5/problem.html", title="暂未发布", message="医院尚未发布该文本，请稍后再看。"
        )
    accepted = db().scalar(
        select(AgreementAcceptance.accepted_at).where(
            AgreementAcceptance.account_id == account.id,
            AgreementAcceptance.agreement_id == current.id,
        )
    )
    return render_template(
        "h5/agreement.html",
        a=current,
        body=Markup(markdown.to_html(current.body)),
        accepted=accepted,
        tz=container().settings.timezone,
    )
