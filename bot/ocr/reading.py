"""Reading a report photo (P4.3): ``read_image(data, dictionary)`` → ``Reading``.

The same code path serves the ``reports`` RQ worker and ``flask reports read``: decode and check
the photo, judge its quality, turn it upright, read its text boxes, rebuild rows and tables,
and pull the fields out. Only ``BadImage`` is raised for a photo that cannot be read; a photo
that is dark, blurred or not a report at all gives a Reading that says so.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from bot.care.dictionary import Dictionary

from . import fields, layout
from .engine import Engine, engine
from .fields import Item
from .images import Quality, open_photo


@dataclass(frozen=True)
class Reading:
    is_report: bool
    problem: str | None  # Chinese: what to retake and how (dark, blurred); may come with a report
    kind: str  # one of fields.KINDS
    institution: str | None
    report_date: date | None
    items: list[Item] = field(default_factory=list)
    conclusion: str | None = None
    text: str = ""  # everything read, one line per row, top to bottom
    seconds: float = 0.0
    turned: int = 0  # degrees the photo was turned (counter-clockwise) to read it

    def to_json(self, file: str) -> dict[str, Any]:
        """The ``flask reports read --json`` object for this photo."""
        return {
            "file": file,
            "kind": self.kind,
            "institution": self.institution,
            "report_date": self.report_date.isoformat() if self.report_date else None,
            "items": [
                {k: v for k, v in asdict(i).items() if k != "reference_range"} for i in self.items
            ],
            "conclusion": self.conclusion,
            "text": self.text,
            "seconds": round(self.seconds, 3),
        }


def read_image(data: bytes, dictionary: Dictionary, *, ocr: Engine | None = None) -> Reading:
    """Read a report photo. ``ocr`` defaults to the process's engine (``OCR_ENGINE``).

    Raises BadImage (``.reason`` in Chinese) when the photo cannot be opened."""
    ocr = ocr or engine()
    started = time.perf_counter()
    image = open_photo(data)
    quality = Quality.of(image)
    turn = ocr.upright(image)
    if turn:
        image = image.rotate(turn, expand=True)
    boxes = ocr.read(image)
    rows = layout.rows(boxes)
    tables = layout.tables(rows)
    first = fields.items(tables, dictionary, lab=True)
    if not tables:  # no header row: known items recognised by the look of their rows
        first = fields.loose_items(rows, dictionary)
    kind = fields.kind(rows, first, dictionary)
    items = first if kind in (*fields.LAB_KINDS, "other") else [i for i in first if i.code]
    report = fields.is_report(rows, items)
    return Reading(
        is_report=report,
        problem=quality.hint(has_text=len(boxes) >= 3),
        kind=kind if report else "other",
        institution=fields.institution(rows) if report else None,
        report_date=fields.report_date(rows) if report else None,
        items=items if report else [],
        conclusion=fields.conclusion(rows) if report and kind not in fields.LAB_KINDS else None,
        text="\n".join(r.text for r in rows),
        seconds=time.perf_counter() - started,
        turned=turn,
    )
