"""Custom actions with a tracker, a CollectingDispatcher and the domain, against the
database: the role gate, the due list, patient search, nearby institutions, advice."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from bot.care.rules import local_date
from bot.models import AuditLog, Catheter, Complication, Institution, Patient, Staff, utcnow
from bot.models.enums import StaffRole
from nlu.actions import clinician, common, complication, patient

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("action_runtime")]


def tracker(intent: str, *, role="patient", channel="mp", entities=(), **meta) -> Tracker:
    message = {
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [{"entity": k, "value": v} for k, v in entities],
        "text": "",
        "metadata": {"role": role, "channel": channel, **meta},
    }
    return Tracker("u1", {}, message, [], False, None, {}, "action_listen")


def run(action, t, domain):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, domain)
    return dispatcher.messages, events


def texts(messages):
    return "\n".join(m.get("text") or "" for m in messages)


@pytest.fixture
def ward(session, settings):
    home = Institution(
        code="HOME",
        name="本院",
        is_home=True,
        phone="0571-88888888",
        latitude=30.27,
        longitude=120.16,
        services=["PICC_MAINT", "PORT_MAINT"],
        device_types=["PICC", "PORT"],
        opening_hours="周一至周五 8:00-17:00",
    )
    near = Institution(
        code="C1",
        name="社区卫生服务中心",
        latitude=30.28,
        longitude=120.15,
        services=["PICC_MAINT"],
        device_types=["PICC"],
    )
    far = Institution(
        code="C2",
        name="远郊医院",
        latitude=30.9,
        longitude=121.0,
        services=["PICC_MAINT", "PORT_MAINT"],
        device_types=["PICC", "PORT"],
    )
    none = Institution(
        code="C3", name="不做维护的诊所", latitude=30.271, longitude=120.161, services=[]
    )
    nurse = Staff(
        institution=home, staff_no="N1", name="李护士", role=StaffRole.NURSE, wecom_userid="n0001"
    )
    session.add_all([home, near, far, none, nurse])
    session.flush()
    today = local_date(utcnow(), settings.timezone)  # the hospital's calendar, as the actions use
    for name, due in [("甲", -3), ("乙", 0), ("丙", 1), ("丁", 20)]:
        p = Patient(name=f"{name}患者", birth_date=date(1960, 1, 1))
        session.add(p)
        session.flush()
        session.add(
            Catheter(
                patient_id=p.id,
                device_type="PICC",
                institution_id=home.id,
                placed_at=utcnow() - timedelta(days=30),
                next_due_on=today + timedelta(days=due),
            )
        )
    session.commit()
    return {"home": home, "nurse": nurse}


@pytest.mark.req("C3.1")
def test_a_patient_asking_for_the_due_list_is_politely_refused(domain, ward):
    messages, _ = run(clinician.ActionDueToday(), tracker("due_today"), domain)
    assert "仅向医护人员开放" in texts(messages)


def test_an_unbound_wechat_work_user_is_told_to_get_an_account(domain, ward):
    messages, _ = run(
        clinician.ActionDueToday(), tracker("due_today", role="unknown", channel="work"), domain
    )
    assert "尚未与医院工号关联" in texts(messages)


@pytest.mark.req("C3.1", "X.1")
def test_nurse_due_list_puts_overdue_first_with_words_and_is_audited(domain, ward, session_factory):
    t = tracker(
        "due_today",
        role="nurse",
        channel="work",
        staff_id=ward["nurse"].id,
        institution_id=ward["home"].id,
    )
    messages, _ = run(clinician.ActionDueToday(), t, domain)
    body = texts(messages)
    assert (
        body.index("【已逾期】甲患者")
        < body.index("【今日需维护】乙患者")
        < body.index("【即将到期】丙患者")
    )
    assert "逾期3天" in body and "丁患者" not in body
    with session_factory() as s:
        entry = s.scalars(select(AuditLog)).one()
        assert (entry.actor_id, entry.object_type, entry.action) == (
            ward["nurse"].id,
            "due_list",
            "read",
        )
        assert len(entry.detail["patients"]) == 3


@pytest.mark.req("C2.2", "X.1")
def test_patient_search_shows_status_and_audits_each_patient_read(
    domain, ward, session, session_factory
):
    from datetime import UTC, datetime

    c = session.scalars(select(Catheter).join(Patient).where(Patient.name == "甲患者")).one()
    c.placed_at = datetime(2026, 10, 1, 20, tzinfo=UTC)  # 2026-10-02 04:00 in Shanghai
    session.commit()
    t = tracker(
        "search_patient",
        role="nurse",
        channel="work",
        staff_id=ward["nurse"].id,
        entities=[("patient_name", "甲患者")],
    )
    messages, _ = run(clinician.ActionSearchPatient(), t, domain)
    assert "甲患者（1960年生）PICC 【已逾期】 逾期3天" in texts(messages)
    [link] = [m["custom"] for m in messages if m.get("custom")]  # the catheter page
    assert link["url"].endswith(f"/staff/catheters/{c.id}")
    assert (
        link["title"] == "甲患者 PICC 2026-10-02置入：登记表与维护记录"
    )  # the hospital's calendar
    with session_factory() as s:
        assert (
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.context == "search"))
            == 1
        )


@pytest.mark.req("C2.2")
def test_patient_search_applies_the_access_rules_and_copes_without_a_birth_date(
    domain, ward, session, session_factory
):
    outsider = Staff(
        institution=ward["home"],
        staff_no="X9",
        name="外院医生",
        role=StaffRole.OUTSIDE_CLINICIAN,
        wecom_userid="x9",
    )
    session.add(outsider)
    session.scalars(select(Patient).where(Patient.name == "甲患者")).one().birth_date = None
    session.commit()

    def search(staff):
        search_for = tracker(
            "search_patient",
            role=staff.role.value,
            channel="work",
            staff_id=staff.id,
            entities=[("patient_name", "甲患者")],
        )
        return run(clinician.ActionSearchPatient(), search_for, domain)[0]

    assert "没有找到" in texts(search(outsider))  # not one of the outside clinician's patients
    assert "甲患者PICC 【已逾期】" in texts(search(ward["nurse"]))
    with session_factory() as s:  # only the nurse's read is in the audit log
        assert (
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.context == "search"))
            == 1
        )


@pytest.mark.req("P3.2")
def test_p3_2_a_choice_in_the_subscription_pop_up_is_answered_for_what_it_means(domain):
    accepted = tracker("subscription_decision", entities=[("accepted", ["tpl-1"])])
    messages, _ = run(common.ActionNotYet(), accepted, domain)
    assert "已开启微信服务通知" in texts(messages)
    rejected = tracker("subscription_decision", entities=[("rejected", ["tpl-1"])])
    messages, _ = run(common.ActionNotYet(), rejected, domain)
    assert "您没有开启微信服务通知" in texts(messages) and "我的提醒" in texts(messages)
    for event in ("scan_scene", "card_button", "inform"):  # nothing says "coming soon" any more
        messages, _ = run(common.ActionNotYet(), tracker(event), domain)
        assert texts(messages) and "即将上线" not in texts(messages)


@pytest.mark.req("P5.1")
def test_nearby_institutions_asks_for_a_location_then_lists_by_distance(domain, ward):
    messages, _ = run(patient.ActionNearbyInstitutions(), tracker("nearby_institutions"), domain)
    assert "请发送您的位置" in texts(messages)
    t = tracker("share_location", entities=[("latitude", 30.281), ("longitude", 120.151)])
    messages, _ = run(patient.ActionNearbyInstitutions(), t, domain)
    cards = [m["custom"] for m in messages if m.get("custom")]
    assert [c["title"] for c in cards] == [
        "社区卫生服务中心",
        "本院",
        "远郊医院",
    ]  # no clinic without maintenance


@pytest.mark.req("P5.1")
def test_nearby_institutions_for_a_port_only_lists_port_maintenance(domain, ward):
    t = tracker(
        "share_location",
        entities=[("latitude", 30.281), ("longitude", 120.151), ("device_type", "PORT")],
    )
    messages, _ = run(patient.ActionNearbyInstitutions(), t, domain)
    assert [m["custom"]["title"] for m in messages if m.get("custom")] == ["本院", "远郊医院"]


def test_urgent_symptoms_send_the_patient_to_a_nurse(domain):
    t = tracker("report_symptom", entities=[("symptom", "SWELLING"), ("symptom", "REDNESS")])
    messages, _ = run(patient.ActionReportSymptom(), t, domain)
    body = texts(messages)
    assert "血栓" in body and "急诊" in body and "穿刺点发红" in body
    assert any(b["payload"] == "/ask_human" for m in messages for b in m.get("buttons") or [])


@pytest.mark.req("C3.4")
def test_symptoms_and_complications_read_by_the_audience(domain, session_factory):
    """The same words mean different things by role: a nurse's "穿刺点发红" leads to a
    complication report; a patient's "静脉炎了" (understood as a clinician's report) is asked
    to describe the symptom instead of being refused."""
    t = tracker("report_symptom", role="nurse", channel="work", entities=[("symptom", "REDNESS")])
    messages, _ = run(patient.ActionReportSymptom(), t, domain)
    assert "登记并发症" in texts(messages) and "急诊" not in texts(messages)
    assert [b["payload"] for m in messages for b in m.get("buttons") or []] == [
        "/report_complication"
    ]
    messages, _ = run(
        complication.ActionSubmitComplication(), tracker("report_complication"), domain
    )
    assert "描述症状" in texts(messages) and "仅向医护人员开放" not in texts(messages)
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Complication)) == 0


def test_fallback_offers_the_menu_and_a_nurse(domain):
    messages, _ = run(common.ActionDefaultFallback(), tracker("nlu_fallback"), domain)
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/help", "/ask_human"]


def test_help_is_different_for_patients_and_clinicians(domain):
    patient_help, _ = run(common.ActionHelp(), tracker("help"), domain)
    nurse_help, _ = run(common.ActionHelp(), tracker("help", role="nurse", channel="work"), domain)
    assert "附近" in texts(patient_help) and "今日待维护" in texts(nurse_help)


def test_ask_human_gives_the_home_hospital_phone(domain, ward):
    messages, _ = run(common.ActionAskHuman(), tracker("ask_human"), domain)
    assert "0571-88888888" in texts(messages)


@pytest.mark.req("A5.1")
def test_agreement_shows_the_newest_published_versions(domain, session):
    from bot.models import Agreement
    from bot.models.enums import AgreementKind

    session.add_all(
        [
            Agreement(
                kind=AgreementKind.PRIVACY,
                version=1,
                title="隐私政策",
                body="旧版",
                published_at=utcnow(),
            ),
            Agreement(
                kind=AgreementKind.PRIVACY,
                version=2,
                title="隐私政策",
                body="我们加密保存您的身份证号",
                published_at=utcnow(),
            ),
            Agreement(
                kind=AgreementKind.PRIVACY,
                version=3,
                title="隐私政策",
                body="草稿",
                published_at=None,
            ),
        ]
    )
    session.commit()
    messages, _ = run(common.ActionAgreement(), tracker("agreement"), domain)
    assert texts(messages) == "《隐私政策》（第2版）\n我们加密保存您的身份证号"


@pytest.mark.req("C3.1")
def test_a_catheter_never_scheduled_is_listed_as_due_today(domain, ward, session):
    p = Patient(name="戊患者", birth_date=date(1970, 1, 1))
    session.add(p)
    session.flush()
    session.add(
        Catheter(
            patient_id=p.id,
            device_type="PORT",
            institution_id=ward["home"].id,
            placed_at=utcnow() - timedelta(days=1),
            next_due_on=None,
        )
    )
    session.commit()
    t = tracker(
        "due_today",
        role="nurse",
        channel="work",
        staff_id=ward["nurse"].id,
        institution_id=ward["home"].id,
    )
    messages, _ = run(clinician.ActionDueToday(), t, domain)
    assert "【今日需维护】戊患者 输液港 尚未排期，请今日评估" in texts(messages)


def test_a_symptom_the_bot_has_no_advice_for_still_gets_an_answer(domain):
    t = tracker("report_symptom", entities=[("symptom", "胳膊有点怪")])
    messages, _ = run(patient.ActionReportSymptom(), t, domain)
    assert "请尽快联系静脉治疗护士" in texts(messages)


def nurse_says(intent: str, ward, **meta) -> Tracker:
    """A tracker of the ward's nurse in the WeChat Work app, with what the worker adds."""
    return tracker(intent, role="nurse", channel="work", staff_id=ward["nurse"].id, **meta)


@pytest.mark.req("C2.2")
def test_search_takes_the_name_the_worker_read_from_the_text(domain, ward):
    """ "查找患者甲患者": the model tagged no name; the worker found one the nurse may see."""
    t = nurse_says("search_patient", ward, patient_names=["甲患者"])
    messages, _ = run(clinician.ActionSearchPatient(), t, domain)
    assert "甲患者（1960年生）PICC 【已逾期】" in texts(messages)


@pytest.mark.req("C2.2")
def test_a_name_nobody_the_nurse_may_see_has_is_answered_not_found_not_asked_again(domain, ward):
    t = nurse_says("search_patient", ward, name_guesses=["王小明"])
    body = texts(run(clinician.ActionSearchPatient(), t, domain)[0])
    assert "没有找到" in body and "请发送要查找的患者姓名" not in body


@pytest.mark.req("C2.2", "P6.3")
def test_a_nurse_asking_for_a_named_patients_records_gets_them_not_a_refusal(domain, ward):
    """ "张金根的维护记录" reads as the patient's own "历史记录"; from a nurse it is about that
    patient."""
    from nlu.actions import home

    t = nurse_says("history", ward, patient_names=["甲患者"])
    body = texts(run(home.ActionHistory(), t, domain)[0])
    assert "甲患者（1960年生）PICC" in body and "该功能面向患者" not in body
    without_a_name = nurse_says("history", ward)
    assert "该功能面向患者" in texts(run(home.ActionHistory(), without_a_name, domain)[0])


@pytest.mark.req("C2.2")
def test_a_message_the_model_did_not_understand_that_names_a_patient_looks_them_up(domain, ward):
    t = nurse_says("nlu_fallback", ward, patient_names=["甲患者"])
    body = texts(run(common.ActionDefaultFallback(), t, domain)[0])
    assert "甲患者（1960年生）PICC" in body and "没有理解" not in body
    patient = tracker("nlu_fallback", patient_names=["甲患者"])  # never for a patient
    assert "没有理解" in texts(run(common.ActionDefaultFallback(), patient, domain)[0])
    guessed = nurse_says("nlu_fallback", ward, name_guesses=["王大伟"])
    assert "没有找到" in texts(run(common.ActionDefaultFallback(), guessed, domain)[0])
