"""A report as a DiagnosticReport with one Observation per lab item (value, unit, reference
range, flag), and its photo as a DocumentReference: a link and the photo's SHA-256, never the
bytes."""

from __future__ import annotations

import base64
import mimetypes
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.models import Report, ReportItem
from bot.models.enums import ReportSource
from bot.ocr.fields import range_of
from bot.services import reports as report_service
from bot.services import trace_words as words

from . import codes as k
from .entries import Context

FLAGS = ("H", "L", "N")


def report_entries(x: Context, r: Report, base_url: str) -> None:
    final = r.confirmed or r.source is ReportSource.HOSPITAL
    status = "final" if final else "preliminary"
    effective = k.day(r.report_date) if r.report_date else k.moment(r.created_at, x.tz)
    results = [_item(x, r, i, status, effective) for i in report_service.item_rows(r)]
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": status,
        "code": k.concept(
            k.REPORT_TYPES, r.report_type or "other", report_service.kind_label(r.report_type)
        ),
        "subject": x.patient,
        "effectiveDateTime": effective,
        "issued": k.moment(r.created_at, x.tz),
        "performer": [{"display": words.report_place(x.names, r)}],
    }
    if r.external_id:
        resource["identifier"] = [{"system": k.LIS_ACCESSION, "value": r.external_id}]
    if results:
        resource["result"] = results
    if r.conclusion:
        resource["conclusion"] = r.conclusion
    report = x.entries.add(resource, "DiagnosticReport", r.id)
    if r.image_path:
        _photo(x, r, report, base_url)


def _item(x: Context, r: Report, i: ReportItem, status: str, effective: str) -> dict[str, str]:
    code: dict[str, Any] = {"text": i.name}
    if i.code:
        code["coding"] = [{"system": k.dictionary_system("lab_items"), "code": i.code}]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status,
        "category": k.category("laboratory"),
        "code": code,
        "subject": x.patient,
        "effectiveDateTime": effective,
    }
    number = _number(i.value)
    if number is not None:
        resource["valueQuantity"] = _quantity(number, i.unit)
    elif i.value:
        resource["valueString"] = i.value
    if i.flag in FLAGS:
        resource["interpretation"] = [k.hl7(k.INTERPRETATION, i.flag)]
    if i.reference_range:
        resource["referenceRange"] = [_range(i.reference_range, i.unit)]
    return x.entries.add(resource, "Observation", "report-item", i.id)


def _number(value: str | None) -> Decimal | None:
    try:
        number = Decimal((value or "").strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _quantity(value: Decimal, unit: str | None) -> dict[str, Any]:
    # the unit as printed: not claimed to be UCUM
    return {"value": value, "unit": unit} if unit else {"value": value}


def _range(text: str, unit: str | None) -> dict[str, Any]:
    low, high = range_of(text)
    found: dict[str, Any] = {"text": text}
    if low is not None:
        found["low"] = _quantity(low, unit)
    if high is not None:
        found["high"] = _quantity(high, unit)
    return found


def _photo(x: Context, r: Report, report: dict[str, str], base_url: str) -> None:
    content_type = mimetypes.guess_type(r.image_path or "")[0] or "image/jpeg"
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"text": f"{report_service.kind_label(r.report_type)}报告照片"},
        "subject": x.patient,
        "date": k.moment(r.created_at, x.tz),
        "content": [
            {
                "attachment": {
                    "contentType": content_type,
                    "url": f"{base_url}/staff/reports/{r.id}/photo",
                    "title": "报告照片",
                }
            }
        ],
        "context": {"related": [report]},
    }
    if r.image_sha256:
        # RFC 6920 named information: the photo's SHA-256 (Attachment.hash would be SHA-1)
        digest = base64.urlsafe_b64encode(bytes.fromhex(r.image_sha256)).rstrip(b"=").decode()
        resource["identifier"] = [{"system": k.URI, "value": f"ni:///sha-256;{digest}"}]
    x.entries.add(resource, "DocumentReference", r.id)
