"""WeChat Work's temporary media upload (``media/upload?type=…``), checked as
qyapi.weixin.qq.com checks it: every file more than 5 bytes; image JPG/PNG ≤ 10 MB, voice AMR
≤ 2 MB, video MP4 ≤ 10 MB, file ≤ 20 MB. Media ids live three days (the simulator's clock).

Error codes (WeChat Work's global return codes): a ``type`` other than the four → 40005
(不合法的type参数); content not in the type's format → 40004 (不合法的媒体文件类型); too small
or too big → 40009 for images (上传图片大小不是有效值), 40011 for videos (上传视频大小不是有效值),
40006 otherwise (不合法的文件大小); no ``media`` part → 41005.
"""

from __future__ import annotations

from typing import Any

from flask import request

from .api import get_state
from .errors import ApiError

MB = 1 << 20
MIN_BYTES = 6  # "the size of every file must be greater than 5 bytes"
# type → (max bytes, error code when the size is wrong)
LIMITS: dict[str, tuple[int, int]] = {
    "image": (10 * MB, 40009),
    "voice": (2 * MB, 40006),
    "video": (10 * MB, 40011),
    "file": (20 * MB, 40006),
}
FORMATS = {"image": "JPG or PNG", "voice": "AMR", "video": "MP4"}


def sniff(data: bytes) -> str | None:
    """The content type of JPG, PNG, AMR and MP4 data from its first bytes, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"#!AMR"):  # "#!AMR\n" (narrow-band) or "#!AMR-WB\n"
        return "audio/amr"
    if data[4:8] == b"ftyp":  # ISO base media (MP4) starts with a "ftyp" box
        return "video/mp4"
    return None


def check_work_media(media_type: str, data: bytes) -> str:
    """The content type to store for ``data`` uploaded as ``media_type``; raises ApiError."""
    if media_type not in LIMITS:
        raise ApiError(40005, "invalid type: must be image, voice, video or file")
    limit, size_code = LIMITS[media_type]
    if not MIN_BYTES <= len(data) <= limit:
        raise ApiError(size_code, f"{media_type} must be 6 bytes to {limit // MB} MB")
    content_type = sniff(data)
    if media_type == "file":
        return content_type or ""
    if content_type is None or content_type.split("/")[0] != _family(media_type):
        raise ApiError(40004, f"invalid media type: {media_type} must be {FORMATS[media_type]}")
    return content_type


def _family(media_type: str) -> str:
    return {"image": "image", "voice": "audio", "video": "video"}[media_type]


def upload_work_media() -> dict[str, Any]:
    """``media/upload``: store the ``media`` part; → the store's info (media_id, type …)."""
    media_type = request.args.get("type", "")
    upload = request.files.get("media")
    if media_type in LIMITS and upload is None:
        raise ApiError(41005, "media data missing")
    data = upload.read() if upload is not None else b""
    content_type = check_work_media(media_type, data)
    if not content_type:  # a file: what the uploader said it is
        content_type = (upload.mimetype if upload else "") or "application/octet-stream"
    info = get_state().media.put(
        "work",
        data,
        content_type,
        filename=upload.filename if upload else None,
        media_type=media_type,
    )
    return info
