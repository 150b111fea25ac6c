"""A person sends a photo, a voice note or a video to the account / app: the simulator keeps
the bytes as the channel's temporary media (downloadable with ``media/get`` for three days),
shows the message on the phone and posts the callback WeChat would post.

Used by the phone page and by tests (``POST /_sim/phone/media``, or :func:`send_media` on a
:class:`~.state.SimState` in-process).
"""

from __future__ import annotations

from typing import Any

from . import callbacks as cb
from .state import SimState
from .work_media import sniff

KINDS = ("image", "voice", "video")
# A placeholder video cover (1×1 PNG) when the sender gives none: WeChat makes one itself.
DEFAULT_THUMB = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
VOICE_FORMATS = {"amr": "audio/amr", "speex": "audio/speex"}


class MediaRejected(ValueError):
    """What the phone would not send; the message is for people (Chinese)."""


def _content_type(kind: str, data: bytes, declared: str, fmt: str) -> str:
    """The stored content type; voice must be AMR (or SPEEX when ``fmt`` says so), video MP4:
    what the WeChat Work client records."""
    if not data:
        raise MediaRejected("文件为空")
    found = sniff(data)
    if kind == "voice":
        if fmt not in VOICE_FORMATS:
            raise MediaRejected("语音格式只能是 amr 或 speex")
        if fmt == "amr" and found != "audio/amr":
            raise MediaRejected("语音须为 AMR 格式（以 #!AMR 开头）")
        return VOICE_FORMATS[fmt]
    if kind == "video":
        if found != "video/mp4":
            raise MediaRejected("视频须为 MP4 格式")
        return "video/mp4"
    return found or declared or "image/jpeg"


def send_media(
    state: SimState,
    channel: str,
    user: str,
    kind: str,
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str = "",
    fmt: str = "amr",
    thumb: bytes | None = None,
    host_url: str = "",
) -> dict[str, Any]:
    """Store ``data`` as media, log it on the phone and post the callback; → the callback's
    outcome (see :func:`.phone.send_callback`) plus ``media_id`` (and ``thumb_media_id``).
    Raises :class:`MediaRejected` for what a phone would not send."""
    from .phone import send_callback

    if kind not in KINDS or (channel == "mp" and kind == "video"):
        raise MediaRejected(f"不支持发送 {kind}")
    stored_type = _content_type(kind, data, content_type, fmt)
    media = state.media.put(channel, data, stored_type, filename=filename, media_type=kind)
    media_url = f"/_sim/media/{media['media_id']}"
    payload: dict[str, Any] = {"media_id": media["media_id"]}
    if kind == "voice":
        payload["format"] = fmt
    if kind == "video":
        cover = state.media.put(channel, thumb or DEFAULT_THUMB, "image/png", media_type="thumb")
        payload["thumb_media_id"] = cover["media_id"]
    extra = {"media_url": media_url, "media_name": media["filename"], "media_size": len(data)}
    state.conversations.log_user(channel, user, kind, payload, **extra)
    xml = _callback_xml(state, channel, user, kind, payload, host_url.rstrip("/") + media_url)
    result = send_callback(state, channel, user, xml)
    return {**result, **payload}


def _callback_xml(
    state: SimState, channel: str, user: str, kind: str, payload: dict[str, Any], pic_url: str
) -> str:
    cfg = state.config
    media_id = payload["media_id"]
    if channel == "mp":
        state.followers.add(user)
        state.windows.user_message(user, "message")
        if kind == "voice":
            return cb.mp_voice(user, media_id, fmt=payload["format"], to=cfg.mp_original_id)
        return cb.mp_image(user, media_id, pic_url, to=cfg.mp_original_id)
    if state.directory.user(user) is None:
        state.directory.add_user(user)
    work_kw = {"corp_id": cfg.work_corp_id, "agent_id": cfg.work_agent_id}
    if kind == "voice":
        return cb.work_voice(user, media_id, fmt=payload["format"], **work_kw)
    if kind == "video":
        return cb.work_video(user, media_id, payload["thumb_media_id"], **work_kw)
    return cb.work_image(user, media_id, pic_url, **work_kw)
