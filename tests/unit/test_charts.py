"""The dashboard's charts (A6.1): Chinese labels drawn in a CJK font (no empty boxes), PNG and
SVG from a statistics table, and 无数据 for a period without records."""

from __future__ import annotations

import io
import re
import warnings

import pytest
from matplotlib import font_manager
from PIL import Image

from bot.services.stats import Table
from cards import charts

pytestmark = pytest.mark.req("A6.1")

MONTHLY = Table(
    "monthly",
    "每月趋势",
    ["月份", "置管", "维护", "并发症"],
    [["2026-10", 3, 12, 1], ["2026-11", 5, 20, 0], ["2026-12", 4, 17, 2]],
)
DEVICES = Table("device_mix", "导管类型构成", ["导管类型", "置管数"], [["PICC", 7], ["输液港", 2]])


def svg_text(svg: bytes) -> list[str]:
    """The texts of an SVG drawn by matplotlib: each text's glyphs follow a comment of it."""
    return [t.strip() for t in re.findall(r"<!-- (.*?) -->", svg.decode())]


def test_a6_1_the_chart_font_is_a_cjk_font_that_has_the_chinese_glyphs():
    family = charts.cjk_font()
    path = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    assert re.search(r"CJK|wqy", path), path
    font = font_manager.get_font(path)
    # every Chinese character of the titles and labels has a glyph (index 0 is the empty box)
    assert all(
        font.get_char_index(ord(ch)) for ch in "每月趋势置管维护并发症导管类型构成输液港无数据"
    )


def test_a6_1_a_chart_with_chinese_labels_draws_no_missing_glyph():
    with warnings.catch_warnings():
        # matplotlib warns "Glyph … missing from font(s)" where it would draw a box
        warnings.simplefilter("error")
        charts.line_chart(MONTHLY, "png")
        charts.bar_chart(DEVICES, "svg")


def test_a6_1_the_svg_holds_the_chinese_title_and_legend_drawn_with_the_cjk_fonts_glyphs():
    svg = charts.line_chart(MONTHLY, "svg")
    texts = svg_text(svg)
    assert "每月趋势" in texts
    assert {"置管", "维护", "并发症"} <= set(texts)  # the legend
    assert {"2026-10", "2026-11", "2026-12"} <= set(texts)  # the months
    glyphs = re.findall(r'<path id="([^"]+)"', svg.decode())
    assert any(re.match(r"(NotoSansCJK|WenQuanYi)", g) for g in glyphs), glyphs[:5]
    assert "无数据" not in texts


def test_a6_1_a_bar_chart_writes_each_rows_number_above_its_bar():
    texts = svg_text(charts.bar_chart(DEVICES, "svg"))
    assert {"导管类型构成", "PICC", "输液港", "置管数", "7", "2"} <= set(texts)


def test_a6_1_rows_of_the_same_name_are_one_bar_their_numbers_added():
    by_grade = Table(
        "complications_by_type",
        "并发症（按类型与分级）",
        ["并发症类型", "分级", "例数", "每千导管日(‰)"],
        [["静脉炎", "1级", 2, 12.5], ["静脉炎", "2级", 1, 6.25], ["血栓", "未分级", 1, 6.25]],
    )
    texts = svg_text(charts.bar_chart(by_grade, "svg", value_columns=["例数"]))
    assert texts.count("静脉炎") == 1 and "血栓" in texts
    assert {"3", "1"} <= set(texts) and "12.5" not in texts


def test_a6_1_two_value_columns_draw_two_series_with_a_legend():
    mix = Table(
        "device_mix",
        "导管类型构成",
        ["导管类型", "置管例数", "期末在位", "导管日数"],
        [["PICC", 4, 9, 250], ["输液港", 1, 3, 90]],
    )
    texts = svg_text(charts.bar_chart(mix, "svg", value_columns=["置管例数", "期末在位"]))
    assert {"置管例数", "期末在位", "4", "9", "1", "3"} <= set(texts)
    assert "导管日数" not in texts and "250" not in texts


def test_a6_1_the_png_is_an_image_of_the_chart_size():
    png = charts.bar_chart(DEVICES, "png")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert 500 < image.width < 800 and 250 < image.height < 400


@pytest.mark.parametrize(
    "table",
    [
        Table("device_mix", "导管类型构成", ["导管类型", "置管数"], []),
        Table("device_mix", "导管类型构成", ["导管类型", "置管数"], [["PICC", 0], ["CVC", 0]]),
    ],
)
def test_a6_1_a_period_without_records_draws_no_data(table):
    for draw in charts.bar_chart, charts.line_chart:
        texts = svg_text(draw(table, "svg"))
        assert "无数据" in texts and "导管类型构成" in texts


def test_a6_1_a_line_chart_can_be_narrowed_to_named_series():
    texts = svg_text(charts.line_chart(MONTHLY, "svg", series=["置管"]))
    assert "置管" in texts and "维护" not in texts


def test_a6_1_the_same_table_gives_the_same_svg_bytes():
    # the cache's ETag and a browser's revalidation rely on it
    assert charts.bar_chart(DEVICES, "svg") == charts.bar_chart(DEVICES, "svg")


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError):
        charts.bar_chart(DEVICES, "gif")  # type: ignore[arg-type]
