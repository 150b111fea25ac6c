"""A report photo end to end (issue 13): the patient's photo through a signed callback → the
"正在识别" reply → the OCR worker reads it → the result card arrives at the WeChat simulator →
the H5 report page (reached through WeChat OAuth at the simulator) shows the photo and the
fields → the nurse scans the patient's code and sees the report among the patient's reports."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import (
    Catheter,
    Institution,
    Patient,
    PatientAccount,
    PatientProfile,
    Report,
    Staff,
    utcnow,
)
from bot.models.enums import OcrStatus, StaffRole
from bot.services.qr import QrCodes
from devtools.report_images import report_photo
from devtools.wechat_sim import callbacks as sim_cb
from tests.support import processes
from tests.support.simulated import simulated_wechat

pytestmark = [pytest.mark.db, pytest.mark.redis, pytest.mark.rasa]


@pytest.mark.req("P4.1", "P4.2", "P4.3", "C4.2")
def test_p4_1_a_photo_in_chat_is_read_and_shown_to_the_patient_and_the_nurse(
    settings, engine, session, tmp_path
):
    home = Institution(code="HOME", name="本院", is_home=True)
    nurse = Staff(
        institution=home, staff_no="N1", name="李护士", role=StaffRole.NURSE, wecom_userid="n0001"
    )
    patient = Patient(name="王丽娟")
    account = PatientAccount(openid="o_patient", ih_user_id="ih1")
    session.add_all([home, nurse, patient, account])
    session.flush()
    picc = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        institution_id=home.id,
        placed_at=utcnow() - timedelta(days=7),
        responsible_staff_id=nurse.id,
    )
    profile = PatientProfile(account_id=account.id, patient_id=patient.id)
    session.add_all([picc, profile])
    session.flush()
    account.active_profile_id = profile.id
    session.commit()
    photo, truth = report_photo(11, "coagulation")

    with simulated_wechat(settings, tmp_path / "instance") as running:
        sim, cfg, env, (web_port, rasa_port, actions_port) = running
        web = f"http://127.0.0.1:{web_port}"
        env["PUBLIC_BASE_URL"] = web
        with processes.dialogue_system(
            env, web_port=web_port, rasa_port=rasa_port, actions_port=actions_port, ocr=True
        ):

            def replies(channel: str, user: str) -> list[dict]:
                return [m["payload"] for m in sim.state.messages(channel, user)]

            # the patient sends a photo from the phone: WeChat keeps it as temporary media
            media = sim.state.media.put("mp", photo, "image/jpeg")
            sim.state.user_message("o_patient")
            sim_cb.post_mp(
                cfg, sim_cb.mp_image("o_patient", media["media_id"], "http://mmbiz/pic.jpg")
            )
            processes.wait_until(
                lambda: any("正在识别" in str(r) for r in replies("mp", "o_patient")),
                timeout=60,
                what="the 正在识别 reply",
            )
            card = processes.wait_until(
                lambda: next(
                    (r for r in replies("mp", "o_patient") if "报告识别结果" in str(r)), None
                ),
                timeout=90,
                what="the result card",
            )
            article = card["articles"][0] if "articles" in card else card["news"]["articles"][0]
            assert article["title"].startswith("报告识别结果：凝血功能")
            assert truth["report_date"] in article["title"]
            report_url = article["url"]
            assert re.fullmatch(rf"{web}/h5/reports/\d+", report_url)
            with Session(engine) as s:
                report = s.scalars(select(Report)).one()
                assert report.ocr_status is OcrStatus.DONE
                values = {i.code: i.value for i in report.items if i.code}

            # the page the card opens, in WeChat (OAuth at the simulator as this follower)
            phone = requests.Session()
            phone.cookies.set("sim_mp_user", "o_patient")
            page = phone.get(report_url, timeout=10)
            assert page.status_code == 200, page.text[:500]
            assert truth["report_date"] in page.text and truth["institution"] in page.text
            some = next(t for t in truth["items"] if t["code"] in values)
            assert values[some["code"]] in page.text
            shown = phone.get(report_url + "/photo", timeout=10)
            assert shown.status_code == 200 and shown.content == photo

            # the nurse scans the patient's code: the report is among the patient's reports
            codes = QrCodes(settings.secret_key, web)
            with Session(engine) as s:
                url = codes.url(s.get(Catheter, picc.id))
            seen = len(replies("work", "n0001"))
            sim_cb.post_work(cfg, sim_cb.work_scan("n0001", "scan_patient", url))
            text = processes.wait_until(
                lambda: next(
                    (
                        str(r)
                        for r in replies("work", "n0001")[seen:]
                        if "近期检验检查报告" in str(r)
                    ),
                    None,
                ),
                timeout=60,
                what="the reports after the scan",
            )
            assert f"{truth['report_date']} 凝血功能（本人上传）" in str(text)
