"""Code systems, codes and the small value builders every resource of the bundle uses.

Standard systems where a standard code exists (SNOMED CT for device types and device actions,
UCUM for units, HL7 terminology for statuses and interpretations); elsewhere this system's own
code systems, ``urn:vam:…``, whose codes are the clinical dictionary's (with its version), so a
receiving system can map them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.care.dictionary import Dictionary

IDENTIFIER_MODES = ("hash", "mask")

SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
SECURITY = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
URI = "urn:ietf:rfc:3986"

LOCAL = "urn:vam"
PROCEDURES = f"{LOCAL}:procedure"  # INSERTION / MAINTENANCE / REMOVAL
MEASURES = f"{LOCAL}:measure"  # the lengths the nurses measure
REPORT_TYPES = f"{LOCAL}:report-type"
GRADES = f"{LOCAL}:complication-grade"
CATHETER_IDS = f"{LOCAL}:catheter"
LIS_ACCESSION = f"{LOCAL}:lis-accession"

# Procedure.focalDevice.action: the SNOMED CT codes of FHIR's device-action value set
IMPLANTATION = {"system": SNOMED, "code": "129336009", "display": "Implantation - action"}
REMOVAL = {"system": SNOMED, "code": "129303008", "display": "Removal - action"}

# (code, Chinese label) of the measures; all in centimetres
EXTERNAL_LENGTH = ("EXTERNAL_LENGTH", "导管外露长度")
ARM_CIRCUMFERENCE = ("ARM_CIRCUMFERENCE", "臂围（肘横纹上10cm）")
INSERTION_LENGTH = ("INSERTION_LENGTH", "导管置入长度")


def dictionary_system(list_name: str) -> str:
    return f"{LOCAL}:dictionary:{list_name}"


def concept(system: str, code: str, text: str, version: int | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code, "display": text}
    if version is not None:
        coding["version"] = str(version)
    return {"coding": [coding], "text": text}


def dictionary_concept(d: Dictionary, list_name: str, code: str) -> dict[str, Any]:
    """A code of the clinical dictionary with its Chinese label and the dictionary's version."""
    return concept(dictionary_system(list_name), code, d.label(list_name, code), d.version)


def hl7(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def category(code: str) -> list[dict[str, Any]]:
    return [hl7(OBSERVATION_CATEGORY, code)]


def centimetres(value: Decimal) -> dict[str, Any]:
    return {"value": value, "unit": "cm", "system": UCUM, "code": "cm"}


def moment(at: datetime, tz: ZoneInfo) -> str:
    """A FHIR dateTime/instant in the hospital's time zone, to the second."""
    return at.astimezone(tz).isoformat(timespec="seconds")


def day(on: date) -> str:
    return on.isoformat()


def person(display: str | None, place: str | None) -> list[dict[str, Any]]:
    """Procedure.performer: who, on behalf of which institution (display-only references: the
    staff directory is not part of the bundle); none when nobody is known."""
    if not display or display == "—":
        return []
    performer: dict[str, Any] = {"actor": {"display": display}}
    if place and place != "—":
        performer["onBehalfOf"] = {"display": place}
    return [performer]
