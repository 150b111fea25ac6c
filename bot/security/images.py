"""Checking that an upload really is a photo before it is kept."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

MAX_BYTES = 10 * 1024 * 1024
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


class NotAnImage(ValueError):
    """The reason, in Chinese."""


def check_photo(data: bytes) -> str:
    """The content type of a JPEG or PNG photo of at most 10 MB, else NotAnImage."""
    if not data:
        raise NotAnImage("请选择照片")
    if len(data) > MAX_BYTES:
        raise NotAnImage("照片不能超过10MB，请压缩后重新上传")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind = image.format
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise NotAnImage("文件不是有效的照片，请上传JPG或PNG格式的照片") from exc
    if kind not in FORMATS:
        raise NotAnImage("请上传JPG或PNG格式的照片")
    return FORMATS[kind]
