"""Reading report photos on the ``reports`` queue (P4.3): never in a callback or a turn.

One job per report, ``report-<id>``. The attempt is counted before the photo is read, so a
photo that kills its worker is given up after MAX_OCR_ATTEMPTS (the sweeper re-enqueues a
pending report whose job went missing) and the patient is told; the other photos finish.
Applying a reading twice writes the same fields and sends nothing twice (outbox keys).
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.care.rules import local_date
from bot.container import current
from bot.models import Report, utcnow
from bot.models.enums import OcrStatus
from bot.ocr import BadImage, engine, read_image
from bot.services import dictionary as dictionary_service
from bot.services import report_reading

from .queues import enqueue_send

log = logging.getLogger(__name__)


def read_report(report_id: int) -> str:
    ctx = current()
    with ctx.uow() as uow:
        report = uow.session.get(Report, report_id)
        if report is None or report.ocr_status is not OcrStatus.PENDING:
            return "nothing to read"
        if report.ocr_attempts >= report_reading.MAX_OCR_ATTEMPTS:
            return give_up(report_id, "多次识别未成功")
        report.ocr_attempts += 1
        path = Path(report.image_path or "")
        dictionary = dictionary_service.current(uow.session)
        uow.commit()
    try:
        data = path.read_bytes()
    except OSError:
        log.error("report %s: photo %s is missing", report_id, path)
        return give_up(report_id, "照片文件丢失")
    try:
        reading = read_image(data, dictionary, ocr=engine(ctx.settings))
    except BadImage as exc:
        log.info("report %s refused: %s", report_id, exc.reason)
        return give_up(report_id, exc.reason)
    ids: list[int] = []
    with ctx.uow() as uow:
        report = uow.session.get(Report, report_id)
        if report is None or report.ocr_status is not OcrStatus.PENDING:
            return "read elsewhere"
        today = local_date(utcnow(), ctx.settings.timezone)
        report_reading.apply(uow.session, report, reading, today)
        base = ctx.settings.public_base_url
        ids += report_reading.notify_patient(uow.session, report, base)
        if report.ocr_status is OcrStatus.DONE:
            ids += report_reading.notify_clinicians(uow.session, report, base)
        uow.commit()
        status = report.ocr_status.value
    for outbox_id in ids:
        enqueue_send(ctx.redis, outbox_id)
    log.info("report %s read in %.1f s: %s", report_id, reading.seconds, status)
    return status


def give_up(report_id: int, reason: str) -> str:
    """The report stays (its photo can still be seen and filled in by hand); the patient is
    told why it could not be read."""
    ctx = current()
    with ctx.uow() as uow:
        report = uow.session.get(Report, report_id)
        if report is None or report.ocr_status is not OcrStatus.PENDING:
            return "nothing to give up"
        report.ocr_status = OcrStatus.FAILED
        report.ocr_problem = reason[:200]
        ids = report_reading.notify_patient(uow.session, report, ctx.settings.public_base_url)
        uow.commit()
    for outbox_id in ids:
        enqueue_send(ctx.redis, outbox_id)
    return "failed"
