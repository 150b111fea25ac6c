"""Choosing the OCR engine (P4.3): settings, one engine per process, no model downloads."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from bot.config import ConfigError, load_settings
from bot.ocr import engine
from bot.ocr.engine import RapidEngine
from devtools.report_images import FONTS, SC

BASE = {"APP_ENV": "test", "SECRET_KEY": "s", "DATA_KEY": "a" * 43 + "="}


@pytest.fixture
def env(tmp_path):  # type: ignore[no-untyped-def]
    return {**BASE, "INSTANCE_PATH": str(tmp_path)}


@pytest.mark.req("P4.3")
def test_p4_3_rapidocr_is_the_default_engine(env):
    settings = load_settings(env)
    assert settings.ocr_engine == "rapidocr" and settings.ocr_model_dir is None


@pytest.mark.req("P4.3")
def test_p4_3_paddleocr_needs_a_local_model_directory(env, tmp_path):
    with pytest.raises(ConfigError, match="OCR_MODEL_DIR"):
        load_settings({**env, "OCR_ENGINE": "paddleocr"})
    with pytest.raises(ConfigError, match="OCR_MODEL_DIR"):
        load_settings({**env, "OCR_ENGINE": "paddleocr", "OCR_MODEL_DIR": str(tmp_path / "no")})
    settings = load_settings({**env, "OCR_ENGINE": "paddleocr", "OCR_MODEL_DIR": str(tmp_path)})
    assert settings.ocr_model_dir == tmp_path


@pytest.mark.req("P4.3")
def test_p4_3_an_unknown_engine_is_named_in_the_error(env):
    with pytest.raises(ConfigError, match="OCR_ENGINE"):
        load_settings({**env, "OCR_ENGINE": "tesseract"})


@pytest.mark.req("P4.3")
def test_p4_3_the_engine_is_built_once_per_process_from_settings_or_environment(env):
    first = engine(load_settings(env))
    assert isinstance(first, RapidEngine)
    assert engine({"OCR_ENGINE": "rapidocr"}) is first
    assert engine(load_settings(env)) is first


@pytest.mark.req("P4.3")
def test_p4_3_the_rapidocr_models_come_from_the_wheel_not_a_download(monkeypatch):
    import requests

    def no_network(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the OCR engine tried to download something")

    monkeypatch.setattr(requests, "get", no_network)
    monkeypatch.setattr(requests.Session, "request", no_network)
    page = Image.new("RGB", (640, 160), "white")
    font = ImageFont.truetype(str(FONTS["sans"][0]), 48, index=SC)
    ImageDraw.Draw(page).text((20, 50), "检验报告单 2026", font=font, fill="black")
    fresh = RapidEngine()  # RapidOCR loads each model on first use: both calls load all three
    assert fresh.upright(page) == 0
    assert "检验报告单" in "".join(b.text for b in fresh.read(page))
