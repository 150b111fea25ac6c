"""A consultation across hospitals, through signed WeChat Work callbacks, the real dialogue
engine, RQ workers and the simulator: a nurse of a community hospital (who maintains the
patient's PICC there) scans the patient's code, asks for a consultation in her own words, sends a
photo and a voice note → the simulator records ``appchat/create`` with her and the on-duty
consultant, then the case card, the photo and the voice note in that chat, in that order → the
consultant writes the conclusion in the app → it is posted to the group, shows on the patient's
record at this hospital, and the outside nurse's "我的会诊" gives it."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image
from sqlalchemy import select

from bot.care.rules import local_date
from bot.models import (
    Catheter,
    ConsultantDuty,
    Consultation,
    ConsultationMedia,
    Institution,
    MaintenanceRecord,
    Patient,
    Staff,
    utcnow,
)
from bot.models.enums import ConsultationStatus, StaffRole
from bot.services import auth
from bot.services.qr import QrCodes
from devtools.wechat_sim import callbacks as sim_cb
from tests.conftest import TEST_DATA_KEY
from tests.support import processes
from tests.support.simulated import simulated_wechat, work_reply

pytestmark = [pytest.mark.db, pytest.mark.redis, pytest.mark.rasa]

CONCLUSION = "建议拔除PICC并送导管尖端培养，拔管前抽血培养两套"


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (210, 180, 150)).save(out, "JPEG")
    return out.getvalue()


def _amr() -> bytes:
    # an AMR-NB file: the magic line, then frames (mode 7, 32 bytes each)
    return b"#!AMR\n" + (b"\x3c" + bytes(31)) * 50


@pytest.mark.req("C5.1", "C3.5", "C4.1")
def test_c5_1_outside_nurse_consultation_in_a_group_chat_end_to_end(
    settings, session, session_factory, tmp_path
):
    tz = settings.timezone
    now = utcnow()
    today = local_date(now, tz)
    home = Institution(code="HOME", name="本院", is_home=True)
    clinic = Institution(code="CD", name="城东社区卫生服务中心")
    consultant = Staff(
        institution=home,
        staff_no="N100",
        name="周静",
        role=StaffRole.NURSE,
        title="主任护师",
        wecom_userid="c0100",
        is_vascular_expert=True,
        password_hash=auth.hash_password("Nurse1234"),
        password_changed_at=now,
    )
    off_duty = Staff(
        institution=home,
        staff_no="N101",
        name="吴敏",
        role=StaffRole.NURSE,
        wecom_userid="c0101",
        is_vascular_expert=True,
    )
    outside = Staff(
        institution=clinic,
        staff_no="W001",
        name="陈护士",
        role=StaffRole.OUTSIDE_CLINICIAN,
        wecom_userid="w_out1",
    )
    patient = Patient(name="钱秀英")
    session.add_all([home, clinic, consultant, off_duty, outside, patient])
    session.flush()
    # the roster: only 周静 is on duty (every day, all day); 吴敏 is a vascular expert off duty
    session.add(ConsultantDuty(staff_id=consultant.id, weekdays=[], starts_at="00:00"))
    placed_at = datetime.combine(today - timedelta(days=20), datetime.min.time(), tz)
    catheter = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        placed_at=placed_at.astimezone(UTC),
        institution_id=home.id,
        vein="BASILIC",
        side="RIGHT",
        tier="B",
        lot_number="LOT-7731",
        next_due_on=today + timedelta(days=2),
    )
    session.add(catheter)
    session.flush()
    # she maintains this line at her clinic: the patient is one she may see
    session.add(
        MaintenanceRecord(
            catheter_id=catheter.id,
            performed_at=now - timedelta(days=5),
            institution_id=clinic.id,
            staff_id=outside.id,
        )
    )
    session.commit()
    patient_id, catheter_id = patient.id, catheter.id

    with simulated_wechat(settings, tmp_path / "instance", DATA_KEY=TEST_DATA_KEY) as running:
        sim, cfg, env, (web_port, rasa_port, actions_port) = running
        web = f"http://127.0.0.1:{web_port}"
        env["PUBLIC_BASE_URL"] = web
        for userid, name in (("c0100", "周静"), ("c0101", "吴敏"), ("w_out1", "陈护士")):
            sim.state.add_work_user(userid, name)
        with processes.dialogue_system(
            env, web_port=web_port, rasa_port=rasa_port, actions_port=actions_port
        ):

            def says(user: str, xml: str, expect: str) -> str:
                return work_reply(sim, cfg, user, xml, expect)

            # 1. she scans the patient's code at her clinic: the patient card
            with session_factory() as s:
                url = QrCodes(settings.secret_key, web).url(s.get(Catheter, catheter_id))
            says("w_out1", sim_cb.work_scan("w_out1", "scan_patient", url), "钱秀英")

            # 2. she asks in her own words; the question and urgency are not asked again
            asked = says(
                "w_out1",
                sim_cb.work_text("w_out1", "请求会诊，穿刺点渗液两天了敷料老是湿的，挺急的"),
                "请核对会诊申请",
            )
            assert "渗液两天" in asked and "加急" in asked
            said = says("w_out1", sim_cb.work_text("w_out1", "确认"), "会诊申请已提交")
            number = int(re.search(r"编号 (\d+)", said).group(1))
            assert "周静" in said and "吴敏" not in said

            # 3. a photo and a voice note of the site, in the app chat
            photo = sim.state.add_media("work", _jpeg(), "image/jpeg")
            says(
                "w_out1",
                sim_cb.work_image("w_out1", photo["media_id"], "http://wework/p.jpg"),
                "已加入会诊",
            )
            voice = sim.state.add_media("work", _amr(), "audio/amr")
            says("w_out1", sim_cb.work_voice("w_out1", voice["media_id"]), "已加入会诊")

            # 4. the group chat: the right members, then the card, the photo and the voice
            chat_id = processes.wait_until(
                lambda: (
                    c.chat_id if (c := _consultation(session_factory, number)).chat_id else None
                ),
                timeout=60,
                what="the group chat opened",
            )
            created = [
                c
                for c in sim.state.calls("work", "/cgi-bin/appchat/create")
                if c["response"].get("errcode") == 0
            ]
            assert len(created) == 1 and created[0]["body"]["owner"] == "c0100"
            chat = sim.state.chat(chat_id)
            assert set(chat["userlist"]) == {"w_out1", "c0100"}
            assert chat["name"].startswith("会诊·") and "PICC" in chat["name"]

            def posted() -> list[str] | None:
                kinds = [m["msgtype"] for m in sim.state.messages("appchat", chat_id)]
                return kinds if kinds[:3] == ["textcard", "image", "voice"] else None

            processes.wait_until(posted, timeout=60, what="card, photo and voice in the group")
            card = sim.state.messages("appchat", chat_id)[0]["payload"]
            assert card["url"] == f"{web}/staff/consultations/{number}"
            assert "钱秀英" not in str(card)  # the patient by initials only
            with session_factory() as s:
                kept = s.scalars(
                    select(ConsultationMedia).where(ConsultationMedia.consultation_id == number)
                ).all()
                assert sorted(m.kind for m in kept) == ["image", "voice"]
                assert all(m.posted_at is not None for m in kept)

            # 5. the consultant concludes in the app: posted to the group
            says("c0100", sim_cb.work_text("c0100", f"会诊结论：{CONCLUSION}"), "已记录")
            processes.wait_until(
                lambda: any(
                    CONCLUSION in str(m["payload"]) for m in sim.state.messages("appchat", chat_id)
                ),
                timeout=60,
                what="the conclusion in the group",
            )
            c = _consultation(session_factory, number)
            assert c.status is ConsultationStatus.CONCLUDED and c.conclusion == CONCLUSION
            # the requester is asked to confirm it can be closed
            processes.wait_until(
                lambda: any(
                    "结束" in str(m["payload"]) for m in sim.state.messages("work", "w_out1")
                ),
                timeout=60,
                what="the requester asked to close",
            )

            # 6. the outside nurse's 我的会诊 gives the conclusion
            mine = says("w_out1", sim_cb.work_text("w_out1", "我的会诊"), "我的会诊")
            assert "已出结论" in mine and CONCLUSION[:8] in mine

            # 7. the patient's record at this hospital shows it
            browser = requests.Session()
            page = browser.get(f"{web}/login").text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            browser.post(
                f"{web}/login", data={"csrf_token": token, "login": "N100", "password": "Nurse1234"}
            )
            record = browser.get(f"{web}/staff/patients/{patient_id}")
            assert record.status_code == 200
            assert CONCLUSION in record.text and "城东社区卫生服务中心" in record.text


def _consultation(session_factory, number: int) -> Consultation:
    with session_factory() as s:
        c = s.get(Consultation, number)
        assert c is not None
        s.expunge(c)
        return c
