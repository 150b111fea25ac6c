"""Generated photos of hospital reports, with the ground truth to compare a reading with (P4.3).

Tests and ``bench/ocr.py`` never use hard-coded OCR text: they draw a report with Pillow and the
CJK fonts ``scripts/setup.sh`` installs (Debian ``fonts-noto-cjk``), photograph it — paper on a
desk, turned, skewed, blurred, darkened, noisy, JPEG — and read it back.

    data, truth = report_photo(seed=7, kind="coagulation", photo=Photo(size=(3024, 4032)))
    data = other_photo("dressing", seed=3)

``python -m devtools.report_images OUT_DIR [N]`` writes N photos and their truth (JSON) to look at.
"""

from __future__ import annotations

import io
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

from devtools import report_content as content
from devtools.report_content import KINDS, LAB_KINDS, Report, Row

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
FONTS = {
    "sans": (FONT_DIR / "NotoSansCJK-Regular.ttc", FONT_DIR / "NotoSansCJK-Bold.ttc"),
    "serif": (FONT_DIR / "NotoSerifCJK-Regular.ttc", FONT_DIR / "NotoSerifCJK-Bold.ttc"),
}
SC = 2  # the Simplified Chinese face in the Noto CJK collections
PAGE_WIDTH = 1240  # A4 / A5 width at 150 dpi, the unit every layout size is given in
NON_REPORTS = ("face", "dressing", "wall")


@dataclass(frozen=True)
class Photo:
    """How the page is photographed. ``size`` is the photo as stored (width, height);
    ``rotation`` turns the whole photo clockwise (a phone held sideways, no EXIF tag)."""

    size: tuple[int, int] = (960, 1280)
    rotation: int = 0
    skew: float = 0.0  # degrees, the page on the desk
    blur: float = 0.0  # Gaussian radius in photo pixels
    quality: int = 88  # JPEG
    noise: float = 3.0  # standard deviation, 0–255
    darkness: float = 0.0  # 0: well lit … 0.85: almost black
    background: bool = True  # paper on a desk; False: the page fills the photo
    fill: float = 0.86  # share of the photo's shorter fit the page takes


def report_photo(
    seed: int, kind: str | None = None, photo: Photo | None = None, table_header: bool = True
) -> tuple[bytes, dict[str, Any]]:
    """A JPEG photo of a generated report and its ground truth (``Report.truth``).
    ``table_header=False``: the lab table's header row is not printed (a photo of the lower
    part of a report, or a lab system that prints none)."""
    rng = random.Random(seed)
    kind = kind or rng.choice(KINDS)
    report = content.make(rng, kind)
    report.table_header = table_header
    photo = photo or Photo()
    # an A5 landscape sheet holds the header, the patient lines and about eight table rows
    portrait = kind not in LAB_KINDS or len(report.rows) > 8
    scale = _page_scale(photo, portrait)
    page = render(report, rng, scale, portrait)
    image = _photograph(page, photo, rng)
    truth = report.truth() | {"photo": {"size": list(photo.size), "rotation": photo.rotation}}
    return _jpeg(image, photo.quality), truth


def report_truth(seed: int, kind: str) -> dict[str, Any]:
    """The ground truth ``report_photo(seed, kind, …)`` would give, without drawing it: for
    picking seeds with a wanted content (a positive culture, an abnormal value)."""
    return content.make(random.Random(seed), kind).truth()


def other_photo(what: str, seed: int = 0, size: tuple[int, int] = (960, 1280)) -> bytes:
    """A photo that is not a report: a face-like drawing, a dressed PICC site, a blank wall."""
    rng = random.Random(seed)
    w, h = size
    if what == "wall":
        image = Image.new("RGB", size, (226, 218, 200))
        image = _shade(image, rng, strength=0.25)
    elif what == "face":
        image = Image.new("RGB", size, (90, 110, 140))
        d = ImageDraw.Draw(image)
        cx, cy, r = w // 2, h // 2, min(w, h) // 3
        d.ellipse((cx - r, cy - r - r // 2, cx + r, cy + r // 3), fill=(40, 30, 25))  # hair
        d.ellipse((cx - r * 4 // 5, cy - r, cx + r * 4 // 5, cy + r), fill=(233, 190, 160))
        for dx in (-r // 3, r // 3):
            d.ellipse(
                (cx + dx - r // 10, cy - r // 4, cx + dx + r // 10, cy - r // 8), fill="black"
            )
        d.arc(
            (cx - r // 3, cy + r // 5, cx + r // 3, cy + r // 2),
            20,
            160,
            fill=(150, 60, 60),
            width=6,
        )
    elif what == "dressing":
        image = Image.new("RGB", size, (214, 168, 138))
        d = ImageDraw.Draw(image)
        d.rectangle(
            (w * 0.2, h * 0.3, w * 0.8, h * 0.7),
            fill=(228, 206, 190),
            outline=(245, 245, 240),
            width=8,
        )
        d.line(
            (w * 0.1, h * 0.55, w * 0.5, h * 0.5, w * 0.9, h * 0.35), fill=(235, 235, 245), width=14
        )
        d.ellipse((w * 0.45, h * 0.46, w * 0.55, h * 0.54), fill=(120, 150, 210))
        image = _shade(image, rng, strength=0.2)
    else:
        raise ValueError(f"unknown photo {what!r}: one of {', '.join(NON_REPORTS)}")
    return _jpeg(_noise(image.filter(ImageFilter.GaussianBlur(1.2)), 4.0, rng), 88)


# --- the page -----------------------------------------------------------------------------------


class _Pen:
    """Draws at layout units (1 unit = 1 px of a 1240 px wide page) times ``scale``."""

    def __init__(self, image: Image.Image, scale: float, family: str) -> None:
        self.draw = ImageDraw.Draw(image)
        self.scale = scale
        self.family = FONTS[family]
        self._fonts: dict[tuple[int, bool], ImageFont.FreeTypeFont] = {}

    def font(self, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
        key = (size, bold)
        if key not in self._fonts:
            path = self.family[1 if bold else 0]
            self._fonts[key] = ImageFont.truetype(str(path), round(size * self.scale), index=SC)
        return self._fonts[key]

    def text(self, x: float, y: float, text: str, size: int = 24, bold: bool = False) -> None:
        s = self.scale
        self.draw.text((x * s, y * s), text, font=self.font(size, bold), fill=(20, 20, 20))

    def width(self, text: str, size: int = 24, bold: bool = False) -> float:
        return self.font(size, bold).getlength(text) / self.scale

    def rule(self, y: float, x0: float = 60, x1: float = PAGE_WIDTH - 60, width: int = 2) -> None:
        s = self.scale
        self.draw.line(
            (x0 * s, y * s, x1 * s, y * s), fill=(30, 30, 30), width=max(1, round(width * s))
        )


def render(report: Report, rng: random.Random, scale: float, portrait: bool) -> Image.Image:
    """The printed page: A4 portrait (long tables, text reports) or A5 landscape."""
    height = 1754 if portrait else 877
    page = Image.new("RGB", (round(PAGE_WIDTH * scale), round(height * scale)), (250, 249, 244))
    pen = _Pen(page, scale, rng.choice(("sans", "sans", "serif")))
    y = _header(pen, report, 50 if portrait else 36)
    dates_on_top = report.kind not in LAB_KINDS or rng.random() < 0.5
    lines = report.info + (_date_lines(report) if dates_on_top else [])
    for line in lines:
        _fields(pen, y, line)
        y += 36
    pen.rule(y + 6)
    y += 22
    body = _table if report.rows else _text_body
    y = body(pen, report, y, rng)
    y += 20
    for line in [] if dates_on_top else _date_lines(report):
        _fields(pen, y, line)
        y += 36
    pen.rule(y + 4, width=1)
    _fields(pen, y + 16, report.footer, size=20)
    return page


def _header(pen: _Pen, report: Report, y: float) -> float:
    if report.two_line_header:
        rest = report.title[len(report.institution) :]
        for text, size in ((report.institution, 40), (rest, 32)):
            pen.text((PAGE_WIDTH - pen.width(text, size, True)) / 2, y, text, size, True)
            y += size * 1.5
        return y + 12
    pen.text((PAGE_WIDTH - pen.width(report.title, 38, True)) / 2, y, report.title, 38, True)
    return y + 80


def _fields(pen: _Pen, y: float, line: str, size: int = 24) -> None:
    """Fields of one line ("姓名：…    性别：…") spread over the width as forms print them, or
    one after the other when they are too long to spread."""
    parts = [p.strip() for p in line.split("    ") if p.strip()]
    step = (PAGE_WIDTH - 140) / max(len(parts), 3)
    x = 70.0
    for part in parts:
        pen.text(x, y, part, size)
        x += max(step, pen.width(part, size) + size * 3)


def _date_lines(report: Report) -> list[str]:
    texts = [f"{label}：{report.date_format.format(t)}" for label, t in report.dates.items()]
    return ["    ".join(texts[:2]), *texts[2:]] if len(texts) > 2 else ["    ".join(texts)]


HEADERS = {
    "name": ("项目名称", "项目", "检验项目", "项目名称"),
    "code": ("代号", "英文缩写", "缩写"),
    "value": ("结果", "检验结果", "结果"),
    "flag": ("提示", "标志", "提示"),
    "unit": ("单位",),
    "range": ("参考范围", "参考值", "参考区间", "生物参考区间"),
}
LAYOUTS = (
    ("no", "name", "code", "value", "flag", "unit", "range"),
    ("name", "value", "flag", "unit", "range"),
    ("name", "code", "value", "flag", "range", "unit"),
    ("name", "value", "unit", "range"),  # the flag printed after the value
)


def _table(pen: _Pen, report: Report, y: float, rng: random.Random, split: bool = True) -> float:
    return _rows_table(pen, report.rows, y, rng, split, report.table_header)


def _rows_table(
    pen: _Pen,
    rows: list[Row],
    y: float,
    rng: random.Random,
    split: bool = True,
    header: bool = True,
) -> float:
    layout = rng.choice(LAYOUTS)
    arrows = rng.random() < 0.6
    halves = [rows]
    if split and len(rows) > 14 and rng.random() < 0.4:  # two tables side by side, if they fit
        layout = ("name", "value", "unit", "range")
        half = (len(rows) + 1) // 2
        halves = [rows[:half], rows[half:]]
    titles = {col: rng.choice(HEADERS[col]) if col in HEADERS else "序号" for col in layout}
    cells = [
        _cells(row, i, arrows, "flag" in layout) for part in halves for i, row in enumerate(part, 1)
    ]
    size = 24
    widths = _column_widths(pen, layout, titles, cells, size)
    room = (PAGE_WIDTH - 140) / len(halves) - (30 if len(halves) > 1 else 0)
    while sum(widths) > room and size > 20:  # a crowded table is printed smaller
        size -= 1
        widths = _column_widths(pen, layout, titles, cells, size)
    if sum(widths) > room and len(halves) > 1:
        return _rows_table(pen, rows, y, random.Random(rng.random()), False, header)
    spare = max(0.0, room - sum(widths)) / len(layout)
    top, bottom, n = y, y, 0
    for h, part in enumerate(halves):
        x = 70 + h * (PAGE_WIDTH - 140) / len(halves)
        xs = []
        for w in widths:
            xs.append(x)
            x += w + spare
        y = top
        if header:
            for col, cx in zip(layout, xs, strict=True):
                pen.text(cx, y, titles[col], size, True)
            pen.rule(y + size * 1.7, width=1)
        y += size * 2.2
        for _ in part:
            for col, cx in zip(layout, xs, strict=True):
                if cells[n][col]:
                    pen.text(cx, y, cells[n][col], size)
            n += 1
            y += size * 1.65
        bottom = max(bottom, y)
    pen.rule(top - 6)
    pen.rule(bottom + 4)
    return bottom + 10


def _column_widths(
    pen: _Pen,
    layout: tuple[str, ...],
    titles: dict[str, str],
    cells: list[dict[str, str]],
    size: int,
) -> list[float]:
    """Each column as wide as its widest cell plus a gap of two characters."""
    return [
        max(pen.width(t, size, True) for t in [titles[col], *(c[col] for c in cells)]) + size * 2
        for col in layout
    ]


def _cells(row: Row, number: int, arrows: bool, flag_column: bool) -> dict[str, str]:
    mark = {"H": "↑" if arrows else "H", "L": "↓" if arrows else "L"}.get(row.flag or "", "")
    value = row.value if flag_column or not mark else f"{row.value} {mark}"
    return {
        "no": str(number),
        "name": row.name,
        "code": row.abbreviation,
        "value": value,
        "flag": mark,
        "unit": row.unit,
        "range": row.range,
    }


def _text_body(pen: _Pen, report: Report, y: float, rng: random.Random) -> float:
    """Findings and conclusion of an imaging or culture report, each under its label."""
    y += 10
    for label, text in report.sections:
        pen.text(70, y, f"{label}：", 26, True)
        y += 46
        for line in _wrap(pen, text, PAGE_WIDTH - 200, 26):
            pen.text(110, y, line, 26)
            y += 42
        y += 30
    return y


def _wrap(pen: _Pen, text: str, width: float, size: int) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if pen.width(line + ch, size) > width:
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line else lines


# --- the photo ----------------------------------------------------------------------------------


def _page_scale(photo: Photo, portrait: bool) -> float:
    """Render the page at about the size it takes in the photo (no blurry upscaling)."""
    w, h = photo.size if photo.rotation in (0, 180) else photo.size[::-1]
    page_w, page_h = PAGE_WIDTH, 1754 if portrait else 877
    fill = photo.fill if photo.background else 0.96
    return min(w * fill / page_w, h * fill / page_h)


def _photograph(page: Image.Image, photo: Photo, rng: random.Random) -> Image.Image:
    w, h = photo.size if photo.rotation in (0, 180) else photo.size[::-1]
    if photo.background:
        desk = rng.choice(((120, 92, 70), (90, 90, 95), (160, 150, 135), (60, 70, 80)))
        canvas = Image.new("RGB", (w, h), desk)
        sheet = page.convert("RGBA").rotate(photo.skew, Image.Resampling.BICUBIC, expand=True)
        x = (w - sheet.width) // 2 + rng.randint(-w // 40, w // 40)
        y = (h - sheet.height) // 2 + rng.randint(-h // 40, h // 40)
        canvas.paste(sheet, (x, y), sheet)
    else:  # a close-up: the page fills the frame, the rest is more paper
        canvas = Image.new("RGB", (w, h), (250, 249, 244))
        canvas.paste(page, ((w - page.width) // 2, (h - page.height) // 2))
        canvas = canvas.rotate(photo.skew, Image.Resampling.BICUBIC, fillcolor=(250, 249, 244))
    image = _shade(canvas, rng, strength=0.12)
    if photo.blur:
        image = image.filter(ImageFilter.GaussianBlur(photo.blur))
    if photo.darkness:
        image = ImageEnhance.Brightness(image).enhance(1.0 - photo.darkness)
    image = _noise(image, photo.noise, rng)
    if photo.rotation:
        image = image.rotate(-photo.rotation, expand=True)
    return image


def _shade(image: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    """Uneven light: a linear gradient from one corner."""
    gradient = Image.linear_gradient("L").rotate(rng.choice((0, 45, 90, 135, 180)))
    gradient = gradient.resize(image.size).point(lambda v: 255 - int(v * strength))
    dark = Image.new("RGB", image.size, (0, 0, 0))
    return Image.composite(image, dark, gradient)


def _noise(image: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    if sigma <= 0:
        return image
    pixels = np.asarray(image).copy()
    gen = np.random.default_rng(rng.randint(0, 2**32 - 1))
    for top in range(0, pixels.shape[0], 256):  # in strips: a 12-megapixel photo stays small
        strip = pixels[top : top + 256].astype(np.int16)
        strip += gen.normal(0, sigma, strip.shape).astype(np.int16)
        pixels[top : top + 256] = np.clip(strip, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def variety(n: int, seed: int = 0) -> list[tuple[int, str, Photo]]:
    """``n`` (seed, kind, photo) cases over every kind and the photo sizes, turns and faults
    phones give: the set the bench reads."""
    rng = random.Random(seed)
    sizes = ((1280, 960), (960, 1280), (1920, 1440), (1440, 1920), (3024, 4032), (4032, 3024))
    cases = []
    for i in range(n):
        photo = Photo(
            size=sizes[(i + i // len(KINDS)) % len(sizes)],  # every kind in every size
            rotation=rng.choice((0, 0, 0, 0, 90, 180, 270)),
            skew=rng.uniform(-5, 5),
            blur=rng.choice((0, 0, 0.6, 1.0, 1.4)),
            quality=rng.choice((60, 70, 80, 90)),
            noise=rng.uniform(2, 8),
            darkness=rng.choice((0, 0, 0.2, 0.35, 0.5)),
            background=rng.random() < 0.8,
        )
        cases.append((1000 + i, KINDS[i % len(KINDS)], photo))
    return cases


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for seed, kind, photo in variety(int(argv[1]) if len(argv) > 1 else 12):
        data, truth = report_photo(seed, kind, photo)
        (out / f"{seed}-{kind}.jpg").write_bytes(data)
        (out / f"{seed}-{kind}.json").write_text(json.dumps(truth, ensure_ascii=False, indent=2))
    for n, what in enumerate(NON_REPORTS):
        (out / f"not-a-report-{what}.jpg").write_bytes(other_photo(what, seed=n))
    print(f"written to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
