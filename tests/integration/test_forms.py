"""The multi-turn forms against the database, turn by turn as Rasa runs them: values are
checked with a clear re-ask, "算了" leaves nothing behind, the role gate refuses, and the
submit saves exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.care.rules import local_date
from bot.models import (
    Appointment,
    AppointmentSlot,
    AuditLog,
    Catheter,
    Complication,
    Consultation,
    Institution,
    MaintenanceRecord,
    OutsideApplication,
    Patient,
    PatientAccount,
    PatientProfile,
    Staff,
    utcnow,
)
from bot.models.enums import CatheterState, ConsultationStatus, StaffRole
from nlu.actions import (
    application,
    appointment,
    complication,
    consultation,
    follow_up,
    maintenance,
)
from tests.support.forms import FormDriver

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("action_runtime")]


@pytest.fixture
def ward(session, settings):
    tz = settings.timezone
    home = Institution(code="HOME", name="本院", is_home=True)
    other = Institution(code="OUT", name="县人民医院")
    nurse = Staff(
        institution=home, staff_no="N1", name="李护士", role=StaffRole.NURSE, wecom_userid="n1"
    )
    outsider = Staff(
        institution=other,
        staff_no="X1",
        name="外院王医生",
        role=StaffRole.OUTSIDE_CLINICIAN,
        wecom_userid="x1",
    )
    session.add_all([home, other, nurse, outsider])
    session.flush()
    today = local_date(utcnow(), tz)
    placed = utcnow() - timedelta(days=10)

    def patient_with(name: str, device: str, **kw) -> Catheter:
        p = Patient(name=name)
        session.add(p)
        session.flush()
        c = Catheter(
            patient_id=p.id,
            device_type=device,
            institution_id=home.id,
            placed_at=placed,
            next_due_on=today,
            **kw,
        )
        session.add(c)
        session.flush()
        return c

    picc = patient_with(
        "王丽娟", "PICC", external_length_cm=Decimal("3.0"), arm_circumference_cm=Decimal("26.0")
    )
    port = patient_with("赵港", "PORT")
    twin_a = patient_with("张伟", "PICC")
    twin_b = patient_with("张伟", "MIDLINE")
    removed = patient_with("钱已拔", "PICC", state=CatheterState.REMOVED)
    # a bound patient account with one 就诊人 (binding itself is issue 5)
    account = PatientAccount(openid="o-pat", ih_user_id="ih1")
    session.add(account)
    session.flush()
    profile = PatientProfile(account_id=account.id, patient_id=picc.patient_id)
    session.add(profile)
    session.flush()
    account.active_profile_id = profile.id
    tomorrow = today + timedelta(days=1)
    slots = [
        AppointmentSlot(
            institution_id=home.id,
            service=service,
            starts_at=datetime.combine(tomorrow, time(h), tzinfo=tz).astimezone(UTC),
            ends_at=datetime.combine(tomorrow, time(h + 3), tzinfo=tz).astimezone(UTC),
            capacity=capacity,
        )
        for service, h, capacity in [("PICC_MAINT", 8, 1), ("PORT_MAINT", 13, 5)]
    ]
    session.add_all(slots)
    session.commit()
    return {
        "home": home,
        "nurse": nurse,
        "outsider": outsider,
        "picc": picc,
        "port": port,
        "twins": (twin_a, twin_b),
        "removed": removed,
        "account": account,
        "patient_id": picc.patient_id,
        "slots": slots,
        "today": today,
    }


def nurse_form(action, domain, ward, **extra):
    return FormDriver(
        action,
        domain,
        "work:n1",
        role="nurse",
        channel="work",
        staff_id=ward["nurse"].id,
        institution_id=ward["home"].id,
        **extra,
    )


def patient_form(action, domain, ward, **extra):
    return FormDriver(
        action,
        domain,
        "mp:o-pat",
        role="patient",
        channel="mp",
        account_id=ward["account"].id,
        active_patient_id=ward["patient_id"],
        **extra,
    )


def count(session_factory, model, *where) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- maintenance --------------------------------------------------------------------------


@pytest.mark.req("C3.2", "C3.3")
def test_quick_maintenance_checks_each_value_warns_on_red_flags_and_moves_the_due_date(
    domain, ward, session_factory
):
    f = nurse_form(maintenance.ValidateMaintenanceForm(), domain, ward)
    said = f.say("刚给王丽娟做完维护", "register_maintenance", [("patient_name", "王丽娟")])
    assert "为 王丽娟 PICC" in said and f.asking == "m_items"
    assert "没有看懂" in f.say("嗯嗯")
    assert f.asking == "m_items"
    f.say("都做了")
    assert f.slots["m_items"] == ["FLUSH_LOCK", "DRESSING", "CONNECTOR"]
    assert "0–40 cm" in f.say("外露500cm")  # out of range: asked again with the range
    assert f.asking == "m_external_length"
    f.say("外露3厘米")
    assert f.asking == "m_arm_circumference"
    f.say("29")  # +3 cm over the 26 cm baseline
    said = f.say("正常")
    assert "请核对本次维护" in said and "外露长度：3.0 cm" in said and "臂围：29.0 cm" in said
    assert count(session_factory, MaintenanceRecord) == 0  # nothing saved before confirming
    f.say("确认", "affirm")
    assert f.asking is None
    said = f.submit(maintenance.ActionSubmitMaintenance())
    due = ward["today"] + timedelta(days=7)
    assert f"下次维护日期：{due:%Y年%m月%d日}" in said
    assert "臂围较基线增加 3.0cm" in said
    assert any(
        b["payload"] == "/report_complication" for m in f.messages for b in m.get("buttons") or []
    )
    with session_factory() as s:
        record = s.scalars(select(MaintenanceRecord)).one()
        assert (record.flushed, record.dressing_changed, record.connector_changed) == (
            True,
            True,
            True,
        )
        assert record.red_flags == ["ARM_CIRCUMFERENCE_INCREASE"]
        assert s.get(Catheter, ward["picc"].id).next_due_on == due
    assert all(v is None for k, v in f.slots.items() if k.startswith("m_"))  # ready for next time


@pytest.mark.req("C3.2", "C3.3")
def test_the_same_confirmation_twice_saves_one_record(domain, ward, session_factory):
    f = nurse_form(maintenance.ValidateMaintenanceForm(), domain, ward)
    f.say("登记维护", "register_maintenance", [("patient_name", "王丽娟")])
    for text in ["冲封管", "未测", "未测", "正常", "确认"]:
        f.say(text)
    slots = dict(f.slots)
    first = f.submit(maintenance.ActionSubmitMaintenance())
    # the same inbound message processed again (e.g. after a worker crash): same inbox id
    f.slots, f._n = slots, f._n - 1
    again = f.submit(maintenance.ActionSubmitMaintenance())
    assert "维护已登记" in first and "已经登记过，没有重复保存" in again
    assert count(session_factory, MaintenanceRecord) == 1


@pytest.mark.req("C3.2")
def test_a_port_is_not_asked_external_length_or_arm(domain, ward):
    f = nurse_form(maintenance.ValidateMaintenanceForm(), domain, ward)
    f.say("赵港维护", "register_maintenance", [("patient_name", "赵港")])
    f.say("都做了")
    assert f.slots["m_items"] == ["FLUSH_LOCK", "NEEDLE"]
    assert f.asking == "m_site"


@pytest.mark.req("C3.2")
def test_same_name_offers_a_numbered_choice(domain, ward):
    f = nurse_form(maintenance.ValidateMaintenanceForm(), domain, ward)
    said = f.say("登记维护", "register_maintenance")
    assert f.asking == "m_catheter" and said == ""  # the question itself is utter_ask_m_catheter
    said = f.say("张伟")
    assert "请回复序号" in said and "1. 张伟" in said and "2. 张伟" in said
    f.say("2")
    assert f.slots["m_catheter"] in {c.id for c in ward["twins"]}
    assert f.asking == "m_items"


@pytest.mark.req("C3.2")
def test_leaving_half_way_saves_nothing_and_clears_the_form(domain, ward, session_factory):
    f = nurse_form(maintenance.ValidateMaintenanceForm(), domain, ward)
    f.say("登记维护", "register_maintenance", [("patient_name", "王丽娟")])
    f.say("都做了")
    assert "没有保存任何内容" in f.cancel("算了")
    assert not f.active and f.slots["m_catheter"] is None and f.slots["m_items"] is None
    assert count(session_factory, MaintenanceRecord) == 0


@pytest.mark.req("C3.2")
def test_a_patient_cannot_register_maintenance(domain, ward, session_factory):
    f = patient_form(maintenance.ValidateMaintenanceForm(), domain, ward)
    f.say("登记维护", "register_maintenance", [("patient_name", "王丽娟")])
    assert f.asking is None and not f.active  # the form asks nothing
    assert "仅向医护人员开放" in f.submit(maintenance.ActionSubmitMaintenance())
    assert count(session_factory, MaintenanceRecord) == 0


@pytest.mark.req("C3.2")
def test_removed_catheters_and_unrelated_patients_are_not_offered(domain, ward):
    f = nurse_form(maintenance.ValidateMaintenanceForm(), domain, ward)
    assert "没有找到带管在位的患者" in f.say(
        "钱已拔维护", "register_maintenance", [("patient_name", "钱已拔")]
    )
    outsider = FormDriver(
        maintenance.ValidateMaintenanceForm(),
        domain,
        "work:x1",
        role="outside_clinician",
        channel="work",
        staff_id=ward["outsider"].id,
    )
    said = outsider.say("王丽娟维护", "register_maintenance", [("patient_name", "王丽娟")])
    assert "或您无权查看" in said and outsider.asking == "m_catheter"


@pytest.mark.req("C3.2", "X.1")
def test_lookups_in_the_form_are_audited(domain, ward, session_factory):
    f = nurse_form(maintenance.ValidateMaintenanceForm(), domain, ward)
    f.say("王丽娟维护", "register_maintenance", [("patient_name", "王丽娟")])
    with session_factory() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.context == "chat-form")).one()
        assert (entry.actor_id, entry.patient_id) == (ward["nurse"].id, ward["patient_id"])


# --- complication -------------------------------------------------------------------------


@pytest.mark.req("C3.2", "C3.4")
def test_complication_report_checks_grade_and_date_then_saves_once(domain, ward, session_factory):
    f = nurse_form(complication.ValidateComplicationForm(), domain, ward)
    f.say(
        "王丽娟静脉炎",
        "report_complication",
        [("patient_name", "王丽娟"), ("complication", "PHLEBITIS")],
    )
    assert f.asking == "c_grade"
    assert "0–4 级" in f.say("5级")
    f.say("Ⅱ度")
    assert f.slots["c_grade"] == 2
    assert "与今天之间" in f.say("明天")  # onset in the future
    f.say("昨天")
    f.say("穿刺点上方红肿，沿静脉走向疼痛")
    said = f.say("确认")
    said = f.submit(complication.ActionSubmitComplication())
    assert "并发症已上报" in said
    with session_factory() as s:
        c = s.scalars(select(Complication)).one()
        assert (c.type, c.grade, c.onset_on) == ("PHLEBITIS", 2, ward["today"] - timedelta(days=1))
    # the same complication reported again by a colleague is the same record
    g = nurse_form(complication.ValidateComplicationForm(), domain, ward)
    g.say(
        "王丽娟静脉炎",
        "report_complication",
        [("patient_name", "王丽娟"), ("complication", "PHLEBITIS")],
    )
    for text in ["2", "昨天", "红肿疼痛", "确认"]:
        g.say(text)
    assert "已上报过" in g.submit(complication.ActionSubmitComplication())
    assert count(session_factory, Complication) == 1


@pytest.mark.req("C3.4")
def test_c3_4_grade_and_onset_said_in_the_report_are_not_asked_again(domain, ward):
    f = nurse_form(complication.ValidateComplicationForm(), domain, ward)
    f.say(
        "王丽娟 静脉炎二级，昨天发现的",
        "report_complication",
        [("patient_name", "王丽娟"), ("complication", "PHLEBITIS")],
    )
    assert f.asking == "c_history"
    assert f.slots["c_grade"] == 2
    assert f.slots["c_onset"] == (ward["today"] - timedelta(days=1)).isoformat()
    g = nurse_form(complication.ValidateComplicationForm(), domain, ward)
    g.say("王丽娟静脉炎5级，明天", "report_complication", [("patient_name", "王丽娟")])
    assert g.asking == "c_grade"  # a grade off the scale and a future onset are asked again


@pytest.mark.req("C3.4")
def test_a_type_without_scale_skips_the_grade_and_port_only_types_are_refused_for_a_picc(
    domain, ward
):
    f = nurse_form(complication.ValidateComplicationForm(), domain, ward)
    f.say("上报并发症", "report_complication", [("patient_name", "王丽娟")])
    assert "只适用于" in f.say("囊袋感染")
    f.say("胶布过敏")
    assert f.slots["c_type"] == "MARSI" and f.asking == "c_onset"


@pytest.mark.req("C3.4")
def test_a_denied_confirmation_saves_nothing(domain, ward, session_factory):
    f = nurse_form(complication.ValidateComplicationForm(), domain, ward)
    f.say("上报堵管", "report_complication", [("patient_name", "王丽娟")])
    for text in ["堵管", "今天", "回抽无回血", "不对"]:
        f.say(text)
    assert "没有保存任何内容" in f.submit(complication.ActionSubmitComplication(), "不对")
    assert count(session_factory, Complication) == 0


# --- appointment --------------------------------------------------------------------------


@pytest.mark.req("P8.1")
def test_booking_never_exceeds_capacity(domain, ward, session_factory):
    f = patient_form(appointment.ValidateAppointmentForm(), domain, ward)
    said = f.say("预约维护", "book_appointment")
    assert "1. 本院" in said
    f.say("1")
    assert "30天内" in f.say("下个月30号")
    said = f.say("明天")
    assert "1. 08:00-11:00 PICC维护（余1）" in said
    f.say("1")
    f.say("确认")
    assert "预约成功" in f.submit(appointment.ActionSubmitAppointment())
    assert count(session_factory, Appointment) == 1
    # another patient racing for the same last place is refused
    with session_factory() as s:
        other = Patient(name="别人")
        s.add(other)
        s.commit()
        other_id = other.id
    g = FormDriver(
        appointment.ValidateAppointmentForm(),
        domain,
        "mp:o-2",
        role="patient",
        channel="mp",
        account_id=None,
        active_patient_id=other_id,
    )
    g.slots.update(
        a_institution=ward["home"].id,
        a_date=(ward["today"] + timedelta(days=1)).isoformat(),
        a_slot=ward["slots"][0].id,
        a_confirm=True,
    )
    assert "已约满" in g.submit(appointment.ActionSubmitAppointment())
    with session_factory() as s:
        assert s.get(AppointmentSlot, ward["slots"][0].id).booked == 1


@pytest.mark.req("P8.1")
def test_a_clinician_cannot_book_and_an_unbound_patient_is_told_to_bind(domain, ward):
    f = nurse_form(appointment.ValidateAppointmentForm(), domain, ward)
    f.say("预约维护", "book_appointment")
    assert "该功能面向患者" in f.submit(appointment.ActionSubmitAppointment())
    g = FormDriver(
        appointment.ValidateAppointmentForm(),
        domain,
        "mp:o-new",
        role="patient",
        channel="mp",
        active_patient_id=None,
    )
    g.say("预约维护", "book_appointment")
    assert "先绑定就诊人" in g.submit(appointment.ActionSubmitAppointment())


# --- consultation -------------------------------------------------------------------------


@pytest.mark.req("C5.1")
def test_c5_1_consultation_request_is_recorded_with_its_requester_and_consultant(
    domain, ward, session_factory
):
    with session_factory() as s:  # the home hospital's vascular-access expert
        nurse = s.get(Staff, ward["nurse"].id)
        expert = Staff(
            institution_id=nurse.institution_id,
            staff_no="E900",
            name="周静",
            role=StaffRole.NURSE,
            is_vascular_expert=True,
            wecom_userid="e900",
        )
        s.add(expert)
        s.commit()
        expert_id = expert.id
    f = nurse_form(consultation.ValidateConsultationForm(), domain, ward)
    f.say("申请会诊", "request_consultation", [("patient_name", "王丽娟")])
    assert "5到500个字" in f.say("会诊")
    f.say("右上臂肿胀三天，超声提示血栓，是否需要拔管")
    assert "普通" in f.say("随便")
    f.say("加急")
    f.say("确认")
    said = f.submit(consultation.ActionSubmitConsultation())
    assert "会诊申请已提交" in said and "周静" in said
    with session_factory() as s:
        c = s.scalars(select(Consultation)).one()
        assert c.title.startswith("右上臂肿胀三天") and c.requested_by_id == ward["nurse"].id
        assert c.status is ConsultationStatus.REQUESTED and c.urgent
        roles = {(m.staff_id, m.role) for m in c.members}
        assert roles == {(ward["nurse"].id, "requester"), (expert_id, "consultant")}


# --- follow-up plan (set_next_maintenance / set_follow_up) --------------------------------


@pytest.mark.req("C3.3", "X.1")
def test_next_maintenance_date_set_in_chat_moves_the_due_date_after_one_confirmation(
    domain, ward, session_factory
):
    today = ward["today"]
    f = nurse_form(follow_up.ValidateFollowUpForm(), domain, ward)
    said = f.say(
        "王丽娟下次维护定在5天后",
        "set_next_maintenance",
        [("patient_name", "王丽娟"), ("date", "5天后")],
    )
    due = today + timedelta(days=5)
    assert "请核对随访设置" in said and f"下次维护 {due:%Y年%m月%d日}" in said
    assert f.asking == "f_confirm"
    with session_factory() as s:  # nothing saved before the confirmation
        assert s.get(Catheter, ward["picc"].id).next_due_on == today
    f.say("确认")
    assert "随访计划已保存" in f.submit(follow_up.ActionSubmitFollowUp())
    with session_factory() as s:
        c = s.get(Catheter, ward["picc"].id)
        assert c.next_due_on == due and c.next_due_explicit
        assert (
            s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(
                    AuditLog.object_type == "catheter_follow_up", AuditLog.object_id == str(c.id)
                )
            )
            == 1
        )


@pytest.mark.req("C3.3")
def test_a_name_the_model_missed_is_still_read_from_the_start_of_the_message(domain, ward):
    """ "王丽娟下次维护定在5天后" with no patient_name entity: the name of a patient the nurse
    may see is taken; words that are no patient's name are not."""
    f = nurse_form(follow_up.ValidateFollowUpForm(), domain, ward)
    said = f.say("王丽娟下次维护定在5天后", "set_next_maintenance")
    assert f.asking == "f_confirm" and "王丽娟 PICC" in said
    g = nurse_form(follow_up.ValidateFollowUpForm(), domain, ward)
    g.say("修改随访计划", "set_follow_up")
    assert g.asking == "f_catheter"


@pytest.mark.req("C3.3", "A7.4")
def test_tier_and_cycle_asked_when_missing_and_checked(domain, ward, session_factory):
    f = nurse_form(follow_up.ValidateFollowUpForm(), domain, ward)
    f.say("修改随访计划", "set_follow_up")
    assert f.asking == "f_catheter"
    f.say("赵港")
    assert f.asking == "f_plan"
    assert "没有看懂" in f.say("嗯")
    assert "1–180 天" in f.say("每300天随访")
    assert f.asking == "f_plan"
    said = f.say("改为高危，每2天随访，注意事项：凝血差，注意出血")
    assert "分级 高危（A）" in said and "每2天" in said and "凝血差" in said
    f.say("确认")
    said = f.submit(follow_up.ActionSubmitFollowUp())
    today = ward["today"]
    assert f"下次随访 {today + timedelta(days=2):%Y年%m月%d日}" in said
    with session_factory() as s:
        c = s.get(Catheter, ward["port"].id)
        assert (c.tier, c.follow_up_cycle_days, c.follow_up_notes) == ("A", 2, "凝血差，注意出血")
        # the follow-up cycle is a check-in every 2 days from today; the idle port's maintenance
        # stays 4 weeks from its placement ten days ago
        assert c.next_follow_up_on == today + timedelta(days=2)
        assert c.next_due_on == today + timedelta(days=18) and not c.next_due_explicit


@pytest.mark.req("C3.3")
def test_follow_up_date_in_the_past_is_asked_again_and_stop_saves_nothing(
    domain, ward, session_factory
):
    f = nurse_form(follow_up.ValidateFollowUpForm(), domain, ward)
    f.say("下次维护改到昨天", "set_next_maintenance", [("patient_name", "王丽娟")])
    assert f.asking == "f_plan"
    f.say("下次维护 3天后")
    assert f.asking == "f_confirm"
    assert "没有保存" in f.cancel()
    with session_factory() as s:
        assert s.get(Catheter, ward["picc"].id).next_due_on == ward["today"]


@pytest.mark.req("C3.3")
def test_notes_alone_keep_a_next_date_set_by_hand(domain, ward, session, session_factory):
    c = session.get(Catheter, ward["picc"].id)
    explicit = ward["today"] + timedelta(days=4)
    c.next_due_on, c.next_due_explicit = explicit, True
    session.commit()
    f = nurse_form(follow_up.ValidateFollowUpForm(), domain, ward)
    f.say("王丽娟 注意事项：观察臂围", "set_follow_up", [("patient_name", "王丽娟")])
    f.say("确认")
    assert f"下次维护 {explicit:%Y年%m月%d日}" in f.submit(follow_up.ActionSubmitFollowUp())
    with session_factory() as s:
        c = s.get(Catheter, ward["picc"].id)
        assert (c.next_due_on, c.next_due_explicit, c.follow_up_notes) == (
            explicit,
            True,
            "观察臂围",
        )


@pytest.mark.req("C3.3")
def test_patient_asking_to_set_a_follow_up_is_refused(domain, ward):
    f = patient_form(follow_up.ValidateFollowUpForm(), domain, ward)
    f.say("下次维护定在明天", "set_next_maintenance")
    assert f.asking is None
    assert "仅向医护人员开放" in f.submit(follow_up.ActionSubmitFollowUp())


# --- outside-clinician application -----------------------------------------------------------


@pytest.mark.req("C1.2")
def test_outside_application_checks_phone_and_licence_and_encrypts_the_phone(
    domain, ward, session_factory, cipher
):
    f = FormDriver(
        application.ValidateApplicationForm(), domain, "work:newdoc", role="unknown", channel="work"
    )
    f.say("我是外院护士，想申请注册", "apply_outside")
    assert "真实姓名" in f.say("a")
    for text in ["周建军", "县妇幼保健院", "血液科", "主管护师"]:
        f.say(text)
    assert "11位手机号码" in f.say("12345")
    f.say("138 1234 5678")
    assert "8–30位" in f.say("12-34")
    said = f.say("201633000123")
    assert "138****5678" in said  # masked on screen
    f.say("确认")
    assert "待审核" in f.submit(application.ActionSubmitApplication())
    with session_factory() as s:
        a = s.scalars(select(OutsideApplication)).one()
        assert b"13812345678" not in a.phone_enc and a.wecom_userid == "newdoc"
    # applying again with the same mobile shows the existing application
    g = FormDriver(
        application.ValidateApplicationForm(), domain, "mp:o-x", role="patient", channel="mp"
    )
    g.say("外院医生注册", "apply_outside")
    for text in ["周建军", "县妇幼保健院", "血液科", "主管护师"]:
        g.say(text)
    assert "已有注册申请" in g.say("13812345678")
    assert g.asking is None
    g.submit(application.ActionSubmitApplication())
    assert count(session_factory, OutsideApplication) == 1


@pytest.mark.req("C1.2")
def test_registered_staff_need_no_application(domain, ward):
    f = nurse_form(application.ValidateApplicationForm(), domain, ward)
    f.say("申请注册", "apply_outside")
    assert "已是注册医护人员" in f.submit(application.ActionSubmitApplication())


@pytest.mark.req("C3.2")
def test_placement_date_is_said_on_the_hospital_calendar(domain, ward, session, session_factory):
    """A line placed at 04:00 Beijing time is placed that day, not the UTC day before."""
    c = session.get(Catheter, ward["port"].id)
    c.placed_at = datetime(2026, 11, 19, 20, 0, tzinfo=UTC)  # 2026-11-20 04:00 in Shanghai
    session.commit()
    f = nurse_form(maintenance.ValidateMaintenanceForm(), domain, ward)
    said = f.say("登记维护 赵港", "register_maintenance", [("patient_name", "赵港")])
    assert "2026-11-20置入" in said
