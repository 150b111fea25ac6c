"""How long an export's file is kept (A6.2): a file with identifiers in full is deleted
``keep`` after it was written (EXPORT_IDENTIFIED_KEEP_DAYS, by the periodic
``bot.jobs.exports.expire_identified_files``); a masked file stays until the media clean-up.

An expired export keeps its log row — who, what, why, the rows and the file's hash — with its
``file_path`` cleared: done, with identifiers in full and no file. The deletion is audited.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import ExportLog
from bot.models.enums import ExportStatus
from bot.services import audit

from .running import stored_file

log = logging.getLogger(__name__)

EXPIRED = "已超过保存期限，文件已删除，请重新导出"


def expired(export: ExportLog) -> bool:
    """Whether the export's file was deleted at the end of its keeping period."""
    return export.full_identifiers and export.status is ExportStatus.DONE and not export.file_path


def deleted_after(export: ExportLog, keep: timedelta) -> datetime | None:
    """When the export's file goes (None: a masked export, or not written yet)."""
    if not export.full_identifiers or export.finished_at is None:
        return None
    return export.finished_at + keep


def expire_identified(
    session: Session, media_root: Path, now: datetime, keep: timedelta
) -> list[int]:
    """Delete the files with identifiers in full written longer than ``keep`` before ``now``,
    clear their rows' file path and audit each deletion; the ids of the exports expired. The
    caller commits. A file that cannot be deleted keeps its row as it was (tried again on the
    next run)."""
    due = session.scalars(
        select(ExportLog)
        .where(
            ExportLog.full_identifiers.is_(True),
            ExportLog.status == ExportStatus.DONE,
            ExportLog.file_path.is_not(None),
            ExportLog.finished_at < now - keep,
        )
        .order_by(ExportLog.id)
    ).all()
    expired_ids = []
    for export in due:
        path = stored_file(export, media_root)
        try:
            if path is not None:
                path.unlink(missing_ok=True)
        except OSError:
            log.exception("export %s: its file %s could not be deleted", export.id, path)
            continue
        export.file_path = None
        audit.record(
            session,
            audit.SYSTEM,
            "expire",
            "export",
            export.id,
            context="export",
            detail={
                "kind": export.kind,
                "sha256": export.file_sha256,
                "full_identifiers": True,
                "keep_days": keep.days,
            },
        )
        expired_ids.append(export.id)
    if expired_ids:
        log.info("deleted the files of %s exports with identifiers in full", len(expired_ids))
    return expired_ids
