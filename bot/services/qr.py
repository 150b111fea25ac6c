"""The catheter's QR code (P2.2, C2.1): an opaque signed token carrying (catheter id, token
version). Revoking bumps the version, so every printed or shared code stops working and a new
one is issued. The code encodes ``{PUBLIC_BASE_URL}/q/{token}``: a WeChat Work scan reaches the
bot as the URL, a phone camera opens the H5 page."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import qrcode
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.models import Catheter

SALT = "vam/catheter-qr/v1"
_TOKEN_IN_URL = re.compile(r"/q/([A-Za-z0-9_\-\.]+)")


class QrInvalid(Exception):
    """Why the code does not open a catheter, in Chinese."""


@dataclass(frozen=True)
class QrCodes:
    secret_key: str
    public_base_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> QrCodes:
        return cls(settings.secret_key, settings.public_base_url)

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret_key, salt=SALT)

    def token(self, catheter: Catheter) -> str:
        return str(self._serializer().dumps([catheter.id, catheter.qr_token_version]))

    def url(self, catheter: Catheter) -> str:
        return f"{self.public_base_url}/q/{self.token(catheter)}"

    def catheter(self, session: Session, scanned: str) -> Catheter:
        """The catheter a scanned text (the URL, or the bare token) stands for."""
        match = _TOKEN_IN_URL.search(scanned or "")
        token = match.group(1) if match else (scanned or "").strip()
        try:
            catheter_id, version = self._serializer().loads(token)
        except (BadSignature, ValueError, TypeError):
            raise QrInvalid(
                "这不是本院的置管二维码，请扫描患者导管维护手册或腕带上的二维码。"
            ) from None
        catheter = session.get(Catheter, int(catheter_id))
        if catheter is None:
            raise QrInvalid("二维码对应的导管记录不存在，请联系置管医院核实。")
        if catheter.qr_revoked or version != catheter.qr_token_version:
            raise QrInvalid("该二维码已作废（已重新生成），请使用患者最新的二维码。")
        return catheter

    def png_path(self, catheter: Catheter, media_root: Path) -> Path:
        """Where the catheter's current QR image is kept: by catheter, token version and a
        hash of the URL it encodes, so a new PUBLIC_BASE_URL or SECRET_KEY never serves a stale
        image (the old ones are left to the media clean-up)."""
        digest = hashlib.sha256(self.url(catheter).encode()).hexdigest()[:12]
        version = catheter.qr_token_version
        return media_root / "qr" / f"catheter-{catheter.id}-v{version}-{digest}.png"

    def png(self, catheter: Catheter, media_root: Path) -> Path:
        """The QR image, drawn on first use."""
        url = self.url(catheter)
        path = self.png_path(catheter, media_root)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            qrcode.make(url, box_size=10, border=2).save(buf)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(buf.getvalue())
            tmp.replace(path)
        return path


def reissue(catheter: Catheter) -> None:
    """Revoke every earlier code of this catheter and issue a new one."""
    catheter.qr_token_version += 1
    catheter.qr_revoked = False
