"""Report rows as OCR would have left them, over small photos drawn with Pillow (no OCR)."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from PIL import Image, ImageDraw

from bot.adapters.media import MediaStore
from bot.models import Report, ReportItem
from bot.models.enums import OcrStatus, ReportSource


def photo(text: str = "血常规", size: tuple[int, int] = (420, 560), fmt: str = "JPEG") -> bytes:
    """A small picture of a 'report' (distinct per ``text``, so distinct content hashes)."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for n in range(12):
        draw.line((20, 40 + 40 * n, size[0] - 20, 40 + 40 * n), fill="black", width=2)
    draw.text((30, 10), text.encode("unicode_escape").decode(), fill="black")
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def add_report(
    session: Any,
    media_root: Any,
    patient_id: int,
    *,
    kind: str = "blood_routine",
    day: date | None = None,
    status: OcrStatus = OcrStatus.DONE,
    source: ReportSource = ReportSource.SELF,
    institution: str | None = "本院",
    items: list[tuple[str, str | None, str, str | None, str | None]] = (),  # type: ignore[assignment]
    account_id: int | None = None,
    with_photo: bool = True,
    **fields: Any,
) -> Report:
    """A report of the patient; ``items`` are (name, code, value, reference range, flag)."""
    stored = MediaStore(media_root).save(photo(f"{kind}{day}{status}{fields}"), "image/jpeg")
    report = Report(
        patient_id=patient_id,
        source=source,
        uploaded_by_account_id=account_id,
        image_path=str(stored.path) if with_photo else None,
        image_sha256=stored.sha256 if with_photo else None,
        ocr_status=status,
        report_type=kind if status is OcrStatus.DONE else None,
        report_date=day,
        institution_name=institution,
        confirmed=bool(day and institution),
        items=[
            ReportItem(
                position=n, name=name, code=code, value=value, reference_range=ref, flag=flag
            )
            for n, (name, code, value, ref, flag) in enumerate(items)
        ],
        **fields,
    )
    session.add(report)
    session.flush()
    return report
