"""Complications handled to the end (P6.4, C3.4, C3.5, A7.3), through the service the chat and
the pages call: a report with every field and its photos, kept once; a timeline of handling
steps until it is closed with an outcome, reopening recorded; the clinicians' list and record
within the access rules, every read audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from bot.adapters.media import MediaStore
from bot.care.rules import local_date
from bot.models import (
    AuditLog,
    Catheter,
    Complication,
    ComplicationPhoto,
    ComplicationStep,
    Consultation,
    Department,
    Patient,
    Removal,
    Staff,
    utcnow,
)
from bot.models.enums import ActorType, CatheterState, ComplicationStatus, Sex
from bot.services import access, audit
from bot.services import complications as svc
from tests.integration.test_staff_pages import add_nurse_and_outsider
from tests.support.reports import photo

pytestmark = [pytest.mark.db]


@pytest.fixture
def ward(session, cipher, settings, dictionary):
    """王丽娟's right basilic PICC placed 5 days ago in 肿瘤科, 李护士 responsible; 钱阿姨's
    port placed 40 days ago; the nurse, an outside clinician with no care relation."""
    add_nurse_and_outsider(session, cipher)
    session.flush()
    nurse = session.scalar(select(Staff).where(Staff.staff_no == "N001"))
    outsider = session.scalar(select(Staff).where(Staff.staff_no == "X001"))
    dept = Department(institution_id=nurse.institution_id, code="ONC", name="肿瘤科")
    wang = Patient(name="王丽娟", sex=Sex.FEMALE, birth_date=date(1961, 3, 1))
    qian = Patient(name="钱阿姨", hospital_patient_id="ZY0042")
    session.add_all([dept, wang, qian])
    session.flush()
    picc = Catheter(
        patient_id=wang.id,
        device_type="PICC",
        side="RIGHT",
        vein="BASILIC",
        placed_at=utcnow() - timedelta(days=5),
        department_id=dept.id,
        responsible_staff_id=nurse.id,
        institution_id=nurse.institution_id,
    )
    port = Catheter(patient_id=qian.id, device_type="PORT", placed_at=utcnow() - timedelta(days=40))
    session.add_all([picc, port])
    session.commit()
    return {
        "s": session,
        "d": dictionary,
        "tz": settings.timezone,
        "today": local_date(utcnow(), settings.timezone),
        "nurse": audit.Actor(ActorType.STAFF, nurse.id),
        "nurse_id": nurse.id,
        "outsider": audit.Actor(ActorType.STAFF, outsider.id),
        "picc": picc,
        "port": port,
        "dept": dept.id,
        "media": MediaStore(settings.media_root),
    }


def _report(w, catheter=None, **kw):
    args = {
        "type_code": "PHLEBITIS",
        "onset_on": w["today"],
        "grade": 2,
        "brief_history": "穿刺点上方红肿疼痛",
        "tz": w["tz"],
        "actor": w["nurse"],
        "institution_id": None,
    } | kw
    return svc.report(w["s"], w["d"], (catheter or w["picc"]).id, **args)


def _steps(w, complication_id):
    return (
        w["s"]
        .scalars(
            select(ComplicationStep)
            .where(ComplicationStep.complication_id == complication_id)
            .order_by(ComplicationStep.at, ComplicationStep.id)
        )
        .all()
    )


@pytest.mark.req("P6.4", "C3.4")
def test_p6_4_a_report_keeps_every_field_and_generates_the_basic_info(ward, monkeypatch):
    w = ward
    told = []
    monkeypatch.setattr(
        svc.complication_alerts, "on_reported", lambda s, d, c: told.append(c.id) or [7]
    )
    got = _report(w, treatment="50%硫酸镁湿敷", nursing_exam="红肿范围3×2cm", idempotency_key="k1")
    w["s"].commit()
    c = got.complication
    assert got.created and got.outbox_ids == [7] and told == [c.id]  # the board's alerts
    assert (c.type, c.grade, c.onset_on, c.status) == (
        "PHLEBITIS",
        2,
        w["today"],
        ComplicationStatus.OPEN,
    )
    assert c.department_id == w["dept"] and c.responsible_staff_id == w["nurse_id"]
    assert c.treatment == "50%硫酸镁湿敷" and c.nursing_exam == "红肿范围3×2cm"
    assert c.basic_info.startswith("女，") and "岁" in c.basic_info
    assert "PICC（右侧贵要静脉）" in c.basic_info and "置管第5天" in c.basic_info
    assert c.last_step_at is not None
    [step] = _steps(w, c.id)
    assert step.kind == "REPORT" and step.action == "上报：静脉炎 2级"
    given = _report(w, type_code="MARSI", grade=None, basic_info="自填的基本信息")
    assert given.complication.basic_info == "自填的基本信息"


@pytest.mark.req("C3.4")
def test_c3_4_a_double_submit_or_a_second_report_of_the_same_thing_is_one_record(ward):
    w = ward
    first = _report(w, idempotency_key="h5:abc")
    w["s"].commit()
    again = _report(w, idempotency_key="h5:abc", grade=3)  # the same form posted twice
    colleague = _report(w)  # same type and onset while it is open
    assert not again.created and again.complication.id == first.complication.id
    assert not colleague.created and colleague.complication.id == first.complication.id
    assert w["s"].scalar(select(func.count(Complication.id))) == 1


@pytest.mark.req("C3.4")
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"grade": 5}, "静脉炎分级应为 0–4 级。"),
        ({"grade": None}, "请选择静脉炎分级（0–4级）。"),
        ({"type_code": "INFILTRATION", "grade": 1}, "“药物渗出”没有分级，请不要填写分级。"),
        ({"type_code": "PINCH_OFF", "grade": None}, "“夹闭综合征”只适用于输液港，请重新选择类型。"),
        ({"type_code": "NOPE"}, "并发症类型不在字典中，请重新选择。"),
        ({"onset_on": "tomorrow"}, "发生日期应在置管日期"),
        ({"onset_on": "before"}, "发生日期应在置管日期"),
    ],
)
def test_c3_4_a_wrong_grade_type_or_onset_is_refused_with_the_reason(ward, change, reason):
    w = ward
    days = {"tomorrow": 1, "before": -6}
    if change.get("onset_on") in days:
        change = change | {"onset_on": w["today"] + timedelta(days=days[change["onset_on"]])}
    with pytest.raises(svc.ComplicationRefused, match=reason):
        _report(w, **change)
    assert w["s"].scalar(select(func.count(Complication.id))) == 0


@pytest.mark.req("C3.4")
def test_c3_4_a_removed_catheter_takes_no_complication(ward):
    w = ward
    w["picc"].state = CatheterState.REMOVED
    w["picc"].removed_on = w["today"] - timedelta(days=1)
    w["s"].commit()
    when = f"{w['today'] - timedelta(days=1):%Y-%m-%d}"
    with pytest.raises(svc.ComplicationRefused) as refused:
        _report(w, onset_on=w["today"] - timedelta(days=2))
    assert str(refused.value) == f"该导管已拔管（{when}），不能再登记并发症。"


@pytest.mark.req("A7.3", "C3.4")
def test_a7_3_photos_attach_once_each_and_a_bad_one_is_refused_with_the_record_kept(ward):
    w = ward
    c = _report(w).complication
    w["s"].commit()
    kept = svc.add_photos(
        w["s"],
        c.id,
        [(photo("红肿"), "a.jpg"), (photo("近景"), "b.jpg")],
        actor=w["nurse"],
        media=w["media"],
    )
    w["s"].commit()
    assert len({p.id for p in kept}) == 2 and all(p.content_type == "image/jpeg" for p in kept)
    again = svc.add_photos(w["s"], c.id, [(photo("红肿"), "")], actor=w["nurse"], media=w["media"])
    w["s"].commit()
    assert again[0].id == kept[0].id  # the same photo sent twice is kept once
    for data, reason in [
        (b"%PDF-1.4 not a photo", "第1张照片（x.pdf）：文件不是有效的照片"),
        (b"\xff" * (11 * 1024 * 1024), "照片不能超过10MB"),
        (photo("小", size=(60, 60)), "照片太小"),
    ]:
        with pytest.raises(
            svc.ComplicationRefused, match=reason.replace("（", ".").replace("）", ".")
        ):
            svc.add_photos(w["s"], c.id, [(data, "x.pdf")], actor=w["nurse"], media=w["media"])
        w["s"].rollback()
    # a good photo beside a bad one is not kept either: all or nothing
    with pytest.raises(svc.ComplicationRefused, match="第2张照片"):
        svc.add_photos(
            w["s"], c.id, [(photo("第三张"), ""), (b"junk", "")], actor=w["nurse"], media=w["media"]
        )
    w["s"].rollback()
    assert w["s"].scalar(select(func.count(ComplicationPhoto.id))) == 2
    assert w["s"].get(Complication, c.id) is not None


@pytest.mark.req("C3.4")
def test_c3_4_the_step_kind_is_read_from_the_words(ward):
    d = ward["d"]
    assert svc.step_kind(d, "12床静脉炎已处理：硫酸镁湿敷") == "WARM_COMPRESS"
    assert svc.step_kind(d, "更换敷料，穿刺点消毒") == "DRESSING"
    assert svc.step_kind(d, "尿激酶5000U通管") == "THROMBOLYSIS"
    assert svc.step_kind(d, "请血管外科会诊") == "CONSULT"
    assert svc.step_kind(d, "家属来过了") == "NOTE"


@pytest.mark.req("C3.4")
def test_c3_4_handling_steps_build_a_timeline_until_closed_and_reopening_is_recorded(ward):
    w = ward
    c = _report(w).complication
    w["s"].commit()
    step = svc.add_step(
        w["s"], w["d"], c.id, text="硫酸镁湿敷", actor=w["nurse"], idempotency_key="s1"
    )
    w["s"].commit()
    same = svc.add_step(
        w["s"], w["d"], c.id, text="硫酸镁湿敷", actor=w["nurse"], idempotency_key="s1"
    )
    assert same.id == step.id and step.kind == "WARM_COMPRESS"
    assert c.status is ComplicationStatus.HANDLING and c.last_step_at == step.at
    svc.add_step(w["s"], w["d"], c.id, text="抬高患肢，观察", kind="ELEVATE", actor=w["nurse"])
    with pytest.raises(svc.ComplicationRefused, match="请填写处理内容"):
        svc.add_step(w["s"], w["d"], c.id, text="  ", actor=w["nurse"])
    with pytest.raises(svc.ComplicationRefused, match="请选择转归"):
        svc.close(w["s"], w["d"], c.id, outcome="GONE", note=None, actor=w["nurse"])
    svc.close(w["s"], w["d"], c.id, outcome="REMOVED", note="拔管后好转", actor=w["nurse"])
    w["s"].commit()
    assert c.status is ComplicationStatus.CLOSED and c.led_to_removal and c.resolved_at
    assert c.closed_by_id == w["nurse_id"] and c.outcome == "REMOVED"
    with pytest.raises(svc.NeedsReopen) as asked:
        svc.add_step(w["s"], w["d"], c.id, text="再次湿敷", actor=w["nurse"])
    assert str(asked.value) == "该并发症已结案，是否重新开启后再记录处理？"
    assert isinstance(asked.value, svc.ComplicationRefused)
    with pytest.raises(svc.ComplicationRefused, match="请填写重新开启的原因"):
        svc.reopen(w["s"], c.id, reason="", actor=w["nurse"])
    svc.reopen(w["s"], c.id, reason="红肿复发", actor=w["nurse"])
    w["s"].commit()
    assert c.status is ComplicationStatus.HANDLING and c.reopened_count == 1
    assert c.resolved_at is None and c.outcome is None and not c.led_to_removal
    with pytest.raises(svc.ComplicationRefused, match="尚未结案"):
        svc.reopen(w["s"], c.id, reason="再开", actor=w["nurse"])
    timeline = [(s.kind, s.action) for s in _steps(w, c.id)]
    assert timeline == [
        ("REPORT", "上报：静脉炎 2级"),
        ("WARM_COMPRESS", "硫酸镁湿敷"),
        ("ELEVATE", "抬高患肢，观察"),
        ("CLOSE", "结案：导致拔管。拔管后好转"),
        ("REOPEN", "重新开启：红肿复发"),
    ]
    actions = (
        w["s"]
        .scalars(
            select(AuditLog.action)
            .where(AuditLog.object_type == "complication")
            .order_by(AuditLog.id)
        )
        .all()
    )
    assert actions == ["create", "add_step", "add_step", "close", "reopen"]


@pytest.mark.req("C3.4")
def test_c3_4_a_reopened_complication_named_by_a_removal_still_led_to_removal(ward):
    w = ward
    c = _report(w).complication
    svc.close(w["s"], w["d"], c.id, outcome="REMOVED", note=None, actor=w["nurse"])
    w["s"].add(
        Removal(
            catheter_id=w["picc"].id,
            removed_on=w["today"],
            reason="COMPLICATION",
            complication_id=c.id,
            dwell_days=5,
        )
    )
    svc.reopen(w["s"], c.id, reason="补记处理", actor=w["nurse"])
    assert c.led_to_removal


@pytest.mark.req("C3.4")
def test_c3_4_chat_photos_find_the_report_just_made_and_open_ones_by_catheter(ward):
    w = ward
    before = utcnow() - timedelta(seconds=1)
    c = _report(w).complication
    other = _report(w, type_code="OCCLUSION_PARTIAL", grade=None).complication
    w["s"].commit()
    assert svc.latest_reported_by(w["s"], w["nurse_id"], since=before).id == other.id
    assert svc.latest_reported_by(w["s"], w["nurse_id"], since=utcnow() + timedelta(1)) is None
    svc.close(w["s"], w["d"], other.id, outcome="RESOLVED", note=None, actor=w["nurse"])
    assert [x.id for x in svc.find_open_for_catheter(w["s"], w["picc"].id)] == [c.id]
    assert svc.find_open_for_catheter(w["s"], w["picc"].id, "OCCLUSION_PARTIAL") == []


@pytest.mark.req("C3.5")
def test_c3_5_the_list_shows_open_ones_first_oldest_first_with_filters_and_is_audited(ward):
    w = ward
    s = w["s"]
    old = _report(w, onset_on=w["today"] - timedelta(days=3)).complication
    old.reported_at = utcnow() - timedelta(days=3)
    port = _report(w, w["port"], type_code="PINCH_OFF", grade=None).complication
    done = _report(w, type_code="MARSI", grade=None).complication
    svc.add_photos(s, old.id, [(photo("a"), "")], actor=w["nurse"], media=w["media"])
    svc.add_step(s, w["d"], old.id, text="喜辽妥外涂", actor=w["nurse"])
    svc.close(s, w["d"], done.id, outcome="RESOLVED", note=None, actor=w["nurse"])
    s.commit()
    entries = svc.listing(s, w["d"], actor=w["nurse"])
    assert [e.id for e in entries] == [old.id, port.id, done.id]
    first = entries[0]
    assert (first.patient_name, first.device, first.type_label, first.grade) == (
        "王丽娟",
        "PICC",
        "静脉炎",
        2,
    )
    assert first.days_open == 3 and first.status_label == "处理中" and first.photo_count == 1
    assert first.last_step == "喜辽妥外涂"
    assert entries[1].status_label == "待处理" and entries[1].hospital_patient_id == "ZY0042"
    assert entries[2].status_label == "已结案"
    assert [e.id for e in svc.listing(s, w["d"], actor=w["nurse"], status="open")] == [
        old.id,
        port.id,
    ]
    assert [e.id for e in svc.listing(s, w["d"], actor=w["nurse"], status="closed")] == [done.id]
    assert [e.id for e in svc.listing(s, w["d"], actor=w["nurse"], device_type="PORT")] == [port.id]
    assert [e.id for e in svc.listing(s, w["d"], actor=w["nurse"], type_code="MARSI")] == [done.id]
    by_dept = svc.listing(s, w["d"], actor=w["nurse"], department_id=w["dept"])
    assert {e.id for e in by_dept} == {old.id, done.id}
    port.reported_by_id = None
    mine = [e.id for e in svc.listing(s, w["d"], actor=w["nurse"], mine=True)]
    assert mine == [old.id, done.id]
    s.commit()
    reads = s.scalars(select(AuditLog).where(AuditLog.object_type == "complication_list")).all()
    assert reads[0].action == "read" and reads[0].detail["patients"] == sorted(
        {w["picc"].patient_id, w["port"].patient_id}
    )


@pytest.mark.req("C3.5", "X.1")
def test_c3_5_an_outside_clinician_without_a_care_relation_sees_none_and_is_denied(ward):
    w = ward
    c = _report(w).complication
    w["s"].commit()
    assert svc.listing(w["s"], w["d"], actor=w["outsider"]) == []
    with pytest.raises(access.NotVisible):
        svc.detail(w["s"], w["d"], c.id, actor=w["outsider"])
    w["s"].commit()
    denied = w["s"].scalar(select(AuditLog).where(AuditLog.action == "denied"))
    assert (denied.object_type, denied.object_id) == ("complication", str(c.id))


@pytest.mark.req("C3.5")
def test_c3_5_the_record_has_its_steps_photos_and_consultations_and_its_read_is_audited(ward):
    w = ward
    c = _report(w).complication
    svc.add_step(w["s"], w["d"], c.id, text="会诊", actor=w["nurse"])
    w["s"].add(
        Consultation(
            patient_id=c.patient_id,
            complication_id=c.id,
            requested_by_id=w["nurse_id"],
            title="静脉炎会诊",
        )
    )
    w["s"].commit()
    record = svc.detail(w["s"], w["d"], c.id, actor=w["nurse"])
    assert [s.kind for s in record.steps] == ["REPORT", "CONSULT"]
    assert [k.title for k in svc.consultations(w["s"], c.id)] == ["静脉炎会诊"]
    w["s"].commit()
    read = w["s"].scalar(
        select(AuditLog).where(AuditLog.object_type == "complication", AuditLog.action == "read")
    )
    assert read.patient_id == c.patient_id and read.actor_id == w["nurse_id"]


@pytest.mark.req("C3.4")
def test_c3_4_a_double_tap_racing_on_postgresql_is_one_record(ward, session_factory, engine):
    """The second request waits on the catheter's row lock, then finds the first by its key."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only")
    import threading

    w = ward
    first = _report(w, idempotency_key="h5:race")
    w["s"].flush()  # the first request holds the catheter's row lock, not committed yet
    got = []

    def second():
        with session_factory() as s:
            got.append(_report(w | {"s": s}, idempotency_key="h5:race"))
            s.commit()

    racing = threading.Thread(target=second)
    racing.start()
    racing.join(timeout=0.5)
    assert racing.is_alive()  # waiting for the lock
    w["s"].commit()
    racing.join(timeout=10)
    assert not got[0].created and got[0].complication.id == first.complication.id
    assert w["s"].scalar(select(func.count(Complication.id))) == 1
