"""The whole system with the real dialogue engine: signed callback → inbox → worker → Rasa
server (trained from nlu/) → action server → reply delivered to the WeChat simulator, for a
patient and for a clinician."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.models import Catheter, Institution, MaintenanceRecord, Patient, Staff, utcnow
from bot.models.enums import StaffRole
from devtools.wechat_sim import callbacks as sim_cb
from tests.support import processes
from tests.support.simulated import simulated_wechat

pytestmark = [pytest.mark.db, pytest.mark.redis, pytest.mark.rasa]


@pytest.mark.req("P5.1", "C3.1", "C3.2", "C2.2")
def test_patient_and_clinician_talk_to_the_real_engine(settings, engine, session, tmp_path):
    home = Institution(code="HOME", name="本院", is_home=True, phone="0571-88888888")
    session.add(
        Staff(
            institution=home,
            staff_no="N1",
            name="李护士",
            role=StaffRole.NURSE,
            wecom_userid="n0001",
        )
    )
    # three patients: WeChat Work drops the same text sent twice to a member within a minute,
    # so each way of asking below looks up someone else
    for name in ("王丽娟", "陈国华", "刘美玲"):
        patient = Patient(name=name)
        session.add(patient)
        session.flush()
        session.add(
            Catheter(
                patient_id=patient.id,
                device_type="PICC",
                institution_id=home.id,
                placed_at=utcnow() - timedelta(days=7),
                external_length_cm=Decimal("3.0"),
                arm_circumference_cm=Decimal("26.0"),
                # only 王丽娟 is due: the due list below names her alone
                next_due_on=None if name == "王丽娟" else utcnow().date() + timedelta(days=30),
            )
        )
    session.commit()
    with simulated_wechat(settings, tmp_path / "instance") as running:
        sim, cfg, env, (web_port, rasa_port, actions_port) = running
        with processes.dialogue_system(
            env, web_port=web_port, rasa_port=rasa_port, actions_port=actions_port
        ):

            def says(channel: str, user: str, text: str, expect: str) -> list[str]:
                """Send a text; wait for a reply containing ``expect``; all new replies."""
                seen = len(sim.state.messages(channel, user))
                if channel == "mp":
                    sim.state.user_message(user)  # opens the 48-hour service window
                    sim_cb.post_mp(cfg, sim_cb.mp_text(user, text))
                else:
                    sim_cb.post_work(cfg, sim_cb.work_text(user, text))

                def new() -> list[str]:
                    return [
                        str(m["payload"].get("content") or m["payload"])
                        for m in sim.state.messages(channel, user)[seen:]
                    ]

                processes.wait_until(
                    lambda: any(expect in t for t in new()),
                    timeout=60,
                    what=f"{expect!r} after {text!r}",
                )
                return new()

            # a new follower: welcomed once with the agreements, then answered
            replies = says("mp", "o_patient", "附近哪里可以维护PICC", "请发送您的位置")
            assert any("/h5/agreements" in r for r in replies)
            says("work", "n0001", "今天有哪些病人需要维护", "【今日需维护】王丽娟 PICC 尚未排期")
            # the gate: a patient asking the clinicians' question
            replies = says("mp", "o_patient", "今天有哪些病人需要维护", "仅向医护人员开放")
            assert not any("/h5/agreements" in r for r in replies)  # welcomed only once

            # a form through the real engine: quick maintenance registration
            def nurse_says(text: str, expect: str) -> None:
                says("work", "n0001", text, expect)

            nurse_says("刚给王丽娟做完维护", "本次做了哪些维护")
            nurse_says("都做了", "外露长度是多少厘米")
            nurse_says("外露500厘米", "应在 0–40 cm 之间")
            nurse_says("3", "臂围是多少厘米")
            nurse_says("26", "穿刺点情况如何")
            nurse_says("正常", "确认登记请回复")
            nurse_says("确认", "维护已登记")
            with Session(engine) as s:
                assert s.scalar(select(func.count()).select_from(MaintenanceRecord)) == 1
            # "算了" leaves a form with nothing saved, and the bot is ready for the next thing
            nurse_says("登记维护", "请发送患者姓名")
            nurse_says("算了", "没有保存任何内容")
            nurse_says("今日待维护", "今日没有需要维护的带管患者")
            with Session(engine) as s:
                assert s.scalar(select(func.count()).select_from(MaintenanceRecord)) == 1

            # names read from the text (issue 12 §3): however the nurse asks, the patient
            nurse_says("查一下王丽娟", "王丽娟PICC")
            nurse_says("陈国华", "陈国华PICC")  # only a name: that patient
            replies = says("work", "n0001", "刘美玲的维护记录", "刘美玲PICC")
            assert not any("该功能面向患者" in r for r in replies)
            nurse_says("帮我看看李建新的情况", "没有找到")  # a name nobody here has
            says("mp", "o_patient", "怎么预约", "绑定就诊人")  # unbound: bind first


def test_a_message_sent_while_the_engine_is_down_gets_a_holding_reply_then_the_answer(
    settings, engine, tmp_path
):
    """Issue 12 §2 with the real Rasa process: down when the patient writes, started later.
    The patient hears the holding reply (with the hospital's number) once after about 20 s,
    and the real answer once Rasa is up; how long Rasa takes to start is printed."""
    instance = tmp_path / "instance"
    with simulated_wechat(settings, instance, HOSPITAL_PHONE="0571-87236666") as running:
        sim, cfg, env, (web_port, rasa_port, actions_port) = running

        def texts() -> list[str]:
            return [str(m["payload"].get("content")) for m in sim.state.messages("mp", "o_p")]

        actions = [sys.executable, "-m", "server.actions", "--port", str(actions_port)]
        rasa = ["scripts/rasa.sh", "run"]
        with (
            processes.running(actions, env),
            processes.web(env, web_port),
            processes.worker(env),
            processes.running([sys.executable, "-m", "server.scheduler"], env),
        ):
            sim.state.user_message("o_p")
            sim_cb.post_mp(cfg, sim_cb.mp_text("o_p", "我的导管"))
            processes.wait_until(lambda: texts(), timeout=90, what="the holding reply")
            holding = "系统正在恢复，您的消息已收到，稍后回复您；紧急情况请拨打0571-87236666"
            assert len(texts()) == 1 and texts()[0].startswith(holding)
            started = time.monotonic()
            status = processes.http_ok(f"http://127.0.0.1:{rasa_port}/status")
            with processes.running(rasa, env, status, timeout=240):
                print(f"Rasa started in {time.monotonic() - started:.0f} s")
                processes.wait_until(lambda: len(texts()) >= 2, timeout=150, what="answer")
                time.sleep(3)
            replies = texts()
            assert replies[0].startswith("系统正在恢复") and len(replies) >= 2
            assert sum(r.startswith("系统正在恢复") for r in replies) == 1
