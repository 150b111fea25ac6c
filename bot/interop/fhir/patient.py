"""The Patient resource: identifiers hashed or masked, never in clear (X.1)."""

from __future__ import annotations

from typing import Any

from bot.models import Patient
from bot.models.enums import Sex
from bot.security.crypto import PiiCipher
from bot.security.masking import mask_id_card, mask_name, mask_tail

from .codes import LOCAL, V2_IDENTIFIER_TYPE

GENDER = {Sex.MALE: "male", Sex.FEMALE: "female", Sex.UNKNOWN: "unknown"}

# (v2-0203 type, Chinese label, name of the identifier in its systems and hash keys)
ID_CARD = ("NI", "居民身份证号", "id-card")
RECORD_NUMBER = ("MR", "病案号/患者ID", "record-number")


def patient(p: Patient, mode: str, cipher: PiiCipher) -> dict[str, Any]:
    """``mode`` "hash": identifiers as HMAC-SHA256 under a key of their own (not the blind
    index the database matches on), no name, the year of birth only (a full date with the
    gender and the dates of care would re-identify the patient); "mask": the masked forms — the
    ID card's first and last 4, the record number's last 4 (as the exports mask it), the
    masked name — and no birth date (the trace page shows none)."""
    number = cipher.decrypt(p.id_card_enc, context="patient.id_card")
    identifiers = [
        _identifier(kind, value, mode, cipher)
        for kind, value in ((ID_CARD, number), (RECORD_NUMBER, p.hospital_patient_id))
        if value
    ]
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "active": p.active,
        "gender": GENDER[p.sex],
    }
    if identifiers:
        resource["identifier"] = identifiers
    if mode == "mask" and p.name:
        resource["name"] = [{"text": mask_name(p.name)}]
    if mode == "hash" and p.birth_date:
        resource["birthDate"] = f"{p.birth_date.year:04d}"  # FHIR date: a year alone is one
    return resource


def _identifier(
    kind: tuple[str, str, str], value: str, mode: str, cipher: PiiCipher
) -> dict[str, Any]:
    code, label, name = kind
    if mode == "hash":
        shown = cipher.blind_index(value, kind=f"fhir-{name}")
        system = f"{LOCAL}:identifier:{name}:hmac-sha256"
    else:
        shown = mask_tail(value) if kind == RECORD_NUMBER else mask_id_card(value)
        system = f"{LOCAL}:identifier:{name}:masked"
    return {
        "use": "secondary",
        "type": {"coding": [{"system": V2_IDENTIFIER_TYPE, "code": code}], "text": label},
        "system": system,
        "value": shown,
    }
