"""FHIR R4 (X.1): a patient's vascular-access record as a Bundle validated by fhir.resources
(R4B) — the demo patient with two catheters (Devices with SNOMED CT types and lot numbers,
insertion and removal Procedures with focalDevice.action, measures in cm, complications,
a report with its lab values and photo); identifiers never in clear, hashed or masked; the
downloads from the admin and clinicians' trace pages and ``flask fhir export``, access-checked,
audited and kept in the export log."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from bot.config import ConfigError, load_settings
from bot.interop.fhir import FhirInvalid, Options, patient_bundle
from bot.interop.fhir.bundle import validated
from bot.models import (
    AuditLog,
    Catheter,
    Complication,
    ExportLog,
    Patient,
    Removal,
    Report,
    ReportItem,
)
from bot.models.enums import ActorType, CatheterState, ComplicationStatus, OcrStatus, ReportSource
from bot.seed.demo import seed_demo
from server import create_app
from tests.integration.test_staff_web import sign_in
from tests.support.outside_story import LOT, NAME, build

pytestmark = pytest.mark.db

TODAY = date(2026, 11, 25)
SCT = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
# CLINICAL.md's table: the device type (and lumens where two codes exist) → SNOMED CT
SNOMED = {
    ("PICC", 1): "1396526001",
    ("PICC", 2): "1396489007",
    ("MIDLINE", 1): "1396531004",
    ("MIDLINE", 2): "1396527005",
    ("PORT", 1): "398013009",
    ("CVC", 1): "52124006",
    ("CVC", 2): "52124006",
    ("CVC", 3): "52124006",
}
IMPLANTATION, REMOVAL = "129336009", "129303008"
PHOTO = hashlib.sha256(b"the report photo").hexdigest()


@pytest.fixture
def demo(session, cipher, dictionary):
    """The demo data set; its first patient with two catheters and a complication, given a
    hospital report with three lab rows and a photo."""
    seed_demo(session, cipher, dictionary, today=TODAY)
    session.flush()
    two = (
        select(Catheter.patient_id)
        .group_by(Catheter.patient_id)
        .having(func.count(Catheter.id) == 2)
    )
    patient_id = session.scalar(
        select(func.min(Complication.patient_id)).where(Complication.patient_id.in_(two))
    )
    assert patient_id is not None, "the demo has a patient with two catheters and a complication"
    report = Report(
        patient_id=patient_id,
        source=ReportSource.HOSPITAL,
        ocr_status=OcrStatus.DONE,
        report_type="coagulation",
        report_date=date(2026, 11, 2),
        institution_name="示范市第一人民医院",
        external_id="LIS-20261102-7",
        conclusion="D-二聚体升高，请结合超声",
        image_path="reports/2026/11/photo.jpg",
        image_sha256=PHOTO,
        confirmed=True,
        items=[
            ReportItem(position=0, name="血小板", code="PLT", value="45", unit="10^9/L",
                       reference_range="125-350", flag="L"),
            ReportItem(position=1, name="D-二聚体", value="2.4", unit="mg/L",
                       reference_range="<0.5", flag="H"),
            ReportItem(position=2, name="尿潜血", value="阴性"),
        ],
    )  # fmt: skip
    session.add(report)
    session.commit()
    return session.get(Patient, patient_id)


def _options(settings, cipher, mode="hash"):
    return Options(mode, cipher, settings.timezone, settings.public_base_url)


def _resources(bundle, kind):
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _urls(bundle, kind):
    return {
        e["fullUrl"]: e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == kind
    }


def _code(concept):
    return concept["coding"][0]["code"]


def _device_urls(bundle):
    """catheter id → the full URL of its Device."""
    return {int(d["identifier"][0]["value"]): url for url, d in _urls(bundle, "Device").items()}


def _at(text):
    return datetime.fromisoformat(text)


@pytest.mark.req("X.1")
def test_x_1_demo_patient_bundle_validates_with_two_devices_their_snomed_types_and_lots(
    session, settings, cipher, dictionary, demo
):
    bundle = patient_bundle(session, dictionary, demo.id, _options(settings, cipher))
    Bundle.model_validate(bundle)  # fhir.resources R4B reads it back
    assert bundle["type"] == "collection"
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)
    refs = {m for m in json.dumps(bundle).split('"') if m.startswith("urn:uuid:")}
    assert refs <= set(urls)  # every reference names an entry
    [patient_url] = _urls(bundle, "Patient")

    catheters = session.scalars(
        select(Catheter).where(Catheter.patient_id == demo.id).order_by(Catheter.placed_at)
    ).all()
    assert len(catheters) == 2
    devices = {int(d["identifier"][0]["value"]): d for d in _resources(bundle, "Device")}
    assert set(devices) == {c.id for c in catheters}
    for c in catheters:
        d = devices[c.id]
        assert d["type"]["coding"] == [{"system": SCT, "code": SNOMED[(c.device_type, c.lumens)]}]
        assert d["type"]["text"] == dictionary.device_types[c.device_type].label
        assert d["lotNumber"] == c.lot_number and c.lot_number
        assert d["manufacturer"] == c.brand
        assert d["status"] == ("inactive" if c.state is CatheterState.REMOVED else "active")
        assert d["patient"] == {"reference": patient_url}
    assert {d["status"] for d in devices.values()} == {"active", "inactive"}


@pytest.mark.req("X.1")
def test_x_1_demo_patient_insertions_and_removal_are_procedures_with_focal_device_action(
    session, settings, cipher, dictionary, demo
):
    bundle = patient_bundle(session, dictionary, demo.id, _options(settings, cipher))
    device_of = _device_urls(bundle)
    catheters = session.scalars(select(Catheter).where(Catheter.patient_id == demo.id)).all()
    procedures = _resources(bundle, "Procedure")
    by_kind: dict[str, list[dict]] = {}
    for p in procedures:
        by_kind.setdefault(_code(p["code"]), []).append(p)

    insertions = {p["focalDevice"][0]["manipulated"]["reference"]: p for p in by_kind["INSERTION"]}
    assert set(insertions) == set(device_of.values())
    for c in catheters:
        p = insertions[device_of[c.id]]
        assert _at(p["performedDateTime"]) == c.placed_at
        assert _code(p["focalDevice"][0]["action"]) == IMPLANTATION
        assert p["focalDevice"][0]["action"]["coding"][0]["system"] == SCT
        side, vein = dictionary.label("sides", c.side), dictionary.label("veins", c.vein)
        assert p["bodySite"][0]["text"].startswith(side + vein)

    removed = [c for c in catheters if c.state is CatheterState.REMOVED]
    removal = session.scalar(select(Removal).where(Removal.catheter_id == removed[0].id))
    [p] = by_kind["REMOVAL"]
    assert p["focalDevice"][0]["manipulated"]["reference"] == device_of[removed[0].id]
    assert _code(p["focalDevice"][0]["action"]) == REMOVAL
    assert p["performedDateTime"] == removal.removed_on.isoformat()
    assert _code(p["reasonCode"][0]) == removal.reason
    assert p["reasonCode"][0]["text"] == dictionary.label("removal_reasons", removal.reason)
    visits = sum(len(c.maintenance) for c in catheters)
    assert len(by_kind["MAINTENANCE"]) == visits > 0


@pytest.mark.req("X.1")
def test_x_1_demo_patient_lengths_and_arm_circumference_are_observations_in_cm(
    session, settings, cipher, dictionary, demo
):
    bundle = patient_bundle(session, dictionary, demo.id, _options(settings, cipher))
    device_of = _device_urls(bundle)
    expected = set()
    for c in session.scalars(select(Catheter).where(Catheter.patient_id == demo.id)):
        for at, external, arm in [
            (c.placed_at, c.external_length_cm, c.arm_circumference_cm),
            *[
                (m.performed_at, m.external_length_cm, m.arm_circumference_cm)
                for m in c.maintenance
            ],
        ]:
            for code, value in (("EXTERNAL_LENGTH", external), ("ARM_CIRCUMFERENCE", arm)):
                if value is not None:
                    expected.add((device_of[c.id], code, at, Decimal(value)))
    found = set()
    for o in _resources(bundle, "Observation"):
        if "coding" not in o["code"] or _code(o["code"]) not in (
            "EXTERNAL_LENGTH",
            "ARM_CIRCUMFERENCE",
        ):
            continue
        q = o["valueQuantity"]
        assert (q["unit"], q["system"], q["code"]) == ("cm", UCUM, "cm")
        value = Decimal(str(q["value"]))
        found.add(
            (o["focus"][0]["reference"], _code(o["code"]), _at(o["effectiveDateTime"]), value)
        )
    assert len(expected) > 4
    assert found == expected


@pytest.mark.req("X.1")
def test_x_1_demo_patient_complications_are_conditions_and_the_report_is_diagnostic(
    session, settings, cipher, dictionary, demo
):
    bundle = patient_bundle(session, dictionary, demo.id, _options(settings, cipher))
    device_of = _device_urls(bundle)
    complications = session.scalars(
        select(Complication).where(Complication.patient_id == demo.id)
    ).all()
    conditions = _resources(bundle, "Condition")
    assert len(conditions) == len(complications) >= 1
    for q, cond in zip(
        sorted(complications, key=lambda q: (q.onset_on, q.id)), conditions, strict=True
    ):
        assert _code(cond["code"]) == q.type
        assert cond["code"]["text"] == dictionary.label("complications", q.type)
        assert cond["onsetDateTime"] == q.onset_on.isoformat()
        closed = q.status is ComplicationStatus.CLOSED
        assert _code(cond["clinicalStatus"]) == ("resolved" if closed else "active")
        assert cond["evidence"][0]["detail"][0]["reference"] == device_of[q.catheter_id]
        if q.grade is not None:
            assert _code(cond["severity"]) == str(q.grade)

    [report] = _resources(bundle, "DiagnosticReport")
    assert report["status"] == "final" and report["conclusion"] == "D-二聚体升高，请结合超声"
    assert report["effectiveDateTime"] == "2026-11-02"
    observations = _urls(bundle, "Observation")
    items = [observations[r["reference"]] for r in report["result"]]
    assert [i["code"]["text"] for i in items] == ["血小板", "D-二聚体", "尿潜血"]
    plt, dimer, blood = items
    assert plt["valueQuantity"] == {"value": 45, "unit": "10^9/L"}
    assert plt["referenceRange"][0]["low"]["value"] == 125
    assert plt["referenceRange"][0]["high"]["value"] == 350
    assert _code(plt["interpretation"][0]) == "L" and _code(dimer["interpretation"][0]) == "H"
    assert dimer["referenceRange"][0] == {"high": {"value": 0.5, "unit": "mg/L"}, "text": "<0.5"}
    assert blood["valueString"] == "阴性"
    [photo] = _resources(bundle, "DocumentReference")
    attachment = photo["content"][0]["attachment"]
    assert attachment["url"].endswith(f"/staff/reports/{_report_id(session, demo)}/photo")
    assert "data" not in attachment  # a link, never the bytes
    assert photo["identifier"][0]["value"].startswith("ni:///sha-256;")
    assert photo["context"]["related"][0]["reference"] in _urls(bundle, "DiagnosticReport")


def _report_id(session, patient):
    return session.scalar(select(Report.id).where(Report.patient_id == patient.id))


@pytest.mark.req("X.1")
@pytest.mark.parametrize("mode", ["hash", "mask"])
def test_x_1_identifiers_are_never_in_clear_hashed_or_masked_by_setting(
    session, settings, cipher, dictionary, demo, mode
):
    number = cipher.decrypt(demo.id_card_enc, context="patient.id_card")
    assert number and demo.hospital_patient_id
    bundle = patient_bundle(session, dictionary, demo.id, _options(settings, cipher, mode))
    text = json.dumps(bundle, ensure_ascii=False)
    for secret in (number, number[6:14], demo.hospital_patient_id, demo.name):
        assert secret not in text
    record = demo.hospital_patient_id
    # not even a 5-character run of the record number (its last 4 are what the masked form
    # keeps), outside the uuids and hashes, whose hex digits may hold one by chance
    plain = re.sub(r"urn:uuid:[0-9a-f-]{36}|[0-9a-f]{64}", "#", text)
    runs = {record[i : i + 5] for i in range(len(record) - 4)}
    assert len(record) > 5 and [run for run in runs if run in plain] == []
    [p] = _resources(bundle, "Patient")
    ids = {i["type"]["coding"][0]["code"]: i["value"] for i in p["identifier"]}
    assert p["gender"] == {"M": "male", "F": "female"}[demo.sex.value]
    assert demo.birth_date.isoformat() not in text
    if mode == "hash":
        # a keyed hash of its own: stable, but not the blind index the database matches on
        assert ids["NI"] == cipher.blind_index(number, kind="fhir-id-card")
        assert len(ids["NI"]) == 64 and ids["NI"] != demo.id_card_index
        assert ids["MR"] == cipher.blind_index(record, kind="fhir-record-number")
        assert "name" not in p
        # the year of birth only: with the gender and the dates of care a full date would
        # re-identify the pseudonymised patient
        assert p["birthDate"] == str(demo.birth_date.year)
        assert bundle["meta"]["security"][0]["code"] == "PSEUDED"
    else:
        assert ids["NI"] == number[:4] + "*" * 10 + number[-4:]
        assert ids["MR"] == "*" * (len(record) - 4) + record[-4:]
        assert "birthDate" not in p  # the trace page shows no birth date either
        masked = {2: demo.name[0] + "*", 3: demo.name[0] + "*" + demo.name[-1]}[len(demo.name)]
        assert p["name"] == [{"text": masked}]
        assert bundle["meta"]["security"][0]["code"] == "MASKED"


@pytest.mark.req("X.1")
def test_x_1_two_exports_name_the_same_resources(session, settings, cipher, dictionary, demo):
    first = patient_bundle(session, dictionary, demo.id, _options(settings, cipher))
    again = patient_bundle(session, dictionary, demo.id, _options(settings, cipher, "mask"))
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in again["entry"]]


@pytest.mark.req("X.1")
def test_x_1_an_invalid_bundle_is_refused():
    patient = {"fullUrl": "urn:uuid:11111111-1111-5111-8111-111111111111",
               "resource": {"resourceType": "Patient"}}  # fmt: skip
    no_subject = {"fullUrl": "urn:uuid:22222222-2222-5222-8222-222222222222",
                  "resource": {"resourceType": "Procedure", "status": "completed"}}  # fmt: skip
    with pytest.raises(FhirInvalid, match="subject"):
        validated({"resourceType": "Bundle", "type": "collection", "entry": [patient, no_subject]})
    dangling = {"fullUrl": "urn:uuid:33333333-3333-5333-8333-333333333333",
                "resource": {"resourceType": "Device",
                             "patient": {"reference": "urn:uuid:44444444-4444-5444-8444-444444444444"}}}  # fmt: skip  # noqa: E501
    with pytest.raises(FhirInvalid, match="refers to no entry"):
        validated({"resourceType": "Bundle", "type": "collection", "entry": [patient, dangling]})


def test_x_1_fhir_identifiers_setting_is_hash_or_mask(tmp_path):
    env = {"INSTANCE_PATH": str(tmp_path)}
    assert load_settings(env).fhir_identifiers == "hash"
    assert load_settings({**env, "FHIR_IDENTIFIERS": "MASK"}).fhir_identifiers == "mask"
    with pytest.raises(ConfigError, match="FHIR_IDENTIFIERS"):
        load_settings({**env, "FHIR_IDENTIFIERS": "clear"})


def _downloaded(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/fhir+json"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    return json.loads(response.data), disposition


@pytest.mark.req("X.1", "A7.6")
def test_x_1_fhir_download_from_admin_and_clinician_trace_pages_is_checked_audited_and_logged(
    settings, engine, redis_conn, session_factory, session, cipher
):
    story = build(session, cipher)
    pid = story.patient.id
    app = create_app(settings)
    admin = app.test_client()
    assert sign_in(admin, "A001", "Admin1234").status_code == 302
    page = admin.get(f"/admin/trace/catheter/{story.catheter.id}").get_data(as_text=True)
    assert f'href="/admin/trace/patient/{pid}.fhir.json"' in page and "下载 FHIR" in page
    got = admin.get(f"/admin/trace/patient/{pid}.fhir.json")
    bundle, disposition = _downloaded(got)
    # 患者<id>-fhir.json, as RFC 6266 filename* (the name is not ASCII)
    assert f"filename*=UTF-8''%E6%82%A3%E8%80%85{pid}-fhir.json" in disposition
    Bundle.model_validate(bundle)
    [device] = _resources(bundle, "Device")
    assert device["lotNumber"] == LOT
    # lumens not recorded: PICC has a single- and a double-lumen code, neither is claimed
    assert device["type"] == {"text": "经外周静脉置入中心静脉导管"}
    assert NAME not in got.get_data(as_text=True) and "330102196803120018" not in got.get_data(
        as_text=True
    )

    nurse = app.test_client()
    assert sign_in(nurse, "N001", "Nurse1234").status_code == 302
    trace_page = nurse.get(f"/staff/patients/{pid}/trace").get_data(as_text=True)
    assert f'href="/staff/patients/{pid}/trace.fhir.json"' in trace_page
    staff_got = nurse.get(f"/staff/patients/{pid}/trace.fhir.json")
    staff_bundle, _ = _downloaded(staff_got)
    assert [e["fullUrl"] for e in staff_bundle["entry"]] == [e["fullUrl"] for e in bundle["entry"]]

    stranger = app.test_client()
    assert sign_in(stranger, "13900001111", "Outside123").status_code == 302
    assert stranger.get(f"/staff/patients/{pid}/trace.fhir.json").status_code == 404

    with session_factory() as s:
        exports = s.scalars(
            select(AuditLog).where(AuditLog.action.in_(["export", "denied"])).order_by(AuditLog.id)
        ).all()
        logged = s.scalars(select(ExportLog).order_by(ExportLog.id)).all()
    assert [(a.actor_id, a.action, a.object_type, a.patient_id, a.context) for a in exports] == [
        (story.admin.id, "export", "patient", pid, "admin_fhir"),
        (story.nurse.id, "export", "patient", pid, "h5-fhir"),
        (story.stranger.id, "denied", "patient", pid, "h5-fhir"),
    ]
    assert [
        (e.staff_id, e.kind, e.format, e.params, e.row_count, e.file_sha256, e.status.value)
        for e in logged
    ] == [
        (story.admin.id, "fhir", "json", {"patient_id": pid, "identifiers": "hash"},
         len(bundle["entry"]), hashlib.sha256(got.data).hexdigest(), "done"),
        (story.nurse.id, "fhir", "json", {"patient_id": pid, "identifiers": "hash"},
         len(staff_bundle["entry"]), hashlib.sha256(staff_got.data).hexdigest(), "done"),
    ]  # fmt: skip


@pytest.mark.req("X.1")
def test_x_1_masked_identifiers_by_setting_in_the_download(
    settings, engine, redis_conn, session, cipher
):
    story = build(session, cipher)
    app = create_app(replace(settings, fhir_identifiers="mask"))
    admin = app.test_client()
    assert sign_in(admin, "A001", "Admin1234").status_code == 302
    bundle, _ = _downloaded(admin.get(f"/admin/trace/patient/{story.patient.id}.fhir.json"))
    [p] = _resources(bundle, "Patient")
    # the ID card's first and last 4; the record number H0815's last 4 (as the exports mask it)
    assert [i["value"] for i in p["identifier"]] == ["3301**********0018", "*0815"]
    assert "birthDate" not in p
    assert p["name"] == [{"text": "欧**珠"}]


@pytest.mark.req("X.1")
def test_x_1_flask_fhir_export_writes_a_valid_bundle_audited_as_the_system(
    settings, engine, session_factory, session, cipher, dictionary, demo, tmp_path
):
    out = tmp_path / "bundle.json"
    runner = create_app(settings).test_cli_runner()
    result = runner.invoke(
        args=["fhir", "export", str(demo.id), "--out", str(out), "--identifiers", "mask"]
    )
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    assert len(_resources(bundle, "Device")) == 2 and len(_resources(bundle, "Condition")) >= 1
    [p] = _resources(bundle, "Patient")
    assert p["identifier"][0]["system"].endswith(":masked")
    printed = runner.invoke(args=["fhir", "export", str(demo.id)])
    assert printed.exit_code == 0 and json.loads(printed.output)["type"] == "collection"
    missing = runner.invoke(args=["fhir", "export", "999999"])
    assert missing.exit_code == 1 and "没有编号为 999999 的患者" in missing.output
    with session_factory() as s:
        audits = s.scalars(select(AuditLog).where(AuditLog.action == "export")).all()
        logged = s.scalars(select(ExportLog).order_by(ExportLog.id)).all()
    assert [(a.actor_type, a.actor_id, a.patient_id, a.context) for a in audits] == [
        (ActorType.SYSTEM, None, demo.id, "cli-fhir"),
        (ActorType.SYSTEM, None, demo.id, "cli-fhir"),
    ]
    assert [(e.staff_id, e.kind, e.format, e.params["identifiers"]) for e in logged] == [
        (None, "fhir", "json", "mask"),
        (None, "fhir", "json", "hash"),
    ]
    assert logged[0].file_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
