"""Sign-in pages for staff (C1.1): the same page serves the WeChat Work H5 and the admin web."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from bot.adapters import wechat_oauth
from bot.adapters.wechat import WeChatError
from bot.models import Staff
from bot.models.enums import ActorType, StaffRole
from bot.services import audit, auth
from web import container, db, limiter, uow

bp = Blueprint("auth", __name__, template_folder="templates")


class LoginForm(FlaskForm):
    login = StringField(
        "工号或手机号", validators=[DataRequired("请输入工号或手机号"), Length(max=32)]
    )
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=64)])


class PasswordForm(FlaskForm):
    old = PasswordField("原密码", validators=[DataRequired("请输入原密码")])
    new = PasswordField(
        "新密码", validators=[DataRequired("请输入新密码"), Length(8, 64, "密码长度需为8–64位")]
    )
    again = PasswordField("再次输入新密码", validators=[EqualTo("new", "两次输入的新密码不一致")])


def _safe_next(default: str) -> str:
    target = request.args.get("next") or ""
    parts = urlsplit(target)
    return (
        target
        if target.startswith("/") and not parts.netloc and not target.startswith("//")
        else default
    )


def _home() -> str:
    return url_for("admin.index") if current_user.role is StaffRole.ADMIN else url_for("auth.me")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    "20 per 10 minutes", methods=["POST"], error_message="登录尝试过于频繁，请10分钟后再试"
)
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        s = db()
        try:
            signed = auth.sign_in(
                s,
                container().cipher,
                form.login.data or "",
                form.password.data or "",
                ip=request.remote_addr,
            )
        except auth.LoginRefused as exc:
            uow().commit()  # the failure count and a lockout are kept
            error = str(exc)
        else:
            wecom_userid = session.get("wecom_userid")
            if wecom_userid:
                _bind_wecom(s, signed.staff, wecom_userid)
            uow().commit()
            session.clear()
            session.permanent = True
            login_user(signed.staff)
            if signed.must_change_password:
                flash("首次登录或密码已被重置，请先修改密码")
                return redirect(url_for("auth.password"))
            return redirect(_safe_next(_home()))
    return render_template("auth/login.html", form=form, error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    flash("已退出登录")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        s = db()
        staff = s.merge(current_user._get_current_object())
        try:
            auth.change_password(s, staff, form.old.data or "", form.new.data or "")
        except (auth.LoginRefused, auth.WeakPassword) as exc:
            uow().rollback()
            error = str(exc)
        else:
            uow().commit()
            flash("密码已修改")
            return redirect(_safe_next(_home()))
    return render_template("auth/password.html", form=form, error=error)


@bp.get("/me")
@login_required
def me():
    return render_template("auth/me.html", staff=current_user)


def _bind_wecom(s, staff, userid: str) -> None:
    """First sign-in from the WeChat Work app: remember who this member is."""
    taken = s.scalar(select(Staff).where(Staff.wecom_userid == userid, Staff.id != staff.id))
    if taken is None and staff.wecom_userid in (None, userid):
        staff.wecom_userid = userid
        audit.record(
            s,
            audit.Actor(ActorType.STAFF, staff.id, request.remote_addr),
            "bind_wecom",
            "staff",
            staff.id,
        )


@bp.get("/work/login")
def work_login():
    """Opened from the WeChat Work app: WeChat Work OAuth says which member this is."""
    settings = container().settings
    state = secrets.token_urlsafe(16)
    session["state:work"] = {
        "value": state,
        "at": time.time(),
        "next": _safe_next(url_for("auth.me")),
    }
    callback = settings.public_base_url + url_for("auth.work_callback")
    return redirect(wechat_oauth.work_authorize_url(settings, callback, state))


@bp.get("/work/login/callback")
def work_callback():
    stored = session.pop("state:work", None)
    given = request.args.get("state") or ""
    if (
        not stored
        or not secrets.compare_digest(stored["value"], given)
        or time.time() - stored["at"] > 600
    ):
        return render_template(
            "auth/login.html", form=LoginForm(), error="登录链接已过期，请从企业微信应用重新进入"
        ), 400
    work = container().senders.work
    try:
        if work is None:
            raise WeChatError(None, "not configured", retryable=False, reason="not_configured")
        userid = str(
            work.get("auth/getuserinfo", params={"code": request.args.get("code", "")})["userid"]
        )
    except (WeChatError, KeyError):
        return render_template(
            "auth/login.html", form=LoginForm(), error="企业微信授权失败，请使用工号或手机号登录"
        ), 400
    s = db()
    staff = s.scalar(select(Staff).where(Staff.wecom_userid == userid, Staff.active.is_(True)))
    if staff is not None and staff.password_changed_at is not None:
        session.clear()
        session.permanent = True
        login_user(staff)
        audit.record(
            s,
            audit.Actor(ActorType.STAFF, staff.id, request.remote_addr),
            "login",
            "staff",
            staff.id,
            context="wecom",
        )
        uow().commit()
        return redirect(stored["next"])
    # first time from this member: sign in once with staff number or phone + password
    session["wecom_userid"] = userid
    flash("首次从企业微信登录，请输入工号或手机号和密码完成绑定")
    return redirect(url_for("auth.login"))
