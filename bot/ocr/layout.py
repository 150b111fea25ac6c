"""From text boxes to the page's rows and its table (P4.3), by geometry, not by flattened text.

The page is straightened first (the median slope of the long text lines), then boxes whose
vertical centres are close form a row. A table's header row is the row naming at least three
known columns (项目名称 / 结果 / 单位 / 参考范围 / 提示 …), found inside boxes even when the
engine merged several words into one; side-by-side tables repeat the header and are split at
its second 项目 column. Every box below the header is cut into its space-separated words, each
word placed by its share of the box's width, and each word goes to the column whose span holds
its centre.
"""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from .engine import Box

COLUMNS: dict[str, tuple[str, ...]] = {  # longest first within each column
    "name": ("项目名称", "检验项目", "检测项目", "中文名称", "项目", "名称"),
    "code": ("英文缩写", "英文名称", "代号", "缩写", "代码"),
    "value": ("检验结果", "检测结果", "测定结果", "结果", "测定值"),
    "flag": ("异常提示", "提示", "标志", "标记", "状态"),
    "unit": ("单位",),
    "range": ("生物参考区间", "正常参考值", "参考区间", "参考范围", "参考值", "正常值"),
    "no": ("序号",),
}
_HEADER_WORDS = sorted(
    ((word, col) for col, words in COLUMNS.items() for word in words), key=lambda wc: -len(wc[0])
)
# rows that end a table: signatures, dates, remarks
TABLE_END = re.compile(
    r"检验者|审核者|审核人|检验医师|报告医师|备注|本报告|采样时间|报告时间|接收时间|检验日期"
)


@dataclass(frozen=True)
class Word:
    """A piece of a box's text with its horizontal extent on the straightened page."""

    text: str
    x0: float
    x1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass
class Row:
    words: list[Word] = field(default_factory=list)
    cy: float = 0.0
    height: float = 0.0

    @property
    def text(self) -> str:
        """The row as read, its boxes left to right, two spaces apart."""
        return "  ".join(w.text for w in self.words)


@dataclass(frozen=True)
class Column:
    name: str
    x0: float
    x1: float


@dataclass(frozen=True)
class Table:
    """One table: its columns (left to right) and its body rows, each as column -> text."""

    columns: tuple[Column, ...]
    rows: tuple[dict[str, str], ...]


def rows(boxes: Sequence[Box]) -> list[Row]:
    """The page's rows, top to bottom, each with its boxes left to right."""
    if not boxes:
        return []
    slope = _slope(boxes)
    cos, sin = math.cos(slope), math.sin(slope)
    placed = []
    for box in boxes:
        xs = [x * cos + y * sin for x, y in box.quad]
        ys = [-x * sin + y * cos for x, y in box.quad]
        placed.append((sum(ys) / 4, box.height, Word(box.text.strip(), min(xs), max(xs))))
    placed.sort(key=lambda p: p[0])
    out: list[Row] = []
    for cy, height, word in placed:
        row = next(
            (r for r in reversed(out[-3:]) if abs(r.cy - cy) < 0.5 * max(r.height, height)), None
        )
        if row is None:
            out.append(Row([word], cy, height))
            continue
        n = len(row.words)
        row.cy = (row.cy * n + cy) / (n + 1)
        row.height = max(row.height, height)
        row.words.append(word)
    for row in out:
        row.words.sort(key=lambda w: w.x0)
    return out


def _slope(boxes: Sequence[Box]) -> float:
    """The page's tilt in radians: the median slope of lines much longer than high."""
    angles = [b.angle for b in boxes if b.width > 4 * b.height and len(b.text) >= 4]
    if not angles:
        return 0.0
    angle = statistics.median(angles)
    return math.radians(angle) if abs(angle) < 20 else 0.0


def _weight(ch: str) -> float:
    """Rough printed width of a character: CJK and full-width twice a Latin one."""
    return 2.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 1.0


def split(word: Word, pieces: Sequence[tuple[int, int]]) -> list[Word]:
    """Sub-words of ``word`` for the character spans ``pieces``, placed by their share of the
    printed width."""
    weights = [_weight(c) for c in word.text]
    total = sum(weights) or 1.0
    width = word.x1 - word.x0
    out = []
    for start, end in pieces:
        a = word.x0 + width * sum(weights[:start]) / total
        b = word.x0 + width * sum(weights[:end]) / total
        out.append(Word(word.text[start:end], a, b))
    return out


def words_of(row: Row) -> list[Word]:
    """The row's words: every box cut at its spaces."""
    out = []
    for word in row.words:
        spans = [m.span() for m in re.finditer(r"\S+", word.text)]
        out.extend(split(word, spans) if len(spans) > 1 else [word] if spans else [])
    return out


def header(row: Row) -> list[Column] | None:
    """The columns a header row names, left to right, or None when the row is not one (fewer
    than three known column names, or no 结果 column)."""
    found: list[Column] = []
    for word in row.words:
        text = word.text
        taken = [False] * len(text)
        spans = []
        for name, col in _HEADER_WORDS:
            for m in re.finditer(re.escape(name), text):
                if not any(taken[m.start() : m.end()]):
                    taken[m.start() : m.end()] = [True] * (m.end() - m.start())
                    spans.append((m.start(), m.end(), col))
        spans.sort()
        for (_, _, col), piece in zip(
            spans, split(word, [(s, e) for s, e, _ in spans]), strict=True
        ):
            found.append(Column(col, piece.x0, piece.x1))
    found.sort(key=lambda c: c.x0)
    names = {c.name for c in found}
    if "value" not in names or len(names - {"no"}) < 3:
        return None
    return found


def groups(columns: list[Column]) -> list[list[Column]]:
    """Side-by-side tables: a new group wherever the first column's name comes round again."""
    out: list[list[Column]] = []
    for col in columns:
        if not out or any(c.name == col.name for c in out[-1]):
            out.append([])
        out[-1].append(col)
    return out


def tables(page: Sequence[Row]) -> list[Table]:
    """Every table of the page: each header row and the rows below it up to the end of the
    table (a signature, date or remark row, or the next header)."""
    found = []
    for n, row in enumerate(page):
        columns = header(row)
        if columns is None:
            continue
        body = []
        for below in page[n + 1 :]:
            if header(below) is not None or TABLE_END.search(below.text.replace(" ", "")):
                break
            body.append(below)
        for group in groups(columns):
            found.append(_read(group, columns, body))
    return found


def _read(group: list[Column], all_columns: list[Column], body: list[Row]) -> Table:
    """Cells of one table: the words between this group's first column and the next group's."""
    later = [c for c in all_columns if c.x0 > group[-1].x0 and c.name == group[0].name]
    span_x1 = later[0].x0 - 1 if later else math.inf
    bounds = [(a.x1 + b.x0) / 2 for a, b in zip(group, group[1:], strict=False)]
    out = []
    for row in body:
        cells: dict[str, list[str]] = {}
        for word in words_of(row):
            # a little left of the first column still belongs to it (tilt, centred cells)
            if not group[0].x0 - 2 * row.height <= word.cx < span_x1:
                continue
            i = sum(word.cx >= b for b in bounds)
            cells.setdefault(group[i].name, []).append(word.text)
        if cells:
            out.append({k: " ".join(v) for k, v in cells.items()})
    return Table(tuple(group), tuple(out))
