"""Media files nobody needs any more are removed (issue 12 §5), never one a record points to.

MEDIA_ROOT holds inbound photos and voice by content hash, badge photos, QR images (a cache:
one per catheter, token version and public address) and export files. A file is kept while
anything refers to it — a report, a complication photo, an application's badge, an article's
cover, an export, a consultation's media, a message still to be sent, a message still to be
answered — and while it is younger than the grace period (a photo whose report is being
written right now). Otherwise it goes: an old QR image after a reissue or an address change, a
photo sent by someone who never bound, a half-written ``.part`` file of a crash.

The images inserted into articles (``MEDIA_ROOT/articles/``, bot/services/education/images.py)
are never removed: only an article's Markdown or one of its versions names them. An image
uploaded before that folder existed (directly under MEDIA_ROOT) is kept while an article text
names it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import (
    ArticleVersion,
    Catheter,
    ComplicationPhoto,
    ConsultationMedia,
    EducationArticle,
    ExportLog,
    InboxMessage,
    OutboxMessage,
    OutsideApplication,
    Report,
)
from bot.models.enums import DeliveryStatus, InboxStatus

from .education import images as article_images
from .qr import QrCodes

log = logging.getLogger(__name__)

GRACE = timedelta(days=7)


def _paths(values: Iterable[str | None]) -> set[Path]:
    return {Path(v).resolve() for v in values if v}


def _payload_paths(payload: Any) -> list[str]:
    """Paths inside an outbox payload or a dialogue input (``{"image": {"path": …}}``,
    ``{"media_path": …}``), wherever they are nested."""
    found: list[str] = []
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in ("path", "media_path") and isinstance(value, str):
                found.append(value)
            else:
                found += _payload_paths(value)
    elif isinstance(payload, list):
        for value in payload:
            found += _payload_paths(value)
    return found


def referenced(session: Session, codes: QrCodes, media_root: Path) -> set[Path]:
    """Every file some record points to, and each catheter's current QR image."""
    columns = (
        Report.image_path,
        ComplicationPhoto.path,
        OutsideApplication.badge_photo_path,
        EducationArticle.cover_path,
        ExportLog.file_path,
    )
    keep: set[Path] = set()
    for column in columns:
        keep |= _paths(session.scalars(select(column).where(column.is_not(None))))
    unsent = session.scalars(
        select(OutboxMessage.payload).where(OutboxMessage.status == DeliveryStatus.PENDING)
    )
    unanswered = session.scalars(
        select(InboxMessage.turn_input).where(
            InboxMessage.status.in_([InboxStatus.PENDING, InboxStatus.PROCESSING])
        )
    )
    # a consultation's photos, voice notes, videos and files: stored relative to MEDIA_ROOT
    keep |= _paths(
        str(media_root / p) for p in session.scalars(select(ConsultationMedia.path)) if p
    )
    for payload in [*unsent, *unanswered]:
        keep |= _paths(_payload_paths(payload))
    # article images uploaded before they had their own folder, named in an article's text
    for column in (EducationArticle.body, ArticleVersion.body):
        for text in session.scalars(select(column)):
            keep |= _paths(str(media_root / n[:2] / n) for n in article_images.named_in(text))
    for catheter in session.scalars(select(Catheter)):
        keep.add(codes.png_path(catheter, media_root).resolve())
    return keep


def sweep(
    session: Session, codes: QrCodes, media_root: Path, now: datetime, grace: timedelta = GRACE
) -> list[Path]:
    """Remove the files under ``media_root`` that nothing refers to and that are older than
    ``grace``; the removed paths."""
    if not media_root.exists():
        return []
    keep = referenced(session, codes, media_root)
    cutoff = (now - grace).timestamp()
    articles = article_images.root(media_root)
    removed = []
    for path in sorted(p for p in media_root.rglob("*") if p.is_file()):
        if path.is_relative_to(articles):
            continue  # article images: named only inside the articles' Markdown
        if path.stat().st_mtime > cutoff or path.resolve() in keep:
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.info("media clean-up removed %s files no record refers to", len(removed))
    return removed
