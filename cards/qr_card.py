"""The ward's printable card of a catheter: its QR code, the patient's initials, the device
and the placement date on a white card (PNG on the catheter page, PDF for the printer)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # Debian fonts-noto-cjk


def catheter_card(
    qr_png: Path, initials: str, device: str, placed_on: date, scale: int = 1
) -> Image.Image:
    """400 × 520 px at ``scale`` 1; the PDF is drawn at 2 for 300 dpi."""
    qr = Image.open(qr_png).convert("RGB")
    img = Image.new("RGB", (400 * scale, 520 * scale), "white")
    # nearest neighbour keeps the modules sharp-edged at any size
    img.paste(
        qr.resize((360 * scale, 360 * scale), Image.Resampling.NEAREST), (20 * scale, 20 * scale)
    )
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 26 * scale)
    small = ImageFont.truetype(FONT, 20 * scale)
    for y, text, face, colour in (
        (395, f"{initials}  {device}", font, "black"),
        (440, f"置管日期 {placed_on:%Y-%m-%d}", small, "black"),
        (472, "维护时请出示此码", small, "#555555"),
    ):
        draw.text((20 * scale, y * scale), text, fill=colour, font=face)
    return img
