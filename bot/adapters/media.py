"""Media files: inbound photos and voice kept under MEDIA_ROOT by content hash; outbound
images uploaded once and their media ids cached for less than WeChat's 3-day life."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import redis

from .wechat import WeChatError

MEDIA_ID_TTL = 2 * 24 * 3600  # WeChat keeps temporary media 3 days; refresh well before
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "audio/amr": ".amr",
    "audio/speex": ".speex",
    "video/mp4": ".mp4",
}


@dataclass(frozen=True)
class StoredMedia:
    path: Path
    sha256: str
    content_type: str
    size: int


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, data: bytes, content_type: str) -> StoredMedia:
        """Write bytes under their content hash; saving the same bytes twice writes once."""
        digest = hashlib.sha256(data).hexdigest()
        ext = EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
        path = self.root / digest[:2] / f"{digest}{ext}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a crash never leaves a half file under the real name
        return StoredMedia(path, digest, content_type, len(data))

    def fetch_inbound(self, client: object, media_id: str) -> StoredMedia:
        """Download a user's photo or voice (``media/get``) and keep it."""
        data, content_type = client.download(media_id)  # type: ignore[attr-defined]
        return self.save(data, content_type)


# what a media kind is uploaded as when the file's name says nothing
DEFAULT_TYPES = {
    "image": "image/png",
    "voice": "audio/amr",
    "video": "video/mp4",
    "file": "application/octet-stream",
}


def _cache_key(channel: str, kind: str, digest: str) -> str:
    # images keep the key they had before other kinds were uploaded
    return (
        f"vam:media:{channel}:{digest}"
        if kind == "image"
        else f"vam:media:{channel}:{kind}:{digest}"
    )


class UploadCache:
    """Outbound media (images, voice notes, videos, files): one upload per file, kind and
    channel, reused while the media id lives."""

    def __init__(self, redis_conn: redis.Redis) -> None:
        self.redis = redis_conn

    def media_id(self, channel: str, client: object, path: Path, kind: str = "image") -> str:
        data = path.read_bytes()
        key = _cache_key(channel, kind, hashlib.sha256(data).hexdigest())
        cached = self.redis.get(key)
        if isinstance(cached, bytes):
            return cached.decode()
        content_type = _content_type(path, kind)
        if kind == "image":
            media_id = client.upload_image(path.name, data, content_type)  # type: ignore[attr-defined]
        else:
            media_id = client.upload_media(kind, path.name, data, content_type)  # type: ignore[attr-defined]
        self.redis.set(key, media_id, ex=MEDIA_ID_TTL)
        return str(media_id)

    def forget(self, channel: str, path: Path, kind: str = "image") -> None:
        """WeChat said the media id is invalid (40007): upload again next time."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        self.redis.delete(_cache_key(channel, kind, digest))


def _content_type(path: Path, kind: str) -> str:
    by_extension = {v: k for k, v in EXTENSIONS.items()}.get(path.suffix.lower())
    return (
        by_extension or mimetypes.guess_type(path.name)[0] or DEFAULT_TYPES.get(kind, "image/png")
    )


__all__ = ["MediaStore", "StoredMedia", "UploadCache", "WeChatError"]
