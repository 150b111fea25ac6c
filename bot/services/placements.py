"""Placement registration (C3.2, P6.1): the PICC, port, CVC and midline forms of CLINICAL.md,
checked field by field; saving creates the catheter with its QR code and first due date and
tells the patient's followers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care import rules
from bot.care.dictionary import Dictionary
from bot.models import Catheter, Patient, PatientAccount, PatientProfile, utcnow
from bot.models.enums import ActorType, Channel, PlacementSource, Sex
from bot.security import idcard
from bot.security.crypto import PiiCipher

from . import audit, notify
from .qr import QrCodes

# plausible ranges (cm, Fr, counts); a value outside is a typing mistake, not a patient
RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "insertion_length_cm": (Decimal("5"), Decimal("80")),
    "external_length_cm": (Decimal("0"), Decimal("40")),
    "arm_circumference_cm": (Decimal("10"), Decimal("80")),
    "french_size": (Decimal("1"), Decimal("12")),
    "needle_length_cm": (Decimal("0.5"), Decimal("5")),
}
INT_RANGES = {"lumens": (1, 4), "attempts": (1, 10), "planned_dwell_days": (1, 3650)}
PORT_ONLY = ("port_site", "port_pocket", "port_model", "needle_gauge", "needle_length_cm")
LABELS = {
    "patient_name": "患者姓名",
    "id_card": "身份证号",
    "device_type": "导管类型",
    "placed_on": "置管日期",
    "vein": "穿刺静脉",
    "side": "置管侧",
    "insertion_length_cm": "置入长度",
    "external_length_cm": "外露长度",
    "arm_circumference_cm": "臂围",
    "french_size": "导管型号(Fr)",
    "lumens": "腔数",
    "attempts": "穿刺次数",
    "planned_dwell_days": "预计留置天数",
    "port_site": "输液港位置",
    "needle_length_cm": "无损伤针长度",
    "outside_institution_name": "置管医院",
    "tip_confirmation": "尖端定位方法",
    "dressing_type": "敷料类型",
}


class PlacementInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class Registered:
    catheter: Catheter
    patient_created: bool
    outbox_ids: list[int] = field(default_factory=list)


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.1"))
    except InvalidOperation:
        raise ValueError from None


def validate(
    d: Dictionary, form: dict[str, Any], today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean values and field-level errors (Chinese), from the submitted form."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    device = str(form.get("device_type") or "")
    if not d.has_code("device_types", device):
        errors["device_type"] = "请选择导管类型"
    if not str(form.get("patient_name") or "").strip():
        errors["patient_name"] = "请填写患者姓名"
    try:
        clean["id_card"] = idcard.validate(str(form.get("id_card") or ""))
    except idcard.IdCardError as exc:
        errors["id_card"] = str(exc)
    try:
        placed = date.fromisoformat(str(form.get("placed_on") or ""))
        if placed > today:
            errors["placed_on"] = "置管日期不能晚于今天"
        elif placed < today - timedelta(days=3650):
            errors["placed_on"] = "置管日期过早，请核对"
        clean["placed_on"] = placed
    except ValueError:
        errors["placed_on"] = "请填写置管日期"
    for name, (low, high) in RANGES.items():
        try:
            value = _decimal(form.get(name))
        except ValueError:
            errors[name] = f"{LABELS.get(name, name)}请填写数字"
            continue
        if value is not None and not low <= value <= high:
            errors[name] = f"{LABELS.get(name, name)}应在 {low}–{high} 之间"
        clean[name] = value
    for name, (lo, hi) in INT_RANGES.items():
        raw = form.get(name)
        if raw in (None, ""):
            clean[name] = None
            continue
        if not str(raw).isdigit() or not lo <= int(raw) <= hi:
            errors[name] = f"{LABELS.get(name, name)}应为 {lo}–{hi} 的整数"
            continue
        clean[name] = int(raw)
    for name, list_name in (
        ("vein", "veins"),
        ("side", "sides"),
        ("tip_confirmation", "tip_confirmation"),
        ("port_site", "port_sites"),
        ("dressing_type", "dressing_types"),
    ):
        value = form.get(name) or None
        if value is not None and not d.has_code(list_name, str(value)):
            errors[name] = f"{LABELS.get(name, name)}不在字典中"
        clean[name] = value
    techniques = [t for t in form.get("techniques") or [] if t]
    if any(not d.has_code("techniques", t) for t in techniques):
        errors["techniques"] = "置管技术不在字典中"
    clean["techniques"] = techniques
    if device == "PORT":
        if not clean.get("port_site"):
            errors["port_site"] = "请选择输液港位置"
    elif device:
        for name in PORT_ONLY:
            if form.get(name) not in (None, ""):
                errors[name] = f"“{LABELS.get(name, name)}”只用于输液港，请清空"
        if not clean.get("side"):
            errors.setdefault("side", "请选择置管侧")
        if not clean.get("vein"):
            errors.setdefault("vein", "请选择穿刺静脉")
        if clean.get("insertion_length_cm") is None:
            errors.setdefault("insertion_length_cm", "请填写置入长度")
        if device in ("PICC", "MIDLINE") and clean.get("arm_circumference_cm") is None:
            errors.setdefault("arm_circumference_cm", "请填写臂围（肘横纹上10cm）")
    source = PlacementSource(form.get("source") or "here")
    clean["source"] = source
    if (
        source is PlacementSource.BROUGHT_IN
        and not str(form.get("outside_institution_name") or "").strip()
    ):
        errors["outside_institution_name"] = "院外带入请填写置管医院"
    for name in (
        "brand",
        "model",
        "lot_number",
        "tip_position",
        "immediate_complications",
        "indication",
        "port_pocket",
        "port_model",
        "needle_gauge",
        "outside_institution_name",
        "inserter_name",
        "phone",
    ):
        clean[name] = (
            (str(form.get(name) or "").strip() or None) if name not in clean else clean[name]
        )
    if clean["needle_gauge"]:  # "22", "22g" and "22G" are one gauge, kept as "22G"
        clean["needle_gauge"] = clean["needle_gauge"].upper().removesuffix("G").strip() + "G"
    clean["patient_name"] = str(form.get("patient_name") or "").strip()
    clean["device_type"] = device
    clean["tier"] = form.get("tier") if form.get("tier") in d.tiers else "B"
    return clean, errors


def register(
    session: Session,
    d: Dictionary,
    cipher: PiiCipher,
    form: dict[str, Any],
    *,
    actor: audit.Actor,
    institution_id: int | None,
    department_id: int | None,
    tz: ZoneInfo,
    public_base_url: str,
    qr: QrCodes | None = None,
    media_root: Path | None = None,
) -> Registered:
    today = rules.local_date(utcnow(), tz)
    clean, errors = validate(d, form, today)
    if errors:
        raise PlacementInvalid(errors)
    index = cipher.blind_index(clean["id_card"], kind="id_card")
    patient = session.scalar(select(Patient).where(Patient.id_card_index == index))
    created = patient is None
    if patient is None:
        number = clean["id_card"]
        patient = Patient(
            name=clean["patient_name"],
            sex=Sex.MALE if idcard.sex(number) == "M" else Sex.FEMALE,
            birth_date=idcard.birth_date(number),
            id_card_enc=cipher.encrypt(number, context="patient.id_card"),
            id_card_index=index,
            home_institution_id=institution_id,
        )
        if clean.get("phone"):
            patient.phone_enc = cipher.encrypt(clean["phone"], context="patient.phone")
            patient.phone_index = cipher.blind_index(clean["phone"], kind="phone")
        session.add(patient)
        session.flush()
    placed_at = datetime.combine(clean["placed_on"], datetime.min.time(), tzinfo=tz).replace(
        hour=12
    )
    here = clean["source"] is PlacementSource.HERE
    catheter = Catheter(
        patient_id=patient.id,
        device_type=clean["device_type"],
        source=clean["source"],
        institution_id=institution_id if here else None,
        outside_institution_name=None if here else clean["outside_institution_name"],
        department_id=department_id if here else None,
        inserter_id=actor.id if here else None,
        inserter_name=clean.get("inserter_name"),
        placed_at=placed_at,
        **{
            k: clean.get(k)
            for k in (
                "brand",
                "model",
                "lot_number",
                "french_size",
                "lumens",
                "vein",
                "side",
                "techniques",
                "insertion_length_cm",
                "external_length_cm",
                "arm_circumference_cm",
                "tip_position",
                "tip_confirmation",
                "attempts",
                "immediate_complications",
                "indication",
                "planned_dwell_days",
                "port_site",
                "port_pocket",
                "port_model",
                "needle_gauge",
                "needle_length_cm",
            )
        },
        dressing_type=clean.get("dressing_type") or "TRANSPARENT",
        tier=clean["tier"],
        dictionary_version=d.version,
        registered_by_id=actor.id,
        responsible_staff_id=actor.id,
    )
    catheter.next_due_on = rules.next_due_on(
        d,
        catheter.device_type,
        clean["placed_on"],
        dressing_type=catheter.dressing_type,
    )
    if catheter.next_due_on < today:  # an old placement brought in: due now
        catheter.next_due_on = today
    follow_up = rules.next_follow_up_on(d, catheter.tier, clean["placed_on"])
    catheter.next_follow_up_on = max(follow_up, today) if follow_up else None
    session.add(catheter)
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "catheter",
        catheter.id,
        patient_id=patient.id,
        context="placement",
    )
    result = Registered(catheter, created)
    device = d.label("device_types", catheter.device_type)
    for (openid,) in session.execute(
        select(PatientAccount.openid)
        .join(PatientProfile, PatientProfile.account_id == PatientAccount.id)
        .where(PatientProfile.patient_id == patient.id, PatientAccount.subscribed.is_(True))
    ):
        card = {
            "msgtype": "news",
            "news": {
                "articles": [
                    {
                        "title": f"{patient.name}的{device}已登记",
                        "description": (
                            f"置管日期 {clean['placed_on']:%Y-%m-%d}，"
                            f"首次维护 {catheter.next_due_on:%m月%d日}。"
                            "点击查看导管与置管二维码，维护时请出示二维码。"
                        ),
                        "url": f"{public_base_url}/h5/home",
                        "picurl": "",
                    }
                ]
            },
        }
        result.outbox_ids.append(
            notify.payload(
                session, Channel.MP, openid, card, key=f"placement:{catheter.id}:{openid}"
            )
        )
        if qr is not None and media_root is not None:  # the QR code itself, to show at maintenance
            image = {"msgtype": "image", "image": {"path": str(qr.png(catheter, media_root))}}
            result.outbox_ids.append(
                notify.payload(
                    session, Channel.MP, openid, image, key=f"placement:{catheter.id}:{openid}:qr"
                )
            )
    return result


__all__ = ["ActorType", "LABELS", "PlacementInvalid", "Registered", "register", "validate"]
