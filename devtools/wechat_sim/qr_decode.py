"""Reading a QR image a developer chooses on the phone page: pyzbar (Debian libzbar0), else
OpenCV when it is installed."""

from __future__ import annotations

import io


def _decode_with_pyzbar(data: bytes) -> list[str] | None:
    try:
        from PIL import Image
        from pyzbar.pyzbar import decode
    except Exception:  # ImportError, or zbar's shared library missing
        return None
    try:
        return [r.data.decode("utf-8", "replace") for r in decode(Image.open(io.BytesIO(data)))]
    except Exception:
        return []


def _decode_with_opencv(data: bytes) -> list[str] | None:
    try:
        import cv2
        import numpy as np
    except Exception:
        return None
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
        text, _points, _ = cv2.QRCodeDetector().detectAndDecode(image)
    except Exception:
        return []
    return [text] if text else []
