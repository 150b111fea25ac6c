"""The consultation pages (C5.1, C3.5) through the Flask test client: the request form (Chinese
validation, WeChat Work's media limits, a double submit is one consultation), "我的会诊"
(requested / assigned, open first, an outside clinician sees only theirs), the case page
(masked basics, media only to those who may see it), advice, conclusion (consultants only),
close, add member, the admin web's roster and consultation list; every read audited."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from rq import Queue
from sqlalchemy import func, select

from bot.adapters.media import MediaStore
from bot.care.rules import local_date
from bot.models import (
    AuditLog,
    Catheter,
    Complication,
    ConsultantDuty,
    Consultation,
    ConsultationMedia,
    ConsultationMember,
    ConsultationNote,
    Institution,
    MaintenanceRecord,
    Patient,
    Staff,
    utcnow,
)
from bot.models.enums import ActorType, ConsultationStatus, Sex, StaffRole
from bot.services import audit, auth
from bot.services.consultations import requests
from server import create_app
from tests.integration.test_staff_pages import csrf
from tests.integration.test_staff_web import sign_in
from tests.support.reports import add_report, photo

pytestmark = [pytest.mark.db, pytest.mark.redis]

ID_CARD = "110101199003074518"
PHONE = "13812345678"
AMR = b"#!AMR\n" + b"\x3c" * 2000
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4000
PASSWORDS = {
    "N001": "Nurse1234",
    "N002": "Nurse1234",
    "E001": "Expert1234",
    "E002": "Expert1234",
    "A001": "Admin1234",
    "13900009999": "Outside123",
    "13900008888": "Stranger123",
}


def _staff(cipher, institution, no, name, role=StaffRole.NURSE, phone=None, **kw):
    login = phone or no
    return Staff(
        institution=institution,
        staff_no=no,
        name=name,
        role=role,
        password_hash=auth.hash_password(PASSWORDS[login]),
        password_changed_at=utcnow(),
        phone_enc=cipher.encrypt(phone, context="staff.phone") if phone else None,
        phone_index=cipher.blind_index(phone, kind="phone") if phone else None,
        **kw,
    )


@pytest.fixture
def ward(settings, engine, redis_conn, session, cipher):
    """王丽娟 (ID and phone on file): a PICC placed here 20 days ago, maintained at 县医院 3 days
    ago, an open phlebitis reported by 县医院's 赵外院, a blood test with a low platelet count.
    Home nurses 李 and 孙, experts 周 and 陈 (陈 on the roster), an admin, and 钱外院 of
    another hospital who never cared for her."""
    home = Institution(code="HOME", name="本院", is_home=True)
    county = Institution(code="CTY", name="县医院")
    far = Institution(code="FAR", name="远方医院")
    people = {
        "nurse": _staff(cipher, home, "N001", "李护士"),
        "other_nurse": _staff(cipher, home, "N002", "孙护士"),
        "expert": _staff(cipher, home, "E001", "周专家", is_vascular_expert=True, title="主管护师"),
        "doctor": _staff(cipher, home, "E002", "陈医生", StaffRole.DOCTOR, title="副主任医师"),
        "admin": _staff(cipher, home, "A001", "王管理", StaffRole.ADMIN),
        "outsider": _staff(
            cipher, county, "W001", "赵外院", StaffRole.OUTSIDE_CLINICIAN, phone="13900009999"
        ),
        "stranger": _staff(
            cipher, far, "W002", "钱外院", StaffRole.OUTSIDE_CLINICIAN, phone="13900008888"
        ),
    }
    patient = Patient(
        name="王丽娟",
        sex=Sex.FEMALE,
        birth_date=date(1990, 3, 7),
        id_card_enc=cipher.encrypt(ID_CARD, context="patient.id_card"),
        phone_enc=cipher.encrypt(PHONE, context="patient.phone"),
    )
    session.add_all([home, county, far, patient, *people.values()])
    session.flush()
    session.add(ConsultantDuty(staff_id=people["doctor"].id, weekdays=[], note="白班"))
    catheter = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        institution_id=home.id,
        placed_at=utcnow() - timedelta(days=20),
    )
    session.add(catheter)
    session.flush()
    session.add(
        MaintenanceRecord(
            catheter_id=catheter.id,
            staff_id=people["outsider"].id,
            institution_id=county.id,
            performed_at=utcnow() - timedelta(days=3),
            flushed=True,
        )
    )
    complication = Complication(
        catheter_id=catheter.id,
        patient_id=patient.id,
        type="PHLEBITIS",
        grade=2,
        onset_on=(utcnow() - timedelta(days=2)).date(),
        reported_by_id=people["outsider"].id,
        institution_id=county.id,
    )
    session.add(complication)
    add_report(
        session,
        settings.media_root,
        patient.id,
        day=(utcnow() - timedelta(days=1)).date(),
        items=[("血小板", "PLT", "45", "125-350", "L"), ("白细胞", "WBC", "6.1", "4-10", None)],
    )
    session.commit()
    ids = {k: v.id for k, v in people.items()}
    return {
        "app": create_app(settings),
        "settings": settings,
        "patient": patient.id,
        "catheter": catheter.id,
        "complication": complication.id,
        **ids,
    }


def client_of(ward, login):
    client = ward["app"].test_client()
    assert sign_in(client, login, PASSWORDS[login]).status_code == 302
    return client


def ask(session, ward, by="nurse", question="穿刺点红肿3天，是否需要拔管？", media=()):
    """A consultation requested through the service (as the chat would), with media."""
    actor = audit.Actor(ActorType.STAFF, ward[by])
    k = requests.request(
        session,
        patient_id=ward["patient"],
        catheter_id=ward["catheter"],
        complication_id=ward["complication"],
        question=question,
        urgent=False,
        actor=actor,
        now=utcnow(),
        tz=ward["settings"].timezone,
    )
    store = MediaStore(ward["settings"].media_root)
    for data, content_type, kind in media:
        stored = store.save(data, content_type)
        requests.attach_media(
            session, k, stored, kind, actor=actor, media_root=str(ward["settings"].media_root)
        )
    session.commit()
    return k.id


def _count(session_factory, model, *where):
    with session_factory() as s:
        return s.scalar(select(func.count(model.id)).where(*where))


def _jobs(redis_conn):
    queue = Queue("outbound", connection=redis_conn)
    return [
        j.args[0]
        for j in queue.get_jobs()
        if j.func_name == "bot.jobs.consultations.open_consultation"
    ]


def _new_form(client, query):
    page = client.get(f"/staff/consultations/new?{query}")
    assert page.status_code == 200
    return csrf(page.get_data(as_text=True))


def _post_new(client, query, token, **fields):
    data = {"csrf_token": token} | fields
    return client.post(
        f"/staff/consultations/new?{query}", data=data, content_type="multipart/form-data"
    )


@pytest.mark.req("C5.1")
def test_c5_1_the_request_form_checks_in_chinese_and_a_double_submit_is_one_consultation(
    ward, session_factory, redis_conn
):
    nurse = client_of(ward, "N001")
    catheter_page = nurse.get(f"/staff/catheters/{ward['catheter']}").get_data(as_text=True)
    assert f"/staff/consultations/new?catheter={ward['catheter']}" in catheter_page
    query = f"catheter={ward['catheter']}"
    token = _new_form(nurse, query)
    empty = _post_new(nurse, query, token, question="  ")
    assert empty.status_code == 400 and "请填写会诊问题" in empty.get_data(as_text=True)
    bad_pick = _post_new(nurse, query, token, question="红肿", consultant="周")
    assert "请从列表中选择会诊专家" in bad_pick.get_data(as_text=True)
    assert _count(session_factory, Consultation) == 0

    def sent():
        return {
            "question": "穿刺点红肿3天，硫酸镁湿敷无好转，是否需要拔管？",
            "urgent": "1",
            "media": [(io.BytesIO(photo("红肿")), "site.jpg"), (io.BytesIO(AMR), "v.amr")],
        }

    first = _post_new(nurse, query, token, **sent())
    assert first.status_code == 302 and "created=1" in first.location
    again = _post_new(nurse, query, token, **sent())  # a double tap
    assert again.status_code == 302 and "dup=1" in again.location
    assert again.location.split("?")[0] == first.location.split("?")[0]
    page = nurse.get(again.location).get_data(as_text=True)
    assert "没有重复发起" in page and "加急" in page
    assert _count(session_factory, Consultation) == 1
    assert _count(session_factory, ConsultationMedia) == 2
    with session_factory() as s:
        k = s.scalars(select(Consultation)).one()
        assert k.urgent and k.catheter_id == ward["catheter"]
        roles = {(m.staff_id, m.role) for m in k.members}
    assert (ward["nurse"], "requester") in roles and (ward["doctor"], "consultant") in roles
    assert set(_jobs(redis_conn)) == {k.id}


@pytest.mark.req("C5.1")
@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("report.pdf", b"%PDF-1.4 not a photo", "只能上传 JPG/PNG 照片、AMR 语音或 MP4 视频"),
        ("long.amr", b"#!AMR\n" + b"\x3c" * (2 * 1024 * 1024 + 10), "语音不能超过2MB"),
        ("talk.amr", b"#!AMR\n" + b"\x3c" * (32 * 3001), "语音不能超过60秒"),
        ("clip.mp4", MP4[:16] + b"\x00" * (10 * 1024 * 1024 + 10), "视频不能超过10MB"),
        ("empty.jpg", b"", "空文件"),
    ],
)
def test_c5_1_the_request_form_refuses_media_over_wechat_work_limits(
    ward, session_factory, name, data, reason
):
    outsider = client_of(ward, "13900009999")
    query = f"complication={ward['complication']}"
    token = _new_form(outsider, query)
    r = _post_new(
        outsider,
        query,
        token,
        question="请看红肿",
        media=[(io.BytesIO(photo("a")), "a.jpg"), (io.BytesIO(data), name)],
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and reason in body and f"第2个文件（{name}）" in body
    assert "请看红肿" in body  # the question as typed
    assert _count(session_factory, Consultation) == 0
    assert _count(session_factory, ConsultationMedia) == 0


@pytest.mark.req("C5.1")
def test_c5_1_a_request_from_the_complication_page_names_the_consultant_and_keeps_a_video(
    ward, session_factory
):
    outsider = client_of(ward, "13900009999")
    record = outsider.get(f"/staff/complications/{ward['complication']}").get_data(as_text=True)
    assert f"/staff/consultations/new?complication={ward['complication']}" in record
    query = f"complication={ward['complication']}"
    token = _new_form(outsider, query)
    form = outsider.get(f"/staff/consultations/new?{query}").get_data(as_text=True)
    assert "周专家" in form and "陈医生" in form  # the expert and the rostered doctor
    r = _post_new(
        outsider,
        query,
        token,
        question="是否需要拔管？",
        consultant=str(ward["expert"]),
        media=[(io.BytesIO(MP4), "clip.mp4")],
    )
    assert r.status_code == 302
    with session_factory() as s:
        k = s.scalars(select(Consultation)).one()
        assert k.complication_id == ward["complication"]
        assert {m.staff_id for m in k.members if m.role == "consultant"} == {ward["expert"]}
        assert [m.kind for m in k.media] == ["video"]
    page = outsider.get(r.location).get_data(as_text=True)
    assert "<video" in page
    # the complication page lists it with its status and links the case page
    record = outsider.get(f"/staff/complications/{ward['complication']}").get_data(as_text=True)
    assert f"/staff/consultations/{k.id}" in record and "【待建群】" in record


@pytest.mark.req("C5.1")
def test_c5_1_a_clinician_who_may_not_see_the_patient_cannot_open_the_request_form(
    ward, session_factory
):
    stranger = client_of(ward, "13900008888")
    assert stranger.get(f"/staff/consultations/new?catheter={ward['catheter']}").status_code == 404
    q = f"complication={ward['complication']}"
    assert stranger.get(f"/staff/consultations/new?{q}").status_code == 404
    assert stranger.get("/staff/consultations/new").status_code == 404
    assert _count(session_factory, AuditLog, AuditLog.action == "denied") == 2


@pytest.mark.req("C5.1")
def test_c5_1_the_case_page_shows_masked_basics_and_never_the_full_id_or_phone(
    ward, session, session_factory
):
    k = ask(
        session, ward, media=[(photo("近景"), "image/jpeg", "image"), (AMR, "audio/amr", "voice")]
    )
    today = local_date(utcnow(), ward["settings"].timezone)
    expert = client_of(ward, "E002")
    r = expert.get(f"/staff/consultations/{k}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    for shown in (
        "王**",
        f"女，{today.year - 1990 - ((today.month, today.day) < (3, 7))}岁",
        "1101**********4518",
        "138****5678",
        "PICC",
        "本院",  # placed here
        "县医院",  # last maintenance there
        "静脉炎 2级",
        "血小板 45↓",
        "穿刺点红肿3天，是否需要拔管？",
        "李护士",
        "申请人",
        "陈医生",
        "会诊专家",
        "【待建群】",
        "会诊照片1",
        "下载语音（AMR",
    ):
        assert shown in page, shown
    for hidden in ("王丽娟", ID_CARD, PHONE, "白细胞"):
        assert hidden not in page
    with session_factory() as s:
        read = s.scalars(
            select(AuditLog).where(
                AuditLog.object_type == "consultation",
                AuditLog.action == "read",
                AuditLog.actor_id == ward["doctor"],
            )
        ).all()
    assert [(a.object_id, a.patient_id) for a in read] == [(str(k), ward["patient"])]


@pytest.mark.req("C5.1")
def test_c5_1_media_are_served_only_to_members_and_staff_who_may_see_the_patient(
    ward, session, session_factory
):
    k = ask(
        session, ward, media=[(photo("近景"), "image/jpeg", "image"), (AMR, "audio/amr", "voice")]
    )
    other = ask(session, ward, by="outsider", question="另一个问题")
    with session_factory() as s:
        image, voice = s.scalars(
            select(ConsultationMedia)
            .where(ConsultationMedia.consultation_id == k)
            .order_by(ConsultationMedia.id)
        ).all()
    nurse = client_of(ward, "N001")
    got = nurse.get(f"/staff/consultations/{k}/media/{image.id}")
    assert got.status_code == 200 and got.mimetype == "image/jpeg"
    assert "private" in got.headers["Cache-Control"]
    amr = nurse.get(f"/staff/consultations/{k}/media/{voice.id}")
    assert amr.status_code == 200 and amr.data == AMR
    assert "attachment" in amr.headers["Content-Disposition"]
    # a home nurse not in the consultation may see the patient: allowed, audited
    assert (
        client_of(ward, "N002").get(f"/staff/consultations/{k}/media/{image.id}").status_code == 200
    )
    # an outside clinician who never cared for her, and a media id of another consultation
    stranger = client_of(ward, "13900008888")
    assert stranger.get(f"/staff/consultations/{k}/media/{image.id}").status_code == 404
    assert stranger.get(f"/staff/consultations/{k}").status_code == 404
    assert nurse.get(f"/staff/consultations/{other}/media/{image.id}").status_code == 404
    with session_factory() as s:
        denied = s.scalars(select(AuditLog).where(AuditLog.action == "denied")).all()
        reads = s.scalars(
            select(AuditLog).where(
                AuditLog.object_type == "consultation", AuditLog.action == "read"
            )
        ).all()
    assert {(d.actor_id, d.object_id) for d in denied} == {(ward["stranger"], str(k))}
    assert len(denied) == 2
    assert {r.actor_id for r in reads} >= {ward["nurse"], ward["other_nurse"]}


@pytest.mark.req("C3.5")
def test_c3_5_my_consultations_lists_requested_and_assigned_open_first(
    ward, session, session_factory
):
    first = ask(session, ward, question="第一个问题")
    second = ask(session, ward, question="第二个问题")
    by_outsider = ask(session, ward, by="outsider", question="外院的问题")
    with session_factory() as s:  # the first is closed: it goes last
        done = s.get(Consultation, first)
        done.status = ConsultationStatus.CLOSED
        done.conclusion = "继续湿敷，暂不拔管"
        done.closed_at = utcnow()
        s.commit()
    page = client_of(ward, "N001").get("/staff/consultations").get_data(as_text=True)
    requested, taking_part = page.split('id="taking-part"')
    assert "我发起的（2）" in page and "我参与的（0）" in page
    assert requested.index("第二个问题") < requested.index("第一个问题")
    assert "【已结束】" in requested and "结论：继续湿敷，暂不拔管" in requested
    assert "王**" in requested and "PICC" in requested and "外院的问题" not in page
    assert f"/staff/consultations/{second}" in requested
    # the rostered doctor: all three assigned, open first (oldest request first)
    page = client_of(ward, "E002").get("/staff/consultations").get_data(as_text=True)
    _, assigned = page.split('id="taking-part"')
    order = [assigned.index(q) for q in ("第二个问题", "外院的问题", "第一个问题")]
    assert order == sorted(order) and "我发起的（0）" in page
    # an outside clinician sees only theirs; another one nothing
    page = client_of(ward, "13900009999").get("/staff/consultations").get_data(as_text=True)
    assert "外院的问题" in page and "第二个问题" not in page
    assert f"/staff/consultations/{by_outsider}" in page
    page = client_of(ward, "13900008888").get("/staff/consultations").get_data(as_text=True)
    assert "我发起的（0）" in page and "我参与的（0）" in page
    with session_factory() as s:
        lists = s.scalars(select(AuditLog).where(AuditLog.object_type == "consultation_list")).all()
    assert [row.detail["patients"] for row in lists] == [[ward["patient"]]] * 3 + [[]]


@pytest.mark.req("C3.5")
def test_c3_5_an_outside_clinician_opens_only_consultations_they_take_part_in(
    ward, session, session_factory
):
    theirs = ask(session, ward, by="outsider", question="外院的问题")
    nurses = ask(session, ward, question="本院的问题")
    outsider = client_of(ward, "13900009999")
    assert outsider.get(f"/staff/consultations/{theirs}").status_code == 200
    # 赵外院 may see the patient (she reported the complication), but not this consultation
    assert outsider.get(f"/staff/consultations/{nurses}").status_code == 404
    assert outsider.get("/staff/consultations/99999").status_code == 404
    with session_factory() as s:
        denied = s.scalars(select(AuditLog).where(AuditLog.action == "denied")).all()
    assert [(d.object_type, d.object_id, d.patient_id) for d in denied] == [
        ("consultation", str(nurses), ward["patient"])
    ]
    # a home nurse outside the consultation may read it (she may see the patient) but not advise
    page = client_of(ward, "N002").get(f"/staff/consultations/{theirs}").get_data(as_text=True)
    assert "外院的问题" in page and "/advice" not in page and "/conclusion" not in page


@pytest.mark.req("C5.1")
def test_c5_1_only_a_consultant_may_conclude_and_the_requester_closes(
    ward, session, session_factory, redis_conn
):
    k = ask(session, ward)
    nurse = client_of(ward, "N001")
    page = nurse.get(f"/staff/consultations/{k}").get_data(as_text=True)
    assert "/advice" in page and "/conclusion" not in page and "确认结束会诊" not in page
    token = csrf(page)
    forged = nurse.post(
        f"/staff/consultations/{k}/conclusion", data={"csrf_token": token, "text": "拔管"}
    )
    assert forged.status_code == 403
    assert "只有本次会诊的会诊专家可以填写结论" in forged.get_data(as_text=True)
    assert _count(session_factory, ConsultationNote) == 0
    advice = nurse.post(
        f"/staff/consultations/{k}/advice", data={"csrf_token": token, "text": "已湿敷两天"}
    )
    assert advice.status_code == 302
    doctor = client_of(ward, "E002")
    page = doctor.get(f"/staff/consultations/{k}").get_data(as_text=True)
    assert "提交会诊结论" in page
    empty = doctor.post(
        f"/staff/consultations/{k}/conclusion", data={"csrf_token": csrf(page), "text": " "}
    )
    assert empty.status_code == 400 and "请填写会诊结论" in empty.get_data(as_text=True)
    done = doctor.post(
        f"/staff/consultations/{k}/conclusion",
        data={"csrf_token": csrf(page), "text": "继续湿敷，48小时后复评，暂不拔管"},
    )
    assert done.status_code == 302
    with session_factory() as s:
        row = s.get_one(Consultation, k)
        assert row.status is ConsultationStatus.CONCLUDED
        assert row.conclusion == "继续湿敷，48小时后复评，暂不拔管"
        assert row.concluded_by_id == ward["doctor"]
        notes = [(n.kind, n.text) for n in row.notes]
    assert ("conclusion", "继续湿敷，48小时后复评，暂不拔管") in notes
    assert ("advice", "已湿敷两天") in notes
    assert _jobs(redis_conn).count(k) >= 2
    # the requester: the conclusion shown and the close form offered; the doctor may not close
    page = nurse.get(f"/staff/consultations/{k}").get_data(as_text=True)
    assert "会诊结论" in page and "确认结束会诊" in page
    doctors = csrf(doctor.get(f"/staff/consultations/{k}").get_data(as_text=True))
    refused = doctor.post(f"/staff/consultations/{k}/close", data={"csrf_token": doctors})
    assert refused.status_code == 403 and "只有会诊申请人或管理员" in refused.get_data(as_text=True)
    closed = nurse.post(f"/staff/consultations/{k}/close", data={"csrf_token": csrf(page)})
    assert closed.status_code == 302
    page = nurse.get(closed.location).get_data(as_text=True)
    assert "【已结束】" in page and "会诊已结束" in page and "/advice" not in page
    with session_factory() as s:
        row = s.get_one(Consultation, k)
        assert row.status is ConsultationStatus.CLOSED and row.closed_by_id == ward["nurse"]


@pytest.mark.req("C5.1")
def test_c5_1_members_are_added_by_name_or_staff_number(ward, session, session_factory, redis_conn):
    k = ask(session, ward)
    nurse = client_of(ward, "N001")
    token = csrf(nurse.get(f"/staff/consultations/{k}").get_data(as_text=True))

    def invite(client, who):
        return client.post(
            f"/staff/consultations/{k}/members", data={"csrf_token": token, "who": who}
        )

    missing = invite(nurse, "张三")
    assert missing.status_code == 400 and "没有找到在职医护“张三”" in missing.get_data(as_text=True)
    assert invite(nurse, "").status_code == 400
    added = invite(nurse, "N002")
    assert added.status_code == 302
    page = nurse.get(added.location).get_data(as_text=True)
    assert "已邀请孙护士加入会诊" in page and "孙护士" in page and "参与者" in page
    again = invite(nurse, "孙护士")
    assert again.status_code == 302
    assert "孙护士已在本次会诊中" in nurse.get(again.location).get_data(as_text=True)
    # a member (not requester, consultant or admin) may not invite
    member = client_of(ward, "N002")
    token = csrf(member.get(f"/staff/consultations/{k}").get_data(as_text=True))
    refused = member.post(
        f"/staff/consultations/{k}/members", data={"csrf_token": token, "who": "W001"}
    )
    assert refused.status_code == 403
    with session_factory() as s:
        members = s.scalars(
            select(ConsultationMember.staff_id).where(ConsultationMember.consultation_id == k)
        ).all()
    assert ward["other_nurse"] in members and ward["outsider"] not in members
    assert k in _jobs(redis_conn)


@pytest.mark.req("C5.1")
def test_c5_1_the_admin_lists_every_consultation_with_its_chat_error_and_may_retry(
    ward, session, session_factory, redis_conn
):
    k = ask(session, ward)
    with session_factory() as s:
        row = s.get_one(Consultation, k)
        row.chat_error = "企业微信：应用可见范围不是全公司（60011）"
        row.chat_attempts = 3
        s.commit()
    admin = client_of(ward, "A001")
    listing = admin.get("/admin/consultations/")
    body = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert "60011" in body and f"/staff/consultations/{k}" in body and "王**" in body
    assert "王丽娟" not in body
    page = admin.get(f"/staff/consultations/{k}").get_data(as_text=True)
    assert "重试建群" in page and "60011" in page
    # a nurse sees the failure but not the retry button, and may not post it
    nurse = client_of(ward, "N001")
    page = nurse.get(f"/staff/consultations/{k}").get_data(as_text=True)
    assert "60011" in page and "重试建群" not in page
    forged = nurse.post(f"/staff/consultations/{k}/retry", data={"csrf_token": csrf(page)})
    assert forged.status_code == 403
    assert client_of(ward, "N001").get("/admin/consultations/").status_code == 403
    redis_conn.flushdb()
    token = csrf(admin.get(f"/staff/consultations/{k}").get_data(as_text=True))
    retried = admin.post(f"/staff/consultations/{k}/retry", data={"csrf_token": token})
    assert retried.status_code == 302
    assert "已重新提交建群" in admin.get(retried.location).get_data(as_text=True)
    with session_factory() as s:
        row = s.get_one(Consultation, k)
        assert (row.chat_error, row.chat_attempts) == (None, 0)
    assert _jobs(redis_conn) == [k]
    with session_factory() as s:
        assert s.scalar(
            select(AuditLog).where(
                AuditLog.object_type == "consultation_list", AuditLog.context == "admin"
            )
        ).detail["patients"] == [ward["patient"]]


def _roster_form(admin, url):
    page = admin.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


@pytest.mark.req("C5.1")
@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"starts_at": "8点", "ends_at": "17:30"}, "开始时间格式应为 HH:MM"),
        ({"starts_at": "08:00", "ends_at": "25:00"}, "结束时间格式应为 HH:MM"),
        ({"starts_at": "20:00", "ends_at": "08:00"}, "跨夜值班请分两条登记"),
        ({"starts_at": "08:00", "ends_at": "08:00"}, "结束时间应晚于开始时间"),
        ({"staff": "outsider"}, "请选择本院在职的护士或医生"),
        ({"staff": "admin"}, "请选择本院在职的护士或医生"),
        ({"weekdays": ["8"]}, "星期只能选周一至周日"),
    ],
)
def test_c5_1_the_roster_form_refuses_bad_input_in_chinese(ward, session_factory, fields, reason):
    admin = client_of(ward, "A001")
    token = _roster_form(admin, "/admin/roster/new/")
    data = {
        "csrf_token": token,
        "staff_id": str(ward[fields.pop("staff", "expert")]),
        "starts_at": "08:00",
        "ends_at": "17:30",
        "active": "y",
    } | fields
    r = admin.post("/admin/roster/new/", data=data)
    assert r.status_code == 200 and reason in r.get_data(as_text=True)
    assert _count(session_factory, ConsultantDuty) == 1  # the fixture's row only


@pytest.mark.req("C5.1")
def test_c5_1_the_admin_keeps_the_roster_create_edit_and_deactivate(ward, session_factory):
    admin = client_of(ward, "A001")
    page = admin.get("/admin/roster/new/").get_data(as_text=True)
    assert "周一" in page and "周日" in page and "周专家" in page
    assert "赵外院" not in page and "王管理" not in page  # outside clinicians, admins: not offered
    token = _roster_form(admin, "/admin/roster/new/")
    r = admin.post(
        "/admin/roster/new/",
        data={
            "csrf_token": token,
            "staff_id": str(ward["expert"]),
            "weekdays": ["1", "3", "5"],
            "starts_at": "08:00",
            "ends_at": "24:00",
            "note": "白班到夜间",
            "active": "y",
        },
    )
    assert r.status_code == 302
    with session_factory() as s:
        duty = s.scalars(
            select(ConsultantDuty).where(ConsultantDuty.staff_id == ward["expert"])
        ).one()
        assert (duty.weekdays, duty.starts_at, duty.ends_at, duty.active) == (
            [1, 3, 5],
            "08:00",
            "24:00",
            True,
        )
    listing = admin.get("/admin/roster/").get_data(as_text=True)
    assert "周一、周三、周五" in listing and "08:00–24:00" in listing and "每天" in listing
    token = _roster_form(admin, f"/admin/roster/edit/?id={duty.id}")
    r = admin.post(
        f"/admin/roster/edit/?id={duty.id}",
        data={
            "csrf_token": token,
            "staff_id": str(ward["expert"]),
            "starts_at": "13:00",
            "ends_at": "17:30",
            "active": "y",
        },
    )
    assert r.status_code == 302
    list_page = admin.get("/admin/roster/").get_data(as_text=True)
    action_token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', list_page)
    r = admin.post(
        "/admin/roster/action/",
        data={
            "action": "deactivate",
            "rowid": [str(duty.id)],
            "csrf_token": action_token.group(1) if action_token else token,
        },
    )
    assert r.status_code == 302
    with session_factory() as s:
        duty = s.get_one(ConsultantDuty, duty.id)
        assert (duty.weekdays, duty.starts_at, duty.active) == ([], "13:00", False)
        changes = s.scalars(
            select(AuditLog.action).where(AuditLog.object_type == "consultant_duty")
        ).all()
    assert changes == ["create", "update", "deactivate"]
    assert client_of(ward, "N001").get("/admin/roster/").status_code == 403


# --- review fixes ----------------------------------------------------------------------------


@pytest.mark.req("C5.1")
def test_c5_1_a_redis_error_after_the_commit_still_shows_success(
    ward, session, session_factory, monkeypatch
):
    import redis

    from h5 import staff_consultations

    def down(*args, **kwargs):
        raise redis.ConnectionError("down")

    monkeypatch.setattr(staff_consultations, "enqueue_consultation", down)
    monkeypatch.setattr(staff_consultations, "enqueue_send", down)
    k = ask(session, ward)
    nurse = client_of(ward, "N001")
    token = csrf(nurse.get(f"/staff/consultations/{k}").get_data(as_text=True))
    r = nurse.post(f"/staff/consultations/{k}/advice", data={"csrf_token": token, "text": "已湿敷"})
    assert r.status_code == 302
    assert "会诊意见已保存" in nurse.get(r.location).get_data(as_text=True)
    assert _count(session_factory, ConsultationNote) == 1


@pytest.mark.req("C5.1", "X.1")
def test_c5_1_a_refused_conclusion_is_not_audited_as_one_and_a_real_one_is_audited_once(
    ward, session, session_factory
):
    k = ask(session, ward)
    nurse = client_of(ward, "N001")
    token = csrf(nurse.get(f"/staff/consultations/{k}").get_data(as_text=True))
    forged = nurse.post(
        f"/staff/consultations/{k}/conclusion", data={"csrf_token": token, "text": "拔管"}
    )
    assert forged.status_code == 403

    def concluded():
        with session_factory() as s:
            return s.scalars(
                select(AuditLog.actor_id).where(
                    AuditLog.action == "conclude", AuditLog.object_id == str(k)
                )
            ).all()

    assert concluded() == []
    doctor = client_of(ward, "E002")
    token = csrf(doctor.get(f"/staff/consultations/{k}").get_data(as_text=True))
    done = doctor.post(
        f"/staff/consultations/{k}/conclusion", data={"csrf_token": token, "text": "暂不拔管"}
    )
    assert done.status_code == 302
    assert concluded() == [ward["doctor"]]


@pytest.mark.req("C5.1")
def test_c5_1_an_oversize_upload_shows_the_friendly_error(ward, session_factory, monkeypatch):
    from h5 import consultation_uploads

    monkeypatch.setattr(consultation_uploads, "UPLOAD_LIMIT", 64 * 1024)
    nurse = client_of(ward, "N001")
    query = f"catheter={ward['catheter']}"
    token = _new_form(nurse, query)
    r = _post_new(
        nurse,
        query,
        token,
        question="穿刺点红肿，是否拔管？",
        media=[(io.BytesIO(b"\xff\xd8\xff" + b"\x00" * 200 * 1024), "big.jpg")],
    )
    assert r.status_code == 413
    assert "一次上传的文件合计不能超过" in r.get_data(as_text=True)
    assert _count(session_factory, Consultation) == 0


@pytest.mark.req("C5.1")
def test_c5_1_a_member_added_twice_at_once_is_said_to_be_in_the_consultation(
    ward, session, session_factory, monkeypatch
):
    k = ask(session, ward)
    nurse = client_of(ward, "N001")
    token = csrf(nurse.get(f"/staff/consultations/{k}").get_data(as_text=True))

    def invite():
        return nurse.post(
            f"/staff/consultations/{k}/members", data={"csrf_token": token, "who": "N002"}
        )

    assert invite().status_code == 302
    # the second request read the members before the first one committed
    real = requests.role_of
    late = ward["other_nurse"]
    monkeypatch.setattr(
        requests,
        "role_of",
        lambda s, c, staff_id: None if staff_id == late else real(s, c, staff_id),
    )
    again = invite()
    assert again.status_code == 302
    assert "孙护士已在本次会诊中" in nurse.get(again.location).get_data(as_text=True)
    assert _count(session_factory, ConsultationMember, ConsultationMember.staff_id == late) == 1


@pytest.mark.req("C3.5", "A7.5")
def test_c3_5_an_outside_clinician_sees_in_lists_only_the_consultations_they_take_part_in(
    ward, session, session_factory
):
    from bot.services import dictionary as dictionary_service
    from bot.services import trace

    theirs = ask(session, ward, by="outsider", question="外院的问题")
    nurses = ask(session, ward, question="本院护士的问题")
    outsider = client_of(ward, "13900009999")
    record = outsider.get(f"/staff/complications/{ward['complication']}").get_data(as_text=True)
    assert f"/staff/consultations/{theirs}" in record
    assert f"/staff/consultations/{nurses}" not in record
    home = client_of(ward, "N002")
    record = home.get(f"/staff/complications/{ward['complication']}").get_data(as_text=True)
    assert f"/staff/consultations/{theirs}" in record and f"/staff/consultations/{nurses}" in record

    def texts(who, by_patient):
        with session_factory() as s:
            d = dictionary_service.current(s)
            actor = audit.Actor(ActorType.STAFF, ward[who])
            tz = ward["settings"].timezone
            t = (
                trace.for_patient(s, d, ward["patient"], actor=actor, tz=tz)
                if by_patient
                else trace.for_catheter(s, d, ward["catheter"], actor=actor, tz=tz)
            )
            return " ".join(e.text for e in t.events if e.kind.startswith("consultation"))

    for by_patient in (True, False):
        seen = texts("outsider", by_patient)
        assert "外院的问题" in seen and "本院护士的问题" not in seen
        seen = texts("other_nurse", by_patient)
        assert "外院的问题" in seen and "本院护士的问题" in seen


@pytest.mark.req("A7.5")
def test_a7_5_a_consultation_about_the_catheter_after_its_removal_is_in_its_trace(
    ward, session, session_factory
):
    from bot.models.enums import CatheterState
    from bot.services import dictionary as dictionary_service
    from bot.services import trace

    c = session.get(Catheter, ward["catheter"])
    c.removed_on = (utcnow() - timedelta(days=5)).date()
    c.state = CatheterState.REMOVED
    session.commit()
    k = ask(session, ward, question="拔管后穿刺点仍红肿，如何处理？")
    with session_factory() as s:
        t = trace.for_catheter(
            s,
            dictionary_service.current(s),
            ward["catheter"],
            actor=audit.Actor(ActorType.STAFF, ward["nurse"]),
            tz=ward["settings"].timezone,
        )
    assert [e for e in t.events if e.kind == "consultation" and "拔管后穿刺点" in e.text], k
