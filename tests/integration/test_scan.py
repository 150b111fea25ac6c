"""The catheter's QR code: a nurse's scan shows the patient card and starts a registration for
that catheter; forged and revoked codes get a clear answer; a patient gets the code as an image."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
from pyzbar.pyzbar import decode
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.models import AuditLog, Catheter, Complication, Institution, Patient, Staff, utcnow
from bot.models.enums import StaffRole
from bot.services.qr import QrCodes, reissue
from nlu.actions import maintenance, scan
from tests.support.forms import FormDriver

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("action_runtime")]


@pytest.fixture
def ward(session, settings):
    home = Institution(code="HOME", name="本院", is_home=True)
    nurse = Staff(
        institution=home, staff_no="N1", name="李护士", role=StaffRole.NURSE, wecom_userid="n1"
    )
    outsider = Staff(
        institution=Institution(code="X", name="外院"),
        staff_no="X1",
        name="外院医生",
        role=StaffRole.OUTSIDE_CLINICIAN,
        wecom_userid="x1",
    )
    p = Patient(name="王丽娟")
    session.add_all([home, nurse, outsider, p])
    session.flush()
    c = Catheter(
        patient_id=p.id,
        device_type="PICC",
        institution_id=home.id,
        placed_at=utcnow() - timedelta(days=9),
        next_due_on=None,
        external_length_cm=Decimal("2.0"),
    )
    session.add(c)
    session.flush()
    session.add(
        Complication(catheter_id=c.id, patient_id=p.id, type="PHLEBITIS", onset_on=utcnow().date())
    )
    session.commit()
    codes = QrCodes(settings.secret_key, settings.public_base_url)
    return {"nurse": nurse, "outsider": outsider, "catheter": c, "patient": p, "codes": codes}


def run(action, intent, entities=(), **meta):
    message = {
        "intent": {"name": intent},
        "entities": [{"entity": k, "value": v} for k, v in entities],
        "text": "",
        "metadata": meta,
    }
    d = CollectingDispatcher()
    events = action.run(d, Tracker("u", {}, message, [], False, None, {}, "action_listen"), {})
    return d.messages, events


@pytest.mark.req("P2.2", "C2.1", "C3.1", "X.1")
def test_a_nurse_scan_shows_the_patient_card_and_is_audited(ward, session_factory):
    url = ward["codes"].url(ward["catheter"])
    messages, events = run(
        scan.ActionScanQr(),
        "scan_qr",
        [("scan_result", url)],
        role="nurse",
        channel="work",
        staff_id=ward["nurse"].id,
    )
    card = messages[0]["custom"]
    assert card["title"] == "【今日需维护】王丽娟"
    fields = dict(card["fields"])
    assert (
        fields["下次维护"] == "尚未排期"
        and fields["并发症"] == "静脉炎"
        and fields["置管外露"] == "2.0 cm"
    )
    assert [b["payload"] for b in card["buttons"]] == [
        "/register_maintenance",
        "/report_complication",
        "/request_consultation",
    ]
    assert events == [
        {
            "event": "slot",
            "timestamp": None,
            "name": "scanned_catheter_id",
            "value": ward["catheter"].id,
        }
    ]
    with session_factory() as s:
        assert (
            s.scalar(select(AuditLog).where(AuditLog.context == "scan")).patient_id
            == ward["patient"].id
        )


@pytest.mark.req("C4.2")
def test_c4_2_after_a_scan_the_clinician_sees_the_patients_reports_with_their_cues(ward, session):
    from datetime import date

    from bot.models import Report, ReportItem
    from bot.models.enums import OcrStatus, ReportSource

    p = ward["patient"]
    session.add_all(
        [
            Report(
                patient_id=p.id,
                source=ReportSource.SELF,
                ocr_status=OcrStatus.DONE,
                report_type="ultrasound",
                report_date=date(2026, 11, 2),
                conclusion="左上肢深静脉未见明显血栓形成",
            ),
            Report(
                patient_id=p.id,
                source=ReportSource.HOSPITAL,
                ocr_status=OcrStatus.DONE,
                report_type="coagulation",
                report_date=date(2026, 11, 20),
                institution_name="本院",
                items=[
                    ReportItem(name="D-二聚体", code="DDIMER", value="1.86", flag="H"),
                    ReportItem(name="凝血酶原时间", code="PT", value="12.1"),
                ],
            ),
            Report(  # not a report: never shown
                patient_id=p.id, source=ReportSource.SELF, ocr_status=OcrStatus.WOUND_PHOTO
            ),
        ]
    )
    session.commit()
    messages, _ = run(
        scan.ActionScanQr(),
        "scan_qr",
        [("scan_result", ward["codes"].url(ward["catheter"]))],
        role="nurse",
        channel="work",
        staff_id=ward["nurse"].id,
    )
    text = messages[1]["text"]
    lines = text.split("\n")
    assert lines[0] == "近期检验检查报告（共2份）："
    assert lines[1] == "· 2026-11-20 凝血功能（本院）D-二聚体 1.86↑"
    assert lines[2] == "· 2026-11-02 超声（本人上传）左上肢深静脉未见明显血栓形成"
    assert "⚠ D-二聚体 1.86↑：血栓风险" in lines
    assert lines[-1].endswith(f"/staff/catheters/{ward['catheter'].id}#reports")


@pytest.mark.req("C2.1", "C3.2")
def test_after_a_scan_the_registration_asks_no_name(ward, domain):
    f = FormDriver(
        maintenance.ValidateMaintenanceForm(),
        domain,
        "work:n1",
        role="nurse",
        channel="work",
        staff_id=ward["nurse"].id,
    )
    f.slots["scanned_catheter_id"] = ward["catheter"].id
    said = f.say("维护登记", "register_maintenance")
    assert "为 王丽娟 PICC" in said and f.asking == "m_items"


@pytest.mark.req("P2.2", "C2.1")
def test_forged_revoked_and_foreign_codes_get_a_clear_answer(ward, session):
    meta = {"role": "nurse", "channel": "work", "staff_id": ward["nurse"].id}
    messages, _ = run(
        scan.ActionScanQr(), "scan_qr", [("scan_result", "https://shop.example/item/42")], **meta
    )
    assert "这不是本院的置管二维码" in messages[0]["text"]
    old = ward["codes"].url(ward["catheter"])
    catheter = session.get(Catheter, ward["catheter"].id)
    reissue(catheter)
    session.commit()
    messages, _ = run(scan.ActionScanQr(), "scan_qr", [("scan_result", old)], **meta)
    assert "已作废" in messages[0]["text"]
    messages, _ = run(
        scan.ActionScanQr(),
        "scan_qr",
        [("scan_result", ward["codes"].url(catheter))],
        role="outside_clinician",
        channel="work",
        staff_id=ward["outsider"].id,
    )
    assert "没有查看该患者的权限" in messages[0]["text"]
    messages, _ = run(
        scan.ActionScanQr(),
        "scan_qr",
        [("scan_result", ward["codes"].url(catheter))],
        role="patient",
        channel="mp",
    )
    assert "仅向医护人员开放" in messages[0]["text"]


@pytest.mark.req("P2.2", "P2.3")
def test_a_patient_gets_the_code_as_an_image_that_scans_back_to_the_catheter(
    ward, settings, session
):
    messages, _ = run(
        scan.ActionShowQr(),
        "show_qr",
        role="patient",
        channel="mp",
        active_patient_id=ward["patient"].id,
    )
    [image] = [m["image"] for m in messages if m.get("image")]
    [found] = decode(Image.open(image))
    assert ward["codes"].catheter(session, found.data.decode()).id == ward["catheter"].id
    [link] = [m["custom"] for m in messages if m.get("custom")]  # the full-screen view (P2.3)
    assert link["url"] == f"{settings.public_base_url}/h5/catheters/{ward['catheter'].id}/qr"
    assert "出示此二维码" in link["description"]
    messages, _ = run(
        scan.ActionShowQr(), "show_qr", role="patient", channel="mp", active_patient_id=None
    )
    assert "请先绑定就诊人" in messages[0]["text"]
    messages, _ = run(scan.ActionShowQr(), "show_qr", role="nurse", channel="work")
    assert "扫描患者的置管二维码" in messages[0]["text"]


@pytest.mark.req("P2.2")
def test_a_new_public_address_or_key_never_serves_a_cached_code_of_the_old_one(tmp_path):
    catheter = Catheter(id=7, qr_token_version=1)
    old = QrCodes("key-1", "http://old.example")
    for codes in (
        old,
        QrCodes("key-1", "https://new.example"),
        QrCodes("key-2", "http://old.example"),
    ):
        [found] = decode(Image.open(codes.png(catheter, tmp_path)))
        assert found.data.decode() == codes.url(catheter)
    assert old.png(catheter, tmp_path) == old.png(catheter, tmp_path)  # cached, not redrawn
