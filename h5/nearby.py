"""Nearby institutions (P5.1): inside WeChat the page asks for the phone's position with the
JS-SDK (``wx.getLocation``, GCJ-02) and lists the institutions that maintain the active
就诊人's catheters, nearest first, each with a map button (``wx.openLocation``); when the
position is denied, unavailable or outside China — and in any other browser — the patient
types a district instead. Routes of the patient blueprint."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import jsonify, render_template, request, session
from sqlalchemy import select

from bot.adapters.lbs import CachedGeocoder, LbsError
from bot.models import Institution, PatientAccount, PatientProfile
from bot.services import directory
from web import container, db, limiter

from .patient import _account, agreements_accepted, bp, follower_required
from .reports import _jssdk

log = logging.getLogger(__name__)
LIMIT = 10  # institutions listed at most
DISTRICT = re.compile(r"[\u4e00-\u9fffA-Za-z0-9（）()·\-\s]{2,40}")
ASK_DISTRICT = "请输入您所在的区县（如“西湖区”），我们按区县为您查找。"


def _per_account() -> str:
    """Rate limits count per signed-in follower, not per address (WeChat's proxies share few)."""
    return f"account:{session.get('account_id')}"


def _device_types(account: PatientAccount) -> list[str]:
    """The device types of the active 就诊人's catheters in place; [] (every type) if none."""
    profile_id = account.active_profile_id
    profile = db().get(PatientProfile, profile_id) if profile_id else None
    return directory.patient_device_types(db(), profile.patient_id if profile else None)


@bp.get("/nearby")
@follower_required
@agreements_accepted
@limiter.limit("60 per hour", key_func=_per_account)
def nearby() -> Any:
    """The page; with ``?district=…`` the institutions of that district (no script needed)."""
    account = _account()
    assert account is not None
    devices = _device_types(account)
    words = (request.args.get("district") or "").strip()
    places: list[directory.Place] = []
    problem = ""
    if words:
        places, problem = _by_district(words, devices)
    return render_template(
        "h5/nearby.html",
        devices=[directory.DEVICE_LABELS.get(d, d) for d in devices],
        district=words,
        places=places,
        problem=problem,
        jssdk=None if words else _jssdk(),
        ask_district=ASK_DISTRICT,
    )


@bp.get("/nearby/list")
@follower_required
@agreements_accepted
@limiter.limit("120 per hour", key_func=_per_account)
def nearby_list() -> Any:
    """JSON for the page's script: ``{ok, places, html}``, or ``{ok: false, message}`` when the
    position is unusable (the page then asks for a district)."""
    account = _account()
    assert account is not None
    try:
        lat, lng = float(request.args["lat"]), float(request.args["lng"])
    except (KeyError, ValueError):
        log.info("nearby list: bad position %r", dict(request.args))
        return jsonify(ok=False, message="位置信息有误。" + ASK_DISTRICT), 400
    if not directory.in_china(lat, lng):
        log.info("nearby list: position outside China (%s, %s)", lat, lng)
        return jsonify(ok=False, message="您的位置不在国内，无法按距离查找。" + ASK_DISTRICT)
    found = directory.nearby(db(), lat, lng, device_types=_device_types(account), limit=LIMIT)
    return jsonify(
        ok=True,
        places=[
            {"id": p.id, "name": p.name, "distance_km": round(p.distance_km or 0.0, 1)}
            for p in found
        ],
        html=render_template("h5/nearby_list.html", places=found),
    )


def _by_district(words: str, devices: list[str]) -> tuple[list[directory.Place], str]:
    """Institutions near a typed district: by distance from where the geocoder puts it, else
    those whose district or address contains the words; or what to tell the patient."""
    if not DISTRICT.fullmatch(words):
        return [], "请输入区县或街道名称（2–40个字），如“西湖区”。"
    c = container()
    if c.geocoder is not None:
        geocoder = CachedGeocoder(c.geocoder, c.redis)  # the key's daily quota is shared
        city = db().scalar(select(Institution.city).where(Institution.is_home.is_(True)))
        try:
            spot = geocoder.geocode(words, region=city or None)
        except LbsError as exc:
            log.info("nearby: district %r not geocoded: %s", words, exc)
        else:
            if directory.in_china(spot.latitude, spot.longitude):
                found = directory.nearby(
                    db(), spot.latitude, spot.longitude, device_types=devices, limit=LIMIT
                )
                return found, "" if found else "暂未找到可维护您导管的医疗机构。"
    found = directory.in_district(db(), words, device_types=devices)[:LIMIT]
    if not found:
        return [], f"没有找到“{words}”可维护您导管的医疗机构，请换一个区县名称试试。"
    return found, ""
