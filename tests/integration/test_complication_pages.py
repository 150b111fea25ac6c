"""The clinicians' complication pages (P6.4, C3.4, C3.5, A7.3) through the Flask test client:
the report form with every field and photos, bad input sent back with the reason and nothing
kept, the record with its timeline, photos and consultations, handling steps, closing and
reopening, the list with its filters, and nothing shown to a clinician without access."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.care.rules import local_date
from bot.models import (
    AuditLog,
    Catheter,
    Complication,
    ComplicationPhoto,
    Consultation,
    Patient,
    Staff,
    utcnow,
)
from bot.models.enums import CatheterState, ComplicationStatus
from server import create_app
from tests.integration.test_staff_pages import add_nurse_and_outsider, csrf
from tests.integration.test_staff_web import sign_in
from tests.support.reports import photo

pytestmark = [pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def ward(settings, engine, redis_conn, session, cipher):
    """王丽娟's PICC placed 5 days ago, 钱阿姨's port; the nurse and an outside clinician."""
    add_nurse_and_outsider(session, cipher)
    wang, qian = Patient(name="王丽娟"), Patient(name="钱阿姨")
    session.add_all([wang, qian])
    session.flush()
    picc = Catheter(patient_id=wang.id, device_type="PICC", placed_at=utcnow() - timedelta(days=5))
    port = Catheter(patient_id=qian.id, device_type="PORT", placed_at=utcnow() - timedelta(days=9))
    session.add_all([picc, port])
    session.commit()
    return {
        "app": create_app(settings),
        "picc": picc.id,
        "port": port.id,
        "today": local_date(utcnow(), settings.timezone),
        "nurse_id": session.scalar(select(Staff.id).where(Staff.staff_no == "N001")),
    }


def clinician(ward, login="N001", password="Nurse1234"):
    client = ward["app"].test_client()
    assert sign_in(client, login, password).status_code == 302
    return client


def _files(*photos):
    return [(io.BytesIO(data), name) for data, name in photos]


def _new(client, catheter_id, **fields):
    url = f"/staff/catheters/{catheter_id}/complications/new"
    page = client.get(url).get_data(as_text=True)
    key = re.search(r'name="key" value="([0-9a-f]+)"', page).group(1)
    data = {"csrf_token": csrf(page), "key": key} | fields
    return client.post(url, data=data, content_type="multipart/form-data"), data


def _with_photo(nurse, ward):
    """王丽娟's phlebitis grade 1 reported today with one photo."""
    return _new(
        nurse,
        ward["picc"],
        type="PHLEBITIS",
        grade="1",
        onset_on=str(ward["today"]),
        photos=_files((photo("a"), "a.jpg")),
    )


def _count(session_factory, model):
    with session_factory() as s:
        return s.scalar(select(func.count(model.id)))


@pytest.mark.req("P6.4", "A7.3")
def test_p6_4_the_h5_form_reports_every_field_with_photos_and_a_double_tap_is_one_record(
    ward, session_factory
):
    nurse = clinician(ward)
    r, sent = _new(
        nurse,
        ward["picc"],
        type="PHLEBITIS",
        grade="2",
        onset_on=ward["today"].isoformat(),
        brief_history="化疗后第3天穿刺点上方红肿",
        treatment="50%硫酸镁湿敷",
        nursing_exam="红肿3×2cm，无条索",
        photos=_files((photo("红肿"), "a.jpg"), (photo("近景"), "b.jpg")),
    )
    assert r.status_code == 302 and "created=1" in r.location
    page = nurse.get(r.location).get_data(as_text=True)
    assert "并发症已上报（编号" in page and "静脉炎 2级 · 王丽娟" in page
    for shown in ("化疗后第3天穿刺点上方红肿", "50%硫酸镁湿敷", "红肿3×2cm，无条索", "置管第5天"):
        assert shown in page
    assert "照片（2）" in page and page.count("并发症照片") == 2
    assert "<strong>上报：静脉炎 2级</strong>" in page and "【待处理】" in page
    # the same form posted again (a double tap): the same record, photos kept once
    sent["photos"] = _files((photo("红肿"), "a.jpg"))
    again = nurse.post(
        f"/staff/catheters/{ward['picc']}/complications/new",
        data=sent,
        content_type="multipart/form-data",
    )
    assert again.status_code == 302 and "dup=1" in again.location
    assert "没有重复登记" in nurse.get(again.location).get_data(as_text=True)
    assert _count(session_factory, Complication) == 1
    assert _count(session_factory, ComplicationPhoto) == 2


@pytest.mark.req("P6.4", "C3.4")
@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "PHLEBITIS", "grade": "7"}, "静脉炎分级应为 0–4 级。"),
        ({"type": "MARSI", "grade": "1"}, "“医用粘胶相关性皮肤损伤”没有分级，请不要填写分级。"),
        ({"type": "PHLEBITIS", "grade": "1", "onset_on": "before"}, "发生日期应在置管日期"),
        ({"type": "PHLEBITIS", "grade": "1", "onset_on": "tomorrow"}, "发生日期应在置管日期"),
        ({"type": "PHLEBITIS", "grade": "1", "onset_on": ""}, "请填写发生日期。"),
        ({"type": "", "grade": ""}, "并发症类型不在字典中，请重新选择。"),
        (
            {"type": "PHLEBITIS", "grade": "1", "bad_photo": True},
            "第2张照片（x.pdf）：文件不是有效的照片",
        ),
    ],
)
def test_p6_4_bad_input_comes_back_with_the_reason_and_nothing_is_half_saved(
    ward, session_factory, fields, reason
):
    nurse = clinician(ward)
    days = {"before": -6, "tomorrow": 1}
    onset = fields.pop("onset_on", "0")
    fields["onset_on"] = (
        (ward["today"] + timedelta(days=days.get(onset, 0))).isoformat() if onset != "" else ""
    )
    if fields.pop("bad_photo", False):
        fields["photos"] = _files((photo("好的"), "a.jpg"), (b"%PDF-1.4", "x.pdf"))
    r, _ = _new(nurse, ward["picc"], brief_history="穿刺点红肿", **fields)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "未保存：" + reason in page
    assert "穿刺点红肿</textarea>" in page  # what was typed is kept
    assert _count(session_factory, Complication) == 0
    assert _count(session_factory, ComplicationPhoto) == 0


@pytest.mark.req("C3.4")
def test_c3_4_a_removed_catheter_offers_no_form(ward, session_factory):
    with session_factory() as s:
        c = s.get(Catheter, ward["picc"])
        c.state, c.removed_on = CatheterState.REMOVED, ward["today"]
        s.commit()
    nurse = clinician(ward)
    page = nurse.get(f"/staff/catheters/{ward['picc']}/complications/new").get_data(as_text=True)
    assert f"该导管已拔管（{ward['today']:%Y-%m-%d}），不能再登记并发症。" in page
    assert "上报并发症</button>" not in page
    token = csrf(nurse.get(f"/staff/catheters/{ward['picc']}").get_data(as_text=True))
    r = nurse.post(
        f"/staff/catheters/{ward['picc']}/complications/new",
        data={"csrf_token": token, "type": "MARSI", "onset_on": ward["today"].isoformat()},
    )
    assert r.status_code == 400 and "不能再登记并发症" in r.get_data(as_text=True)
    assert _count(session_factory, Complication) == 0


@pytest.mark.req("C3.4", "A7.3")
def test_c3_4_the_record_page_adds_steps_with_photos_closes_and_reopens(ward, session_factory):
    nurse = clinician(ward)
    r, _ = _new(nurse, ward["picc"], type="PHLEBITIS", grade="2", onset_on=str(ward["today"]))
    url = r.location.split("?")[0]
    page = nurse.get(url).get_data(as_text=True)
    step_key = re.search(r'name="key" value="([0-9a-f]+)"', page).group(1)
    step = {
        "csrf_token": csrf(page),
        "key": step_key,
        "text": "50%硫酸镁湿敷",
        "photos": _files((photo("湿敷后"), "c.jpg")),
    }
    done = nurse.post(f"{url}/steps", data=step, content_type="multipart/form-data")
    assert done.status_code == 302
    step["photos"] = _files((photo("湿敷后"), "c.jpg"))
    nurse.post(f"{url}/steps", data=step, content_type="multipart/form-data")  # double tap
    page = nurse.get(url).get_data(as_text=True)
    assert "已记录处理措施。" in page and "【处理中】" in page
    assert page.count("湿热敷</strong>：50%硫酸镁湿敷") == 1 and "[照片1]" in page
    token = csrf(page)
    bad = nurse.post(
        f"{url}/steps",
        data={"csrf_token": token, "text": "换药", "photos": _files((b"GIF89a", "d.gif"))},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "文件不是有效的照片" in bad.get_data(as_text=True)
    assert 'value="换药"' in bad.get_data(as_text=True)  # what was typed is kept
    assert "换药" not in nurse.get(url).get_data(as_text=True)  # the step went with its photo
    refused = nurse.post(f"{url}/close", data={"csrf_token": token, "outcome": ""})
    assert refused.status_code == 400 and "请选择转归" in refused.get_data(as_text=True)
    nurse.post(
        f"{url}/close", data={"csrf_token": token, "outcome": "IMPROVING", "note": "红肿消退"}
    )
    page = nurse.get(url).get_data(as_text=True)
    assert "【已结案】" in page and "<strong>结案：好转。红肿消退</strong>" in page
    assert "重新开启的原因" in page and "保存处理记录" not in page
    late = nurse.post(f"{url}/steps", data={"csrf_token": token, "text": "再次湿敷"})
    assert late.status_code == 400
    assert "该并发症已结案，是否重新开启后再记录处理？" in late.get_data(as_text=True)
    nurse.post(f"{url}/reopen", data={"csrf_token": token, "reason": "红肿复发"})
    page = nurse.get(url).get_data(as_text=True)
    assert "【处理中】" in page and "<strong>重新开启：红肿复发</strong>" in page and "1次" in page
    with session_factory() as s:
        c = s.scalar(select(Complication))
        assert c.status is ComplicationStatus.HANDLING and c.reopened_count == 1
        assert s.scalar(select(func.count(ComplicationPhoto.id))) == 1


@pytest.mark.req("C3.5", "A7.3")
def test_c3_5_the_list_filters_opens_the_record_and_its_photos_are_audited_reads(
    ward, session_factory
):
    nurse = clinician(ward)
    first, _ = _with_photo(nurse, ward)
    _new(nurse, ward["port"], type="PINCH_OFF", onset_on=str(ward["today"]))
    picc_id = int(re.search(r"/staff/complications/(\d+)", first.location).group(1))
    with session_factory() as s:
        port_c = s.scalar(select(Complication).where(Complication.catheter_id == ward["port"]))
        s.add(
            Consultation(
                patient_id=port_c.patient_id,
                complication_id=port_c.id,
                requested_by_id=ward["nurse_id"],
                title="夹闭综合征会诊",
                conclusion="建议拔除输液港",
            )
        )
        s.commit()
        port_id = port_c.id
    due = nurse.get("/staff/due").get_data(as_text=True)
    assert '<a href="/staff/complications">未结案并发症</a>' in due
    page = nurse.get("/staff/complications").get_data(as_text=True)
    assert "未结案" in page and "王丽娟 · PICC · 静脉炎 1级" in page and "钱阿姨 · " in page
    assert page.index(f"/staff/complications/{picc_id}") < page.index(
        f"/staff/complications/{port_id}"
    )  # reported first, listed first
    assert "今日上报 · 照片1张" in page and "最近记录：上报：静脉炎 1级" in page
    only_port = nurse.get("/staff/complications?device=PORT").get_data(as_text=True)
    assert "钱阿姨" in only_port and "王丽娟" not in only_port
    by_type = nurse.get("/staff/complications?type=PHLEBITIS&mine=1").get_data(as_text=True)
    assert "王丽娟" in by_type and "钱阿姨" not in by_type and "我的并发症" in by_type
    closed = nurse.get("/staff/complications?status=closed").get_data(as_text=True)
    assert "没有符合条件的并发症" in closed
    record = nurse.get(f"/staff/complications/{port_id}").get_data(as_text=True)
    assert "夹闭综合征会诊" in record and "结论：建议拔除输液港" in record
    with session_factory() as s:
        photo_id = s.scalar(select(ComplicationPhoto.id))
    url = f"/staff/complications/{picc_id}/photos/{photo_id}"
    full, thumb = nurse.get(url), nurse.get(url + "?thumb=1")
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert thumb.status_code == 200 and len(thumb.data) < len(full.data)
    assert nurse.get(f"/staff/complications/{port_id}/photos/{photo_id}").status_code == 404
    catheter_page = nurse.get(f"/staff/catheters/{ward['picc']}").get_data(as_text=True)
    assert f"/staff/catheters/{ward['picc']}/complications/new" in catheter_page
    assert f"/staff/complications/{picc_id}" in catheter_page and "【待处理】" in catheter_page
    with session_factory() as s:
        reads = s.scalars(select(AuditLog).where(AuditLog.action == "read")).all()
    kinds = {a.object_type for a in reads}
    assert {"complication_list", "complication", "complication_photo"} <= kinds


@pytest.mark.req("C3.5", "X.1")
def test_c3_5_an_outside_clinician_without_a_care_relation_sees_nothing(ward, session_factory):
    nurse = clinician(ward)
    r, _ = _with_photo(nurse, ward)
    url = r.location.split("?")[0]
    with session_factory() as s:
        photo_id = s.scalar(select(ComplicationPhoto.id))
    outsider = clinician(ward, "13900009999", "Outside123")
    assert "王丽娟" not in outsider.get("/staff/complications").get_data(as_text=True)
    assert outsider.get(url).status_code == 404
    assert outsider.get(f"{url}/photos/{photo_id}").status_code == 404
    page = outsider.get("/staff/complications").get_data(as_text=True)
    token = csrf(outsider.get("/staff/placements/new").get_data(as_text=True))
    closing = {"csrf_token": token, "outcome": "RESOLVED"}
    assert outsider.post(f"{url}/close", data=closing).status_code == 404
    step = {"csrf_token": token, "text": "湿敷"}
    assert outsider.post(f"{url}/steps", data=step).status_code == 404
    with session_factory() as s:
        denied = s.scalars(select(AuditLog.object_type).where(AuditLog.action == "denied")).all()
        assert s.scalar(select(Complication.status)) is ComplicationStatus.OPEN
    assert {"complication", "complication_photo"} <= set(denied) and "没有符合条件" in page


@pytest.mark.req("A7.3")
def test_a7_3_photos_over_the_upload_limit_are_refused_with_the_reason(
    ward, session_factory, monkeypatch
):
    from h5 import staff_complications

    nurse = clinician(ward)
    r, _ = _with_photo(nurse, ward)
    url = r.location.split("?")[0]
    monkeypatch.setattr(staff_complications, "UPLOAD_LIMIT", 20_000)
    big = photo("大", size=(1600, 1600))
    page = nurse.get(url).get_data(as_text=True)
    step = {"csrf_token": csrf(page), "text": "换药", "photos": _files((big, "big.jpg"))}
    refused = nurse.post(f"{url}/steps", data=step, content_type="multipart/form-data")
    assert refused.status_code == 413
    assert "照片合计不能超过" in refused.get_data(as_text=True)
    again, _ = _new(
        nurse,
        ward["port"],
        type="OTHER",
        onset_on=str(ward["today"]),
        photos=_files((big, "b.jpg")),
    )
    assert again.status_code == 400 and "照片合计不能超过" in again.get_data(as_text=True)
    assert _count(session_factory, Complication) == 1
    assert _count(session_factory, ComplicationPhoto) == 1
