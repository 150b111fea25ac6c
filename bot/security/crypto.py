"""PII encryption at rest (AES-256-GCM) and blind indexes (HMAC-SHA256).

Both keys are derived from ``DATA_KEY`` with HKDF under different labels, so the blind
index cannot be used to decrypt and the cipher key never leaves this module.
Ciphertext layout: version byte (1) | 12-byte nonce | ciphertext+tag.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"


class DecryptionError(Exception):
    """Ciphertext was tampered with or encrypted under another key."""


def _derive(master: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(master)


class PiiCipher:
    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != 32:
            raise ValueError("DATA_KEY must be 32 bytes")
        self._aead = AESGCM(_derive(data_key, b"vam/pii-encryption/v1"))
        self._index_key = _derive(data_key, b"vam/blind-index/v1")

    def encrypt(self, plaintext: str | None, *, context: str = "") -> bytes | None:
        """Encrypt; ``context`` (e.g. "patient.id_card") is bound as associated data so a
        value cannot be moved into another column unnoticed."""
        if plaintext is None or plaintext == "":
            return None
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, blob: bytes | None, *, context: str = "") -> str | None:
        if blob is None:
            return None
        if blob[:1] != _VERSION or len(blob) < 29:
            raise DecryptionError("unknown ciphertext format")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], context.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError("ciphertext does not authenticate") from exc

    def blind_index(self, value: str | None, *, kind: str) -> str | None:
        """A keyed hash for exact-match lookups (same person across hospitals)."""
        if not value:
            return None
        msg = kind.encode() + b"\x00" + value.encode()
        return hmac.new(self._index_key, msg, hashlib.sha256).hexdigest()
