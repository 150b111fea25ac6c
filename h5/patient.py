"""Patient H5 pages in the official account (P1.1–P1.3, P2.1–P2.5, P6.1, P6.3): who the
follower is (WeChat OAuth), the agreements, binding through the internet hospital, the home page
with the active 就诊人, switching and unbinding, the history of placements, each catheter's
paper-form record with its maintenance, and its QR code full-screen. A follower sees only their
own 就诊人; anything else is "not found"."""

from __future__ import annotations

import base64
import secrets
import time
from functools import wraps
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select

from bot.adapters import wechat_oauth
from bot.adapters.internet_hospital import HttpInternetHospital, InternetHospitalError
from bot.adapters.wechat import WeChatError
from bot.care.rules import local_date
from bot.models import Catheter, InAppMessage, PatientAccount, PatientProfile, utcnow
from bot.models.enums import CatheterState
from bot.security.masking import initials
from bot.services import access, binding, history, markdown, reminders
from bot.services import dictionary as dictionary_service
from bot.services.maintenance import ITEM_LABELS
from web import container, db, limiter, require_csrf, uow

bp = Blueprint("patient", __name__, url_prefix="/h5", template_folder="templates")
STATE_TTL = 600  # seconds an OAuth state stays valid


def _account() -> PatientAccount | None:
    """The signed-in follower; an account erased since (注销) signs nobody in."""
    account_id = session.get("account_id")
    account = db().get(PatientAccount, account_id) if account_id else None
    return account if account is not None and account.erased_at is None else None


def follower_required(view):
    """Find the follower through WeChat OAuth (snsapi_base) once per session."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        if _account() is None:
            return redirect(url_for("patient.wechat_auth", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper


def agreements_accepted(view):
    """A page showing the patient's records: the current service agreement and privacy
    policy accepted first (after ``follower_required``)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        account = _account()
        if account is not None and binding.pending_agreements(db(), account.id):
            return redirect(url_for("patient.agreements", next=request.path))
        return view(*args, **kwargs)

    return wrapper


def _new_state(purpose: str, next_url: str = "") -> str:
    state = secrets.token_urlsafe(16)
    session[f"state:{purpose}"] = {"value": state, "at": time.time(), "next": next_url}
    return state


def _take_state(purpose: str, given: str | None) -> dict[str, Any] | None:
    """The stored state if ``given`` matches and is fresh; used once either way."""
    stored = session.pop(f"state:{purpose}", None)
    if not stored or not given or not secrets.compare_digest(stored["value"], given):
        return None
    if time.time() - stored["at"] > STATE_TTL:
        return None
    return stored


def _problem(title: str, message: str, status: int = 400):
    return render_template("h5/problem.html", title=title, message=message), status


def _safe(next_url: str | None) -> str:
    return next_url if next_url and next_url.startswith("/h5/") else url_for("patient.home")


@bp.get("/auth")
def wechat_auth():
    settings = container().settings
    state = _new_state("wechat", _safe(request.args.get("next")))
    return redirect(wechat_oauth.authorize_url(settings, _public("patient.wechat_callback"), state))


@bp.get("/auth/callback")
def wechat_callback():
    stored = _take_state("wechat", request.args.get("state"))
    if stored is None:
        return _problem("链接已失效", "页面链接已过期或无效，请从公众号菜单重新进入。")
    try:
        openid = wechat_oauth.openid_for(container().settings, request.args.get("code", ""))
    except WeChatError:
        return _problem("微信授权失败", "微信授权没有成功，请从公众号菜单重新进入。")
    s = db()
    account = s.scalar(select(PatientAccount).where(PatientAccount.openid == openid))
    if account is None:
        account = PatientAccount(openid=openid, subscribed=False)
        s.add(account)
        uow().commit()
    session.clear()
    session["account_id"] = account.id
    return redirect(stored["next"])


@bp.route("/agreements", methods=["GET", "POST"])
@follower_required
def agreements():
    s = db()
    account = _account()
    assert account is not None
    pending = binding.pending_agreements(s, account.id)
    if request.method == "POST":
        require_csrf()
        if request.form.get("agree") != "yes":
            return _problem(
                "需要同意协议", "需同意《服务协议》和《隐私政策》后才能使用本服务。", 200
            )
        binding.accept(s, account.id, [a.id for a in pending])
        uow().commit()
        return redirect(_safe(request.args.get("next")))
    if not pending:
        return redirect(_safe(request.args.get("next")))
    return render_template(
        "h5/agreements.html",
        agreements=pending,
        bodies={a.id: Markup(markdown.to_html(a.body)) for a in pending},
        csrf=generate_csrf(),
    )


@bp.get("/bind")
@follower_required
def bind():
    c = container()
    account = _account()
    assert account is not None
    if binding.pending_agreements(db(), account.id):
        return redirect(url_for("patient.agreements", next=url_for("patient.bind")))
    if not c.settings.internet_hospital_base:
        return _problem("暂未开通", "互联网医院登录尚未配置，请联系医院信息科。", 503)
    state = _new_state("ih")
    return redirect(_ih().authorize_url(_public("patient.bind_callback"), state))


@bp.get("/bind/callback")
@follower_required
@limiter.limit("30 per hour")
def bind_callback():
    if request.args.get("error") == "access_denied":
        session.pop("state:ih", None)
        return _problem("已取消授权", "您取消了互联网医院授权，未绑定任何就诊人。", 200)
    if _take_state("ih", request.args.get("state")) is None:
        return _problem(
            "链接已失效", "登录链接已过期或无效，未绑定任何就诊人。请重新点击“绑定就诊人”。"
        )
    ih = _ih()
    redirect_uri = _public("patient.bind_callback")
    try:
        token = ih.exchange(request.args.get("code", ""), redirect_uri)
        user, people = ih.user(token), ih.patients(token)
    except InternetHospitalError as exc:
        if exc.reason == "invalid_grant":
            return _problem(
                "授权码无效", "授权码已使用或已过期，未绑定任何就诊人。请重新点击“绑定就诊人”。"
            )
        return _problem("互联网医院暂时无法访问", "请稍后再试。", 502)
    s = db()
    account = _account()
    assert account is not None
    try:
        result = binding.bind(s, container().cipher, account, user, people)
    except binding.BindingRefused as exc:
        uow().rollback()
        return _problem("无法绑定", str(exc), 409)
    uow().commit()
    return render_template("h5/bound.html", result=result, profiles=_profiles(account))


@bp.get("/home")
@follower_required
@agreements_accepted
def home():
    s = db()
    account = _account()
    assert account is not None
    active = s.get(PatientProfile, account.active_profile_id) if account.active_profile_id else None
    unread = []
    catheters = []
    if active is not None:
        catheters = _placements(active.patient_id)
        unread = list(
            s.scalars(
                select(InAppMessage)
                .where(InAppMessage.patient_id == active.patient_id, InAppMessage.read_at.is_(None))
                .order_by(InAppMessage.created_at.desc())
                .limit(5)
            )
        )
    return render_template(
        "h5/home.html",
        account=account,
        active=active,
        profiles=_profiles(account),
        catheters=catheters,
        unread=unread,
        csrf=generate_csrf(),
    )


@bp.get("/patients/<int:patient_id>")
@follower_required
@agreements_accepted
def patient(patient_id: int):
    """The 就诊人's history (P6.1): every placement, removed ones too, and the reminders."""
    account = _account()
    assert account is not None
    if not access.account_may_see_patient(db(), account.id, patient_id):
        abort(404)  # not "forbidden": do not confirm that the record exists
    profile = db().scalar(
        select(PatientProfile).where(
            PatientProfile.account_id == account.id, PatientProfile.patient_id == patient_id
        )
    )
    tz = container().settings.timezone
    rows = _placements(patient_id)
    reminder_rows = []
    for row in rows:
        reminder_rows += reminders.history(db(), row.catheter.id, tz, limit=20)
    reminder_rows.sort(key=lambda h: h.created_at, reverse=True)
    return render_template(
        "h5/patient.html", profile=profile, catheters=rows, reminders=reminder_rows[:20], tz=tz
    )


@bp.get("/catheters/<int:catheter_id>")
@follower_required
@agreements_accepted
def catheter(catheter_id: int):
    """One catheter laid out as the paper placement form, with its maintenance records (P6.3)."""
    c = _followed_catheter(catheter_id)
    s = db()
    return render_template(
        "h5/catheter.html",
        c=c,
        d=dictionary_service.current(s),
        tz=container().settings.timezone,
        visits=history.visits(s, [c.id]),
        items=ITEM_LABELS,
        show_tier=False,
    )


@bp.get("/catheters/<int:catheter_id>/qr")
@follower_required
@agreements_accepted
def qr(catheter_id: int):
    """The catheter's code full-screen (P2.3), for a nurse to scan from the patient's phone."""
    c = _followed_catheter(catheter_id)
    settings = container().settings
    d = dictionary_service.current(db())
    usable = c.state is CatheterState.IN_PLACE and not c.qr_revoked
    image = ""
    if usable:
        png = container().qr.png(c, settings.media_root).read_bytes()
        image = "data:image/png;base64," + base64.b64encode(png).decode()
    return render_template(
        "h5/qr.html",
        c=c,
        image=image,
        initials=initials(c.patient.name),
        device=d.label("device_types", c.device_type),
        placed=local_date(c.placed_at, settings.timezone),
    )


@bp.post("/switch")
@follower_required
def switch():
    require_csrf()
    s = db()
    account = _account()
    assert account is not None
    try:
        binding.switch(s, account, int(request.form.get("profile_id", "0")))
    except (binding.BindingRefused, ValueError):
        abort(404)
    uow().commit()
    return redirect(url_for("patient.home"))


@bp.post("/unbind")
@follower_required
def unbind():
    require_csrf()
    s = db()
    account = _account()
    assert account is not None
    binding.unbind(s, account)
    uow().commit()
    return _problem(
        "已解除绑定",
        "已解除互联网医院账号与就诊人的绑定，您的就诊记录仍由医院保存。需要时可重新绑定。",
        200,
    )


def _public(endpoint: str) -> str:
    """An absolute URL under PUBLIC_BASE_URL (behind the hospital's reverse proxy)."""
    return container().settings.public_base_url + url_for(endpoint)


def _ih() -> HttpInternetHospital:
    st = container().settings
    return HttpInternetHospital(
        st.internet_hospital_base,
        st.internet_hospital_client_id,
        st.internet_hospital_client_secret,
    )


def _profiles(account: PatientAccount) -> list[PatientProfile]:
    return list(
        db().scalars(
            select(PatientProfile)
            .where(PatientProfile.account_id == account.id)
            .order_by(PatientProfile.id)
        )
    )


def _placements(patient_id: int) -> list[history.Placement]:
    settings = container().settings
    s = db()
    today = local_date(utcnow(), settings.timezone)
    return history.placements(
        s, dictionary_service.current(s), patient_id, today, settings.timezone
    )


def _followed_catheter(catheter_id: int) -> Catheter:
    account = _account()
    assert account is not None
    c = history.followed_catheter(db(), account.id, catheter_id)
    if c is None:
        abort(404)  # a foreign catheter looks like a missing one
    return c
