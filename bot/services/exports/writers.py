"""Writing an export's rows to a file as they come (A6.2): XLSX in openpyxl's write-only mode
(rows go straight to a temporary XML file, so memory stays flat however many there are) or
CSV in UTF-8 with a byte-order mark (so Excel opens the Chinese as Chinese).

A cell that begins like a formula is written as text: a note typed "=HYPERLINK(…)" must not
become a live formula in the administrator's Excel.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMATS = {"xlsx": "Excel（.xlsx）", "csv": "CSV（.csv，UTF-8）"}
SHEET_ROWS = 1_048_576 - 1  # Excel's rows per sheet, less the header
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class RowWriter(Protocol):
    def write(self, row: Sequence[Any]) -> None: ...

    def close(self) -> None: ...


class XlsxRows:
    """One sheet (more after a million rows), the header first."""

    def __init__(self, path: Path, title: str, headers: Sequence[str]) -> None:
        self._path, self._title, self._headers = path, _sheet_title(title), list(headers)
        self._book = Workbook(write_only=True)
        self._sheet_rows = SHEET_ROWS  # rows left on the current sheet
        self._sheet: Any = None
        self._new_sheet()

    def _new_sheet(self) -> None:
        n = len(self._book.worksheets)
        self._sheet = self._book.create_sheet(self._title if n == 0 else f"{self._title}{n + 1}")
        self._sheet.append(self._headers)
        self._sheet_rows = SHEET_ROWS

    def write(self, row: Sequence[Any]) -> None:
        if not self._sheet_rows:
            self._new_sheet()
        self._sheet.append([self._cell(v) for v in row])
        self._sheet_rows -= 1

    def _cell(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith("="):  # openpyxl would store it as a formula
            cell = WriteOnlyCell(self._sheet, value)
            cell.data_type = "s"
            return cell
        return value

    def close(self) -> None:
        self._book.save(self._path)


class CsvRows:
    def __init__(self, path: Path, title: str, headers: Sequence[str]) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow(headers)

    def write(self, row: Sequence[Any]) -> None:
        self._csv.writerow([_text(v) for v in row])

    def close(self) -> None:
        self._file.close()


def _text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _sheet_title(title: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\."""
    for bad in "[]:*?/\\":
        title = title.replace(bad, " ")
    return title[:28] or "Sheet"


def open_rows(fmt: str, path: Path, title: str, headers: Sequence[str]) -> RowWriter:
    if fmt == "xlsx":
        return XlsxRows(path, title, headers)
    if fmt == "csv":
        return CsvRows(path, title, headers)
    raise ValueError(f"unknown export format {fmt!r}")
