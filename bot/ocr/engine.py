"""OCR engines: text boxes from an upright page photo.

The default is RapidOCR (``rapidocr`` on onnxruntime) with the PP-OCR models that ship inside
its wheel, loaded by explicit path so nothing is ever downloaded: hospital intranets are
offline. ``OCR_ENGINE=paddleocr`` selects PaddleOCR with local models (``PaddleEngine``); it is
not installed by default. Either is built once per process (``engine``): loading the models
takes a second and a few hundred MB, reading a photo then takes one to three seconds.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from bot.config import Settings

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """One line of text the engine found: its text, confidence (0–1) and corners (clockwise
    from top-left, in pixels of the image read)."""

    text: str
    score: float
    quad: tuple[Point, Point, Point, Point]

    @property
    def x0(self) -> float:
        return min(p[0] for p in self.quad)

    @property
    def x1(self) -> float:
        return max(p[0] for p in self.quad)

    @property
    def y0(self) -> float:
        return min(p[1] for p in self.quad)

    @property
    def y1(self) -> float:
        return max(p[1] for p in self.quad)

    @property
    def height(self) -> float:
        """Height of the text line (not of its tilted bounding rectangle)."""
        (ax, ay), (bx, by), (cx, cy), (dx, dy) = self.quad
        return (math.hypot(dx - ax, dy - ay) + math.hypot(cx - bx, cy - by)) / 2

    @property
    def width(self) -> float:
        (ax, ay), (bx, by), (cx, cy), (dx, dy) = self.quad
        return (math.hypot(bx - ax, by - ay) + math.hypot(cx - dx, cy - dy)) / 2

    @property
    def angle(self) -> float:
        """Slope of the top edge in degrees (positive: falling to the right)."""
        (ax, ay), (bx, by) = self.quad[0], self.quad[1]
        return math.degrees(math.atan2(by - ay, bx - ax))


class Engine(Protocol):
    name: str

    def read(self, image: Image.Image) -> list[Box]:
        """Every text line of an upright RGB image."""
        ...

    def upright(self, image: Image.Image) -> int:
        """Degrees (0, 90, 180, 270) to turn the image counter-clockwise (``Image.rotate``)
        so that its text reads upright."""
        ...


def _quad(points: Sequence[Sequence[float]]) -> tuple[Point, Point, Point, Point]:
    a, b, c, d = ((float(p[0]), float(p[1])) for p in points)
    return (a, b, c, d)


def elongated(quads: Sequence[tuple[Point, Point, Point, Point]]) -> tuple[int, int]:
    """(lying, standing): boxes clearly longer than high, and clearly higher than long. Text
    lines lie; on a page turned by 90° they stand."""
    lying = standing = 0
    for q in quads:
        w = math.hypot(q[1][0] - q[0][0], q[1][1] - q[0][1])
        h = math.hypot(q[3][0] - q[0][0], q[3][1] - q[0][1])
        if w > 2.5 * h:
            lying += 1
        elif h > 2.5 * w:
            standing += 1
    return lying, standing


THUMBNAIL = 960  # long side the orientation is judged at: boxes only, no reading


class RapidEngine:
    """RapidOCR with the wheel's PP-OCRv6 small detection and recognition models and the
    PP-OCR text-line direction classifier (0°/180°), each given by path."""

    name = "rapidocr"

    def __init__(self) -> None:
        import rapidocr  # imported here: the web process never loads onnxruntime

        models = Path(rapidocr.__file__).parent / "models"
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
            "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
            "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
        }
        for key in ("Det", "Rec", "Cls"):
            if not Path(params[f"{key}.model_path"]).is_file():
                raise RuntimeError(
                    f"rapidocr's bundled model is missing: {params[key + '.model_path']}"
                )
        self._ocr: Any = rapidocr.RapidOCR(params=params)
        # RapidOCR keeps per-call switches on the instance: one call at a time
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> list[Box]:
        with self._lock:
            out = self._ocr(image, use_det=True, use_cls=False, use_rec=True)
        if getattr(out, "boxes", None) is None or not getattr(out, "txts", None):
            return []
        return [
            Box(text, float(score), _quad(quad))
            for quad, text, score in zip(out.boxes, out.txts, out.scores, strict=True)
        ]

    def upright(self, image: Image.Image) -> int:
        """Standing text lines mean a page turned by 90° either way; the direction classifier
        on the longest lines then tells right way up from upside down."""
        thumb = image.copy()
        thumb.thumbnail((THUMBNAIL, THUMBNAIL))
        with self._lock:
            det = self._ocr(thumb, use_det=True, use_cls=False, use_rec=False)
            found = getattr(det, "boxes", None)
            quads = [_quad(q) for q in found] if found is not None else []
            lying, standing = elongated(quads)
            turn = 90 if standing > lying else 0
            longest = sorted(quads, key=lambda q: -max(_span(q)))[:12]
            votes = 0.0
            for q in longest:
                crop = thumb.crop(_bounds(q))
                if turn:
                    crop = crop.rotate(turn, expand=True)
                if crop.width < 2 * crop.height:
                    continue
                cls = self._ocr(crop, use_det=False, use_cls=True, use_rec=False)
                for label, score in getattr(cls, "cls_res", None) or []:
                    votes += score if "180" in label else -score
        return (turn + (180 if votes > 0 else 0)) % 360


def _span(q: tuple[Point, Point, Point, Point]) -> tuple[float, float]:
    return (
        max(p[0] for p in q) - min(p[0] for p in q),
        max(p[1] for p in q) - min(p[1] for p in q),
    )


def _bounds(q: tuple[Point, Point, Point, Point]) -> tuple[int, int, int, int]:
    return (
        int(min(p[0] for p in q)),
        int(min(p[1] for p in q)),
        int(math.ceil(max(p[0] for p in q))),
        int(math.ceil(max(p[1] for p in q))),
    )


class PaddleEngine:
    """PaddleOCR 3.x (``pip install paddlepaddle paddleocr``, not installed by default) with
    models from local directories only.

    ``OCR_MODEL_DIR`` holds one exported inference model per sub-directory: ``det`` (e.g.
    PP-OCRv5_mobile_det), ``rec`` (e.g. PP-OCRv5_mobile_rec) and optionally ``textline_ori``
    (PP-LCNet_x0_25_textline_ori). Offline switches: every model is given by directory, so
    PaddleOCR looks nothing up by name; document orientation and unwarping (two more models it
    would fetch) are off; ``PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK=True`` stops its start-up
    probe of the model hosters. Page orientation is judged by trial reads (``upright_by_trial``).
    """

    name = "paddleocr"

    def __init__(self, model_dir: Path) -> None:
        os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
        from paddleocr import PaddleOCR  # optional dependency

        missing = [d for d in ("det", "rec") if not (model_dir / d).is_dir()]
        if missing:
            raise RuntimeError(
                f"OCR_MODEL_DIR {model_dir}: no {', '.join(missing)} model directory"
            )
        textline = model_dir / "textline_ori"
        self._ocr: Any = PaddleOCR(
            text_detection_model_dir=str(model_dir / "det"),
            text_recognition_model_dir=str(model_dir / "rec"),
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
            use_textline_orientation=textline.is_dir(),
            **({"textline_orientation_model_dir": str(textline)} if textline.is_dir() else {}),
        )
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> list[Box]:
        import numpy as np

        bgr = np.asarray(image.convert("RGB"))[:, :, ::-1]
        with self._lock:
            results = self._ocr.predict(bgr)
        boxes: list[Box] = []
        for result in results:
            for text, score, poly in zip(
                result["rec_texts"], result["rec_scores"], result["rec_polys"], strict=True
            ):
                if text.strip():
                    boxes.append(Box(text, float(score), _quad(poly)))
        return boxes

    def upright(self, image: Image.Image) -> int:
        return upright_by_trial(self, image)


def upright_by_trial(engine: Engine, image: Image.Image) -> int:
    """The turn (counter-clockwise degrees) whose reading of a thumbnail is most confident:
    standing lines decide between 0/180 and 90/270 first. For engines without a direction
    classifier; costs two or three reads of a small image."""
    thumb = image.copy()
    thumb.thumbnail((THUMBNAIL, THUMBNAIL))
    lying, standing = elongated([b.quad for b in engine.read(thumb)])
    first = 90 if standing > lying else 0
    scored = []
    for turn in (first, first + 180):
        boxes = engine.read(thumb.rotate(turn, expand=True))
        scored.append((sum(b.score * len(b.text) for b in boxes), turn % 360))
    return max(scored)[1]


ENGINES = ("rapidocr", "paddleocr")
_engines: dict[tuple[str, str], Engine] = {}
_engines_lock = threading.Lock()


def engine(settings: Settings | Mapping[str, str] | None = None) -> Engine:
    """The process's OCR engine, built on first use: from ``Settings`` (``ocr_engine``,
    ``ocr_model_dir``) or an environment mapping (``OCR_ENGINE``, ``OCR_MODEL_DIR``;
    ``os.environ`` when None)."""
    if isinstance(settings, Settings):
        name, model_dir = settings.ocr_engine, settings.ocr_model_dir
    else:
        env = os.environ if settings is None else settings
        name = (env.get("OCR_ENGINE") or "rapidocr").strip().lower()
        raw = (env.get("OCR_MODEL_DIR") or "").strip()
        model_dir = Path(raw) if raw else None
    key = (name, str(model_dir or ""))
    with _engines_lock:
        if key not in _engines:
            _engines[key] = _build(name, model_dir)
        return _engines[key]


def _build(name: str, model_dir: Path | None) -> Engine:
    if name == "rapidocr":
        return RapidEngine()
    if name == "paddleocr":
        if model_dir is None:
            raise RuntimeError("OCR_ENGINE=paddleocr needs OCR_MODEL_DIR (local models)")
        return PaddleEngine(model_dir)
    raise RuntimeError(f"OCR_ENGINE: one of {', '.join(ENGINES)}, got {name!r}")
