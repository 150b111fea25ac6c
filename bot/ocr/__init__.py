"""OCR of report photos (P4.3): ``read_image(data, dictionary) -> Reading``.

    from bot.ocr import read_image, BadImage, Reading, Item

    try:
        reading = read_image(photo_bytes, dictionary)
    except BadImage as exc:
        reply(exc.reason)  # Chinese, for the patient

The engine (``OCR_ENGINE``, RapidOCR by default) is loaded once per process on first use; see
docs/ocr.md for the engines, the offline models and the benchmark.
"""

from .engine import Box, Engine, engine
from .fields import Item
from .images import BadImage
from .reading import Reading, read_image

__all__ = ["BadImage", "Box", "Engine", "Item", "Reading", "engine", "read_image"]
