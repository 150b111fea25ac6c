"""Institutions the hospital's staff maintain (A3.1): what a valid one is, its coordinates
looked up from its address, what changed (for the audit log), and the CSV/XLSX import —
checked row by row first, saved only when the administrator confirms."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from bot.adapters.lbs import Geocoded, LbsError
from bot.models import Institution

from . import audit
from .directory import CHINA_LAT, CHINA_LNG, DEVICE_LABELS, SERVICE_LABELS, in_china

# the fields staff edit, in the order of the form and the import template
FIELDS = (
    "code",
    "name",
    "level",
    "address",
    "city",
    "district",
    "latitude",
    "longitude",
    "device_types",
    "services",
    "opening_hours",
    "phone",
    "active",
)
HEADERS = {
    "code": "机构编码",
    "name": "机构名称",
    "level": "级别",
    "address": "地址",
    "city": "城市",
    "district": "区县",
    "latitude": "纬度",
    "longitude": "经度",
    "device_types": "维护导管类型",
    "services": "服务项目",
    "opening_hours": "开放时间",
    "phone": "电话",
    "active": "启用",
}
LENGTHS = {"code": 32, "name": 120, "level": 40, "address": 255, "city": 40, "district": 40}
LENGTHS |= {"opening_hours": 255, "phone": 40}
NO = {"0", "否", "停用", "false", "False", "n", "N", "no"}
PHONE = re.compile(r"[0-9+\-() 转]+")  # as the form checks it
PHONE_PROBLEM = "电话只能包含数字、空格、+、-、括号或“转”"
NO_COORDINATES = "没有坐标，不会出现在患者的附近机构中"


class Geocoder(Protocol):
    def geocode(self, address: str, *, region: str | None = None) -> Geocoded: ...


def coordinate_problems(lat: float | None, lng: float | None) -> list[str]:
    """What is wrong with a pair of coordinates (GCJ-02), in Chinese; [] when fine or both empty."""
    if (lat is None) != (lng is None):
        return ["纬度和经度须同时填写或同时留空"]
    if lat is None or lng is None or in_china(lat, lng):
        return []
    return [
        f"坐标不在中国境内（纬度应在{CHINA_LAT[0]}–{CHINA_LAT[1]}，"
        f"经度应在{CHINA_LNG[0]}–{CHINA_LNG[1]}之间），请检查是否填反"
    ]


def locate(inst: Institution, geocoder: Geocoder | None) -> str | None:
    """Coordinates for an institution that has an address and none: looked up when a geocoder
    is configured (source "geocoder"). None when it has coordinates now, else why not."""
    if inst.latitude is not None and inst.longitude is not None:
        return None
    if not inst.address:
        return "没有地址和坐标"
    if geocoder is None:
        return "未配置地图服务，坐标需手动填写"
    try:
        found = geocoder.geocode(inst.address, region=inst.city or None)
    except LbsError as exc:
        return exc.message
    if not in_china(found.latitude, found.longitude):
        return "地图服务返回的坐标不在中国境内"
    inst.latitude, inst.longitude = found.latitude, found.longitude
    inst.coordinates_source = "geocoder"
    inst.district = inst.district or found.district or None
    inst.city = inst.city or found.city or None
    return None


def changes(inst: Institution) -> dict[str, list[Any]]:
    """Field -> [before, after] of what is about to be saved (before the flush)."""
    state = inspect(inst)
    out: dict[str, list[Any]] = {}
    for name in (*FIELDS, "coordinates_source"):
        history = state.attrs[name].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if before != after and not (state.pending and after in (None, [], "")):
            out[name] = [before, after]
    return out


def record_change(
    session: Session, inst: Institution, actor: audit.Actor, *, created: bool, via: str
) -> dict[str, list[Any]]:
    """Flush the institution and write its audit row with what changed; the changes."""
    diff = changes(inst)
    session.flush()
    audit.record(
        session,
        actor,
        "create" if created else "update",
        "institution",
        inst.id,
        detail={"changes": diff, "via": via},
    )
    return diff


# ---- import -------------------------------------------------------------------------------


@dataclass
class ImportRow:
    number: int  # the row in the spreadsheet (1 is the header)
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exists: bool = False  # updates the institution with this code

    @property
    def ok(self) -> bool:
        return not self.problems


def template_csv() -> bytes:
    """The import template: the header and one example row, UTF-8 with BOM (opens in Excel)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([HEADERS[f] for f in FIELDS])
    writer.writerow(
        [
            "XIHU_CHC",
            "杭州市西湖区某社区卫生服务中心",
            "一级甲等",
            "浙江省杭州市西湖区学院路77号",
            "杭州市",
            "西湖区",
            "",
            "",
            "PICC、CVC、中线导管",
            "PICC维护",
            "周一至周五 08:00-11:30、13:30-17:00",
            "0571-88000000",
            "是",
        ]
    )
    return buf.getvalue().encode("utf-8-sig")


def read_table(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of a CSV (UTF-8 or GBK) or XLSX file, keyed by field name (Chinese or English
    headers). Raises ValueError with a Chinese message for a file that cannot be read."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        table = _xlsx(data)
    elif name.endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030", errors="replace")  # Excel on Chinese Windows
        table = list(csv.reader(io.StringIO(text)))
    else:
        raise ValueError("请上传 CSV 或 XLSX 文件")
    if not table:
        raise ValueError("文件是空的")
    by_header = {h: f for f, h in HEADERS.items()} | {f: f for f in FIELDS}
    header = [by_header.get(str(h or "").strip()) for h in table[0]]
    missing = [HEADERS[f] for f in ("code", "name") if f not in header]
    if missing:
        raise ValueError(f"表头缺少：{'、'.join(missing)}（请使用模板）")
    rows = []
    for cells in table[1:]:
        row = {
            f: str(c if c is not None else "").strip()
            for f, c in zip(header, cells, strict=False)
            if f
        }
        rows.append(row)
    return rows


def _xlsx(data: bytes) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ValueError("无法读取该 XLSX 文件，请用 Excel 另存后重试") from exc
    sheet = book.worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def check_rows(session: Session, rows: list[dict[str, str]]) -> list[ImportRow]:
    """Every row checked: its values normalised, or what is wrong with it, in Chinese."""
    existing = {
        code: lat is not None
        for code, lat in session.execute(select(Institution.code, Institution.latitude))
    }
    seen: dict[str, int] = {}
    checked = []
    for n, raw in enumerate(rows, start=2):
        if not any(raw.values()):
            continue  # a blank line
        row = _check(raw, n)
        code = row.values.get("code")
        if code in seen:
            row.problems.append(f"机构编码 {code} 与第{seen[code]}行重复")
        elif code:
            seen[code] = n
            row.exists = code in existing
            if row.exists and existing[code] and row.values.get("latitude") is None and row.ok:
                row.notes = ["未填坐标：保留原有坐标"]
            kept = [HEADERS[f] for f in _blank(row.values) if f not in ("latitude", "longitude")]
            if row.exists and row.ok and kept:
                row.notes.append(f"空白单元格保留原有内容：{'、'.join(kept)}")
        checked.append(row)
    return checked


def _check(raw: dict[str, str], n: int) -> ImportRow:
    row = ImportRow(n)
    v = row.values
    for f in ("code", "name"):
        if not raw.get(f):
            row.problems.append(f"{HEADERS[f]}不能为空")
    if raw.get("code") and not re.fullmatch(r"[A-Za-z0-9_-]+", raw["code"]):
        row.problems.append("机构编码只能包含字母、数字、下划线和连字符")
    for f, size in LENGTHS.items():
        text = raw.get(f) or ""
        if len(text) > size:
            row.problems.append(f"{HEADERS[f]}超过{size}个字")
        v[f] = text or None
    lat, lng = _number(raw.get("latitude"), "纬度", row), _number(raw.get("longitude"), "经度", row)
    row.problems += coordinate_problems(lat, lng)
    v["latitude"], v["longitude"] = lat, lng
    v["device_types"] = _codes(raw.get("device_types"), DEVICE_LABELS, "导管类型", row)
    v["services"] = _codes(raw.get("services"), SERVICE_LABELS, "服务项目", row)
    if v["phone"] and not PHONE.fullmatch(v["phone"]):
        row.problems.append(PHONE_PROBLEM)
    v["active"] = raw["active"] not in NO if raw.get("active") else None  # None: as on file
    if lat is None and row.ok:
        row.notes.append("无坐标：保存时按地址解析" if v["address"] else NO_COORDINATES)
    return row


def _number(text: str | None, label: str, row: ImportRow) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        row.problems.append(f"{label}“{text}”不是数字")
        return None


def _codes(text: str | None, labels: dict[str, str], what: str, row: ImportRow) -> list[str]:
    """Codes from "PICC、输液港" (codes or labels, separated by 、 , ; or spaces)."""
    by_label = {label: code for code, label in labels.items()} | {c: c for c in labels}
    codes = []
    for word in re.split(r"[、,，;；/\s]+", text or ""):
        if not word:
            continue
        code = by_label.get(word) or by_label.get(word.upper())
        if code is None:
            row.problems.append(f"未知的{what}“{word}”（可填：{'、'.join(labels.values())}）")
        elif code not in codes:
            codes.append(code)
    return codes


def _blank(values: dict[str, Any]) -> list[str]:
    """The fields of a checked row whose cells were left blank."""
    return [f for f in FIELDS if values.get(f) in (None, "", [])]


def save_rows(
    session: Session, rows: list[dict[str, Any]], actor: audit.Actor, geocoder: Geocoder | None
) -> tuple[int, int, list[str]]:
    """Create or update (by code) each checked row, audited; (created, updated, warnings)."""
    created = updated = 0
    warnings = []
    for values in rows:
        inst = session.scalar(select(Institution).where(Institution.code == values["code"]))
        is_new = inst is None
        if inst is None:
            inst = Institution(code=values["code"], name=values["name"])
            session.add(inst)
        blank = _blank(values)
        for f in FIELDS:
            if f in blank and not is_new:
                continue  # a blank cell keeps what is on file (the form clears a field)
            setattr(inst, f, True if f == "active" and f in blank else values.get(f))
        if inst.latitude is not None and "latitude" in changes(inst):
            inst.coordinates_source = "manual"
        why = locate(inst, geocoder)
        if why:
            warnings.append(f"{inst.name}：{why}，{NO_COORDINATES}")
        record_change(session, inst, actor, created=is_new, via="import")
        created, updated = created + is_new, updated + (not is_new)
    return created, updated, warnings
