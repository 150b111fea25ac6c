"""What the patient's and the clinicians' report pages share: a report's photo as a response
(the original, or a small thumbnail for lists) and the words a page says of a report."""

from __future__ import annotations

import io
import mimetypes
from pathlib import Path

from flask import Flask, abort, send_file
from werkzeug.wrappers import Response

from bot.models import Report
from bot.ocr.images import BadImage, open_photo
from bot.services import reports
from bot.services.report_reading import ARROWS
from web import container

THUMB_SIDE = 320  # px, the long side of a list's thumbnail


def photo_response(report: Report, thumb: bool = False) -> Response:
    """The report's photo with its content type, never cached by a shared proxy; 404 when the
    report has no photo (a hospital report from the LIS) or the file is gone. The caller has
    checked (and audited) that the reader may see it."""
    return image_response(report.image_path, thumb)


def image_response(image_path: str | None, thumb: bool = False) -> Response:
    """A photo kept under MEDIA_ROOT (a report's, a complication's), as ``photo_response``."""
    root = container().settings.media_root.resolve()
    path = Path(image_path).resolve() if image_path else None
    if path is None or not path.is_relative_to(root) or not path.is_file():
        abort(404)
    if thumb:
        try:
            image = open_photo(path.read_bytes(), long_side=THUMB_SIDE)
        except BadImage:
            abort(404)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=80)
        buf.seek(0)
        response = send_file(buf, mimetype="image/jpeg")
    else:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        response = send_file(path, mimetype=kind)
    response.cache_control.private = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def report_when(report: Report) -> str:
    return report.report_date.isoformat() if report.report_date else "日期待补充"


def init_app(app: Flask) -> None:
    """The words of a report, for every template that lists reports."""
    app.add_template_global(lambda r: reports.kind_label(r.report_type), "report_kind")
    app.add_template_global(report_when, "report_when")
    app.add_template_global(lambda r: reports.SOURCE_LABELS[r.source], "report_source")
    app.add_template_global(reports.status_label, "report_status")
    app.add_template_global(lambda flag: ARROWS.get(flag or "", ""), "report_arrow")
