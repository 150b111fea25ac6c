"""What patients read (P7.1): the published articles, listed with the patient's devices first,
one article's page, and its read count — once per reader per article per day (a Redis key),
without touching ``updated_at`` (the retrieval index is keyed on it). Without Redis the read is
not counted and the page is shown all the same."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.models import EducationArticle
from bot.models.enums import ArticleStage, PublishStatus

log = logging.getLogger(__name__)

READ_KEY_TTL = 2 * 24 * 3600
STAGE_ORDER = [s.value for s in ArticleStage]


def published(session: Session, article_id: int) -> EducationArticle | None:
    """The article if patients may read it (published), else None."""
    article = session.get(EducationArticle, article_id)
    if article is None or article.status is not PublishStatus.PUBLISHED:
        return None
    return article


def published_list(
    session: Session,
    device_types: Sequence[str] = (),
    *,
    stage: str | None = None,
    category: str | None = None,
) -> list[EducationArticle]:
    """The published articles (of ``stage`` / ``category`` if given): those for the patient's
    devices first, then those for everyone, then the rest; within each, by stage of the
    device's life, then newest first."""
    query = select(EducationArticle).where(EducationArticle.status == PublishStatus.PUBLISHED)
    if stage:
        query = query.where(EducationArticle.stage == stage)
    if category:
        query = query.where(EducationArticle.category == category)
    rows = list(session.scalars(query))
    mine = set(device_types)

    def order(a: EducationArticle) -> tuple[int, int, float]:
        devices = set(a.device_types or [])
        group = 0 if mine & devices else (1 if not devices else 2)
        step = STAGE_ORDER.index(a.stage) if a.stage in STAGE_ORDER else len(STAGE_ORDER)
        newest = -(a.published_at.timestamp() if a.published_at else 0.0)
        return group, step, newest

    return sorted(rows, key=order)


def count_read(session: Session, r: redis.Redis, article_id: int, reader: str, today: date) -> bool:
    """Count one read of the article by ``reader`` (an account, or a browser session) unless
    they read it today already; True when counted. Not counted (False) when Redis, which
    remembers who read it today, cannot be reached."""
    key = f"vam:article-read:{article_id}:{reader}:{today.isoformat()}"
    try:
        first_today = r.set(key, 1, nx=True, ex=READ_KEY_TTL)
    except redis.RedisError as exc:
        log.warning("article %s: read not counted, Redis unavailable (%s)", article_id, exc)
        return False
    if not first_today:
        return False
    session.execute(
        update(EducationArticle)
        .where(EducationArticle.id == article_id)
        .values(
            read_count=EducationArticle.read_count + 1,
            updated_at=EducationArticle.updated_at,  # a read is not a change of the article
        )
        .execution_options(synchronize_session=False)
    )
    return True
