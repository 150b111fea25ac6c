"""The one-click trace as a PDF (导管全程溯源报告, A7.5): A4, the patient masked (initials and
a masked ID card), each device with its lot number, and the events as a table (time, event,
institution, person, detail) whose Chinese wraps inside its cells; page numbers, when it was
generated and by whom on every page.

The font is the TrueType WenQuanYi Zen Hei (Debian ``fonts-wqy-zenhei``): reportlab embeds
TrueType outlines only, so the CFF-outlined Noto CJK fonts the charts use will not do.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bot.care.timeline import Trace

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FONT = "WenQuanYiZenHei"
TITLE = "导管全程溯源报告"
COLUMNS = ("时间", "事件", "机构", "人员", "详情")
WIDTHS = (27 * mm, 20 * mm, 30 * mm, 22 * mm, 81 * mm)  # 180 mm: A4 less 15 mm margins


class FontMissing(RuntimeError):
    """The CJK font is not installed, so no PDF can be drawn."""


def _font(path: Path = FONT_PATH) -> str:
    if not path.is_file():  # checked each time: a font removed later is told, not a crash
        raise FontMissing(
            f"中文字体缺失：{path}"
            "（请安装 Debian 软件包 fonts-wqy-zenhei，scripts/setup.sh 已列出）"
        )
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
    return FONT


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "base": base,
        "title": ParagraphStyle("title", base, fontSize=16, leading=22, alignment=1),
        "cell": ParagraphStyle("cell", base, fontSize=8, leading=10.5),
        "head": ParagraphStyle("head", base, fontSize=8.5, leading=11, textColor=colors.white),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def render(trace: Trace, *, generated_by: str, generated_at: datetime, tz: ZoneInfo) -> bytes:
    """The trace as PDF bytes, the events oldest first. ``FontMissing`` without the font."""
    font = _font()
    st = _styles(font)
    stamp = f"生成时间：{generated_at.astimezone(tz):%Y-%m-%d %H:%M} · 生成人：{generated_by}"
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=TITLE,
        author=generated_by,
    )

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(15 * mm, 9 * mm, stamp)
        canvas.drawRightString(A4[0] - 15 * mm, 9 * mm, f"第 {document.page} 页")
        canvas.restoreState()

    story: list[Any] = [_p(TITLE, st["title"]), Spacer(1, 4 * mm)]
    who = f"患者：{trace.initials}"
    if trace.id_card:
        who += f"　身份证号：{trace.id_card}"
    if trace.hospital_patient_id:
        who += f"　病案号：{trace.hospital_patient_id}"
    story.append(_p(who, st["base"]))
    for dev in trace.devices:
        story.append(
            _p(
                f"导管：{dev.device}　品牌型号：{dev.brand_model}　批号：{dev.lot_number}　"
                f"置管：{dev.placed_at.astimezone(tz):%Y-%m-%d} {dev.place} {dev.person}　"
                f"状态：{dev.state}",
                st["base"],
            )
        )
    story.append(_p(f"共 {len(trace.events)} 条记录，按时间先后排列。", st["base"]))
    story.append(Spacer(1, 3 * mm))
    story.append(_table(trace, st, tz))
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def _table(trace: Trace, st: dict[str, ParagraphStyle], tz: ZoneInfo) -> Table:
    rows: list[list[Any]] = [[_p(c, st["head"]) for c in COLUMNS]]
    for e in trace.events:
        local = e.at.astimezone(tz)
        when = f"{local:%Y-%m-%d}" if e.date_only else f"{local:%Y-%m-%d %H:%M}"
        rows.append(
            [
                _p(when, st["cell"]),
                _p(e.label, st["cell"]),
                _p(f"{e.institution}（{e.source}）", st["cell"]),
                _p(e.person, st["cell"]),
                _p(e.text, st["cell"]),
            ]
        )
    table = Table(rows, colWidths=WIDTHS, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1565c0")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f4f6f8")]),
            ]
        )
    )
    return table
