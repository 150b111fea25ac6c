"""Finding institutions near a patient (P5.1): by position (GCJ-02, haversine) or by district,
for the device types the patient has in place. (Education articles: bot/services/education.)"""

from __future__ import annotations

import math
import re
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care.defaults import DEFAULT_DICTIONARY
from bot.models import Catheter, Institution
from bot.models.enums import CatheterState

SERVICE_LABELS = {
    "PICC_MAINT": "PICC维护",
    "PORT_MAINT": "输液港维护",
    "PICC_PLACE": "PICC置管",
    "PORT_PLACE": "输液港植入",
}
# the device types and their short names as the clinical dictionary ships them ("PORT" → "输液港"),
# for forms and pages that list them without a session (institutions, articles)
DEVICE_LABELS: dict[str, str] = {
    d["code"]: d.get("short") or d["code"] for d in DEFAULT_DICTIONARY["device_types"]
}
EARTH_RADIUS_KM = 6371.0
# a rectangle around China: a position outside it is a wrong or foreign one (GPS off, abroad)
CHINA_LAT = (3.8, 53.6)
CHINA_LNG = (73.5, 135.1)


def in_china(lat: float, lng: float) -> bool:
    return CHINA_LAT[0] <= lat <= CHINA_LAT[1] and CHINA_LNG[0] <= lng <= CHINA_LNG[1]


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Place:
    name: str
    distance_km: float | None  # None when found by district, not by position
    service_labels: tuple[str, ...]
    phone: str | None
    opening_hours: str | None
    address: str | None
    id: int = 0
    latitude: float | None = None
    longitude: float | None = None
    device_labels: tuple[str, ...] = ()


def _maintainers(session: Session, device_types: Collection[str] | None) -> list[Institution]:
    """Active institutions that maintain one of ``device_types`` (any device type if empty)."""
    rows = session.scalars(
        select(Institution).where(Institution.active.is_(True)).order_by(Institution.id)
    ).all()
    wanted = set(device_types or ())
    return [
        i
        for i in rows
        if i.device_types and (not wanted or wanted.intersection(i.device_types or []))
    ]


def _place(inst: Institution, distance: float | None) -> Place:
    return Place(
        name=inst.name,
        distance_km=distance,
        service_labels=tuple(SERVICE_LABELS.get(s, s) for s in inst.services or []),
        phone=inst.phone,
        opening_hours=inst.opening_hours,
        address=inst.address,
        id=inst.id,
        latitude=inst.latitude,
        longitude=inst.longitude,
        device_labels=tuple(DEVICE_LABELS.get(d, d) for d in inst.device_types or []),
    )


def nearby(
    session: Session,
    lat: float,
    lon: float,
    *,
    device_types: Collection[str] | None = None,
    limit: int | None = 3,
) -> list[Place]:
    """Active institutions with coordinates that maintain one of the patient's device types
    (every maintaining institution when none is given), nearest first."""
    places = [
        _place(i, distance_km(lat, lon, float(i.latitude), float(i.longitude)))
        for i in _maintainers(session, device_types)
        if i.latitude is not None and i.longitude is not None
    ]
    places.sort(key=lambda p: p.distance_km or 0.0)
    return places if limit is None else places[:limit]


def in_district(
    session: Session, words: str, *, device_types: Collection[str] | None = None
) -> list[Place]:
    """Institutions whose district or address contains what the patient typed (e.g.
    "西湖区", "文三路"), for when no position is known: in the table's order, no distance."""
    text = re.sub(r"\s+", "", words)
    if not text:
        return []
    stem = re.sub(r"(新区|区|县|市)$", "", text) or text
    return [
        _place(i, None)
        for i in _maintainers(session, device_types)
        if any(w in (i.district or "") + (i.address or "") for w in {text, stem})
    ]


def patient_device_types(session: Session, patient_id: int | None) -> list[str]:
    """The device types of a patient's catheters in place ([] when none or no patient)."""
    if not patient_id:
        return []
    rows = session.scalars(
        select(Catheter.device_type)
        .where(Catheter.patient_id == patient_id, Catheter.state == CatheterState.IN_PLACE)
        .distinct()
    ).all()
    return sorted(rows)


def had_removal(session: Session, patient_id: int | None) -> bool:
    """Whether one of the patient's catheters has been removed."""
    if not patient_id:
        return False
    return bool(
        session.scalar(
            select(Catheter.id)
            .where(Catheter.patient_id == patient_id, Catheter.state == CatheterState.REMOVED)
            .limit(1)
        )
    )


def district_in(session: Session, text: str) -> str | None:
    """A district of the institutions table that a message mentions ("西湖区附近哪里能维护
    PICC" → "西湖区"), the longest one if several."""
    districts = session.scalars(
        select(Institution.district).where(Institution.district.is_not(None)).distinct()
    ).all()
    found = [d for d in districts if d and d in text]
    return max(found, key=len) if found else None
