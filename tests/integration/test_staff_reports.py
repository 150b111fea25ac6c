"""Reports on the clinicians' catheter page (C4.2): the patient's reports with their source,
photo, values and conclusion, the lab cues at the top, each photo read audited; a chest X-ray's
tip position recorded with one tap; outside clinicians without a care relation see nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.care.rules import local_date
from bot.models import AuditLog, Catheter, Patient, Report, utcnow
from bot.models.enums import OcrStatus, ReportSource
from server import create_app
from tests.integration.test_staff_pages import add_nurse_and_outsider, csrf
from tests.integration.test_staff_web import sign_in
from tests.support.reports import add_report

pytestmark = [pytest.mark.db, pytest.mark.redis]
XRAY = "右侧PICC置管术后：导管尖端位于上腔静脉下段，T6椎体水平。双肺未见明显异常。"


@pytest.fixture
def ward(settings, engine, redis_conn, session, cipher):
    """赵大爷's PICC with a coagulation report (INR high), an older blood count (PLT low) and a
    chest X-ray stating the tip; 钱阿姨's X-ray."""
    today = local_date(utcnow(), settings.timezone)
    add_nurse_and_outsider(session, cipher)
    zhao, qian = Patient(name="赵大爷"), Patient(name="钱阿姨")
    session.add_all([zhao, qian])
    session.flush()
    picc = Catheter(patient_id=zhao.id, device_type="PICC", placed_at=utcnow() - timedelta(days=3))
    session.add(picc)
    root = settings.media_root
    xray = add_report(
        session,
        root,
        zhao.id,
        kind="chest_xray",
        day=today,
        source=ReportSource.HOSPITAL,
        conclusion=XRAY,
        with_photo=False,
    )
    coag = add_report(
        session,
        root,
        zhao.id,
        kind="coagulation",
        day=today - timedelta(days=1),
        items=[("国际标准化比率", "INR", "2.6", "0.8-1.2", "H")],
        source=ReportSource.OUTSIDE,
        institution="市二院",
    )
    blood = add_report(
        session,
        root,
        zhao.id,
        day=today - timedelta(days=10),
        items=[("血小板", "PLT", "45", "125-350", "L")],
    )
    foreign = add_report(
        session, root, qian.id, kind="chest_xray", day=today, conclusion=XRAY, with_photo=False
    )
    session.commit()
    return {
        "app": create_app(settings),
        "picc": picc.id,
        "zhao": zhao.id,
        "xray": xray.id,
        "coag": coag.id,
        "blood": blood.id,
        "foreign": foreign.id,
    }


def clinician(ward, login="N001", password="Nurse1234"):
    client = ward["app"].test_client()
    assert sign_in(client, login, password).status_code == 302
    return client


@pytest.mark.req("C4.2")
def test_c4_2_the_catheter_page_lists_the_reports_with_the_lab_cues_at_the_top(ward):
    page = clinician(ward).get(f"/staff/catheters/{ward['picc']}").get_data(as_text=True)
    section = page[page.index('id="reports"') :]
    kinds = [section.index(k) for k in ("胸片", "凝血功能", "血常规")]
    assert kinds == sorted(kinds)  # newest first
    assert "本院" in section and "外院" in section and "本人上传" in section
    assert "国际标准化比率 2.6" in section and '<b style="color:#b00020">↑</b>' in section
    assert "血小板 45" in section and "↓" in section
    assert "结论：" + XRAY in section
    photo = f'href="/staff/reports/{ward["coag"]}/photo"'
    assert photo in section and f'src="/staff/reports/{ward["coag"]}/photo?thumb=1"' in section
    assert f"/staff/reports/{ward['xray']}/photo" not in section  # the LIS report has no photo
    # the newest lab report's cue, above the placement form
    cues = re.search(r'<div class="cues" role="alert".*?</div>', page, re.S).group(0)
    assert "国际标准化比率 2.6↑：出血风险" in cues and "凝血功能" in cues
    assert "血小板" not in cues  # an older report's value is in the list, not the cues
    assert page.index('class="cues"') < page.index("置管登记表")


@pytest.mark.req("C4.2", "X.1")
def test_c4_2_a_report_photo_is_audited_and_hidden_from_clinicians_without_a_care_relation(
    ward, session_factory
):
    nurse = clinician(ward)
    r = nurse.get(f"/staff/reports/{ward['coag']}/photo")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    thumb = nurse.get(f"/staff/reports/{ward['coag']}/photo?thumb=1")
    assert thumb.status_code == 200 and len(thumb.data) < len(r.data)
    assert nurse.get(f"/staff/reports/{ward['xray']}/photo").status_code == 404  # none
    with session_factory() as s:
        reads = s.scalars(
            select(AuditLog).where(AuditLog.object_type == "report", AuditLog.action == "read")
        ).all()
    assert [(a.object_id, a.patient_id) for a in reads] == [
        (str(ward["coag"]), ward["zhao"]),
        (str(ward["coag"]), ward["zhao"]),
        (str(ward["xray"]), ward["zhao"]),
    ]
    outsider = clinician(ward, "13900009999", "Outside123")
    refused = outsider.get(f"/staff/reports/{ward['coag']}/photo")
    missing = outsider.get("/staff/reports/99999/photo")
    assert refused.status_code == missing.status_code == 404
    with session_factory() as s:
        denied = s.scalar(select(AuditLog).where(AuditLog.action == "denied"))
    assert (denied.object_type, denied.object_id) == ("report", str(ward["coag"]))
    assert denied.detail == {"wanted": "read"}
    patient_browser = ward["app"].test_client()
    assert patient_browser.get(f"/staff/reports/{ward['coag']}/photo").status_code == 302


@pytest.mark.req("C4.2")
def test_c4_2_the_x_ray_tip_position_is_recorded_with_one_tap_and_audited(ward, session_factory):
    nurse = clinician(ward)
    url = f"/staff/catheters/{ward['picc']}"
    assert "记录为本次置管的尖端位置" not in nurse.get(url).get_data(as_text=True)
    page = nurse.get(f"{url}?report={ward['xray']}").get_data(as_text=True)
    tip = re.search(r'<h2[^>]*id="tip">.*?</form>', page, re.S).group(0)
    assert "未记录" in tip and "记录为本次置管的尖端位置：上腔静脉下段" in tip
    for other in (ward["foreign"], ward["coag"], 99999):  # another patient's, no X-ray, none
        page = nurse.get(f"{url}?report={other}").get_data(as_text=True)
        assert "记录为本次置管的尖端位置" not in page
    r = nurse.post(f"{url}/tip", data={"csrf_token": csrf(tip), "report_id": ward["xray"]})
    assert r.status_code == 302 and r.headers["Location"] == f"{url}#tip"
    page = nurse.get(url).get_data(as_text=True)
    assert "已记录导管尖端位置：上腔静脉下段（胸部X线定位）" in page
    assert "上腔静脉下段（胸部X线定位）" in page[page.index('id="tip"') :]
    with session_factory() as s:
        c = s.get(Catheter, ward["picc"])
        assert (c.tip_position, c.tip_confirmation) == ("上腔静脉下段", "XRAY")
        entry = s.scalar(
            select(AuditLog).where(AuditLog.action == "update", AuditLog.object_type == "catheter")
        )
    assert entry.object_id == str(ward["picc"]) and entry.patient_id == ward["zhao"]
    assert entry.detail == {
        "tip_position": [None, "上腔静脉下段"],
        "tip_confirmation": [None, "XRAY"],
        "report": ward["xray"],
    }
    # another patient's X-ray is refused, nothing changes
    r = nurse.post(f"{url}/tip", data={"csrf_token": csrf(tip), "report_id": ward["foreign"]})
    assert "这份报告没有可记录的导管尖端位置" in nurse.get(url).get_data(as_text=True)
    with session_factory() as s:
        assert len(s.scalars(select(AuditLog).where(AuditLog.action == "update")).all()) == 1


@pytest.mark.req("C4.2")
def test_c4_2_an_unread_x_ray_offers_no_tip(ward, session_factory):
    with session_factory() as s:
        s.get(Report, ward["xray"]).ocr_status = OcrStatus.PENDING
        s.commit()
    page = clinician(ward).get(f"/staff/catheters/{ward['picc']}?report={ward['xray']}")
    assert "记录为本次置管的尖端位置" not in page.get_data(as_text=True)
