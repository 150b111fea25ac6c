"""Sign-in pages for staff (C1.1): the same page serves the WeChat Work H5 and the admin web."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from bot.models.enums import StaffRole
from bot.services import auth

from . import db, limiter

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
def login():  # type: ignore[no-untyped-def]
    from server import container

    form = LoginForm()
    error = None
    if form.validate_on_submit():
        s = db()
        try:
            signed = auth.sign_in(s, container().cipher, form.login.data or "", form.password.data or "",
                                  ip=request.remote_addr)  # fmt: skip
        except auth.LoginRefused as exc:
            s.commit()  # the failure count and a lockout are kept
            error = str(exc)
        else:
            s.commit()
            session.clear()
            session.permanent = True
            login_user(signed.staff)
            if signed.must_change_password:
                flash("首次登录或密码已被重置，请先修改密码")
                return redirect(url_for("auth.password"))
            return redirect(_safe_next(_home()))
    return render_template("auth/login.html", form=form, error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    session.clear()
    flash("已退出登录")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():  # type: ignore[no-untyped-def]
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        s = db()
        staff = s.merge(current_user._get_current_object())
        try:
            auth.change_password(s, staff, form.old.data or "", form.new.data or "")
        except (auth.LoginRefused, auth.WeakPassword) as exc:
            s.rollback()
            error = str(exc)
        else:
            s.commit()
            flash("密码已修改")
            return redirect(_safe_next(_home()))
    return render_template("auth/password.html", form=form, error=error)


@bp.get("/me")
@login_required
def me():  # type: ignore[no-untyped-def]
    return render_template("auth/me.html", staff=current_user)
