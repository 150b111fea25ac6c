"""Every staff read of a patient record is audited (X.1), checked by walking the product
rather than listing what we remember: every GET route of the app a clinician or an
administrator can open, and every custom chat action run as a clinician. Whatever shows the
patient must have written an audit row naming that patient in the same request or turn."""

from __future__ import annotations

import importlib
import inspect
import io
import pkgutil
from datetime import timedelta

import pytest
from PIL import Image
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

import nlu.actions
from bot.adapters.media import MediaStore
from bot.care.rules import local_date
from bot.models import (
    Appointment,
    AppointmentSlot,
    AuditLog,
    Catheter,
    Consultation,
    ConsultationMedia,
    ConsultationMember,
    FollowUp,
    Institution,
    MaintenanceRecord,
    Patient,
    PatientAccount,
    PatientProfile,
    Staff,
    utcnow,
)
from bot.models.enums import ActorType, CatheterState, StaffRole
from bot.security.masking import initials, mask_name
from bot.services import audit, auth, complications
from bot.services import dictionary as dictionary_service
from bot.services.qr import QrCodes
from server import create_app
from tests.integration.test_staff_web import sign_in
from tests.support.reports import add_report

pytestmark = [pytest.mark.db, pytest.mark.redis, pytest.mark.req("X.1")]

NAME = "钱晓梅"
# routes that never show a patient to staff: sign-in, patient-facing and public pages,
# the WeChat callbacks, the outside-clinician application, static files, the statistics
# dashboard's charts (counts over a period; the page that shows them is audited)
NOT_STAFF = (
    "auth.",
    "patient.",
    "apply.",
    "wechat.",
    "pages.",
    "static",
    "admin.static",
    "dashboard.chart_",
)


@pytest.fixture
def ward(session, settings, cipher):
    home = Institution(code="HOME", name="本院", is_home=True)
    nurse = Staff(
        institution=home,
        staff_no="N001",
        name="李护士",
        role=StaffRole.NURSE,
        password_hash=auth.hash_password("Nurse1234"),
        password_changed_at=utcnow(),
    )
    admin = Staff(
        institution=home,
        staff_no="A001",
        name="管理员",
        role=StaffRole.ADMIN,
        password_hash=auth.hash_password("Admin1234"),
        password_changed_at=utcnow(),
    )
    outsider = Staff(
        institution=Institution(code="X", name="外院"),
        staff_no="X001",
        name="外院医生",
        role=StaffRole.OUTSIDE_CLINICIAN,
        phone_enc=cipher.encrypt("13900009999", context="staff.phone"),
        phone_index=cipher.blind_index("13900009999", kind="phone"),
        password_hash=auth.hash_password("Outside123"),
        password_changed_at=utcnow(),
    )
    session.add(outsider)
    patient = Patient(name=NAME)
    account = PatientAccount(openid="o_qian", ih_user_id="ih-q")
    session.add_all([home, nurse, admin, patient, account])
    session.flush()
    session.add(PatientProfile(account_id=account.id, patient_id=patient.id))
    catheter = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        state=CatheterState.IN_PLACE,
        placed_at=utcnow() - timedelta(days=10),
        institution_id=home.id,
        next_due_on=(utcnow() - timedelta(days=1)).date(),
        tier="B",
    )
    session.add(catheter)
    session.flush()
    session.add(
        MaintenanceRecord(
            catheter_id=catheter.id,
            staff_id=nurse.id,
            performed_at=utcnow() - timedelta(days=3),
            flushed=True,
        )
    )
    report = add_report(
        session, settings.media_root, patient.id, items=[("血小板", "PLT", "45", "125-350", "L")]
    )
    # a complication with a photo and a handling step, and a follow-up check-in
    d = dictionary_service.current(session)
    by_nurse = audit.Actor(ActorType.STAFF, nurse.id)
    phlebitis = complications.report(
        session,
        d,
        catheter.id,
        type_code="PHLEBITIS",
        onset_on=local_date(utcnow(), settings.timezone),
        grade=1,
        brief_history="穿刺点发红",
        tz=settings.timezone,
        actor=by_nurse,
        institution_id=home.id,
    ).complication
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 110)).save(out, "JPEG")
    [photo] = complications.add_photos(
        session,
        phlebitis.id,
        [(out.getvalue(), "site.jpg")],
        actor=by_nurse,
        media=MediaStore(settings.media_root),
    )
    complications.add_step(session, d, phlebitis.id, text="硫酸镁湿敷", actor=by_nurse)
    session.add(
        FollowUp(
            catheter_id=catheter.id,
            patient_id=patient.id,
            due_on=local_date(utcnow(), settings.timezone),
            sent_at=utcnow(),
        )
    )
    # a consultation the nurse asked for, with a photo
    consultation = Consultation(
        patient_id=patient.id,
        catheter_id=catheter.id,
        complication_id=phlebitis.id,
        requested_by_id=nurse.id,
        title="是否需要拔管？",
        summary="是否需要拔管？",
    )
    session.add(consultation)
    session.flush()
    session.add(
        ConsultationMember(consultation_id=consultation.id, staff_id=nurse.id, role="requester")
    )
    stored = MediaStore(settings.media_root).save(out.getvalue(), "image/jpeg")
    consultation_media = ConsultationMedia(
        consultation_id=consultation.id,
        kind="image",
        path=str(stored.path.relative_to(settings.media_root)),
        sha256=stored.sha256,
        content_type="image/jpeg",
        size=stored.size,
    )
    session.add(consultation_media)
    # a booking at the clinic today (the clinic's day list, P8.1)
    slot = AppointmentSlot(
        institution_id=home.id,
        service="PICC_MAINT",
        starts_at=utcnow() - timedelta(minutes=1),
        ends_at=utcnow() + timedelta(hours=3),
        capacity=4,
        booked=1,
    )
    session.add(slot)
    session.flush()
    session.add(Appointment(slot_id=slot.id, patient_id=patient.id, account_id=account.id))
    session.commit()
    return {
        "consultation": consultation,
        "consultation_media": consultation_media,
        "nurse": nurse,
        "outsider": outsider,
        "patient": patient,
        "catheter": catheter,
        "account": account,
        "report": report,
        "complication": phlebitis,
        "photo": photo,
    }


def audited(session_factory, patient_id: int) -> int:
    """Audit rows naming the patient: a read of their record, or a list read (the due list)
    whose detail names the patients it showed."""
    with session_factory() as s:
        return sum(
            1
            for row in s.scalars(select(AuditLog))
            if row.patient_id == patient_id or patient_id in (row.detail or {}).get("patients", [])
        )


def shows(body: bytes, content_type: str) -> bool:
    """Whether a response shows the patient: their name, masked name or initials in a page,
    or any image, document or FHIR bundle drawn for their catheter or record."""
    if content_type.startswith(("image/", "application/pdf", "application/fhir+json")):
        return True
    text = body.decode("utf-8", "replace")
    return any(word in text for word in (NAME, mask_name(NAME), initials(NAME)))


def staff_urls(app, ward, settings) -> list[tuple[str, str]]:
    """(endpoint, url) of every GET route staff can open, parameters filled with the ward's."""
    from bot.services.qr import QrCodes

    values = {
        "catheter_id": ward["catheter"].id,
        "patient_id": ward["patient"].id,
        "token": QrCodes.from_settings(settings).token(ward["catheter"]),
        "id": ward["account"].id,
        "export_type": "csv",
        "application_id": 1,
        "report_id": ward["report"].id,
        "complication_id": ward["complication"].id,
        "photo_id": ward["photo"].id,
        "consultation_id": ward["consultation"].id,
        "media_id": ward["consultation_media"].id,
        "version": 1,
        "export_id": 1,
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.startswith(NOT_STAFF):
            continue
        if set(rule.arguments) - set(values):
            raise AssertionError(f"the walk cannot fill {rule.rule}: add its parameter")
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
        urls.append((rule.endpoint, url + ("?id=" + str(values["id"]) if "details" in url else "")))
    return urls


def test_every_staff_page_that_shows_a_patient_writes_an_audit_row(
    settings, engine, redis_conn, session_factory, ward
):
    app = create_app(settings)
    nurse, admin = app.test_client(), app.test_client()
    assert sign_in(nurse, "N001", "Nurse1234").status_code == 302
    assert sign_in(admin, "A001", "Admin1234").status_code == 302
    patient_id = ward["patient"].id
    showing, silent = [], []
    for endpoint, url in staff_urls(app, ward, settings):
        client = (
            admin
            if endpoint.startswith(
                (
                    "admin",
                    "staff.",
                    "accounts.",
                    "applications.",
                    "problems.",
                    "trace.",
                    "roster.",
                    "consultation_list.",
                    "patients.",
                    "agreements.",
                    "institutions.",
                    "articles.",
                    "clinic_sessions.",
                    "clinic_calendar.",
                    "dictionary.",
                    "lowcode.",
                    "dashboard.",
                    "exports.",
                )
            )
            else nurse
        )
        before = audited(session_factory, patient_id)
        response = client.get(url)
        if response.status_code != 200 or not shows(response.data, response.content_type):
            continue
        showing.append(endpoint)
        if audited(session_factory, patient_id) == before:
            silent.append(url)
    assert silent == []
    # the walk saw the pages it exists for (it is not vacuous)
    assert {
        "clinic.catheter",
        "clinic.maintenance_form",
        "clinic.due_list",
        "clinic.card",
        "clinic.report_photo",
        "clinic.catheter_trace",
        "clinic.catheter_trace_pdf",
        "clinic.patient_trace",
        "clinic.patient_trace_pdf",
        "clinic.patient_trace_fhir",
        "clinic.patient_timeline",
        "clinic.patient_outside",
        "trace.catheter",
        "trace.catheter_pdf",
        "trace.patient",
        "trace.patient_pdf",
        "trace.patient_fhir",
        "clinic.consultations",
        "clinic.consultation",
        "clinic.consultation_media",
        "consultation_list.index",
        "patients.index",
        "patients.details",
        "patients.edit",
        "clinic.clinic_day",
    } <= set(showing)
    # the admin's patient-account list and details are reads of personal data too
    with session_factory() as s:
        read = {(a.object_type, a.object_id) for a in s.scalars(select(AuditLog))}
    assert {("patient_account_list", None), ("patient_account", str(ward["account"].id))} <= read


def clinician_tracker(ward, settings) -> Tracker:
    from bot.services.qr import QrCodes

    qr_url = QrCodes.from_settings(settings).url(ward["catheter"])
    message = {
        "intent": {"name": "search_patient", "confidence": 1.0},
        "entities": [
            {"entity": "patient_name", "value": NAME},
            {"entity": "scan_result", "value": qr_url},
        ],
        "text": f"{NAME} {qr_url}",
        "metadata": {
            "role": "nurse",
            "channel": "work",
            "staff_id": ward["nurse"].id,
            "institution_id": ward["nurse"].institution_id,
        },
    }
    slots = {"scanned_catheter_id": ward["catheter"].id, "requested_slot": None}
    return Tracker("n1", slots, message, [], False, None, {}, "action_listen")


def chat_actions() -> list[Action]:
    found = []
    for info in pkgutil.iter_modules(nlu.actions.__path__):
        module = importlib.import_module(f"nlu.actions.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, Action)
                and cls.__module__ == module.__name__
                and not inspect.isabstract(cls)
                and "name" in cls.__dict__
            ):
                found.append(cls())
    return found


@pytest.mark.usefixtures("action_runtime")
def test_every_chat_action_that_shows_a_patient_to_a_clinician_writes_an_audit_row(
    settings, session_factory, ward, domain
):
    from tests.support.forms import run_coroutine

    patient_id = ward["patient"].id
    showing, silent = [], []
    for action in chat_actions():
        before = audited(session_factory, patient_id)
        dispatcher = CollectingDispatcher()
        result = action.run(dispatcher, clinician_tracker(ward, settings), domain)
        if inspect.iscoroutine(result):
            run_coroutine(result)
        said = str(dispatcher.messages)
        if NAME not in said and mask_name(NAME) not in said:
            continue
        showing.append(action.name())
        if audited(session_factory, patient_id) == before:
            silent.append(action.name())
    assert silent == []
    assert {"action_scan_qr", "action_search_patient", "action_due_today"} <= set(showing)


def test_an_outside_clinician_without_a_care_relation_gets_404_everywhere_audited_as_denied(
    settings, engine, redis_conn, session_factory, ward
):
    """Issue 12 §7: every staff route of a catheter, read or write, with the session of an
    outside clinician who never cared for this patient."""
    app = create_app(settings)
    outsider = app.test_client()
    assert sign_in(outsider, "13900009999", "Outside123").status_code == 302
    catheter_id, patient_id = ward["catheter"].id, ward["patient"].id
    routes = [
        (rule, sorted(rule.methods - {"HEAD", "OPTIONS"}))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("clinic.") and "catheter_id" in rule.arguments
    ]
    assert len(routes) >= 6  # page, card PNG and PDF, maintenance form, follow-up, reissue
    with app.test_request_context():
        from flask import url_for

        urls = [(url_for(r.endpoint, catheter_id=catheter_id), m) for r, m in routes]
    token = outsider.get("/staff/placements/new").get_data(as_text=True)  # a form: its token
    csrf = token.split('name="csrf_token" value="')[1].split('"')[0]
    answers = []
    for url, methods in urls:
        for method in methods:
            response = outsider.open(url, method=method, data={"csrf_token": csrf})
            answers.append((method, url, response.status_code))
    assert {status for _, _, status in answers} == {404}, answers
    with session_factory() as s:
        denied = s.scalars(
            select(AuditLog).where(AuditLog.action == "denied", AuditLog.patient_id == patient_id)
        ).all()
    assert len(denied) == len(answers)
    assert {d.actor_id for d in denied} == {ward["outsider"].id}
    scan = outsider.get(f"/q/{QrCodes.from_settings(settings).token(ward['catheter'])}")
    assert scan.status_code == 403 and "没有权限" in scan.get_data(as_text=True)
    with session_factory() as s:
        assert s.scalar(
            select(AuditLog).where(AuditLog.action == "denied", AuditLog.context == "h5-scan")
        )
