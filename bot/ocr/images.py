"""A report photo as the OCR engine wants it: checked, upright per EXIF, RGB, phone-sized.

``open_photo`` refuses what cannot or must not be decoded — too large a file, GIFs and other
animations, files that are not images or are broken, image bombs (huge dimensions in a small
file, refused from the header before any pixel is decoded) — with ``BadImage(reason)``, the
reason in Chinese for the patient. ``Quality.hint`` says, also in Chinese, why a decodable photo is
hard to read (too dark, blurred) and how to retake it (``Quality``).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 120_000_000  # a 108-megapixel phone camera still passes
MIN_SIDE = 200
LONG_SIDE = 1600  # what the engine reads: phone photos are brought down to this long side
# what may be opened: photos, screenshots; GIF only to be refused by name. The multi-picture
# JPEG some phones write opens through JPEG (its format then says "MPO").
FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")

TOO_DARK = "照片太暗，请在光线充足处（或打开闪光灯）重新拍摄报告"
BLURRED = "照片模糊，请把手机拿稳、对准报告对焦后重新拍摄，让报告铺满画面"


class BadImage(ValueError):
    """The photo cannot be read. ``reason`` is the Chinese sentence to show the patient."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def open_photo(data: bytes, long_side: int | None = None) -> Image.Image:
    """Decode a photo: EXIF orientation applied, RGB, long side at most ``long_side``
    (``LONG_SIDE`` by default).

    Raises BadImage for an empty, oversized, animated, broken or bomb file."""
    long_side = long_side or LONG_SIDE
    if not data:
        raise BadImage("没有收到照片，请重新发送报告照片")
    if len(data) > MAX_BYTES:
        raise BadImage("照片超过20MB，请压缩后或截图后重新发送")
    image = _open(data)
    if image.format == "GIF" or getattr(image, "is_animated", False) and image.format != "MPO":
        raise BadImage("不支持动图（GIF），请发送报告的照片（JPG或PNG）")
    w, h = image.size
    if w * h > MAX_PIXELS:
        raise BadImage("照片尺寸过大，无法处理，请用手机相机正常拍摄后重新发送")
    if min(w, h) < MIN_SIDE:
        raise BadImage("照片太小，看不清报告内容，请发送清晰的原图")
    if max(w, h) > 10 * min(w, h):
        raise BadImage("照片的长宽比例异常，请对准整张报告重新拍摄")
    scale = min(1.0, long_side / max(w, h))
    target = (max(1, round(w * scale)), max(1, round(h * scale)))
    if image.format in ("JPEG", "MPO"):
        image.draft("RGB", target)  # decode at 1/2, 1/4 or 1/8 scale: a 12 MP photo stays cheap
    try:
        image.load()
        image = ImageOps.exif_transpose(image) or image
        image = _rgb(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BadImage("照片文件已损坏，无法打开，请重新拍摄或重新发送") from exc
    if max(image.size) > long_side:
        image.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return image


def _open(data: bytes) -> Image.Image:
    Image.init()  # every format plugin registered, so ``formats`` names only known ones
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage("照片尺寸过大，无法处理，请用手机相机正常拍摄后重新发送") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadImage("文件不是有效的照片，请发送JPG或PNG格式的报告照片") from exc


def _rgb(image: Image.Image) -> Image.Image:
    """RGB; transparency (screenshots) over white."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


@dataclass(frozen=True)
class Quality:
    """How readable the photo is, measured at the size the engine reads.

    ``brightness``: the bright part of the photo (90th percentile of luminance: the paper).
    ``sharpness``: the sharpest edges (99.5th percentile of the Laplacian, where text strokes
    are) relative to the contrast of the photo, so a dim photo is not taken for a blurred one.
    """

    brightness: float
    sharpness: float

    @classmethod
    def of(cls, image: Image.Image) -> Quality:
        gray = image.convert("L")
        pixels = np.asarray(gray, dtype=np.float32)
        p10, p90 = (float(v) for v in np.percentile(pixels, (10, 90)))
        edges = gray.filter(ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), 1, 128))
        strength = np.abs(np.asarray(edges, dtype=np.float32) - 128)
        return cls(p90, float(np.percentile(strength, 99.5)) / max(p90 - p10, 1.0))

    @property
    def dark(self) -> bool:
        return self.brightness < 70

    @property
    def blurred(self) -> bool:
        return self.sharpness < 0.3

    def hint(self, has_text: bool) -> str | None:
        """What to tell the patient, or None. Blur is only mentioned for a photo with text in
        it: a blank wall is not blurred, it is not a report."""
        if self.dark:
            return TOO_DARK
        if self.blurred and has_text:
            return BLURRED
        return None
