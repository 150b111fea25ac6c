"""Charts of the statistics dashboard (A6.1), drawn by matplotlib from a statistics ``Table``:
pure functions from rows to PNG or SVG bytes, with Chinese labels. A ``Figure`` is made
directly, never through pyplot, so no global figure state is shared between requests and
the PNG is drawn by the Agg renderer whatever backend is configured.

The font is a CJK one found among the installed fonts — Noto Sans CJK SC (Debian
``fonts-noto-cjk``) first, then WenQuanYi Zen Hei (``fonts-wqy-zenhei``, the trace PDF's) —
set on every text of the figure, so no label is drawn as empty boxes. Without either font
``FontMissing`` says which package to install. SVG text is drawn as glyph paths (the file
shows the same everywhere); the text itself stays in the SVG as a comment beside its glyphs.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from matplotlib import font_manager, rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.services.stats import NO_DATA, Table

Format = Literal["png", "svg"]
FORMATS: tuple[Format, ...] = ("png", "svg")
MIME = {"png": "image/png", "svg": "image/svg+xml"}

CJK_FAMILIES = ("Noto Sans CJK SC", "WenQuanYi Zen Hei", "Noto Serif CJK SC")
# files matplotlib's font cache may not have seen yet (built before the package was installed)
CJK_FILES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
SIZE = (7.2, 3.6)  # inches; 100 dpi → 720 × 360 px
DPI = 100
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")


class FontMissing(RuntimeError):
    """No CJK font is installed, so Chinese labels cannot be drawn."""


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The family name of the CJK font the charts use; ``FontMissing`` if there is none."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    for path in CJK_FILES:
        if path.is_file():
            font_manager.fontManager.addfont(str(path))
            return font_manager.FontProperties(fname=str(path)).get_name()
    raise FontMissing(
        "未找到中文字体，无法绘制统计图（请安装 Debian 软件包 fonts-noto-cjk 或 "
        "fonts-wqy-zenhei，scripts/setup.sh 已列出）"
    )


def _number(value: Any) -> float:
    """A cell as a number for plotting: blanks and text count as 0."""
    if isinstance(value, bool) or value is None:
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def numeric_columns(table: Table) -> list[int]:
    """Indexes of the columns after the first whose cells are all numbers (the series)."""
    return [
        i
        for i in range(1, len(table.columns))
        if all(
            isinstance(row[i], int | float) and not isinstance(row[i], bool)
            for row in table.rows
            if i < len(row) and row[i] is not None
        )
    ]


def has_data(table: Table, columns: Sequence[int] | None = None) -> bool:
    """Whether any plotted cell is not zero (a period without records draws 无数据)."""
    cols = numeric_columns(table) if columns is None else columns
    return any(_number(row[i]) for row in table.rows for i in cols if i < len(row))


def _figure(title: str) -> tuple[Figure, Any]:
    font = cjk_font()
    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_subplot()
    ax.set_title(title, fontfamily=font, fontsize=13)
    return fig, ax


def _no_data(fig: Figure, ax: Any) -> None:
    ax.set_axis_off()
    ax.text(
        0.5, 0.5, NO_DATA, ha="center", va="center", fontsize=22, color="#888888",
        fontfamily=cjk_font(), transform=ax.transAxes,
    )  # fmt: skip


def _style_axes(ax: Any) -> None:
    font = cjk_font()
    for label in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        label.set_fontfamily(font)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#e5e5e5")
    ax.set_axisbelow(True)


def _save(fig: Figure, fmt: Format) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown chart format {fmt!r}")
    out = io.BytesIO()
    # no creation date and fixed element ids in the SVG: the same data gives the same bytes
    metadata = {"Date": None} if fmt == "svg" else {}
    with rc_context({"svg.hashsalt": "vascular-access"}):
        fig.savefig(out, format=fmt, bbox_inches="tight", metadata=metadata)
    return out.getvalue()


def line_chart(table: Table, fmt: Format, series: Sequence[str] | None = None) -> bytes:
    """One line per numeric column (or the named ``series``) over the first column (months)."""
    fig, ax = _figure(table.title)
    columns = numeric_columns(table)
    if series is not None:
        columns = [i for i in columns if table.columns[i] in series]
    if not table.rows or not has_data(table, columns):
        _no_data(fig, ax)
        return _save(fig, fmt)
    x = [str(row[0]) for row in table.rows]
    for n, i in enumerate(columns):
        ax.plot(
            x, [_number(row[i]) for row in table.rows], marker="o", markersize=4,
            color=COLORS[n % len(COLORS)], label=table.columns[i],
        )  # fmt: skip
    ax.legend(prop={"family": cjk_font(), "size": 8}, frameon=False, loc="upper left")
    if len(x) > 6:
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    _style_axes(ax)
    return _save(fig, fmt)


def _summed(table: Table, columns: Sequence[int]) -> tuple[list[str], list[list[float]]]:
    """Names (first column, in order of appearance) and each column's sum over their rows."""
    names: list[str] = []
    sums: dict[str, list[float]] = {}
    for row in table.rows:
        name = str(row[0])
        if name not in sums:
            names.append(name)
            sums[name] = [0.0] * len(columns)
        for n, i in enumerate(columns):
            sums[name][n] += _number(row[i]) if i < len(row) else 0.0
    return names, [[sums[name][n] for name in names] for n in range(len(columns))]


def bar_chart(table: Table, fmt: Format, value_columns: Sequence[str] | None = None) -> bytes:
    """Bars per name of the first column (rows of the same name added up, e.g. the grades of a
    complication type), one series per ``value_columns`` (default: the first numeric column),
    each bar's number written above it."""
    fig, ax = _figure(table.title)
    columns = numeric_columns(table)
    columns = (
        [i for i in columns if table.columns[i] in value_columns]
        if value_columns is not None
        else columns[:1]
    )
    if not columns or not table.rows or not has_data(table, columns):
        _no_data(fig, ax)
        return _save(fig, fmt)
    names, series = _summed(table, columns)
    width = 0.7 / len(columns)
    for n, values in enumerate(series):
        x = [k + (n - (len(columns) - 1) / 2) * width for k in range(len(names))]
        bars = ax.bar(x, values, width=width * 0.95, color=COLORS[n % len(COLORS)])
        bars.set_label(table.columns[columns[n]])
        ax.bar_label(bars, labels=[f"{v:g}" for v in values], fontsize=8, padding=2)
    ax.set_xticks(range(len(names)), names)
    if len(columns) > 1:
        ax.legend(prop={"family": cjk_font(), "size": 8}, frameon=False)
    else:
        ax.set_ylabel(table.columns[columns[0]], fontfamily=cjk_font())
    if all(v.is_integer() for values in series for v in values):  # counts: no half catheters
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if len(names) > 5:
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    _style_axes(ax)
    return _save(fig, fmt)
