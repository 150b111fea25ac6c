"""The core care loop end to end, through signed callbacks, the real engine and the
simulators (WeChat, WeChat Work, SMS): a nurse registers a PICC placement on the H5 form →
the patient's follower is told → a week later (the placement is dated 7 days back: the clock
moved, not slept) the sweep sends exactly one reminder on each channel → the nurse scans the
QR code and sees 今日需维护 → registers the maintenance in chat → the next due date moves 7
days and the next sweep sends nothing."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest
import requests
from PIL import Image
from pyzbar.pyzbar import decode
from sqlalchemy import func, select

from bot.care.rules import local_date
from bot.infra.redis import connect
from bot.jobs.queues import enqueue_sends
from bot.models import (
    Catheter,
    InAppMessage,
    Institution,
    Patient,
    PatientAccount,
    PatientProfile,
    Staff,
    utcnow,
)
from bot.models.enums import StaffRole
from bot.security import idcard
from bot.services import auth, reminders
from bot.services import dictionary as dictionary_service
from devtools.dev_env import SMS_DEV_TEMPLATES
from devtools.sms_sim import (
    DEV_SDK_APP_ID,
    DEV_SECRET_ID,
    DEV_SECRET_KEY,
    DEV_SIGN_NAME,
    create_sms_sim_app,
)
from devtools.wechat_sim import callbacks as sim_cb
from devtools.wechat_sim.server import LiveSim
from tests.conftest import TEST_DATA_KEY
from tests.support import processes
from tests.support.callbacks import sim_config
from tests.support.servers import serve

pytestmark = [pytest.mark.db, pytest.mark.redis, pytest.mark.rasa]
ID = "33010219480101003" + idcard.check_digit("33010219480101003")


@pytest.mark.req("C3.2", "P2.2", "C2.1", "C3.1", "C3.3", "A7.4", "P3.1", "P3.2", "P3.3")
def test_placement_reminders_scan_and_maintenance(
    settings, engine, session, session_factory, cipher, tmp_path
):
    tz = settings.timezone
    today = local_date(utcnow(), tz)
    home = Institution(code="HOME", name="本院", is_home=True)
    session.add(
        Staff(
            institution=home,
            staff_no="N001",
            name="李护士",
            role=StaffRole.NURSE,
            wecom_userid="n0001",
            password_hash=auth.hash_password("Nurse1234"),
            password_changed_at=utcnow(),
        )
    )
    # the patient's daughter bound her account earlier; no quiet hours so the test runs any time
    patient = Patient(
        name="赵大爷",
        id_card_index=cipher.blind_index(ID, kind="id_card"),
        phone_enc=cipher.encrypt("13800001234", context="patient.phone"),
        quiet_start="00:00",
        quiet_end="00:00",
    )
    account = PatientAccount(openid="o_daughter", ih_user_id="ih-d")
    session.add_all([patient, account])
    session.flush()
    session.add(PatientProfile(account_id=account.id, patient_id=patient.id, relation="父母"))
    session.commit()

    web_port, rasa_port, actions_port = (processes.free_port() for _ in range(3))
    web = f"http://127.0.0.1:{web_port}"
    cfg = sim_config(settings)
    cfg.product_base_url = web
    instance = tmp_path / "instance"
    with LiveSim(cfg) as sim, serve(create_sms_sim_app()) as sms_url:
        live = replace(
            settings,
            wechat_api_base=sim.mp_api_base,
            wecom_api_base=sim.work_api_base,
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            public_base_url=web,
            instance_path=instance,
        )
        env = processes.product_env(
            live,
            instance,
            RASA_PORT=str(rasa_port),
            ACTIONS_URL=f"http://127.0.0.1:{actions_port}/webhook",
            DATA_KEY=TEST_DATA_KEY,
            PUBLIC_BASE_URL=web,
            SMS_PROVIDER="tencent",
            SMS_API_BASE=sms_url,
            SMS_SECRET_ID=DEV_SECRET_ID,
            SMS_SECRET_KEY=DEV_SECRET_KEY,
            SMS_SDK_APP_ID=DEV_SDK_APP_ID,
            SMS_SIGN_NAME=DEV_SIGN_NAME,
            SMS_TEMPLATES=json.dumps(SMS_DEV_TEMPLATES),
        )
        if settings.redis_url:
            connect(settings).flushdb()
        try:
            with processes.dialogue_system(
                env, web_port=web_port, rasa_port=rasa_port, actions_port=actions_port
            ):
                sim.state.user_message("o_daughter")  # she wrote to the account today

                def texts(channel: str, user: str) -> list[str]:
                    return [
                        f"{m['msgtype']}: {m['payload']}" for m in sim.state.messages(channel, user)
                    ]

                # 1. the nurse registers the placement (dated a week back) on the H5 form
                nurse = requests.Session()
                page = nurse.get(f"{web}/login").text
                token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
                nurse.post(
                    f"{web}/login",
                    data={"csrf_token": token, "login": "N001", "password": "Nurse1234"},
                )
                page = nurse.get(f"{web}/staff/placements/new?device=PICC").text
                token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
                r = nurse.post(
                    f"{web}/staff/placements/new",
                    data={
                        "csrf_token": token,
                        "device_type": "PICC",
                        "patient_name": "赵大爷",
                        "id_card": ID,
                        "placed_on": (today - timedelta(days=7)).isoformat(),
                        "source": "here",
                        "vein": "BASILIC",
                        "side": "RIGHT",
                        "insertion_length_cm": "42",
                        "external_length_cm": "3",
                        "arm_circumference_cm": "26",
                        "dressing_type": "TRANSPARENT",
                        "tier": "B",
                    },
                )
                assert "置管已登记" in r.text
                processes.wait_until(
                    lambda: (
                        any("PICC已登记" in t for t in texts("mp", "o_daughter"))
                        and any(t.startswith("image:") for t in texts("mp", "o_daughter"))
                    ),
                    timeout=30,
                    what="the placement card and the QR image",
                )
                with session_factory() as s:
                    catheter = s.scalars(select(Catheter)).one()
                    assert catheter.next_due_on == today

                # 2. the sweep, due today: one reminder on each channel
                def sweep(minutes: int = 0) -> reminders.SweepResult:
                    with session_factory() as s:
                        d = dictionary_service.current(s)
                        result = reminders.sweep(
                            s,
                            d,
                            cipher,
                            utcnow() + timedelta(minutes=minutes),
                            tz,
                            public_base_url=web,
                        )
                        s.commit()
                    enqueue_sends(connect(live), result.outbox_ids)
                    return result

                assert sweep().created == 3
                processes.wait_until(
                    lambda: (
                        len(requests.get(f"{sms_url}/_sim/messages").json()["messages"]) == 1
                        and any("今天" in t and "需要维护" in t for t in texts("mp", "o_daughter"))
                    ),
                    timeout=30,
                    what="the SMS and WeChat reminders",
                )
                [sms] = requests.get(f"{sms_url}/_sim/messages").json()["messages"]
                assert sms["phone"] == "13800001234" and "赵大爷" in sms["text"]
                with session_factory() as s:
                    assert s.scalar(select(func.count()).select_from(InAppMessage)) == 1

                # 3. the nurse scans the QR code from the WeChat Work menu
                card = nurse.get(f"{web}/staff/catheters/{catheter.id}/card.png")
                [code] = decode(Image.open(io.BytesIO(card.content)))

                def nurse_says(xml: str, expect: str) -> None:
                    seen = len(sim.state.messages("work", "n0001"))
                    sim_cb.post_work(cfg, xml)
                    processes.wait_until(
                        lambda: any(
                            expect in str(m["payload"])
                            for m in sim.state.messages("work", "n0001")[seen:]
                        ),
                        timeout=60,
                        what=f"{expect!r}",
                    )

                nurse_says(
                    sim_cb.work_scan("n0001", "scan_patient", code.data.decode()),
                    "【今日需维护】赵大爷",
                )

                # 4. the maintenance, registered in chat for the scanned catheter
                nurse_says(sim_cb.work_text("n0001", "维护登记"), "为 赵大爷 PICC")
                nurse_says(sim_cb.work_text("n0001", "都做了"), "外露长度是多少厘米")
                nurse_says(sim_cb.work_text("n0001", "3"), "臂围是多少厘米")
                nurse_says(sim_cb.work_text("n0001", "26"), "穿刺点情况如何")
                nurse_says(sim_cb.work_text("n0001", "正常"), "确认登记请回复")
                nurse_says(
                    sim_cb.work_text("n0001", "确认"),
                    f"下次维护日期：{today + timedelta(days=7):%Y年%m月%d日}",
                )

                # 5. the next sweep sends nothing more
                again = sweep(minutes=5)
                assert again.created == 0 and again.outbox_ids == []
                with session_factory() as s:
                    assert s.get(Catheter, catheter.id).next_due_on == today + timedelta(days=7)
                assert len(requests.get(f"{sms_url}/_sim/messages").json()["messages"]) == 1
        finally:
            processes.stop_embedded_redis(instance)
