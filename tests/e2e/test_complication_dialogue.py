"""Issue 14's clinician chat through the real dialogue engine: signed WeChat Work callbacks →
worker → Rasa server trained from nlu/ → action server → replies in the simulator. A handling
step, the open list, a removal left with "算了", and closing with one confirmation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care.rules import local_date
from bot.models import Catheter, Complication, ComplicationStep, Institution, Patient, Staff, utcnow
from bot.models.enums import ActorType, CatheterState, ComplicationStatus, StaffRole
from bot.services import audit
from bot.services import complications as complication_service
from bot.services import dictionary as dictionary_service
from devtools.wechat_sim import callbacks as sim_cb
from tests.support import processes
from tests.support.simulated import simulated_wechat

pytestmark = [pytest.mark.db, pytest.mark.redis, pytest.mark.rasa]


@pytest.mark.req("C3.4", "C3.5")
def test_c3_4_a_nurse_handles_and_closes_a_complication_through_the_real_engine(
    settings, engine, session, tmp_path
):
    home = Institution(code="HOME", name="本院", is_home=True)
    nurse = Staff(
        institution=home, staff_no="N1", name="李护士", role=StaffRole.NURSE, wecom_userid="n0001"
    )
    patient = Patient(name="王芳")
    session.add_all([home, nurse, patient])
    session.flush()
    catheter = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        institution_id=home.id,
        placed_at=utcnow() - timedelta(days=10),
    )
    session.add(catheter)
    session.flush()
    complication_id = complication_service.report(
        session,
        dictionary_service.current(session),
        catheter.id,
        type_code="PHLEBITIS",
        onset_on=local_date(utcnow(), settings.timezone) - timedelta(days=1),
        grade=2,
        brief_history="穿刺点红肿",
        tz=settings.timezone,
        actor=audit.Actor(ActorType.STAFF, nurse.id),
        institution_id=home.id,
    ).complication.id
    session.commit()
    with simulated_wechat(settings, tmp_path / "instance") as running:
        sim, cfg, env, (web_port, rasa_port, actions_port) = running
        with processes.dialogue_system(
            env, web_port=web_port, rasa_port=rasa_port, actions_port=actions_port
        ):

            def nurse_says(text: str, expect: str) -> None:
                seen = len(sim.state.messages("work", "n0001"))
                sim_cb.post_work(cfg, sim_cb.work_text("n0001", text))
                processes.wait_until(
                    lambda: any(
                        expect in str(m["payload"].get("content") or m["payload"])
                        for m in sim.state.messages("work", "n0001")[seen:]
                    ),
                    timeout=60,
                    what=f"{expect!r} after {text!r}",
                )

            nurse_says("王芳的静脉炎已处理：硫酸镁湿敷", "已记录处理")
            nurse_says("未结案并发症", f"#{complication_id} 王芳")
            nurse_says("王芳今天拔管了，治疗结束", "是否完整")
            nurse_says("算了", "没有保存任何内容")
            nurse_says("王芳的静脉炎好了，结案", "请核对结案")
            nurse_says("确认", "已结案")
    with Session(engine) as s:
        c = s.get(Complication, complication_id)
        assert (c.status, c.outcome) == (ComplicationStatus.CLOSED, "RESOLVED")
        kinds = s.scalars(
            select(ComplicationStep.kind).where(ComplicationStep.complication_id == c.id)
        ).all()
        assert "WARM_COMPRESS" in kinds
        assert s.get(Catheter, catheter.id).state is CatheterState.IN_PLACE
