"""Files chosen on the consultation request form: what each is (by its first bytes, not its
name) and whether WeChat Work will take it into the group chat (image 10 MB, voice AMR or
SPEEX 2 MB, video MP4 10 MB). A refusal names the file and the limit."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Request

from bot.services.consultations.requests import LIMITS as GROUP_LIMITS
from bot.services.consultations.requests import MB

MAX_FILES = 9
# kind → (WeChat Work's limit in bytes, as the service checks it; the kind in words)
LIMITS = {
    kind: (GROUP_LIMITS[kind][0], words)
    for kind, words in (("image", "照片"), ("voice", "语音"), ("video", "视频"))
}
UPLOAD_LIMIT = MAX_FILES * 10 * MB + MB  # nine 10 MB files and the form
VOICE_SECONDS = 60  # WeChat Work's limit of a voice message
# bytes of an AMR frame (its header byte included) by the header's frame type; 20 ms each
AMR_NB_FRAME = [13, 14, 16, 18, 20, 21, 27, 32, 6, 1, 1, 1, 1, 1, 1, 1]
AMR_WB_FRAME = [18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 1, 1, 1, 1, 1, 1]


@dataclass(frozen=True)
class Upload:
    data: bytes
    name: str
    kind: str  # image / voice / video
    content_type: str


def sniff(data: bytes) -> tuple[str, str] | None:
    """(kind, content type) of a JPEG or PNG photo, an AMR or SPEEX voice note or an MP4
    video; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png"
    if data.startswith(b"#!AMR"):
        return "voice", "audio/amr"
    if data.startswith(b"OggS") and b"Speex" in data[:100]:
        return "voice", "audio/speex"
    if data[4:8] == b"ftyp":
        return "video", "video/mp4"
    return None


def amr_seconds(data: bytes) -> float | None:
    """How long an AMR recording lasts (its frames counted), None if it is not AMR."""
    if data.startswith(b"#!AMR-WB\n"):
        sizes, at = AMR_WB_FRAME, 9
    elif data.startswith(b"#!AMR\n"):
        sizes, at = AMR_NB_FRAME, 6
    else:
        return None
    frames = 0
    while at < len(data):
        at += sizes[(data[at] >> 3) & 0x0F]
        frames += 1
    return frames * 0.02


def check(data: bytes, name: str, position: int) -> tuple[Upload | None, str | None]:
    """The upload, or why WeChat Work would not take it (in Chinese)."""
    label = f"第{position}个文件（{name}）"
    if not data:
        return None, f"{label}是空文件，请重新选择。"
    found = sniff(data)
    if found is None:
        return None, f"{label}：只能上传 JPG/PNG 照片、AMR 语音或 MP4 视频。"
    kind, content_type = found
    limit, words = LIMITS[kind]
    if len(data) > limit:
        return None, (
            f"{label}：{words}不能超过{limit // MB}MB（企业微信群的限制），"
            f"这个文件有{len(data) / MB:.1f}MB。"
        )
    seconds = amr_seconds(data) if kind == "voice" else None
    if seconds is not None and seconds > VOICE_SECONDS:
        return None, (
            f"{label}：语音不能超过{VOICE_SECONDS}秒（企业微信群的限制），"
            f"这段约{seconds:.0f}秒，请分段录制。"
        )
    return Upload(data, name, kind, content_type), None


def read_uploads(request: Request) -> tuple[list[Upload], str | None]:
    """The chosen files, checked; the request's size is capped before it is parsed, so a
    too-large body raises ``RequestEntityTooLarge`` here."""
    request.max_content_length = UPLOAD_LIMIT
    chosen = [f for f in request.files.getlist("media") if f.filename]
    if len(chosen) > MAX_FILES:
        return [], f"一次最多上传{MAX_FILES}个文件，请少选几个。"
    uploads = []
    for position, f in enumerate(chosen, 1):
        upload, problem = check(f.read(), f.filename or "", position)
        if problem:
            return [], problem
        if upload:
            uploads.append(upload)
    return uploads, None


def too_large() -> str:
    return f"一次上传的文件合计不能超过{UPLOAD_LIMIT // MB}MB，请少选几个或分几次上传。"
