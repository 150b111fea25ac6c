"""Consultations in WeChat Work group chats (C5.1, C3.5): the request (access, roster,
one per request), the group chat opened through the production client against the
simulator (members, the case card then the media, retries, failures told), and the
decisions (conclusion by a consultant only, posted, attached to the complication, closed,
the 48-hour reminder)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.adapters.media import MediaStore
from bot.channels.outbox import SendLater
from bot.jobs import consultations as jobs
from bot.models import (
    AuditLog,
    Catheter,
    Complication,
    ComplicationStep,
    ConsultantDuty,
    Consultation,
    ConsultationMedia,
    Department,
    Institution,
    OutboxMessage,
    Patient,
    Staff,
)
from bot.models.enums import ActorType, ConsultationStatus, DeliveryStatus, StaffRole
from bot.services import access, audit
from bot.services.consultations import ConsultationError, chat, decisions, requests, roster
from devtools.wechat_sim.server import LiveSim
from tests.support.callbacks import sim_config

pytestmark = [pytest.mark.db]

# Tuesday 2026-12-08 10:00 in the hospital (Asia/Shanghai)
T0 = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
BASE = "https://vam.example"


def _staff(institution, no, name, role=StaffRole.NURSE, **kw):
    return Staff(institution=institution, staff_no=no, name=name, role=role, **kw)


@pytest.fixture
def ward(session):
    """张小明's PICC placed here, an outside nurse of 县医院 who maintained it, two experts on
    the roster (周 weekdays by day, 陈 nights), a third expert off the roster, an admin."""
    home = Institution(code="HOME", name="本院", is_home=True)
    county = Institution(code="CTY", name="县医院")
    dept = Department(institution=home, code="HEM", name="血液科")
    people = {
        "nurse": _staff(home, "N001", "李护士", wecom_userid="n0001"),
        "outside": _staff(
            county, "W001", "赵外院", StaffRole.OUTSIDE_CLINICIAN, wecom_userid="w0001"
        ),
        "stranger": _staff(
            county, "W002", "钱外院", StaffRole.OUTSIDE_CLINICIAN, wecom_userid="w0002"
        ),
        "day": _staff(home, "E001", "周专家", is_vascular_expert=True, wecom_userid="e0001"),
        "night": _staff(
            home, "D001", "陈医生", StaffRole.DOCTOR, is_vascular_expert=True, wecom_userid="d0001"
        ),
        "spare": _staff(home, "E002", "吴专家", is_vascular_expert=True, wecom_userid="e0002"),
        "admin": _staff(home, "A001", "王管理", StaffRole.ADMIN, wecom_userid="a0001"),
    }
    patient = Patient(name="张小明")
    other = Patient(name="孙大伟")
    session.add_all([home, county, dept, patient, other, *people.values()])
    session.flush()
    catheter = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        institution_id=home.id,
        department_id=dept.id,
        placed_at=T0 - timedelta(days=20),
        responsible_staff_id=people["nurse"].id,
    )
    other_catheter = Catheter(
        patient_id=other.id, device_type="PORT", institution_id=home.id, placed_at=T0
    )
    session.add_all([catheter, other_catheter])
    session.flush()
    # the outside nurse registered care for 张小明 (a complication), not for 孙大伟
    complication = Complication(
        catheter_id=catheter.id,
        patient_id=patient.id,
        type="PHLEBITIS",
        onset_on=(T0 - timedelta(days=1)).date(),
        grade=2,
        institution_id=county.id,
        reported_by_id=people["outside"].id,
        reported_at=T0 - timedelta(hours=3),
        last_step_at=T0 - timedelta(hours=3),
    )
    session.add(complication)
    session.add_all(
        [
            ConsultantDuty(
                staff_id=people["day"].id,
                weekdays=[1, 2, 3, 4, 5],
                starts_at="08:00",
                ends_at="18:00",
            ),
            ConsultantDuty(staff_id=people["night"].id, starts_at="18:00", ends_at="08:00"),
        ]
    )
    session.commit()
    return {
        "home": home,
        "patient": patient,
        "other": other,
        "catheter": catheter,
        "other_catheter": other_catheter,
        "complication": complication,
        **people,
    }


def actor(staff):
    return audit.Actor(ActorType.STAFF, staff.id)


def ask(
    session, ward, settings, *, by="outside", now=T0, question="穿刺点红肿，是否需要拔管？", **kw
):
    kw.setdefault("patient_id", ward["patient"].id)
    kw.setdefault("catheter_id", ward["catheter"].id)
    kw.setdefault("complication_id", ward["complication"].id)
    consultation = requests.request(
        session,
        question=question,
        urgent=kw.pop("urgent", False),
        actor=actor(ward[by]),
        now=now,
        tz=settings.timezone,
        **kw,
    )
    session.commit()
    return consultation


def roles(consultation):
    return sorted((m.role, m.staff_id) for m in consultation.members)


# --- the request ------------------------------------------------------------------------


@pytest.mark.req("C5.1")
def test_c5_1_the_roster_on_duty_is_consulted_by_day_and_by_night(session, ward, settings):
    by_day = ask(session, ward, settings)
    assert by_day.status is ConsultationStatus.REQUESTED
    assert roles(by_day) == [("consultant", ward["day"].id), ("requester", ward["outside"].id)]
    # Tuesday 23:30 local: the night duty (over midnight) covers it, the day duty does not
    night = ask(
        session, ward, settings, now=T0 + timedelta(hours=13, minutes=30), question="夜间渗血"
    )
    assert roles(night) == [("consultant", ward["night"].id), ("requester", ward["outside"].id)]
    # Saturday 10:00: the weekday duty is off, the night duty's morning ended at 08:00
    saturday = T0 + timedelta(days=4)
    assert roster.on_duty(session, saturday, settings.timezone) == []


@pytest.mark.req("C5.1")
def test_c5_1_nobody_on_duty_falls_back_to_every_home_expert_and_a_named_one_is_asked(
    session, ward, settings
):
    saturday = T0 + timedelta(days=4)
    c = ask(session, ward, settings, now=saturday)
    experts = sorted(ward[k].id for k in ("day", "night", "spare"))
    assert sorted(s for r, s in roles(c) if r == "consultant") == experts
    named = ask(session, ward, settings, question="请吴专家看看", consultant_id=ward["spare"].id)
    assert roles(named) == [("consultant", ward["spare"].id), ("requester", ward["outside"].id)]
    # an outside clinician cannot be named a consultant: the roster is asked instead
    c2 = ask(session, ward, settings, question="再问一次", consultant_id=ward["stranger"].id)
    assert [s for r, s in roles(c2) if r == "consultant"] == [ward["day"].id]


@pytest.mark.req("C5.1")
def test_c5_1_the_same_request_twice_is_one_consultation(session, ward, settings):
    first = ask(session, ward, settings)
    again = ask(session, ward, settings, question=" 穿刺点红肿，是否需要拔管？ ")
    assert again.id == first.id
    assert session.scalars(select(Consultation)).all() == [first]
    creates = session.scalars(
        select(AuditLog).where(AuditLog.object_type == "consultation", AuditLog.action == "create")
    ).all()
    assert len(creates) == 1


@pytest.mark.req("C5.1")
def test_c5_1_a_patient_the_requester_may_not_see_is_refused_and_audited(session, ward, settings):
    with pytest.raises(access.NotVisible):
        ask(
            session,
            ward,
            settings,
            patient_id=ward["other"].id,
            catheter_id=ward["other_catheter"].id,
            complication_id=None,
        )
    session.commit()  # the refusal's audit row commits with the caller's unit of work
    denied = session.scalars(select(AuditLog).where(AuditLog.action == "denied")).all()
    assert [(d.actor_id, d.patient_id) for d in denied] == [(ward["outside"].id, ward["other"].id)]
    assert session.scalars(select(Consultation)).all() == []


@pytest.mark.req("C5.1")
def test_c5_1_an_empty_question_or_nobody_to_consult_is_refused_in_words(session, ward, settings):
    with pytest.raises(ConsultationError, match="请填写会诊问题"):
        ask(session, ward, settings, question="  ")
    for key in ("day", "night", "spare"):
        ward[key].active = False
    session.commit()
    with pytest.raises(ConsultationError, match="没有可以接受会诊的专家"):
        ask(session, ward, settings)


# --- the group chat, through the production client against the simulator -----------------

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
AMR = b"#!AMR\n" + bytes(range(256)) * 8


@pytest.fixture
def sim(settings):
    with LiveSim(sim_config(settings)) as live:
        yield live


@pytest.fixture
def ctx(settings, sim, redis_conn):
    """The worker's container, pointed at the simulator: the job runs in-process."""
    from bot import container
    from server import bootstrap

    live = replace(settings, wecom_api_base=sim.work_api_base, public_base_url=BASE)
    c = bootstrap(live)
    container.install(c)
    yield c
    container.install(None)


def with_media(session, ctx, consultation, ward, *items):
    store = MediaStore(ctx.settings.media_root)
    for data, content_type, kind in items:
        stored = store.save(data, content_type)
        requests.attach_media(
            session,
            consultation,
            stored,
            kind,
            actor=actor(ward["outside"]),
            media_root=str(ctx.settings.media_root),
        )
    session.commit()


def run_job(consultation_id):
    return jobs.open_consultation(consultation_id)


def creates(sim):
    return sim.state.calls(path="/cgi-bin/appchat/create")


def group(sim, chat_id):
    return [(m["msgtype"], m["payload"]) for m in sim.state.messages("appchat", chat_id)]


def reload(session, consultation):
    session.expire_all()
    return session.get(Consultation, consultation.id)


def told(session, userid, *words):
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == f"user:{userid}")
    ).all()
    return [r for r in rows if all(w in str(r.payload) for w in words)]


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_the_group_chat_gets_the_members_then_the_case_card_then_the_media(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings, urgent=True)
    with_media(session, ctx, c, ward, (PNG, "image/png", "image"), (AMR, "audio/amr", "voice"))
    assert run_job(c.id) == "open"
    [create] = creates(sim)
    body = create["body"]
    assert sorted(body["userlist"]) == ["e0001", "w0001"] and body["owner"] == "e0001"
    assert body["name"] == f"会诊·张**·PICC·{c.id}号"
    c = reload(session, c)
    assert c.status is ConsultationStatus.OPEN and c.opened_at is not None
    assert c.chat_id == body["chatid"] and len(c.chat_id) <= 32 and c.chat_id.isalnum()
    posted = group(sim, c.chat_id)
    assert [kind for kind, _ in posted] == ["textcard", "image", "voice"]
    card = posted[0][1]
    assert (
        card["title"].startswith("【加急会诊】")
        and card["url"] == f"{BASE}/staff/consultations/{c.id}"
    )
    text = card["description"]
    assert "张**" in text and "张小明" not in text and "PICC" in text and "静脉炎 2级" in text
    assert "穿刺点红肿，是否需要拔管？" in text and "加急" in text
    uploads = sim.state.calls(path="/cgi-bin/media/upload")
    assert [u["params"]["type"] for u in uploads] == ["image", "voice"]
    assert all(m.posted_at is not None for m in c.media)
    for userid in ("w0001", "e0001"):
        assert told(session, userid, "已建立会诊群", "请在企业微信消息列表中打开")
    # run again (a retried job, a second enqueue): nothing is created or sent twice
    assert run_job(c.id) == "posted"
    assert len(creates(sim)) == 1 and len(group(sim, c.chat_id)) == 3


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_media_sent_after_the_chat_opened_is_posted_when_the_job_runs_again(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    run_job(c.id)
    with_media(session, ctx, c, ward, (PNG, "image/png", "image"))
    run_job(c.id)
    assert [k for k, _ in group(sim, reload(session, c).chat_id)] == ["textcard", "image"]


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_lost_answer_to_create_is_not_a_second_chat_and_nothing_is_sent_twice(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    with_media(session, ctx, c, ward, (PNG, "image/png", "image"))
    # the first attempt created the chat, but its answer never came back
    chat_id = chat.chat_id_for(c.id, ctx.settings.secret_key)
    sim.state.chats.create(chat_id, "会诊·张**·PICC", "e0001", ["e0001", "w0001"])
    assert run_job(c.id) == "open"
    c = reload(session, c)
    assert c.chat_id == chat_id and len(sim.state.chats.all()) == 1
    assert [k for k, _ in group(sim, chat_id)] == ["textcard", "image"]
    assert all(m.in_chat for m in c.members)


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_network_failure_is_retried_and_then_makes_one_chat(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    sim.state.add_fault("/work/cgi-bin/appchat/create", http_status=502)
    with pytest.raises(jobs.ChatLater):
        run_job(c.id)
    c = reload(session, c)
    assert c.status is ConsultationStatus.REQUESTED and c.chat_attempts == 1
    assert "稍后自动重试" in c.chat_error
    assert run_job(c.id) == "open"  # RQ's retry
    c = reload(session, c)
    assert c.chat_error is None and len(sim.state.chats.all()) == 1


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_busy_send_is_retried_without_posting_anything_out_of_order(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    with_media(session, ctx, c, ward, (PNG, "image/png", "image"))
    sim.state.add_fault("/work/cgi-bin/appchat/send", errcode=-1)  # the card: 系统繁忙
    with pytest.raises(SendLater):
        run_job(c.id)
    c = reload(session, c)
    assert c.status is ConsultationStatus.REQUESTED and group(sim, c.chat_id) == []
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient.like("chat:%"))
    ).all()
    assert [r.dedupe_key for r in rows] == [f"consultation:{c.id}:card"]  # the image waits
    assert run_job(c.id) == "open"
    assert [k for k, _ in group(sim, c.chat_id)] == ["textcard", "image"]


@pytest.mark.redis
@pytest.mark.req("C5.1")
@pytest.mark.parametrize(("errcode", "words"), [(60011, "可见范围"), (86216, "不在企业通讯录")])
def test_c5_1_a_permanent_chat_error_keeps_the_request_and_tells_the_requester_and_admins(
    session, ward, settings, ctx, sim, errcode, words
):
    c = ask(session, ward, settings)
    sim.state.add_fault("/work/cgi-bin/appchat/create", errcode=errcode, times=2)
    assert run_job(c.id) == f"failed: {errcode}"
    c = reload(session, c)
    assert c.status is ConsultationStatus.REQUESTED and c.chat_id is None
    assert words in c.chat_error and str(errcode) in c.chat_error
    assert len(told(session, "w0001", "会诊群暂未能建立", words)) == 1
    assert len(told(session, "a0001", "会诊建群失败", "重试建群")) == 1
    # run again with the same failure: nobody is told twice; the admin's retry then works
    run_job(c.id)
    assert len(told(session, "a0001", "会诊建群失败")) == 1
    assert chat.retry(session, c) is True
    session.commit()
    assert run_job(c.id) == "open"


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_retries_exhausted_are_reported_not_lost(session, ward, settings, ctx, sim):
    c = ask(session, ward, settings)
    sim.state.add_fault("/work/cgi-bin/appchat/create", errcode=-1, times=chat.MAX_CHAT_ATTEMPTS)
    for _ in range(chat.MAX_CHAT_ATTEMPTS - 1):
        with pytest.raises(jobs.ChatLater):
            run_job(c.id)
    assert run_job(c.id) == "failed: exhausted"
    c = reload(session, c)
    assert c.status is ConsultationStatus.REQUESTED and "已重试" in c.chat_error
    assert told(session, "w0001", "会诊群暂未能建立") and told(session, "a0001", "会诊建群失败")


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_member_without_wecom_is_left_out_and_the_requester_told(
    session, ward, settings, ctx, sim
):
    ward["spare"].wecom_userid = None
    session.commit()
    c = ask(session, ward, settings, consultant_id=ward["spare"].id, question="请吴专家看看")
    assert run_job(c.id) == "failed: no_consultant"
    assert told(session, "w0001", "会诊群暂未能建立", "没有可用的企业微信账号")
    assert creates(sim) == []


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_member_added_later_joins_the_chat_by_appchat_update(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    run_job(c.id)
    c = reload(session, c)
    assert requests.add_member(session, c, ward["spare"], actor=actor(ward["outside"])) is True
    assert requests.add_member(session, c, ward["spare"], actor=actor(ward["outside"])) is False
    with pytest.raises(ConsultationError, match="只有会诊申请人"):
        requests.add_member(session, c, ward["nurse"], actor=actor(ward["stranger"]))
    session.commit()
    run_job(c.id)
    [update] = sim.state.calls(path="/cgi-bin/appchat/update")
    assert update["body"]["add_user_list"] == ["e0002"]
    assert "e0002" in sim.state.chat(c.chat_id)["userlist"]
    assert all(m.in_chat for m in reload(session, c).members)


# --- decisions --------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_the_conclusion_is_a_consultants_and_goes_to_the_group_the_record_and_the_requester(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    run_job(c.id)
    c = reload(session, c)
    with pytest.raises(ConsultationError, match="只有本次会诊的会诊专家可以填写结论"):
        decisions.record_note(
            session, c, "拔管", conclusion=True, actor=actor(ward["outside"]), now=T0, base_url=BASE
        )
    with pytest.raises(ConsultationError, match="只有本次会诊的会诊专家可以填写结论"):
        decisions.record_note(
            session, c, "拔管", conclusion=True, actor=actor(ward["spare"]), now=T0, base_url=BASE
        )
    advice = decisions.record_note(
        session,
        c,
        "先硫酸镁湿敷",
        conclusion=False,
        actor=actor(ward["outside"]),
        now=T0,
        base_url=BASE,
    )
    note = decisions.record_note(
        session,
        c,
        "继续保留导管，硫酸镁湿敷三天后复查",
        conclusion=True,
        actor=actor(ward["day"]),
        now=T0 + timedelta(hours=1),
        base_url=BASE,
    )
    session.commit()
    c = reload(session, c)
    assert c.status is ConsultationStatus.CONCLUDED and c.concluded_by_id == ward["day"].id
    assert c.conclusion == "继续保留导管，硫酸镁湿敷三天后复查"
    step = session.scalar(
        select(ComplicationStep).where(
            ComplicationStep.complication_id == ward["complication"].id,
            ComplicationStep.kind == "CONSULT",
        )
    )
    assert step is not None and "继续保留导管" in step.action and step.staff_id == ward["day"].id
    assert told(session, "w0001", "已有结论", "会诊结束", f"/staff/consultations/{c.id}")
    assert decisions.pending_sends(session, c)  # the notes to the group, the question asked
    run_job(c.id)  # the job posts what the group has not had
    texts = [p["content"] for k, p in group(sim, c.chat_id) if k == "text"]
    assert texts == [
        "【会诊意见】赵外院：\n先硫酸镁湿敷",
        "【会诊结论】周专家：\n继续保留导管，硫酸镁湿敷三天后复查",
    ]
    assert all(n.posted_at is not None for n in c.notes) and advice.id != note.id


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_the_requester_closes_and_the_same_question_may_be_asked_again(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    run_job(c.id)
    c = reload(session, c)
    with pytest.raises(ConsultationError, match="只有会诊申请人"):
        decisions.close(session, c, actor=actor(ward["day"]), now=T0)
    decisions.record_note(
        session, c, "保留导管", conclusion=True, actor=actor(ward["day"]), now=T0, base_url=BASE
    )
    assert decisions.close(session, c, actor=actor(ward["outside"]), now=T0) is True
    assert decisions.close(session, c, actor=actor(ward["outside"]), now=T0) is False
    session.commit()
    c = reload(session, c)
    assert c.status is ConsultationStatus.CLOSED and c.request_key is None
    for outbox_id in decisions.pending_sends(session, c):
        ctx_deliver(outbox_id)
    assert group(sim, c.chat_id)[-1][1]["content"].startswith("【会诊已结束】")
    again = ask(session, ward, settings)
    assert again.id != c.id


def ctx_deliver(outbox_id):
    from bot.channels.outbox import deliverer_of_process

    assert deliverer_of_process().deliver(outbox_id) is DeliveryStatus.SENT


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_consultation_without_a_conclusion_reminds_its_consultants_once_per_period(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    run_job(c.id)
    c = reload(session, c)
    opened = c.opened_at

    def sweep(hours):
        ids = decisions.unconcluded(
            session, opened + timedelta(hours=hours), hours=48, base_url=BASE
        )
        session.commit()
        return ids

    assert sweep(47) == []
    first = sweep(48.5)
    assert len(first) == 1
    assert session.get(OutboxMessage, first[0]).recipient == "user:e0001"
    assert sweep(60) == [] and sweep(90) == []
    assert len(sweep(97)) == 1  # the next period
    decisions.record_note(
        session, c, "拔管", conclusion=True, actor=actor(ward["day"]), now=T0, base_url=BASE
    )
    session.commit()
    assert sweep(200) == []


@pytest.mark.req("C5.1")
@pytest.mark.parametrize(
    ("data", "content_type", "words"),
    [
        (b"#!AMR\n" + b"x" * (2 << 20), "audio/amr", "语音不能超过2MB"),
        (b"ID3" + b"x" * 1000, "audio/mpeg", "AMR或SPEEX"),
    ],
)
def test_c5_1_voice_over_2_mb_or_not_amr_is_refused_with_the_limit(
    session, ward, settings, tmp_path, data, content_type, words
):
    c = ask(session, ward, settings)
    stored = MediaStore(tmp_path).save(data, content_type)
    with pytest.raises(ConsultationError, match=words):
        requests.attach_media(
            session, c, stored, "voice", actor=actor(ward["outside"]), media_root=str(tmp_path)
        )
    assert session.scalars(select(ConsultationMedia)).all() == []


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_the_daily_group_limit_waits_for_tomorrow_and_says_so(
    session, ward, settings, ctx, sim
):
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    c = ask(session, ward, settings)
    sim.state.add_fault("/work/cgi-bin/appchat/create", errcode=45009)
    assert run_job(c.id) == "daily limit: retrying tomorrow"
    c = reload(session, c)
    assert c.status is ConsultationStatus.REQUESTED and "每天1000个" in c.chat_error
    assert told(session, "w0001", "会诊群暂未能建立", "次日凌晨自动重试")
    scheduled = ScheduledJobRegistry(queue=Queue("outbound", connection=ctx.redis))
    [job_id] = scheduled.get_job_ids()
    when = scheduled.get_scheduled_time(job_id)
    assert timedelta(hours=1) < when - datetime.now(UTC) < timedelta(hours=25)


# --- review fixes ----------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_member_wechat_refuses_stays_out_and_the_posting_goes_on(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    run_job(c.id)
    c = reload(session, c)
    requests.add_member(session, c, ward["spare"], actor=actor(ward["outside"]))
    session.commit()
    with_media(session, ctx, c, ward, (PNG, "image/png", "image"))
    sim.state.add_fault("/work/cgi-bin/appchat/update", errcode=86216, times=2)
    assert run_job(c.id) == "posted"
    c = reload(session, c)
    assert c.chat_error is None
    assert [k for k, _ in group(sim, c.chat_id)] == ["textcard", "image"]
    spare = next(m for m in c.members if m.staff_id == ward["spare"].id)
    assert spare.in_chat is False
    assert len(told(session, "w0001", "吴专家未能拉入会诊群", "不在企业通讯录")) == 1
    run_job(c.id)  # not tried again, not told twice
    assert len(told(session, "w0001", "吴专家未能拉入会诊群")) == 1
    assert chat.retry(session, reload(session, c)) is True  # the admin fixed the account
    session.commit()
    run_job(c.id)
    assert "e0002" in sim.state.chat(c.chat_id)["userlist"]


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_card_failed_for_good_is_sent_again_after_the_admins_retry(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    sim.state.add_fault("/work/cgi-bin/appchat/send", errcode=40008, times=1)
    assert run_job(c.id) == "failed: card"
    c = reload(session, c)
    assert c.status is ConsultationStatus.REQUESTED and "病例卡片未能发送" in c.chat_error
    assert told(session, "a0001", "请打开会诊页面点「重试建群」", f"/staff/consultations/{c.id}")
    assert told(session, "w0001", "已通知管理员处理")
    assert chat.retry(session, c) is True
    session.commit()
    assert run_job(c.id) == "open"
    c = reload(session, c)
    assert c.status is ConsultationStatus.OPEN and c.chat_error is None
    assert [k for k, _ in group(sim, c.chat_id)] == ["textcard"]
    # a media that fails for good: the requester is told once, the admin's retry resends it
    with_media(session, ctx, c, ward, (PNG, "image/png", "image"))
    sim.state.add_fault("/work/cgi-bin/appchat/send", errcode=40008, times=1)
    run_job(c.id)
    run_job(c.id)
    assert len(told(session, "w0001", "未能转发到会诊群")) == 1
    assert chat.retry(session, reload(session, c)) is True
    session.commit()
    run_job(c.id)
    assert [k for k, _ in group(sim, c.chat_id)] == ["textcard", "image"]


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_the_sweep_finds_consultations_a_lost_job_left_behind(
    session, ward, settings, ctx, sim, monkeypatch
):
    c = ask(session, ward, settings)
    assert jobs.stalled(session, T0 + timedelta(minutes=1)) == []
    assert jobs.stalled(session, T0 + timedelta(minutes=10)) == [c.id]
    run_job(c.id)
    c = reload(session, c)
    media = ConsultationMedia(
        consultation_id=c.id,
        kind="image",
        path="x.png",
        sha256="x",
        content_type="image/png",
        size=1,
        created_at=T0,
    )
    session.add(media)
    session.commit()
    assert jobs.stalled(session, T0 + timedelta(minutes=10)) == [c.id]
    monkeypatch.setattr(jobs, "utcnow", lambda: T0 + timedelta(minutes=10))
    assert jobs.sweep_stalled() == "queued 1"


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_speex_voice_note_goes_to_the_group_as_a_file(session, ward, settings, ctx, sim):
    c = ask(session, ward, settings)
    with_media(session, ctx, c, ward, (b"Speex   " + bytes(200), "audio/speex", "voice"))
    assert run_job(c.id) == "open"
    assert [k for k, _ in group(sim, reload(session, c).chat_id)] == ["textcard", "file"]
    assert chat.kind_words(reload(session, c).media[0]) == "语音（SPEEX格式，以文件发送）"


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_conclusion_before_the_chat_still_opens_it_and_only_the_right_people_close(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    with pytest.raises(ConsultationError, match="尚未填写结论"):
        decisions.close(session, c, actor=actor(ward["outside"]), now=T0)
    with pytest.raises(ConsultationError, match="只有会诊申请人"):
        decisions.close(session, c, actor=actor(ward["day"]), now=T0)
    decisions.record_note(
        session, c, "拔管", conclusion=True, actor=actor(ward["day"]), now=T0, base_url=BASE
    )
    session.commit()
    assert run_job(c.id) == "open"
    c = reload(session, c)
    assert c.status is ConsultationStatus.CONCLUDED and c.opened_at is not None
    assert told(session, "e0001", "已建立会诊群")
    assert decisions.close(session, c, actor=actor(ward["outside"]), now=T0) is True


@pytest.mark.req("C5.1")
def test_c5_1_the_admin_closes_any_time_and_close_then_reopen_are_two_messages(
    session, ward, settings
):
    c = ask(session, ward, settings)
    c.chat_id = "vacchat"
    session.flush()
    assert decisions.close(session, c, actor=actor(ward["admin"]), now=T0) is True
    assert decisions.reopen(session, c, actor=actor(ward["admin"]), now=T0) is True
    keys = session.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.recipient == "chat:vacchat")
    ).all()
    assert len(keys) == 2


@pytest.mark.req("C5.1")
def test_c5_1_an_outside_clinician_is_invited_only_by_a_consultant_or_an_admin(
    session, ward, settings
):
    c = ask(session, ward, settings, by="nurse")
    with pytest.raises(ConsultationError, match="外院医护人员"):
        requests.add_member(session, c, ward["stranger"], actor=actor(ward["nurse"]))
    assert requests.add_member(session, c, ward["stranger"], actor=actor(ward["day"])) is True


@pytest.mark.req("C5.1")
def test_c5_1_a_racing_duplicate_member_or_media_is_one_row_not_an_error(
    session, ward, settings, tmp_path, monkeypatch
):
    from bot.models import ConsultationMember

    c = ask(session, ward, settings)
    # the other request won the race: its row is there, this one's check did not see it
    session.add(ConsultationMember(consultation_id=c.id, staff_id=ward["spare"].id, role="member"))
    session.flush()
    real = requests.role_of
    calls = {"n": 0}

    def blind(s, consultation, staff_id):
        calls["n"] += 1
        return (
            None
            if staff_id == ward["spare"].id and calls["n"] == 2
            else real(s, consultation, staff_id)
        )

    monkeypatch.setattr(requests, "role_of", blind)
    assert requests.add_member(session, c, ward["spare"], actor=actor(ward["outside"])) is False
    monkeypatch.undo()
    stored = MediaStore(tmp_path).save(PNG, "image/png")
    session.add(
        ConsultationMedia(
            consultation_id=c.id,
            kind="image",
            path="p.png",
            sha256=stored.sha256,
            content_type="image/png",
            size=1,
        )
    )
    session.flush()
    real_scalar = session.scalar
    first = {"done": False}

    def blind_scalar(*a, **kw):
        if not first["done"]:
            first["done"] = True
            return None
        return real_scalar(*a, **kw)

    monkeypatch.setattr(session, "scalar", blind_scalar)
    ok = requests.attach_media(
        session, c, stored, "image", actor=actor(ward["outside"]), media_root=str(tmp_path)
    )
    monkeypatch.undo()
    assert ok is False


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_the_patients_full_name_never_reaches_the_group(session, ward, settings, ctx, sim):
    c = ask(session, ward, settings, question="请求会诊，张小明穿刺点渗液，小明怕疼")
    run_job(c.id)
    [(_, card)] = group(sim, reload(session, c).chat_id)
    assert "张小明" not in str(card) and "小明" not in str(card) and "张**" in card["title"]


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_retryable_error_is_in_chinese_and_cleared_when_a_later_run_succeeds(
    session, ward, settings, ctx, sim
):
    c = ask(session, ward, settings)
    run_job(c.id)
    requests.add_member(session, reload(session, c), ward["spare"], actor=actor(ward["outside"]))
    session.commit()
    sim.state.add_fault("/work/cgi-bin/appchat/update", errcode=-1, times=1)
    with pytest.raises(jobs.ChatLater):
        run_job(c.id)
    c = reload(session, c)
    assert "系统繁忙" in c.chat_error and "system_busy" not in c.chat_error
    assert run_job(c.id) == "posted"
    c = reload(session, c)
    assert c.chat_error is None and c.chat_attempts == 0
