"""Temporary media (uploaded by the product or sent from the phone), alive for three days."""

from __future__ import annotations

import secrets
from typing import Any

from .core import Store

MEDIA_TTL = 3 * 86400  # temporary media live three days

_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "audio/amr": "amr",
    "audio/mpeg": "mp3",
    "video/mp4": "mp4",
}


def _ext(content_type: str) -> str:
    return _EXTENSIONS.get(content_type.split(";")[0].strip(), "bin")


class Media(Store):
    def reset(self) -> None:
        with self._lock:
            self._media: dict[str, dict[str, Any]] = {}

    def put(
        self,
        channel: str,
        data: bytes,
        content_type: str,
        *,
        filename: str | None = None,
        media_type: str = "image",
    ) -> dict[str, Any]:
        with self._lock:
            media_id = (
                secrets.token_urlsafe(48) if channel == "mp" else "3" + secrets.token_urlsafe(40)
            )
            info = {
                "media_id": media_id,
                "channel": channel,
                "type": media_type,
                "content_type": content_type,
                "filename": filename or f"{media_id[:12]}.{_ext(content_type)}",
                "created_at": int(self._now()),
                "size": len(data),
            }
            self._media[media_id] = {**info, "data": bytes(data)}
            return info

    def get(self, channel: str | None, media_id: str) -> dict[str, Any] | None:
        """The media (with ``data``) if it exists for ``channel`` and is under 3 days old."""
        with self._lock:
            media = self._media.get(media_id)
            if media is None or (channel and media["channel"] != channel):
                return None
            if self._now() - media["created_at"] >= MEDIA_TTL:
                return None
            return dict(media)
