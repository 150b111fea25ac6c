"""A complication from the first sign to the line's end, through signed callbacks, the real
dialogue engine and the simulators: on the follow-up date the patient gets the check-in and
answers that the site is red → the responsible nurse is told in WeChat Work → she reports
phlebitis grade 2 in chat and sends a photo → records two handling steps → the tracking board
shows it with the photo and the steps → the line is removed for the complication → the patient
is told, no reminder or follow-up goes out afterwards, and the indicators count one
complication-related removal. Dates move by the clock given to the sweeps, not by sleeping."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image
from sqlalchemy import func, select

from bot.care.rules import local_date
from bot.infra.redis import connect
from bot.jobs.queues import enqueue_sends
from bot.models import (
    Catheter,
    Complication,
    ComplicationPhoto,
    FollowUp,
    Institution,
    Patient,
    PatientAccount,
    PatientProfile,
    Reminder,
    Removal,
    Staff,
    utcnow,
)
from bot.models.enums import CatheterState, ComplicationStatus, FollowUpStatus, StaffRole
from bot.services import auth, follow_ups, indicators, reminders
from bot.services import dictionary as dictionary_service
from devtools.wechat_sim import callbacks as sim_cb
from tests.conftest import TEST_DATA_KEY
from tests.support import processes
from tests.support.simulated import simulated_wechat, work_reply

pytestmark = [pytest.mark.db, pytest.mark.redis, pytest.mark.rasa]


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (205, 120, 110)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.req("A7.4", "C3.4", "C3.5", "P6.4", "A7.2", "A7.3")
def test_a7_4_follow_up_to_complication_to_removal_end_to_end(
    settings, session, session_factory, cipher, tmp_path
):
    tz = settings.timezone
    now = utcnow()
    today = local_date(now, tz)
    home = Institution(code="HOME", name="本院", is_home=True)
    nurse = Staff(
        institution=home,
        staff_no="N001",
        name="李护士",
        role=StaffRole.NURSE,
        wecom_userid="n0001",
        is_vascular_expert=True,
    )
    admin = Staff(
        institution=home,
        staff_no="A001",
        name="管理员",
        role=StaffRole.ADMIN,
        password_hash=auth.hash_password("Admin1234"),
        password_changed_at=now,
    )
    patient = Patient(name="赵大爷", quiet_start="00:00", quiet_end="00:00")
    account = PatientAccount(openid="o_zhao", ih_user_id="ih-zhao")
    session.add_all([nurse, admin, patient, account])
    session.flush()
    session.add(PatientProfile(account_id=account.id, patient_id=patient.id, relation="本人"))
    placed_at = datetime.combine(today - timedelta(days=7), datetime.min.time(), tz) + timedelta(
        hours=10
    )
    catheter = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        placed_at=placed_at.astimezone(UTC),
        institution_id=home.id,
        vein="BASILIC",
        side="RIGHT",
        external_length_cm=3,
        arm_circumference_cm=26,
        tier="B",
        responsible_staff_id=nurse.id,
        next_due_on=today + timedelta(days=1),  # maintenance tomorrow: a reminder is due
        next_follow_up_on=today,  # a week after placement: the weekly check-in is today
    )
    session.add(catheter)
    session.commit()
    catheter_id = catheter.id

    with simulated_wechat(
        settings, tmp_path / "instance", DATA_KEY=TEST_DATA_KEY
    ) as running_system:
        sim, cfg, env, (web_port, rasa_port, actions_port) = running_system
        web = f"http://127.0.0.1:{web_port}"
        env["PUBLIC_BASE_URL"] = web
        redis = connect(settings)
        with processes.dialogue_system(
            env, web_port=web_port, rasa_port=rasa_port, actions_port=actions_port
        ):
            sim.state.user_message("o_zhao")  # he wrote to the account today

            def texts(channel: str, user: str) -> list[str]:
                return [str(m["payload"]) for m in sim.state.messages(channel, user)]

            def sweeps(at: datetime) -> tuple[int, int]:
                """The follow-up and reminder sweeps at ``at``; what each created."""
                with session_factory() as s:
                    d = dictionary_service.current(s)
                    checked = follow_ups.sweep(s, d, at, tz, public_base_url=web)
                    reminded = reminders.sweep(s, d, cipher, at, tz, public_base_url=web)
                    s.commit()
                enqueue_sends(redis, checked.outbox_ids + reminded.outbox_ids)
                return checked.created, reminded.created

            # 1. the follow-up date: the check-in goes to the patient
            created, _ = sweeps(utcnow())
            assert created == 1
            processes.wait_until(
                lambda: any("穿刺点" in t for t in texts("mp", "o_zhao")),
                timeout=30,
                what="the check-in",
            )

            # 2. he answers in his own words; the nurse is told with them
            sim_cb.post_mp(cfg, sim_cb.mp_text("o_zhao", "针眼那里有点红，摸着疼，别的都还好"))
            processes.wait_until(
                lambda: any("针眼那里有点红" in t for t in texts("work", "n0001")),
                timeout=60,
                what="the nurse's notice with the patient's words",
            )
            with session_factory() as s:
                answered = s.scalars(select(FollowUp)).one()
                assert answered.status is FollowUpStatus.ANSWERED
                assert answered.level == "CONCERN"

            def nurse_says(xml: str, expect: str) -> str:
                return work_reply(sim, cfg, "n0001", xml, expect)

            # 3. she reports phlebitis grade 2 in chat, then sends a photo of the site
            nurse_says(sim_cb.work_text("n0001", "赵大爷 静脉炎2级，今天发现的"), "病史")
            nurse_says(
                sim_cb.work_text("n0001", "穿刺点上方发红约2cm，触痛，无条索"), "请核对并发症上报"
            )
            said = nurse_says(sim_cb.work_text("n0001", "确认"), "并发症已上报")
            number = int(re.search(r"编号 (\d+)", said).group(1))
            photo = sim.state.media.put("work", _jpeg(), "image/jpeg")
            nurse_says(
                sim_cb.work_image("n0001", photo["media_id"], "http://wework/pic.jpg"),
                "已添加1张照片",
            )

            # 4. two handling steps
            nurse_says(sim_cb.work_text("n0001", "赵大爷静脉炎已处理：硫酸镁湿敷"), f"#{number}")
            nurse_says(sim_cb.work_text("n0001", "赵大爷的静脉炎 下午喜辽妥外涂了"), f"#{number}")
            with session_factory() as s:
                c = s.get(Complication, number)
                assert (c.type, c.grade, c.status) == (
                    "PHLEBITIS",
                    2,
                    ComplicationStatus.HANDLING,
                )
                assert [step.kind for step in c.steps][-2:] == ["WARM_COMPRESS", "TOPICAL"]
                assert s.scalar(select(func.count()).select_from(ComplicationPhoto)) == 1

            # 5. the tracking board shows it, with the photo and the last step
            board = requests.Session()
            page = board.get(f"{web}/login").text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            board.post(
                f"{web}/login", data={"csrf_token": token, "login": "A001", "password": "Admin1234"}
            )
            html = board.get(f"{web}/admin/board/").text
            assert f'data-id="{number}"' in html and "静脉炎 2级" in html
            assert "/admin/board/photos/" in html and "喜辽妥" in html

            # 6. the line comes out for the complication, registered in chat
            nurse_says(sim_cb.work_text("n0001", "赵大爷今天拔管了，因为静脉炎"), "导管是否完整")
            nurse_says(sim_cb.work_text("n0001", "完整"), "尖端")
            seen = len(sim.state.messages("work", "n0001"))
            nurse_says(sim_cb.work_text("n0001", "没送"), "确认登记拔管")
            summary = "".join(texts("work", "n0001")[seen:])  # linked to the complication
            assert f"#{number}" in summary and "并发症" in summary
            nurse_says(sim_cb.work_text("n0001", "确认"), "拔管已登记")
            processes.wait_until(
                lambda: any("拔管" in t for t in texts("mp", "o_zhao")),
                timeout=30,
                what="the patient told of the removal",
            )

        with session_factory() as s:
            removed = s.get(Catheter, catheter_id)
            assert removed.state is CatheterState.REMOVED and removed.removed_on == today
            removal = s.scalars(select(Removal)).one()
            assert (removal.reason, removal.unplanned, removal.complication_id) == (
                "COMPLICATION",
                True,
                number,
            )
            closed = s.get(Complication, number)
            assert closed.status is ComplicationStatus.CLOSED and closed.outcome == "REMOVED"
            reminders_before = s.scalar(select(func.count()).select_from(Reminder))

        # 7. nothing goes out afterwards: tomorrow's maintenance and next week's check-in
        sent_before = len(sim.state.messages("mp", "o_zhao"))
        for days in (1, 7, 8):
            assert sweeps(utcnow() + timedelta(days=days)) == (0, 0)
        with session_factory() as s:
            assert s.scalar(select(func.count()).select_from(Reminder)) == reminders_before
            assert s.scalar(select(func.count()).select_from(FollowUp)) == 1
            counted = indicators.removals(
                s, today - timedelta(days=30), today + timedelta(days=1), tz=tz
            )
        assert len(sim.state.messages("mp", "o_zhao")) == sent_before
        assert (counted.total, counted.for_complication, counted.unplanned) == (1, 1, 1)
        assert counted.by_reason == {"COMPLICATION": 1}
