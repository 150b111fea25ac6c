"""Issue 14 in the clinician chat, turn by turn against the database: handling steps and
closing (C3.4), photos after a report, the complication lists (C3.5) and removal (拔管),
with "算了" in each flow leaving nothing behind."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta

import pytest
from PIL import Image
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from bot.care.rules import local_date
from bot.models import (
    Catheter,
    Complication,
    ComplicationPhoto,
    ComplicationStep,
    Institution,
    Patient,
    Removal,
    Staff,
    utcnow,
)
from bot.models.enums import ActorType, CatheterState, ComplicationStatus, StaffRole
from bot.services import audit
from bot.services import complications as complication_service
from bot.services import dictionary as dictionary_service
from nlu.actions import (
    complication,
    complication_lists,
    complication_photos,
    handling,
    removal,
    removal_submit,
)
from tests.support.forms import FormDriver

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("action_runtime")]


@pytest.fixture
def ward(session, settings):
    tz = settings.timezone
    home = Institution(code="HOME", name="本院", is_home=True)
    nurse = Staff(
        institution=home, staff_no="N1", name="李护士", role=StaffRole.NURSE, wecom_userid="n1"
    )
    colleague = Staff(
        institution=home, staff_no="N2", name="周护士", role=StaffRole.NURSE, wecom_userid="n2"
    )
    session.add_all([home, nurse, colleague])
    session.flush()
    today = local_date(utcnow(), tz)

    def line(name: str, state: CatheterState = CatheterState.IN_PLACE, **kw) -> Catheter:
        p = Patient(name=name)
        session.add(p)
        session.flush()
        c = Catheter(
            patient_id=p.id,
            device_type="PICC",
            institution_id=home.id,
            placed_at=utcnow() - timedelta(days=20),
            next_due_on=today,
            state=state,
            **kw,
        )
        session.add(c)
        session.flush()
        return c

    fang = line("王芳", last_maintained_on=today - timedelta(days=1))
    li = line("李建国")
    removed = line("钱已拔", CatheterState.REMOVED, removed_on=today - timedelta(days=3))
    session.commit()
    return {
        "home": home,
        "nurse": nurse,
        "colleague": colleague,
        "fang": fang,
        "li": li,
        "removed": removed,
        "today": today,
        "tz": tz,
    }


_drivers = itertools.count(1)


def nurse(action, domain, ward, **extra):
    # a driver numbers its messages from 1: its own sender keeps the inbox ids (the
    # idempotency keys) of two conversations apart, as the real inbox does
    return FormDriver(
        action,
        domain,
        f"work:n1:{next(_drivers)}",
        role="nurse",
        channel="work",
        staff_id=ward["nurse"].id,
        institution_id=ward["home"].id,
        **extra,
    )


def reported(session_factory, ward, catheter, type_code="PHLEBITIS", *, by="nurse", grade=2):
    with session_factory() as s:
        d = dictionary_service.current(s)
        result = complication_service.report(
            s,
            d,
            catheter.id,
            type_code=type_code,
            onset_on=ward["today"] - timedelta(days=1),
            grade=grade,
            brief_history="穿刺点红肿",
            tz=ward["tz"],
            actor=audit.Actor(ActorType.STAFF, ward[by].id),
            institution_id=ward["home"].id,
        )
        s.commit()
        return result.complication.id


def run(action, f: FormDriver, text="", intent="upload_image", entities=()) -> str:
    """A plain action in the driver's conversation (its slots, the form it runs)."""
    tracker = f._tracker(text, intent, list(entities))
    dispatcher = CollectingDispatcher()
    for event in action.run(dispatcher, tracker, f.domain):
        if event.get("event") == "slot":
            f.slots[event["name"]] = event["value"]
    f.messages = dispatcher.messages
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def photo(tmp_path, name="site.jpg", colour=(200, 80, 80)):
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buf, "JPEG")
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    return [("media_path", str(path)), ("sha256", name)]


def count(session_factory, model, *where) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def steps(session_factory, complication_id) -> list[ComplicationStep]:
    with session_factory() as s:
        return list(
            s.scalars(
                select(ComplicationStep)
                .where(ComplicationStep.complication_id == complication_id)
                .order_by(ComplicationStep.id)
            )
        )


def handle(f: FormDriver, text: str, *entities) -> str:
    return f.say(text, "handle_complication", list(entities))


# --- handling steps and closing (C3.4) ---------------------------------------------------


@pytest.mark.req("C3.4")
def test_c3_4_a_step_said_in_one_message_is_recorded_at_once(domain, ward, session_factory):
    cid = reported(session_factory, ward, ward["fang"])
    f = nurse(handling.ValidateHandlingForm(), domain, ward)
    handle(f, "王芳的静脉炎已处理：硫酸镁湿敷", ("complication", "PHLEBITIS"))
    assert f.asking is None  # nothing asked again
    said = f.submit(handling.ActionSubmitHandling())
    assert f"#{cid}" in said and "湿热敷：硫酸镁湿敷" in said
    step = steps(session_factory, cid)[-1]
    assert (step.kind, step.action, step.staff_id) == (
        "WARM_COMPRESS",
        "硫酸镁湿敷",
        ward["nurse"].id,
    )
    with session_factory() as s:
        assert s.get(Complication, cid).status is ComplicationStatus.HANDLING
    assert f.slots["photo_target"]["step"] == step.id  # a photo sent next goes to this step
    assert f.slots["h_complication"] is None  # the form is cleared


@pytest.mark.req("C3.4")
def test_c3_4_a_bed_and_a_type_find_the_nurses_own_open_complication(domain, ward, session_factory):
    phlebitis = reported(session_factory, ward, ward["fang"])
    occlusion = reported(session_factory, ward, ward["li"], "OCCLUSION_PARTIAL", grade=None)
    f = nurse(handling.ValidateHandlingForm(), domain, ward)
    handle(f, "3床堵管 尿激酶通管后通畅", ("bed", "3"), ("complication", "OCCLUSION"))
    assert f.asking is None
    f.submit(handling.ActionSubmitHandling())
    step = steps(session_factory, occlusion)[-1]
    assert (step.kind, step.action) == ("THROMBOLYSIS", "尿激酶通管后通畅")
    g = nurse(handling.ValidateHandlingForm(), domain, ward)
    handle(g, "王芳的血栓今天开始抗凝了", ("complication", "THROMBOSIS"))
    assert "没有找到王芳的导管相关血栓" in "\n".join(m.get("text") or "" for m in g.messages) or (
        g.asking == "h_complication"
    )
    assert g.cancel() and count(session_factory, ComplicationStep) == 3  # 2 reports + 1 step
    h = nurse(handling.ValidateHandlingForm(), domain, ward)
    handle(h, "王芳今天开始抗凝了")
    h.submit(handling.ActionSubmitHandling())
    assert steps(session_factory, phlebitis)[-1].kind == "ANTICOAGULATION"


@pytest.mark.req("C3.4")
def test_c3_4_a_vague_message_offers_a_choice_then_asks_what_was_done(
    domain, ward, session_factory
):
    first = reported(session_factory, ward, ward["fang"])
    second = reported(session_factory, ward, ward["li"], "OCCLUSION_PARTIAL", grade=None)
    f = nurse(handling.ValidateHandlingForm(), domain, ward)
    said = handle(f, "更新并发症处理")
    assert f.asking == "h_complication"
    assert f"#{first}" in said and f"#{second}" in said and "回复序号" in said
    assert "请回复 1–2 之间的序号" in f.say("第9个") and f.asking == "h_complication"
    f.say("2" if f.slots["h_choices"][1] == second else "1")
    assert f.asking == "h_text"
    assert "做了什么处理" in f.say("更新一下")
    f.say("抬高患肢，继续观察")
    f.submit(handling.ActionSubmitHandling())
    assert steps(session_factory, second)[-1].action == "抬高患肢，继续观察"


@pytest.mark.req("C3.4")
def test_c3_4_closing_asks_one_confirmation_and_keeps_the_outcome(domain, ward, session_factory):
    cid = reported(session_factory, ward, ward["fang"])
    f = nurse(handling.ValidateHandlingForm(), domain, ward)
    said = handle(f, "12床静脉炎好了，结案", ("bed", "12"), ("complication", "PHLEBITIS"))
    assert f.asking == "h_confirm"
    assert f"#{cid}" in said and "转归：已痊愈" in said
    f.say("确认")
    assert "已结案" in f.submit(handling.ActionSubmitHandling())
    with session_factory() as s:
        c = s.get(Complication, cid)
        assert (c.status, c.outcome, c.closed_by_id) == (
            ComplicationStatus.CLOSED,
            "RESOLVED",
            ward["nurse"].id,
        )
    # closing again is answered, nothing changes
    g = nurse(handling.ValidateHandlingForm(), domain, ward)
    assert "无需重复结案" in handle(g, "王芳静脉炎结案", ("complication", "PHLEBITIS"))
    assert g.asking is None
    assert g.submit(handling.ActionSubmitHandling()) == ""


@pytest.mark.req("C3.4")
def test_c3_4_closing_without_an_outcome_asks_for_it(domain, ward, session_factory):
    cid = reported(session_factory, ward, ward["fang"])
    f = nurse(handling.ValidateHandlingForm(), domain, ward)
    handle(f, "王芳的并发症可以结案了")
    assert f.asking == "h_outcome"
    assert "请回复转归" in f.say("嗯")
    f.say("好转")
    f.say("确认")
    f.submit(handling.ActionSubmitHandling())
    with session_factory() as s:
        assert s.get(Complication, cid).outcome == "IMPROVING"


@pytest.mark.req("C3.4")
def test_c3_4_a_step_on_a_closed_complication_asks_whether_to_reopen(domain, ward, session_factory):
    cid = reported(session_factory, ward, ward["fang"])
    with session_factory() as s:
        d = dictionary_service.current(s)
        actor = audit.Actor(ActorType.STAFF, ward["nurse"].id)
        complication_service.close(s, d, cid, outcome="RESOLVED", note=None, actor=actor)
        s.commit()
    f = nurse(handling.ValidateHandlingForm(), domain, ward)
    said = handle(f, "王芳的静脉炎又红了：硫酸镁湿敷", ("complication", "PHLEBITIS"))
    assert f.asking == "h_reopen" and "已于" in said and "结案（已痊愈）" in said
    f.say("否")
    assert "没有重新开启" in f.submit(handling.ActionSubmitHandling())
    assert len(steps(session_factory, cid)) == 2  # report, close
    g = nurse(handling.ValidateHandlingForm(), domain, ward)
    handle(g, "王芳的静脉炎又红了：硫酸镁湿敷", ("complication", "PHLEBITIS"))
    g.say("是")
    assert "已重新开启并记录处理" in g.submit(handling.ActionSubmitHandling())
    with session_factory() as s:
        c = s.get(Complication, cid)
        assert (c.status, c.reopened_count) == (ComplicationStatus.HANDLING, 1)
    assert [x.kind for x in steps(session_factory, cid)][-2:] == ["REOPEN", "WARM_COMPRESS"]


@pytest.mark.req("C3.4")
def test_c3_4_cancel_in_a_handling_step_saves_nothing(domain, ward, session_factory):
    cid = reported(session_factory, ward, ward["fang"])
    f = nurse(handling.ValidateHandlingForm(), domain, ward)
    handle(f, "王芳的并发症结案")
    assert f.asking == "h_outcome"
    assert "已取消" in f.cancel()
    assert not f.active and f.slots["h_complication"] is None and f.slots["h_closing"] is None
    assert len(steps(session_factory, cid)) == 1
    with session_factory() as s:
        assert s.get(Complication, cid).status is ComplicationStatus.OPEN


@pytest.mark.req("C3.4")
def test_c3_4_a_patient_cannot_record_a_handling_step(domain, ward):
    f = FormDriver(handling.ValidateHandlingForm(), domain, "mp:o1", role="patient", channel="mp")
    f.say("静脉炎已处理", "handle_complication")
    assert f.asking is None
    assert "仅向医护人员开放" in f.submit(handling.ActionSubmitHandling())


# --- photos (C3.4) -----------------------------------------------------------------------


@pytest.mark.req("C3.4")
def test_c3_4_a_photo_right_after_a_report_attaches_to_it_once(
    domain, ward, session_factory, tmp_path
):
    f = nurse(handling.ValidateHandlingForm(), domain, ward)
    assert "/staff/complications" in run(
        complication_photos.ActionComplicationPhoto(), f, entities=photo(tmp_path)
    )
    cid = reported(session_factory, ward, ward["fang"])
    said = run(complication_photos.ActionComplicationPhoto(), f, entities=photo(tmp_path))
    assert f"已添加1张照片到并发症 #{cid}（王芳 静脉炎）" in said
    run(complication_photos.ActionComplicationPhoto(), f, entities=photo(tmp_path))  # again
    assert count(session_factory, ComplicationPhoto) == 1
    junk = tmp_path / "note.jpg"
    junk.write_bytes(b"not a photo at all")
    said = run(
        complication_photos.ActionComplicationPhoto(),
        f,
        entities=[("media_path", str(junk)), ("sha256", "junk")],
    )
    assert "照片未添加" in said
    assert count(session_factory, ComplicationPhoto) == 1
    with session_factory() as s:
        assert s.get(Complication, cid) is not None


@pytest.mark.req("C3.4")
def test_c3_4_photos_sent_while_reporting_are_saved_with_the_report(
    domain, ward, session_factory, tmp_path
):
    f = nurse(complication.ValidateComplicationForm(), domain, ward)
    f.say(
        "王芳静脉炎",
        "report_complication",
        [("patient_name", "王芳"), ("complication", "PHLEBITIS")],
    )
    f.say("2")
    f.say("昨天")
    assert f.asking == "c_history"
    said = run(complication_photos.ActionComplicationPhoto(), f, entities=photo(tmp_path, "a.jpg"))
    assert "已收到1张照片" in said
    run(
        complication_photos.ActionComplicationPhoto(),
        f,
        entities=photo(tmp_path, "b.jpg", (1, 2, 3)),
    )
    assert len(f.slots["c_photos"]) == 2
    f.say("", "upload_image", photo(tmp_path, "c.jpg"))  # the form does not take it as an answer
    assert f.asking == "c_history" and f.slots.get("c_history") is None
    f.say("穿刺点红肿")
    f.say("确认")
    said = f.submit(complication.ActionSubmitComplication())
    assert "并发症已上报" in said and "已添加2张照片" in said
    assert count(session_factory, ComplicationPhoto) == 2
    assert f.slots["c_photos"] is None


@pytest.mark.req("C3.4")
def test_c3_4_a_photo_after_a_handling_step_goes_to_that_step(
    domain, ward, session_factory, tmp_path
):
    cid = reported(session_factory, ward, ward["li"], by="colleague")
    f = nurse(handling.ValidateHandlingForm(), domain, ward)
    handle(f, "李建国的静脉炎已冷敷", ("complication", "PHLEBITIS"))
    f.submit(handling.ActionSubmitHandling())
    run(complication_photos.ActionComplicationPhoto(), f, entities=photo(tmp_path))
    with session_factory() as s:
        kept = s.scalars(select(ComplicationPhoto)).one()
        assert (kept.complication_id, kept.step_id) == (cid, f.slots["photo_target"]["step"])


# --- lists (C3.5) ------------------------------------------------------------------------


@pytest.mark.req("C3.5")
def test_c3_5_my_and_open_complications_are_listed_with_links(domain, ward, session_factory):
    mine = reported(session_factory, ward, ward["fang"])
    theirs = reported(
        session_factory, ward, ward["li"], "OCCLUSION_PARTIAL", by="colleague", grade=None
    )
    f = nurse(handling.ValidateHandlingForm(), domain, ward)
    said = run(complication_lists.ActionListComplications(), f, "我的并发症", "list_complications")
    assert f"#{mine} 王芳" in said and f"#{theirs}" not in said
    urls = [m["custom"]["url"] for m in f.messages if m.get("custom")]
    assert any(u.endswith(f"/staff/complications/{mine}") for u in urls)
    assert any("/staff/complications?" in u and "mine=1" in u for u in urls)
    said = run(
        complication_lists.ActionListComplications(), f, "未结案并发症", "list_complications"
    )
    assert f"#{mine}" in said and f"#{theirs}" in said and "未结案" in said


@pytest.mark.req("C3.5")
def test_c3_5_a_patient_asking_for_complications_gets_their_own_records(domain, ward):
    f = FormDriver(handling.ValidateHandlingForm(), domain, "mp:o1", role="patient", channel="mp")
    said = run(complication_lists.ActionListComplications(), f, "我的并发症", "list_complications")
    assert "#" not in said


# --- removal -----------------------------------------------------------------------------


@pytest.mark.req("C3.3")
def test_removal_after_a_scan_asks_each_detail_and_registers_once(domain, ward, session_factory):
    f = nurse(removal.ValidateRemovalForm(), domain, ward)
    f.slots["scanned_catheter_id"] = ward["li"].id
    f.say("拔管", "remove_catheter")
    assert f.asking == "r_date"
    assert "晚于今天" in f.say("明天")
    f.say("今天")
    assert f.asking == "r_reason"
    assert "没有看懂" in f.say("嗯")
    f.say("治疗结束")
    assert f.asking == "r_intact"
    f.say("完整")
    assert "尖端培养" in f.say("不知道") or f.asking == "r_culture"
    said = f.say("已送，阴性")
    assert f.asking == "r_confirm"
    assert "李建国" in said and "治疗结束" in said and "已送，阴性" in said
    f.say("确认")
    said = f.submit(removal_submit.ActionSubmitRemoval())
    assert "拔管已登记" in said and "留置20天" in said
    with session_factory() as s:
        r = s.scalars(select(Removal)).one()
        assert (r.reason, r.catheter_intact, r.tip_culture_sent, r.tip_culture_result) == (
            "END_OF_THERAPY",
            True,
            True,
            "阴性",
        )
        assert s.get(Catheter, ward["li"].id).state is CatheterState.REMOVED
    assert f.slots["scanned_catheter_id"] is None


@pytest.mark.req("C3.3")
def test_removal_said_in_one_message_asks_only_what_is_missing(domain, ward, session_factory):
    f = nurse(removal.ValidateRemovalForm(), domain, ward)
    said = f.say("12床今天拔管了，治疗结束", "remove_catheter", [("bed", "12")])
    assert f.asking == "r_catheter" and "床号" in said
    assert f.slots["r_date"] == ward["today"].isoformat()
    assert f.slots["r_reason"] == "END_OF_THERAPY"
    f.say("李建国")
    assert f.asking == "r_intact"
    g = nurse(removal.ValidateRemovalForm(), domain, ward)
    g.say("李建国的PICC意外脱出拔了", "remove_catheter", [("device_type", "PICC")])
    assert g.slots["r_reason"] == "ACCIDENTAL" and g.asking == "r_date"


@pytest.mark.req("C3.3")
def test_removal_date_before_the_last_maintenance_is_asked_to_confirm(
    domain, ward, session_factory
):
    f = nurse(removal.ValidateRemovalForm(), domain, ward)
    f.say("王芳前天拔管了，治疗结束", "remove_catheter")
    assert f.asking == "r_date_check"
    assert "早于最近一次维护" in "\n".join(m.get("text") or "" for m in f.messages)
    f.say("确认")
    for text in ["完整", "未送"]:
        f.say(text)
    f.say("确认")
    assert "拔管已登记" in f.submit(removal_submit.ActionSubmitRemoval())
    with session_factory() as s:
        assert s.scalars(select(Removal)).one().removed_on == ward["today"] - timedelta(days=2)


@pytest.mark.req("C3.3")
def test_removal_for_a_complication_links_and_closes_it(domain, ward, session_factory):
    cid = reported(session_factory, ward, ward["fang"])
    f = nurse(removal.ValidateRemovalForm(), domain, ward)
    f.say("王芳因为静脉炎今天拔管了", "remove_catheter")
    for text in ["不完整", "已送，待结果"]:
        f.say(text)
    said = "\n".join(m.get("text") or "" for m in f.messages)
    assert f.asking == "r_confirm" and f"关联并发症：#{cid}" in said
    f.say("确认")
    said = f.submit(removal_submit.ActionSubmitRemoval())
    assert "非计划拔管" in said and f"并发症 #{cid} 已结案" in said
    with session_factory() as s:
        c = s.get(Complication, cid)
        assert (c.status, c.outcome, c.led_to_removal) == (
            ComplicationStatus.CLOSED,
            "REMOVED",
            True,
        )
        r = s.scalars(select(Removal)).one()
        assert (r.complication_id, r.catheter_intact, r.tip_culture_sent, r.tip_culture_result) == (
            cid,
            False,
            True,
            None,
        )


@pytest.mark.req("C3.3")
def test_removal_of_a_removed_catheter_is_refused_with_the_reason(domain, ward):
    f = nurse(removal.ValidateRemovalForm(), domain, ward)
    said = f.say("钱已拔拔管了", "remove_catheter", [("patient_name", "钱已拔")])
    assert "已于" in said and "拔管" in said and "不能重复登记" in said
    assert f.asking == "r_catheter"


@pytest.mark.req("C3.3")
def test_removal_cancel_leaves_the_catheter_in_place(domain, ward, session_factory):
    f = nurse(removal.ValidateRemovalForm(), domain, ward)
    f.say("王芳今天拔管了，治疗结束", "remove_catheter")
    assert f.asking == "r_intact"
    assert "已取消" in f.cancel("算了")
    assert f.slots["r_catheter"] is None and f.slots["r_date"] is None
    assert count(session_factory, Removal) == 0
    with session_factory() as s:
        assert s.get(Catheter, ward["fang"].id).state is CatheterState.IN_PLACE


@pytest.mark.req("C3.3")
def test_removal_by_a_patient_is_explained_not_registered(domain, ward, session_factory):
    f = FormDriver(removal.ValidateRemovalForm(), domain, "mp:o1", role="patient", channel="mp")
    f.say("我今天拔管了", "remove_catheter")
    assert f.asking is None
    assert "由医护人员" in f.submit(removal_submit.ActionSubmitRemoval())
    assert count(session_factory, Removal) == 0


def twice(action, f: FormDriver) -> tuple[str, str]:
    """The submit run twice for one inbound message, as when a turn is retried."""
    tracker = f._tracker("确认", "affirm", [])
    said = []
    for _ in range(2):
        dispatcher = CollectingDispatcher()
        action.run(dispatcher, tracker, f.domain)
        said.append("\n".join(m.get("text") or "" for m in dispatcher.messages))
    return said[0], said[1]


@pytest.mark.req("C3.4")
def test_c3_4_a_retried_turn_records_the_step_once(domain, ward, session_factory):
    cid = reported(session_factory, ward, ward["fang"])
    f = nurse(handling.ValidateHandlingForm(), domain, ward)
    handle(f, "王芳的静脉炎已处理：硫酸镁湿敷", ("complication", "PHLEBITIS"))
    first, again = twice(handling.ActionSubmitHandling(), f)
    assert "已记录处理" in first and "已记录处理" in again
    assert [s.kind for s in steps(session_factory, cid)] == ["REPORT", "WARM_COMPRESS"]


@pytest.mark.req("C3.3")
def test_removal_retried_turn_registers_once(domain, ward, session_factory):
    f = nurse(removal.ValidateRemovalForm(), domain, ward)
    f.say("李建国今天拔管了，治疗结束", "remove_catheter")
    for text in ["完整", "未送", "确认"]:
        f.say(text)
    first, again = twice(removal_submit.ActionSubmitRemoval(), f)
    assert "拔管已登记" in first and "已经登记过，没有重复保存" in again
    assert count(session_factory, Removal) == 1
