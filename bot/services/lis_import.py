"""Reports from this hospital's LIS/PACS (C4.2): JSON lines in the contract of
docs/lis-import.md, imported with ``flask reports import FILE``.

A line is one report, identified by its accession number: importing the same file again
updates what changed and adds nothing. A line that cannot be taken (unknown patient, bad
date, no items and no conclusion) is reported with its line number and skipped; the other
lines are imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.models import Institution, Patient, Report, ReportItem
from bot.models.enums import OcrStatus, ReportSource

from . import audit
from .reports import EARLIEST, KIND_LABELS, recomputed_flag

FLAGS = {"H": "H", "L": "L", "↑": "H", "↓": "L", "N": None, "": None}


@dataclass
class Outcome:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "第3行：…", Chinese


class BadLine(ValueError):
    pass


def import_lines(
    session: Session, lines: Iterable[str], dictionary: Dictionary, today: date
) -> Outcome:
    """Import every good line; the caller commits."""
    outcome = Outcome()
    home = session.scalar(select(Institution).where(Institution.is_home.is_(True)))
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            with session.begin_nested():  # a bad line leaves nothing behind
                report, created = _one(session, json.loads(line), dictionary, today, home)
        except (BadLine, ValueError, TypeError, KeyError) as exc:
            reason = exc if isinstance(exc, BadLine) else f"格式错误（{type(exc).__name__}）"
            outcome.errors.append(f"第{number}行：{reason}")
            continue
        (outcome.created if created else outcome.updated).append(report.id)
    return outcome


def _one(
    session: Session,
    data: dict[str, Any],
    dictionary: Dictionary,
    today: date,
    home: Institution | None,
) -> tuple[Report, bool]:
    accession = str(data.get("accession") or "").strip()
    if not accession or len(accession) > 64:
        raise BadLine("缺少检验单号 accession（最长64位）")
    mrn = str(data.get("patient_id") or "").strip()
    patient = session.scalar(select(Patient).where(Patient.hospital_patient_id == mrn))
    if patient is None:
        raise BadLine(f"找不到病案号为 {mrn!r} 的患者")
    kind = str(data.get("kind") or "other")
    if kind not in KIND_LABELS:
        raise BadLine(f"报告类型 {kind!r} 不在 {', '.join(KIND_LABELS)} 中")
    try:
        day = date.fromisoformat(str(data.get("report_date")))
    except ValueError as exc:
        raise BadLine("报告日期 report_date 须为 YYYY-MM-DD") from exc
    if not EARLIEST <= day <= today:
        raise BadLine(f"报告日期 {day} 不在1990年至今天之间")
    items = [_item(n, raw, dictionary) for n, raw in enumerate(data.get("items") or [])]
    conclusion = str(data.get("conclusion") or "").strip() or None
    if not items and not conclusion:
        raise BadLine("没有检验项目，也没有检查结论")
    report = session.scalar(
        select(Report).where(
            Report.source == ReportSource.HOSPITAL, Report.external_id == accession
        )
    )
    created = report is None
    if report is None:
        report = Report(source=ReportSource.HOSPITAL, external_id=accession)
        session.add(report)
    report.patient_id = patient.id
    report.ocr_status = OcrStatus.DONE
    report.report_type = kind
    report.report_date = day
    institution = str(data.get("institution") or "").strip()
    report.institution_id = home.id if home and not institution else None
    report.institution_name = institution or (home.name if home else None)
    report.conclusion = conclusion
    report.remarks = str(data.get("remarks") or "").strip() or None
    report.confirmed = True
    for old in list(report.items):
        session.delete(old)
    session.flush()
    report.items = items
    session.flush()
    audit.record(
        session,
        audit.SYSTEM,
        "create" if created else "update",
        "report",
        report.id,
        patient_id=patient.id,
        context="lis-import",
        detail={"accession": accession},
    )
    return report, created


def _item(position: int, raw: dict[str, Any], dictionary: Dictionary) -> ReportItem:
    name = str(raw.get("name") or "").strip()
    value = str(raw.get("value") or "").strip()
    if not name or not value or len(name) > 80 or len(value) > 40:
        raise BadLine(f"第{position + 1}个检验项目缺少名称或结果（或过长）")
    known = dictionary.lab_items.get(str(raw.get("code") or "")) or dictionary.lab_item(name)
    reference = str(raw.get("reference_range") or "").strip()[:40] or None
    flag_text = str(raw.get("flag") or "").strip().upper()
    if flag_text not in FLAGS:
        raise BadLine(f"检验项目“{name}”的提示 {flag_text!r} 应为 H、L、↑、↓ 或留空")
    flag = FLAGS[flag_text] if flag_text else recomputed_flag(value, reference, None)
    return ReportItem(
        position=position,
        name=name,
        code=known.code if known else None,
        value=value,
        unit=str(raw.get("unit") or "").strip()[:24] or None,
        reference_range=reference,
        flag=flag,
    )
