"""Smart follow-up (A7.4) with the clock injected: the check-in sweep (once per due catheter,
sent once, quiet hours, the one reminder, the nurse's list), the patient's answers in chat
through signed callbacks (numbers, "都好", colloquial words, unclear, "算了", something else),
triage to the nurse in WeChat Work, and the clinicians' pages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.channels.turn import TurnRunner
from bot.models import (
    AuditLog,
    Catheter,
    FollowUp,
    InboxMessage,
    Institution,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    Staff,
    utcnow,
)
from bot.models.enums import ActorType, CatheterState, Channel, FollowUpStatus, StaffRole
from bot.services import auth, follow_ups
from bot.services import dictionary as dictionary_service
from bot.services.audit import Actor
from server import bootstrap, create_app
from tests.support import callbacks as cb

pytestmark = [pytest.mark.db]
DUE = date(2026, 12, 10)


def at(settings, day: date, hour: int, minute: int = 0) -> datetime:
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=settings.timezone)
    return local.astimezone(UTC)


@pytest.fixture
def ward(session):
    """本院 with a responsible nurse (WeChat Work n0001) and a vascular expert (e0001)."""
    home = Institution(code="HOME", name="本院", is_home=True)
    nurse = Staff(
        institution=home,
        staff_no="N001",
        name="李护士",
        role=StaffRole.NURSE,
        wecom_userid="n0001",
        password_hash=auth.hash_password("Nurse1234"),
        password_changed_at=utcnow(),
    )
    expert = Staff(
        institution=home,
        staff_no="E001",
        name="王专家",
        role=StaffRole.NURSE,
        wecom_userid="e0001",
        is_vascular_expert=True,
    )
    session.add_all([home, nurse, expert])
    session.commit()
    return home, nurse


def add_patient(
    session, ward, name, *, openid=None, tier="A", follow_up=DUE, responsible=True, **catheter
):
    home, nurse = ward
    p = Patient(name=name)
    session.add(p)
    session.flush()
    c = Catheter(
        patient_id=p.id,
        device_type="PICC",
        placed_at=datetime(2026, 11, 20, tzinfo=UTC),
        next_due_on=date(2026, 12, 20),
        next_follow_up_on=follow_up,
        tier=tier,
        institution_id=home.id,
        responsible_staff_id=nurse.id if responsible else None,
        **catheter,
    )
    session.add(c)
    if openid:
        acc = PatientAccount(openid=openid, ih_user_id=f"ih-{openid}")
        session.add(acc)
        session.flush()
        session.add(PatientProfile(account_id=acc.id, patient_id=p.id))
    session.commit()
    return c


def sweep(session_factory, settings, now):
    with session_factory() as s:
        d = dictionary_service.current(s)
        result = follow_ups.sweep(s, d, now, settings.timezone, public_base_url="https://vam.ex")
        s.commit()
        return result


def outbox(session_factory, *where):
    with session_factory() as s:
        return s.scalars(select(OutboxMessage).where(*where).order_by(OutboxMessage.id)).all()


def texts_to(session_factory, recipient):
    return [
        o.payload["text"]["content"] for o in outbox(session_factory) if o.recipient == recipient
    ]


def follow_up_of(session_factory, catheter_id):
    with session_factory() as s:
        return s.scalars(
            select(FollowUp).where(FollowUp.catheter_id == catheter_id).order_by(FollowUp.id)
        ).all()


@pytest.mark.req("A7.4")
def test_a7_4_one_check_in_per_due_catheter_sent_once_and_the_next_date_moves_on(
    ward, session, session_factory, settings
):
    due_a = add_patient(session, ward, "张三", openid="o_zhang")
    custom = add_patient(session, ward, "钱七", openid="o_qian", follow_up_cycle_days=5)
    tier_c = add_patient(session, ward, "孙八", openid="o_sun", tier="C")
    later = add_patient(session, ward, "周九", openid="o_zhou", follow_up=DUE + timedelta(days=1))
    removed = add_patient(session, ward, "吴十", openid="o_wu", state=CatheterState.REMOVED)
    assert sweep(session_factory, settings, at(settings, DUE - timedelta(days=1), 10)).created == 0
    result = sweep(session_factory, settings, at(settings, DUE, 10))
    assert (result.created, result.sent) == (2, 2)
    [check_in] = texts_to(session_factory, "o_zhang")
    assert "张三您好" in check_in and "1. 穿刺点有没有红肿、疼痛或渗液？" in check_in
    assert "4. 敷料有没有松脱、潮湿或出血？" in check_in and "请回复“都好”" in check_in
    assert len(texts_to(session_factory, "o_qian")) == 1
    [row] = outbox(session_factory, OutboxMessage.recipient == "o_zhang")
    assert row.dedupe_key.startswith("follow_up:") and row.channel is Channel.MP
    # when the 48-hour window is closed, a subscribe message goes instead
    assert row.payload["_fallback"]["_api"] == "subscribe"
    assert row.payload["_fallback"]["data"]["time2"] == {"value": "2026年12月10日"}
    assert row.payload["_fallback"]["data"]["thing3"] == {"value": "导管随访问询"}
    for c in (tier_c, later, removed):
        assert follow_up_of(session_factory, c.id) == []
    again = sweep(session_factory, settings, at(settings, DUE, 10, 5))
    assert (again.created, again.sent, again.outbox_ids) == (0, 0, [])
    assert len(outbox(session_factory)) == 2
    with session_factory() as s:
        assert s.get(Catheter, due_a.id).next_follow_up_on == DUE + timedelta(days=3)  # tier A
        assert s.get(Catheter, custom.id).next_follow_up_on == DUE + timedelta(days=5)
        [f] = s.scalars(select(FollowUp).where(FollowUp.catheter_id == due_a.id))
        assert f.status is FollowUpStatus.SENT and f.due_on == DUE and f.sent_at is not None
    # the tier's next date comes round: one more check-in (and 周九's, due since the day after)
    assert sweep(session_factory, settings, at(settings, DUE + timedelta(days=3), 9)).created == 2
    assert [f.due_on for f in follow_up_of(session_factory, due_a.id)] == [DUE, DUE + timedelta(3)]


@pytest.mark.req("A7.4")
def test_a7_4_quiet_hours_hold_the_check_in_until_they_end(
    ward, session, session_factory, settings
):
    c = add_patient(session, ward, "张三", openid="o_zhang")
    result = sweep(session_factory, settings, at(settings, DUE, 6))  # quiet until 08:00
    assert (result.created, result.sent) == (1, 0) and outbox(session_factory) == []
    [f] = follow_up_of(session_factory, c.id)
    assert f.sent_at is None
    assert sweep(session_factory, settings, at(settings, DUE, 7, 55)).sent == 0
    assert sweep(session_factory, settings, at(settings, DUE, 8, 5)).sent == 1
    assert len(texts_to(session_factory, "o_zhang")) == 1


@pytest.mark.req("A7.4")
def test_a7_4_no_answer_gets_one_reminder_then_the_nurse_list_and_one_notice(
    ward, session, session_factory, settings
):
    c = add_patient(session, ward, "张三", openid="o_zhang")
    no_account = add_patient(session, ward, "李四")
    first = sweep(session_factory, settings, at(settings, DUE, 10))
    assert (first.created, first.to_nurse_list, first.sent) == (2, 1, 1)
    [listed] = follow_up_of(session_factory, no_account.id)
    assert listed.status is FollowUpStatus.NO_ANSWER and listed.flags == ["NO_FOLLOWER"]
    assert sweep(session_factory, settings, at(settings, DUE, 20)).reminded == 0
    assert (
        sweep(session_factory, settings, at(settings, DUE + timedelta(days=1), 10, 5)).reminded == 1
    )
    assert sweep(session_factory, settings, at(settings, DUE + timedelta(days=1), 11)).reminded == 0
    texts = texts_to(session_factory, "o_zhang")
    assert len(texts) == 2 and texts[1].startswith("【随访提醒】")
    gave_up = sweep(session_factory, settings, at(settings, DUE + timedelta(days=2), 10, 10))
    assert gave_up.no_answer == 1
    assert (
        sweep(session_factory, settings, at(settings, DUE + timedelta(days=2), 11)).no_answer == 0
    )
    [f] = follow_up_of(session_factory, c.id)
    assert f.status is FollowUpStatus.NO_ANSWER and f.nurse_told_at is not None
    [notice] = texts_to(session_factory, "user:n0001")
    assert "张三" in notice and "48小时未回复" in notice and "/staff/follow-ups" in notice


@pytest.mark.req("A7.4")
def test_a7_4_a_reminder_held_by_quiet_hours_still_closes_the_check_in_after_48_hours(
    ward, session, session_factory, settings
):
    c = add_patient(session, ward, "张三", openid="o_zhang")
    assert sweep(session_factory, settings, at(settings, DUE, 20, 55)).sent == 1
    next_day = DUE + timedelta(days=1)
    assert sweep(session_factory, settings, at(settings, next_day, 21, 5)).reminded == 0  # quiet
    assert (
        sweep(session_factory, settings, at(settings, next_day + timedelta(1), 8, 5)).reminded == 1
    )
    assert (
        sweep(session_factory, settings, at(settings, next_day + timedelta(1), 20, 50)).no_answer
        == 0
    )
    assert (
        sweep(session_factory, settings, at(settings, next_day + timedelta(1), 21, 0)).no_answer
        == 1
    )
    [f] = follow_up_of(session_factory, c.id)
    assert f.status is FollowUpStatus.NO_ANSWER


@pytest.mark.req("A7.4")
def test_a7_4_every_followed_account_gets_the_check_in_once(
    ward, session, session_factory, settings
):
    c = add_patient(session, ward, "张三", openid="o_zhang")
    daughter = PatientAccount(openid="o_daughter", ih_user_id="ih-d")
    session.add(daughter)
    session.flush()
    session.add(PatientProfile(account_id=daughter.id, patient_id=c.patient_id))
    session.commit()
    assert sweep(session_factory, settings, at(settings, DUE, 10)).sent == 1
    sweep(session_factory, settings, at(settings, DUE, 10, 5))
    assert len(texts_to(session_factory, "o_zhang")) == 1
    assert len(texts_to(session_factory, "o_daughter")) == 1


@pytest.mark.req("A7.4")
def test_a7_4_without_a_responsible_nurse_the_vascular_experts_are_told(
    ward, session, session_factory, settings
):
    add_patient(session, ward, "张三", openid="o_zhang", responsible=False)
    for hours in (0, 24, 48):
        sweep(session_factory, settings, at(settings, DUE, 10) + timedelta(hours=hours, minutes=5))
    [notice] = texts_to(session_factory, "user:e0001")
    assert "张三" in notice and texts_to(session_factory, "user:n0001") == []


@pytest.mark.req("A7.4")
def test_a7_4_a_removed_catheter_gets_no_check_in_and_no_reminder(
    ward, session, session_factory, settings
):
    c = add_patient(session, ward, "张三", openid="o_zhang")
    sweep(session_factory, settings, at(settings, DUE, 6))  # held by quiet hours
    with session_factory() as s:
        s.get(Catheter, c.id).state = CatheterState.REMOVED
        s.commit()
    assert sweep(session_factory, settings, at(settings, DUE, 10)).sent == 0
    assert outbox(session_factory) == []


# --- answers in chat, through signed callbacks and a real turn --------------------------------


@pytest.fixture
def chat(ward, session, session_factory, live_settings, redis_conn, rasa):
    """张三's check-in sent on DUE at 10:00; ``say(text, minutes)`` posts a signed text callback
    and runs the turn with the clock at 10:00 + minutes; it returns the replies."""
    c = add_patient(session, ward, "张三", openid="o_zhang")
    sweep(session_factory, live_settings, at(live_settings, DUE, 10))
    app = create_app(live_settings)
    collaborators = bootstrap(live_settings, session_factory=session_factory)

    def say(text, minutes=30):
        path, body = cb.mp_request(live_settings, cb.mp_text_xml("o_zhang", text))
        assert app.test_client().post(path, data=body).get_data(as_text=True) == "success"
        now = at(live_settings, DUE, 10) + timedelta(minutes=minutes)
        runner = TurnRunner(
            session_factory=session_factory,
            redis=redis_conn,
            engine=collaborators.dialogue,
            render=collaborators.render,
            clock=lambda: now,
        )
        with session_factory() as s:
            inbox_id = s.scalar(select(func.max(InboxMessage.id)))
        runner.run(inbox_id)
        with session_factory() as s:
            return [r.get("text", "") for r in s.get(InboxMessage, inbox_id).replies]

    say.catheter = c
    return say


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_numbered_all_clear_answer_is_thanked_and_nobody_is_bothered(
    chat, session_factory, rasa
):
    assert "导管情况良好" in chat("1没有 2没有 3没有 4没有")[0]
    [f] = follow_up_of(session_factory, chat.catheter.id)
    assert f.status is FollowUpStatus.ANSWERED and f.level == "OK"
    assert f.answers == {"SITE": "NO", "ARM": "NO", "FEVER": "NO", "DRESSING": "NO"}
    assert texts_to(session_factory, "user:n0001") == [] and rasa.requests == []


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_dou_hao_answers_everything(chat, session_factory):
    assert "导管情况良好" in chat("都好")[0]
    [f] = follow_up_of(session_factory, chat.catheter.id)
    assert f.level == "OK" and len(f.answers) == 4


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_partly_answered_asks_only_what_is_missing(chat, session_factory):
    [reply] = chat("1没有 2没有")
    assert "还想了解" in reply and "3. 最近有没有发热" in reply and "1. 穿刺点" not in reply
    assert "导管情况良好" in chat("3没有 4没有", minutes=40)[0]
    [f] = follow_up_of(session_factory, chat.catheter.id)
    assert f.status is FollowUpStatus.ANSWERED and len(f.answers) == 4


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_a_worrying_answer_tells_the_nurse_once_with_the_patients_words(chat, session_factory):
    assert "已通知您的责任护士" in chat("针眼那里红了，别的都好")[0]
    [f] = follow_up_of(session_factory, chat.catheter.id)
    assert (f.level, f.flags, f.answers["SITE"]) == ("CONCERN", ["SITE_REDNESS"], "RED")
    [notice] = texts_to(session_factory, "user:n0001")
    assert notice.startswith("【随访·需关注】张三") and "红肿/疼痛" in notice
    assert "患者原话：“针眼那里红了，别的都好”" in notice
    # the check-in is answered: a later text goes to the dialogue, the nurse is not told again
    assert chat("谢谢", minutes=50) == ["收到：谢谢"]
    assert len(texts_to(session_factory, "user:n0001")) == 1


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_an_urgent_answer_tells_the_patient_what_to_do_now(chat, session_factory):
    [reply] = chat("昨晚发烧还打寒颤")
    assert reply.startswith("【请立即处理】") and "立即到医院急诊就诊" in reply
    [f] = follow_up_of(session_factory, chat.catheter.id)
    assert (f.level, f.answers) == ("URGENT", {"FEVER": "CHILLS"})
    [notice] = texts_to(session_factory, "user:n0001")
    assert notice.startswith("【随访·紧急】") and "发热伴寒战" in notice


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_colloquial_arm_swelling_is_urgent(chat, session_factory):
    assert "血管超声" in chat("胳膊有点肿")[0]
    [f] = follow_up_of(session_factory, chat.catheter.id)
    assert f.answers == {"ARM": "SWOLLEN"} and f.flags == ["ARM_SWELLING"]


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_unclear_twice_is_passed_to_the_nurse_verbatim(chat, session_factory, rasa):
    assert "没能看懂您的回复" in chat("嗯嗯嗯")[0]
    [f] = follow_up_of(session_factory, chat.catheter.id)
    assert f.status is FollowUpStatus.SENT and texts_to(session_factory, "user:n0001") == []
    assert "原话已转给护士" in chat("那个有一点点那啥", minutes=35)[0]
    [f] = follow_up_of(session_factory, chat.catheter.id)
    assert (f.status, f.level, f.flags) == (FollowUpStatus.ANSWERED, "CONCERN", ["UNCLEAR"])
    [notice] = texts_to(session_factory, "user:n0001")
    assert "嗯嗯嗯" in notice and "那个有一点点那啥" in notice and rasa.requests == []


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_suan_le_is_thanked_and_recorded_as_declined(chat, session_factory):
    assert "谢谢您" in chat("算了，不想回答")[0]
    [f] = follow_up_of(session_factory, chat.catheter.id)
    assert (f.status, f.flags, f.free_text) == (
        FollowUpStatus.ANSWERED,
        ["DECLINED"],
        "算了，不想回答",
    )
    assert texts_to(session_factory, "user:n0001") == []


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_an_unrelated_message_still_reaches_the_dialogue(chat, session_factory, rasa):
    assert chat("我要预约维护") == ["收到：我要预约维护"]
    assert chat("我的报告", minutes=31) == ["收到：我的报告"]
    assert rasa.messages_of("mp:o_zhang") == ["我要预约维护", "我的报告"]
    [f] = follow_up_of(session_factory, chat.catheter.id)
    assert f.status is FollowUpStatus.SENT  # still waiting for the answer
    assert "导管情况良好" in chat("都没有", minutes=32)[0]


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_inside_an_open_form_only_a_clear_answer_is_taken(chat, session_factory, rasa):
    rasa.forms["mp:o_zhang"] = "appointment_form"  # the patient is booking a visit
    assert chat("明天上午") == ["收到：明天上午"]  # the form's question, not the check-in's
    assert "导管情况良好" in chat("都好", minutes=31)[0]
    [f] = follow_up_of(session_factory, chat.catheter.id)
    assert f.status is FollowUpStatus.ANSWERED and f.flags == []


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_an_account_with_two_check_ins_answers_them_one_after_the_other(
    chat, session, session_factory, ward
):
    mother = add_patient(session, ward, "张母", follow_up=None)
    account = session.scalar(select(PatientAccount).where(PatientAccount.openid == "o_zhang"))
    session.add(PatientProfile(account_id=account.id, patient_id=mother.patient_id))
    session.add(
        FollowUp(
            catheter_id=mother.id,
            patient_id=mother.patient_id,
            due_on=DUE,
            sent_at=datetime(2026, 12, 10, 2, 5, tzinfo=UTC),  # 10:05 local, after 张三's
        )
    )
    session.commit()
    thanks, following = chat("都好")
    assert "导管情况良好" in thanks and following.startswith("还有一份随访：张母的")
    assert "导管情况良好" in chat("都好", minutes=70)[0]
    [mine] = follow_up_of(session_factory, mother.id)
    assert mine.status is FollowUpStatus.ANSWERED and mine.level == "OK"


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_answers_after_48_hours_go_to_the_dialogue(chat, rasa):
    assert chat("都好", minutes=48 * 60 + 1) == ["收到：都好"]


# --- the clinicians' pages ---------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.req("A7.4", "X.1")
def test_a7_4_nurse_list_shows_worrying_answers_first_and_the_catheter_page_the_answers(
    chat, session, session_factory, live_settings, ward
):
    from tests.integration.test_staff_web import sign_in

    chat("手臂肿了")
    others = {  # all clear, declined and not reachable today, added in the worst order
        "王五": {"level": "OK", "status": FollowUpStatus.ANSWERED, "answers": {"SITE": "NO"}},
        "赵六": {"status": FollowUpStatus.ANSWERED, "flags": ["DECLINED"], "free_text": "算了"},
        "李四": {"status": FollowUpStatus.NO_ANSWER, "flags": ["NO_FOLLOWER"]},
    }
    for name, fields in others.items():
        c = add_patient(session, ward, name, follow_up=None)
        session.add(FollowUp(catheter_id=c.id, patient_id=c.patient_id, due_on=DUE, **fields))
    outsider = Staff(
        institution=Institution(code="X", name="外院"),
        staff_no="X001",
        name="外院医生",
        role=StaffRole.OUTSIDE_CLINICIAN,
    )
    session.add(outsider)
    session.commit()
    with session_factory() as s:
        d = dictionary_service.current(s)
        nurse = s.scalar(select(Staff).where(Staff.staff_no == "N001"))
        entries = follow_ups.today_list(s, d, DUE, actor=Actor(ActorType.STAFF, nurse.id))
        s.commit()
        assert [e.patient_name for e in entries] == ["张三", "李四", "赵六", "王五"]
        assert [e.status_label for e in entries[1:]] == ["未回复", "已拒答", "已回复"]
        assert entries[1].notes == ["未关注公众号，请电话随访"]
        # an outside clinician sees only patients whose care they registered: none here
        assert follow_ups.today_list(s, d, DUE, actor=Actor(ActorType.STAFF, outsider.id)) == []
        assert entries[0].level_label == "紧急" and entries[0].answers == (
            "置管侧手臂有没有肿胀、变粗或发紧？ 肿了/变粗",
        )
        read = s.scalar(select(AuditLog).where(AuditLog.object_type == "follow_up_list"))
        assert read.detail["patients"] == sorted({e.patient_id for e in entries})
    client = create_app(live_settings).test_client()
    sign_in(client, "N001", "Nurse1234")
    assert "今日随访" in client.get("/staff/due").get_data(as_text=True)
    assert client.get("/staff/follow-ups").status_code == 200
    page = client.get(f"/staff/catheters/{chat.catheter.id}").get_data(as_text=True)
    assert "随访记录" in page and "【紧急】" in page and "患者原话：“手臂肿了”" in page


@pytest.mark.redis
@pytest.mark.req("A7.4")
def test_a7_4_the_scheduled_job_sweeps_and_queues_the_check_ins(
    ward, session, settings, engine, redis_conn
):
    from rq import Queue

    from bot import container
    from bot.care.rules import local_date
    from bot.jobs.follow_ups import sweep_follow_ups

    c = add_patient(session, ward, "张三", openid="o_zhang")
    session.get(Patient, c.patient_id).quiet_start = "00:00"  # no quiet hours, whatever the hour
    session.get(Patient, c.patient_id).quiet_end = "00:00"
    session.get(Catheter, c.id).next_follow_up_on = local_date(utcnow(), settings.timezone)
    session.commit()
    container.install(bootstrap(settings))
    try:
        assert sweep_follow_ups().startswith("created 1 (0 to the list), sent 1")
        [job] = Queue("bulk", connection=redis_conn).jobs
        assert job.args[0] == list(session.scalars(select(OutboxMessage.id)))
        assert sweep_follow_ups().startswith("created 0 (0 to the list), sent 0")
    finally:
        container.install(None)
