"""Finding institutions near a patient (P5.1) and education articles (P7.1)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.models import EducationArticle, Institution
from bot.models.enums import PublishStatus

SERVICE_LABELS = {
    "PICC_MAINT": "PICC维护",
    "PORT_MAINT": "输液港维护",
    "PICC_PLACE": "PICC置管",
    "PORT_PLACE": "输液港植入",
}
EARTH_RADIUS_KM = 6371.0


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Place:
    name: str
    distance_km: float
    service_labels: tuple[str, ...]
    phone: str | None
    opening_hours: str | None
    address: str | None


def nearby(
    session: Session, lat: float, lon: float, *, service: str | None = None, limit: int = 3
) -> list[Place]:
    """Active institutions that maintain vascular access, nearest first."""
    rows = session.scalars(
        select(Institution).where(
            Institution.active.is_(True),
            Institution.latitude.is_not(None),
            Institution.longitude.is_not(None),
        )
    ).all()
    places = []
    for inst in rows:
        services = list(inst.services or [])
        maintains = [s for s in services if s.endswith("_MAINT")]
        if not maintains or (service and service not in services):
            continue
        places.append(
            Place(
                name=inst.name,
                distance_km=distance_km(
                    lat, lon, float(inst.latitude or 0), float(inst.longitude or 0)
                ),
                service_labels=tuple(SERVICE_LABELS.get(s, s) for s in maintains),
                phone=inst.phone,
                opening_hours=inst.opening_hours,
                address=inst.address,
            )
        )
    return sorted(places, key=lambda p: p.distance_km)[:limit]


@dataclass(frozen=True)
class ArticleSummary:
    id: int
    title: str
    excerpt: str


def articles(session: Session, words: Sequence[str], *, limit: int = 3) -> list[ArticleSummary]:
    """Published articles matching any of the words (title, summary or body), newest first."""
    query = select(EducationArticle).where(EducationArticle.status == PublishStatus.PUBLISHED)
    terms = [w for w in words if w]
    if terms:
        query = query.where(
            or_(
                *[
                    c.contains(w)
                    for w in terms
                    for c in (
                        EducationArticle.title,
                        EducationArticle.summary,
                        EducationArticle.body,
                    )
                ]
            )
        )
    rows = session.scalars(query.order_by(EducationArticle.published_at.desc()).limit(limit)).all()
    if not rows and terms:
        return articles(session, [], limit=limit)  # nothing specific: the newest articles
    return [ArticleSummary(a.id, a.title, _excerpt(a.summary or a.body)) for a in rows]


def _excerpt(text: str, size: int = 120) -> str:
    flat = re.sub(r"\s+", " ", re.sub(r"[#*>`]", "", text)).strip()
    return flat if len(flat) <= size else flat[:size] + "……"
