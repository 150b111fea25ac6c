"""Consultations and outside records in the WeChat Work app chat (C5.1, C3.5, C4.1), against
the database and Redis: the request form (question and urgency from the first message, the
job enqueued, the same request twice), photos, voice notes and videos brought to the request,
"我的会诊", "外院记录" with and without a scanned patient, and — through a real turn, before
the dialogue — a consultant's conclusion, someone else's refused, several open asked which,
and the requester closing."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta

import pytest
from PIL import Image
from rasa_sdk.executor import CollectingDispatcher
from rq import Queue
from sqlalchemy import func, select

from bot.care.rules import local_date
from bot.channels.turn import TurnRunner
from bot.models import (
    Catheter,
    ComplicationPhoto,
    Consultation,
    ConsultationMedia,
    ConsultationNote,
    InboxMessage,
    Institution,
    MaintenanceRecord,
    OutboxMessage,
    Patient,
    Staff,
    utcnow,
)
from bot.models.enums import ActorType, CatheterState, ConsultationStatus, StaffRole
from bot.services import audit
from bot.services import complications as complication_service
from bot.services import dictionary as dictionary_service
from bot.services.consultations import chat_words, requests
from nlu.actions import consultation, consultation_lists, consultation_media
from server import bootstrap, create_app
from tests.support import callbacks as cb
from tests.support.forms import FormDriver

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("action_runtime")]
_drivers = itertools.count(1)


@pytest.fixture
def ward(session, settings):
    """本院: nurse 李护士 (n1), vascular experts 王专家 (e1) and 赵专家 (e2); 外院 市二院 with
    an outside nurse; patients 王芳 and 李建国 with a PICC in place."""
    home = Institution(code="HOME", name="本院", is_home=True)
    other = Institution(code="CITY2", name="市二院")
    nurse = Staff(
        institution=home, staff_no="N1", name="李护士", role=StaffRole.NURSE, wecom_userid="n1"
    )
    expert = Staff(
        institution=home,
        staff_no="E1",
        name="王专家",
        role=StaffRole.NURSE,
        wecom_userid="e1",
        is_vascular_expert=True,
    )
    expert2 = Staff(
        institution=home,
        staff_no="E2",
        name="赵专家",
        role=StaffRole.DOCTOR,
        wecom_userid="e2",
        is_vascular_expert=True,
    )
    outside = Staff(
        institution=other,
        staff_no="X1",
        name="外院护士",
        role=StaffRole.OUTSIDE_CLINICIAN,
        wecom_userid="x1",
    )
    session.add_all([home, other, nurse, expert, expert2, outside])
    session.flush()
    today = local_date(utcnow(), settings.timezone)

    def line(name: str) -> Catheter:
        p = Patient(name=name)
        session.add(p)
        session.flush()
        c = Catheter(
            patient_id=p.id,
            device_type="PICC",
            institution_id=home.id,
            placed_at=utcnow() - timedelta(days=20),
            next_due_on=today,
            state=CatheterState.IN_PLACE,
        )
        session.add(c)
        session.flush()
        return c

    fang, li = line("王芳"), line("李建国")
    session.commit()
    return {
        "home": home,
        "other": other,
        "nurse": nurse,
        "expert": expert,
        "expert2": expert2,
        "outside": outside,
        "fang": fang,
        "li": li,
        "today": today,
        "tz": settings.timezone,
    }


def clinician(ward, who="nurse", **slots):
    staff = ward[who]
    f = FormDriver(
        consultation.ValidateConsultationForm(),
        _domain(),
        f"work:{staff.wecom_userid}:{next(_drivers)}",
        role=staff.role.value,
        channel="work",
        staff_id=staff.id,
        institution_id=staff.institution_id,
    )
    f.slots.update(slots)
    return f


def _domain():
    from tests.support.forms import load_domain

    return load_domain()


def run(action, f: FormDriver, text="", intent="upload_image", entities=()) -> str:
    """A plain action in the driver's conversation (its slots, the form it runs)."""
    tracker = f._tracker(text, intent, list(entities))
    dispatcher = CollectingDispatcher()
    for event in action.run(dispatcher, tracker, f.domain):
        if event.get("event") == "slot":
            f.slots[event["name"]] = event["value"]
    f.messages = dispatcher.messages
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def media(tmp_path, kind: str, name: str, *, size: int | None = None):
    """A photo (JPEG), voice note (AMR) or video (MP4) as the turn hands it to the dialogue."""
    path = tmp_path / name
    if kind == "image":
        buf = io.BytesIO()
        Image.new("RGB", (320, 240), (200, 80, 80)).save(buf, "JPEG")
        path.write_bytes(buf.getvalue())
        content_type = "image/jpeg"
    elif kind == "voice":
        path.write_bytes(b"#!AMR\n" + name.encode() * ((size or 4000) // len(name) + 1))
        content_type = "audio/amr"
    else:
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + name.encode() * 500)
        content_type = "video/mp4"
    return [("media_path", str(path)), ("sha256", f"sha-{name}"), ("content_type", content_type)]


MEDIA_INTENT = {"image": "upload_image", "voice": "voice_unrecognized", "video": "upload_video"}


def send(f: FormDriver, tmp_path, kind: str, name: str, **kw) -> str:
    return run(
        consultation_media.ActionClinicianMedia(),
        f,
        intent=MEDIA_INTENT[kind],
        entities=media(tmp_path, kind, name, **kw),
    )


def request(f: FormDriver, first: str, *answers: str) -> str:
    """The form from its first message to the submit; what the submit said."""
    f.say(first, "request_consultation")
    for answer in answers:
        f.say(answer)
    assert f.asking is None, f"the form still asks {f.asking}"
    return f.submit(consultation.ActionSubmitConsultation())


def consultations(session_factory) -> list[Consultation]:
    with session_factory() as s:
        return list(s.scalars(select(Consultation).order_by(Consultation.id)))


def count(session_factory, model, *where) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def jobs(redis_conn) -> list[tuple[str, tuple]]:
    q = Queue("outbound", connection=redis_conn)
    return [(j.func_name, j.args) for j in q.get_jobs()]


# --- the request ---------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_question_said_with_the_request_is_not_asked_again_and_the_job_is_queued(
    ward, session_factory, redis_conn
):
    f = clinician(ward, scanned_catheter_id=ward["fang"].id)
    said = f.say("请求会诊，12床穿刺点渗液两天了", "request_consultation")
    assert f.slots["k_question"] == "12床穿刺点渗液两天了"
    assert f.asking == "k_urgency" and "会诊问题" not in said
    summary = f.say("普通")
    assert f.asking == "k_confirm" and "会诊问题：12床穿刺点渗液两天了" in summary
    f.say("确认")
    said = f.submit(consultation.ActionSubmitConsultation())
    [c] = consultations(session_factory)
    assert said.startswith(f"会诊申请已提交（编号 {c.id}）：正在建立会诊群，专家：")
    assert "王专家" in said and "赵专家" in said and "可以继续发送照片、语音或视频" in said
    assert c.summary == "12床穿刺点渗液两天了" and c.urgent is False
    assert c.patient_id == ward["fang"].patient_id and c.catheter_id == ward["fang"].id
    assert c.status is ConsultationStatus.REQUESTED
    assert ("bot.jobs.consultations.open_consultation", (c.id,)) in jobs(redis_conn)


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_urgency_said_in_the_first_message_is_not_asked(ward, session_factory, redis_conn):
    f = clinician(ward, scanned_catheter_id=ward["fang"].id)
    f.say("紧急会诊：回抽无血，冲管阻力大", "request_consultation")
    assert f.slots["k_urgency"] == "加急" and f.asking == "k_confirm"
    f.say("确认")
    assert "会诊申请已提交" in f.submit(consultation.ActionSubmitConsultation())
    [c] = consultations(session_factory)
    assert c.urgent is True and c.summary == "回抽无血，冲管阻力大"


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_without_a_question_the_form_asks_for_it_and_the_patient_by_name(
    ward, session_factory, redis_conn
):
    f = clinician(ward)
    f.say("请求会诊", "request_consultation")
    assert f.asking == "k_catheter"
    f.say("王芳")
    assert f.asking == "k_question"
    f.say("穿刺点红肿三天，要不要拔管")
    f.say("加急")
    f.say("确认")
    assert "会诊申请已提交" in f.submit(consultation.ActionSubmitConsultation())
    [c] = consultations(session_factory)
    assert c.catheter_id == ward["fang"].id and c.urgent is True


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_the_same_request_twice_is_one_consultation_and_says_so(
    ward, session_factory, redis_conn
):
    first = clinician(ward, scanned_catheter_id=ward["fang"].id)
    request(first, "请求会诊，穿刺点渗液两天了", "普通", "确认")
    again = clinician(ward, scanned_catheter_id=ward["fang"].id)
    said = request(again, "请求会诊，穿刺点渗液两天了", "普通", "确认")
    [c] = consultations(session_factory)
    assert f"已经申请过了（编号 {c.id}）" in said and "会诊申请已提交" not in said


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_media_held_during_a_repeated_request_go_to_the_consultation_asked_before(
    ward, session_factory, redis_conn, tmp_path
):
    first = clinician(ward, scanned_catheter_id=ward["fang"].id)
    request(first, "请求会诊，穿刺点渗液两天了", "普通", "确认")
    [c] = consultations(session_factory)
    redis_conn.flushdb()  # the first request's job already ran
    again = clinician(ward, scanned_catheter_id=ward["fang"].id)
    again.say("请求会诊，穿刺点渗液两天了", "request_consultation")
    assert "已收到1个附件" in send(again, tmp_path, "image", "again.jpg")
    again.say("普通")
    again.say("确认")
    said = again.submit(consultation.ActionSubmitConsultation())
    assert f"已经申请过了（编号 {c.id}）" in said and "已把1个附件带入该会诊" in said
    assert count(session_factory, ConsultationMedia, ConsultationMedia.consultation_id == c.id) == 1
    assert ("bot.jobs.consultations.open_consultation", (c.id,)) in jobs(redis_conn)


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_the_open_complication_this_nurse_reported_is_the_one_concerned(
    ward, session_factory, redis_conn
):
    with session_factory() as s:
        result = complication_service.report(
            s,
            dictionary_service.current(s),
            ward["fang"].id,
            type_code="PHLEBITIS",
            onset_on=ward["today"] - timedelta(days=1),
            grade=2,
            brief_history="穿刺点红肿",
            tz=ward["tz"],
            actor=audit.Actor(ActorType.STAFF, ward["nurse"].id),
            institution_id=ward["home"].id,
        )
        s.commit()
        complication_id = result.complication.id
    f = clinician(ward, scanned_catheter_id=ward["fang"].id)
    request(f, "请求会诊，静脉炎二级，处理三天没有好转", "普通", "确认")
    [c] = consultations(session_factory)
    assert c.complication_id == complication_id


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_patient_the_outside_clinician_may_not_see_is_refused_in_words(
    ward, session_factory, redis_conn
):
    f = clinician(ward, "outside", k_catheter=ward["fang"].id)
    f.slots.update(k_question="穿刺点渗液两天了", k_urgency="普通", k_confirm=True)
    said = f.submit(consultation.ActionSubmitConsultation())
    assert "没有查看该患者的权限" in said
    assert consultations(session_factory) == [] and jobs(redis_conn) == []


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_nobody_to_consult_is_said(ward, session, session_factory, redis_conn):
    for who in ("expert", "expert2"):
        session.get(Staff, ward[who].id).is_vascular_expert = False
    session.commit()
    f = clinician(ward, scanned_catheter_id=ward["fang"].id)
    said = request(f, "请求会诊，穿刺点渗液两天了", "普通", "确认")
    assert "没有可以接受会诊的专家" in said and consultations(session_factory) == []


# --- media ---------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_photo_voice_and_video_after_a_request_are_attached_and_queued(
    ward, session_factory, redis_conn, tmp_path
):
    f = clinician(ward, scanned_catheter_id=ward["fang"].id)
    request(f, "请求会诊，穿刺点渗液两天了", "普通", "确认")
    [c] = consultations(session_factory)
    redis_conn.flushdb()
    assert "已加入会诊（第1个附件）" in send(f, tmp_path, "image", "site.jpg")
    assert "已加入会诊（第2个附件）" in send(f, tmp_path, "voice", "note.amr")
    assert "已加入会诊（第3个附件）" in send(f, tmp_path, "video", "flush.mp4")
    assert "无需重复发送" in send(f, tmp_path, "voice", "note.amr")
    with session_factory() as s:
        kinds = s.scalars(
            select(ConsultationMedia.kind)
            .where(ConsultationMedia.consultation_id == c.id)
            .order_by(ConsultationMedia.id)
        ).all()
    assert kinds == ["image", "voice", "video"]
    assert ("bot.jobs.consultations.open_consultation", (c.id,)) in jobs(redis_conn)


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_voice_note_over_the_limit_is_refused_with_the_limit(
    ward, session_factory, redis_conn, tmp_path
):
    f = clinician(ward, scanned_catheter_id=ward["fang"].id)
    request(f, "请求会诊，穿刺点渗液两天了", "普通", "确认")
    said = send(f, tmp_path, "voice", "long.amr", size=3 * 1024 * 1024)
    assert "未加入会诊" in said and "2MB" in said
    assert count(session_factory, ConsultationMedia) == 0


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_media_sent_while_requesting_go_in_with_the_request(
    ward, session_factory, redis_conn, tmp_path
):
    f = clinician(ward, scanned_catheter_id=ward["fang"].id)
    f.say("请求会诊，穿刺点渗液两天了", "request_consultation")
    assert "已收到1个附件" in send(f, tmp_path, "image", "site.jpg")
    assert "已收到2个附件" in send(f, tmp_path, "voice", "note.amr")
    assert f.asking == "k_urgency"  # the media were not taken as the answer
    f.say("普通")
    f.say("确认")
    said = f.submit(consultation.ActionSubmitConsultation())
    assert "已带上2个附件" in said
    assert count(session_factory, ConsultationMedia) == 2
    assert f.slots.get("k_media") is None


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_the_later_of_a_complication_report_and_a_request_takes_the_photo(
    ward, session_factory, redis_conn, tmp_path
):
    f = clinician(ward, scanned_catheter_id=ward["fang"].id)
    request(f, "请求会诊，穿刺点渗液两天了", "普通", "确认")
    with session_factory() as s:  # reported after the request
        complication_service.report(
            s,
            dictionary_service.current(s),
            ward["li"].id,
            type_code="PHLEBITIS",
            onset_on=ward["today"],
            grade=1,
            brief_history="红肿",
            tz=ward["tz"],
            actor=audit.Actor(ActorType.STAFF, ward["nurse"].id),
            institution_id=ward["home"].id,
        )
        s.commit()
    said = send(f, tmp_path, "image", "site.jpg")
    assert "已添加1张照片到并发症" in said
    assert count(session_factory, ComplicationPhoto) == 1
    assert count(session_factory, ConsultationMedia) == 0
    again = clinician(ward, scanned_catheter_id=ward["li"].id)  # a request after the report
    request(again, "请求会诊，静脉炎一级怎么处理", "普通", "确认")
    assert "已加入会诊（第1个附件）" in send(again, tmp_path, "image", "arm.jpg")


@pytest.mark.req("C5.1")
def test_c5_1_voice_and_video_outside_a_consultation_say_what_to_do(ward, tmp_path):
    f = clinician(ward)
    assert "请先发送“请求会诊”" in send(f, tmp_path, "voice", "note.amr")
    assert "请先发送“请求会诊”" in send(f, tmp_path, "video", "flush.mp4")


# --- lists ---------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.req("C3.5")
def test_c3_5_my_consultations_lists_them_with_the_link(ward, settings, redis_conn):
    f = clinician(ward)
    said = run(consultation_lists.ActionMyConsultations(), f, "我的会诊", "my_consultations")
    assert "您目前没有会诊" in said and "请求会诊" in said
    request(
        clinician(ward, scanned_catheter_id=ward["fang"].id), "请求会诊，渗液两天了", "普通", "确认"
    )
    said = run(consultation_lists.ActionMyConsultations(), f, "我的会诊", "my_consultations")
    assert "1. " in said and "PICC" in said and "待建群" in said
    assert "王芳" not in said  # initials only
    assert f"{settings.public_base_url}/staff/consultations" in said
    expert = clinician(ward, "expert")
    said = run(consultation_lists.ActionMyConsultations(), expert, "我的会诊", "my_consultations")
    assert "待建群" in said  # the consultant's too


def _outside_maintenance(session, ward, catheter):
    session.add(
        MaintenanceRecord(
            catheter_id=catheter.id,
            staff_id=ward["outside"].id,
            institution_id=ward["other"].id,
            performed_at=utcnow() - timedelta(days=2),
        )
    )
    session.commit()


@pytest.mark.req("C4.1")
def test_c4_1_outside_records_of_the_scanned_patient_with_the_link(ward, session, settings):
    _outside_maintenance(session, ward, ward["fang"])
    f = clinician(ward, scanned_catheter_id=ward["fang"].id)
    said = run(consultation_lists.ActionOutsideRecords(), f, "外院记录", "outside_records")
    assert "王芳的外院记录共1条（维护1条）" in said and "市二院" in said
    assert f"{settings.public_base_url}/staff/patients/{ward['fang'].patient_id}/outside" in said


@pytest.mark.req("C4.1")
def test_c4_1_outside_records_without_a_patient_list_the_patients(ward, session, settings):
    f = clinician(ward)
    said = run(consultation_lists.ActionOutsideRecords(), f, "外院记录", "outside_records")
    assert "暂无其他医院登记的记录" in said
    _outside_maintenance(session, ward, ward["li"])
    said = run(consultation_lists.ActionOutsideRecords(), f, "外院记录", "outside_records")
    assert "1. 李建国 维护1" in said and "王芳" not in said
    assert f"{settings.public_base_url}/staff/outside-records" in said
    outside = clinician(ward, "outside", scanned_catheter_id=ward["fang"].id)
    said = run(consultation_lists.ActionOutsideRecords(), outside, "外院记录", "outside_records")
    assert "没有查看该患者外院记录的权限" in said


# --- conclusions and closing, read before the dialogue ---------------------------------------


def asked(session_factory, ward, catheter, question="穿刺点渗液两天了", *, open_=True) -> int:
    """A consultation the nurse requested, its group chat open (as the chat job leaves it)."""
    with session_factory() as s:
        c = requests.request(
            s,
            patient_id=catheter.patient_id,
            catheter_id=catheter.id,
            complication_id=None,
            question=question,
            urgent=False,
            actor=audit.Actor(ActorType.STAFF, ward["nurse"].id),
            now=utcnow(),
            tz=ward["tz"],
        )
        if open_:
            c.status = ConsultationStatus.OPEN
            c.chat_id = f"vamk{c.id}"
            c.chat_name = f"会诊·W·PICC·{c.id}"
            c.opened_at = utcnow()
        s.commit()
        return c.id


@pytest.fixture
def chat(ward, session_factory, live_settings, redis_conn, rasa):
    """``say(userid, text)`` posts a signed WeChat Work text and runs the turn; the replies."""
    app = create_app(live_settings)
    collaborators = bootstrap(live_settings, session_factory=session_factory)

    def say(userid: str, text: str) -> str:
        xml = cb.work_text_xml(userid, text, agent_id=live_settings.wecom_agent_id)
        path, body = cb.work_request(live_settings, xml)
        assert app.test_client().post(path, data=body).get_data(as_text=True) == "success"
        TurnRunner(
            session_factory=session_factory,
            redis=redis_conn,
            engine=collaborators.dialogue,
            render=collaborators.render,
            public_base_url=live_settings.public_base_url,
        ).run(_last_inbox(session_factory))
        with session_factory() as s:
            replies = s.get(InboxMessage, _last_inbox(session_factory)).replies
        return "\n".join(r.get("text", "") for r in replies)

    return say


def _last_inbox(session_factory) -> int:
    with session_factory() as s:
        return int(s.scalar(select(func.max(InboxMessage.id))))


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_consultants_conclusion_is_recorded_and_posted(
    ward, chat, session_factory, redis_conn, rasa
):
    cid = asked(session_factory, ward, ward["fang"])
    said = chat("e1", "会诊结论：建议拔管，尖端送培养")
    assert f"已记录第{cid}号会诊的结论：建议拔管，尖端送培养" in said and "会诊群" in said
    with session_factory() as s:
        c = s.get(Consultation, cid)
        assert c.status is ConsultationStatus.CONCLUDED
        assert c.conclusion == "建议拔管，尖端送培养" and c.concluded_by_id == ward["expert"].id
    assert rasa.requests == []  # read before the dialogue
    with session_factory() as s:
        sent = {o.recipient: o.id for o in s.scalars(select(OutboxMessage))}
    # posted to the group, and the requester asked to confirm it can be closed
    assert {f"chat:vamk{cid}", "user:n1"} <= set(sent)
    queued = jobs(redis_conn)
    assert ("bot.channels.outbox.send_outbox", (sent[f"chat:vamk{cid}"],)) in queued
    assert ("bot.channels.outbox.send_outbox", (sent["user:n1"],)) in queued


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_a_conclusion_from_someone_not_a_consultant_is_refused(
    ward, chat, session_factory, rasa
):
    asked(session_factory, ward, ward["fang"])
    assert "只有本次会诊的会诊专家可以填写结论" in chat("n1", "会诊结论：我觉得可以拔管")
    assert count(session_factory, ConsultationNote) == 0
    said = chat("n1", "会诊意见：已按建议冲管")  # advice from any member is fine
    assert "意见" in said and count(session_factory, ConsultationNote) == 1


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_with_several_open_the_consultant_is_asked_which_then_names_it(
    ward, chat, session_factory
):
    first = asked(session_factory, ward, ward["fang"])
    second = asked(session_factory, ward, ward["li"], "导管回抽无血")
    said = chat("e1", "会诊结论：继续观察")
    assert "请注明编号" in said and f"{first}号" in said and f"{second}号" in said
    assert count(session_factory, ConsultationNote) == 0
    said = chat("e1", f"{second}号会诊结论：尿激酶封管后复查")
    assert f"已记录第{second}号会诊的结论" in said
    with session_factory() as s:
        assert s.get(Consultation, second).conclusion == "尿激酶封管后复查"
        assert s.get(Consultation, first).conclusion is None


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_the_requester_closes_after_the_conclusion(ward, chat, session_factory):
    cid = asked(session_factory, ward, ward["fang"])
    assert "还没有结论" in chat("n1", "会诊结束")
    chat("e1", "会诊结论：建议拔管")
    assert f"第{cid}号会诊已结束" in chat("n1", "可以结束了")
    with session_factory() as s:
        c = s.get(Consultation, cid)
        assert c.status is ConsultationStatus.CLOSED and c.closed_by_id == ward["nurse"].id


@pytest.mark.redis
@pytest.mark.req("C5.1")
def test_c5_1_consultation_words_from_someone_without_one_are_answered_or_left_alone(
    ward, chat, rasa
):
    assert "没有进行中的会诊" in chat("e2", "会诊结论：建议拔管")
    assert rasa.requests == []
    chat("e2", "可以结束了")  # not theirs to read: the dialogue answers it
    assert rasa.messages_of("work:e2") == ["可以结束了"]


def test_a_patients_voice_note_and_video_are_answered_as_before(ward, tmp_path):
    f = FormDriver(
        consultation.ValidateConsultationForm(), _domain(), "mp:o_pat", role="patient", channel="mp"
    )
    assert send(f, tmp_path, "voice", "note.amr") == consultation_media.VOICE_NOT_HEARD
    assert "暂不支持这类消息" in send(f, tmp_path, "video", "clip.mp4")
    assert send(f, tmp_path, "image", "report.jpg") == ""  # a report: action_receive_report's


# --- the answers' words (C5.1) --------------------------------------------------------------


@pytest.mark.req("C5.1")
def test_c5_1_a_consultant_who_writes_close_is_told_only_the_requester_closes(
    ward, session_factory
):
    cid = asked(session_factory, ward, ward["fang"])
    with session_factory() as s:
        out = chat_words.answer(s, ward["expert"].id, "会诊结束", utcnow(), base_url="https://x")
    assert out is not None
    said = out.replies[0]["text"]
    assert "只有会诊申请人可以结束会诊" in said and "没有进行中的会诊" not in said
    with session_factory() as s:
        assert s.get(Consultation, cid).status is ConsultationStatus.OPEN


@pytest.mark.req("C5.1")
def test_c5_1_a_conclusion_is_said_to_be_queued_and_the_requester_asked_only_with_an_account(
    ward, session_factory
):
    asked(session_factory, ward, ward["fang"])
    with session_factory() as s:
        out = chat_words.answer(
            s, ward["expert"].id, "会诊结论：建议拔管", utcnow(), base_url="https://x"
        )
        s.commit()
    said = out.replies[0]["text"]
    assert "将发到会诊群" in said and "已发到" not in said and "已请申请人确认" in said
    with session_factory() as s:  # a requester without WeChat Work: nobody is asked
        s.get_one(Staff, ward["nurse"].id).wecom_userid = None
        s.commit()
    asked(session_factory, ward, ward["li"])
    with session_factory() as s:
        out = chat_words.answer(
            s, ward["expert"].id, "会诊结论：继续观察", utcnow(), base_url="https://x"
        )
    said = out.replies[0]["text"]
    assert "已请申请人确认" not in said and "申请人可在会诊页面确认结束会诊" in said
