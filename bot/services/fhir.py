"""A patient's vascular-access record exported as a FHIR R4 Bundle (X.1): from the trace
pages (admin web, clinicians' H5) and ``flask fhir export``.

The record is opened like the trace (``open_patient``: access checked, audited with
``action="export"``; the command line as the system actor), the bundle is built and validated
by ``bot.interop.fhir`` (``document`` takes the opened patient, so nothing is exported unopened)
and the file is kept in the export log with its hash (``record_export``).
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.config import Settings
from bot.interop.fhir import FhirInvalid, Options, patient_bundle
from bot.models import ExportLog, Patient
from bot.models.enums import ActorType
from bot.security.crypto import PiiCipher

from . import access, audit, trace

__all__ = [
    "KIND",
    "MIMETYPE",
    "FhirInvalid",
    "document",
    "file_name",
    "open_patient",
    "options",
    "record_export",
]

KIND = "fhir"
MIMETYPE = "application/fhir+json"


def options(settings: Settings, cipher: PiiCipher, identifiers: str | None = None) -> Options:
    """The export's options from the settings; ``identifiers`` overrides FHIR_IDENTIFIERS."""
    return Options(
        identifiers=identifiers or settings.fhir_identifiers,
        cipher=cipher,
        tz=settings.timezone,
        base_url=settings.public_base_url,
    )


def open_patient(session: Session, actor: audit.Actor, patient_id: int, *, context: str) -> Patient:
    """The patient to export, the export audited: staff through ``access.open_patient``
    (NotVisible, audited as denied, for a patient they may not see); the system actor (the
    command line) for any existing patient."""
    if actor.type is not ActorType.SYSTEM:
        return access.open_patient(session, actor, patient_id, context=context, action="export")
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise access.NotVisible(f"patient {patient_id}")
    audit.record(
        session, actor, "export", "patient", patient.id, patient_id=patient.id, context=context
    )
    return patient


def document(session: Session, d: Dictionary, patient: Patient, opts: Options) -> bytes:
    """The opened patient's bundle as UTF-8 JSON; FhirInvalid (a RuntimeError) if the bundle
    does not validate."""
    bundle = patient_bundle(session, d, patient.id, opts)
    return json.dumps(bundle, ensure_ascii=False, indent=2).encode()


def record_export(
    session: Session, staff_id: int | None, patient_id: int, data: bytes, identifiers: str
) -> ExportLog:
    """Keep the exported file in the export log: kind "fhir", format "json", its entries as the
    row count and its SHA-256; ``staff_id`` None for the command line."""
    entries = len(json.loads(data).get("entry", []))
    return trace.record_download(
        session,
        staff_id,
        KIND,
        {"patient_id": patient_id, "identifiers": identifiers},
        data,
        file_format="json",
        row_count=entries,
    )


def file_name(patient_id: int) -> str:
    return f"患者{patient_id}-fhir.json"
