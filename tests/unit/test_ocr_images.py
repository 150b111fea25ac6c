"""Photos the reader refuses before any OCR (P4.1: what may be uploaded), and the quality hints
(P4.3) measured on generated photos."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from bot.ocr import BadImage, read_image
from bot.ocr.images import BLURRED, TOO_DARK, Quality, open_photo
from devtools.report_images import Photo, other_photo, report_photo


class NoEngine:
    """An engine that must not be reached: refused photos never get to OCR."""

    name = "none"

    def read(self, image):  # type: ignore[no-untyped-def]
        raise AssertionError("a refused photo reached the engine")

    def upright(self, image):  # type: ignore[no-untyped-def]
        raise AssertionError("a refused photo reached the engine")


def refused(data: bytes, d) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(BadImage) as caught:
        read_image(data, d, ocr=NoEngine())
    return caught.value.reason


def png_header(width: int, height: int) -> bytes:
    """A PNG that only claims its size: a bomb needs no pixels to be refused."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def encoded(image: Image.Image, fmt: str, **options) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


@pytest.mark.req("P4.1")
def test_p4_1_a_photo_over_20_mb_is_refused_before_decoding(d):
    data, _ = report_photo(1, "coagulation")
    assert "20MB" in refused(data + b"\0" * (30 * 1024 * 1024), d)


@pytest.mark.req("P4.1")
def test_p4_1_a_gif_is_refused_as_such(d):
    frames = [Image.new("RGB", (400, 300), c) for c in ("white", "black")]
    gif = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert "GIF" in refused(gif, d)


@pytest.mark.req("P4.1")
def test_p4_1_an_animated_png_is_refused_like_a_gif(d):
    frames = [Image.new("RGB", (400, 300), c) for c in ("white", "black")]
    apng = encoded(frames[0], "PNG", save_all=True, append_images=frames[1:])
    assert "动图" in refused(apng, d)


@pytest.mark.req("P4.1")
def test_p4_1_a_truncated_jpeg_is_refused_as_damaged(d):
    data, _ = report_photo(1, "coagulation")
    assert "损坏" in refused(data[: len(data) // 2], d)


@pytest.mark.req("P4.1")
@pytest.mark.parametrize("data", [b"%PDF-1.7 not a photo", b"\xff\xd8\xff\xe0garbage", b"hello"])
def test_p4_1_a_file_that_is_not_an_image_is_refused(d, data):
    assert refused(data, d)


@pytest.mark.req("P4.1")
def test_p4_1_an_empty_upload_is_refused(d):
    assert "没有收到" in refused(b"", d)


@pytest.mark.req("P4.1")
@pytest.mark.parametrize("side", [11_500, 30_000, 65_000])
def test_p4_1_an_image_bomb_is_refused_from_its_header(d, side):
    # a hundred bytes claiming 132 megapixels to 4 gigapixels: refused before any decoding
    assert "尺寸过大" in refused(png_header(side, side), d)


@pytest.mark.req("P4.1")
def test_p4_1_a_thumbnail_too_small_to_read_is_refused(d):
    assert "太小" in refused(encoded(Image.new("RGB", (120, 90), "white"), "JPEG"), d)


@pytest.mark.req("P4.3")
def test_p4_3_the_exif_orientation_of_a_phone_photo_is_applied():
    image = Image.new("RGB", (1200, 900), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show rotated by 90° clockwise
    photo = open_photo(encoded(image, "JPEG", exif=exif.tobytes()))
    assert photo.size == (900, 1200)


@pytest.mark.req("P4.3")
def test_p4_3_a_12_megapixel_photo_is_brought_down_to_the_reading_size():
    data, _ = report_photo(1, "coagulation", Photo(size=(3024, 4032)))
    photo = open_photo(data)
    assert max(photo.size) == 1600 and photo.mode == "RGB"


@pytest.mark.req("P4.3")
def test_p4_3_a_screenshot_with_transparency_is_read_on_white():
    image = Image.new("RGBA", (800, 600), (0, 0, 0, 0))
    photo = open_photo(encoded(image, "PNG"))
    assert photo.getpixel((10, 10)) == (255, 255, 255)


@pytest.mark.req("P4.3")
@pytest.mark.parametrize(
    ("photo", "hint"),
    [
        (Photo(size=(960, 1280)), None),
        (Photo(size=(1440, 1920), darkness=0.3, blur=1.0), None),
        (Photo(size=(960, 1280), darkness=0.8), TOO_DARK),
        (Photo(size=(960, 1280), blur=2.0), BLURRED),
        (Photo(size=(1920, 1440), blur=4.0), BLURRED),
    ],
)
def test_p4_3_dark_and_blurred_photos_get_a_hint_on_how_to_retake_them(photo, hint):
    data, _ = report_photo(2, "biochemistry", photo)
    assert Quality.of(open_photo(data)).hint(has_text=True) == hint


@pytest.mark.req("P4.3")
def test_p4_3_a_blank_wall_is_not_called_blurred():
    quality = Quality.of(open_photo(other_photo("wall")))
    assert quality.hint(has_text=False) is None
