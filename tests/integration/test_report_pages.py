"""The patient's report pages (P2.5, P4.1, P4.2, P4.4, P6.2): the list, uploading photos from
the page, each report's photo and what was read, corrections with who changed what, and a
photo that is not a report kept anyway or sent to the nurse; only the 就诊人's own follower
sees any of it, anything else is "not found"."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO as _io

import pytest
from PIL import Image
from rq import Queue
from sqlalchemy import select

from bot.care.rules import local_date
from bot.models import (
    AuditLog,
    Catheter,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    Report,
    Staff,
    utcnow,
)
from bot.models.enums import Channel, OcrStatus, ReportSource
from server import create_app
from tests.integration.test_staff_pages import add_nurse_and_outsider, csrf
from tests.support.reports import add_report, photo

pytestmark = [pytest.mark.db, pytest.mark.redis]
PLT_LOW = ("血小板", "PLT", "45", "125-350", "L")
WBC_HIGH = ("白细胞", "WBC", "12.5", "3.5-9.5", "H")


@pytest.fixture
def world(settings, engine, redis_conn, session, cipher):
    """赵大爷 (a PICC whose responsible nurse is N001, reachable in WeChat Work) followed by
    o_zhao; 钱阿姨 (no line) followed by o_qian; each with reports."""
    today = local_date(utcnow(), settings.timezone)
    add_nurse_and_outsider(session, cipher)
    zhao, qian = Patient(name="赵大爷"), Patient(name="钱阿姨")
    a_zhao, a_qian = PatientAccount(openid="o_zhao"), PatientAccount(openid="o_qian")
    session.add_all([zhao, qian, a_zhao, a_qian])
    session.flush()
    for account, patient in ((a_zhao, zhao), (a_qian, qian)):
        profile = PatientProfile(account_id=account.id, patient_id=patient.id, relation="本人")
        session.add(profile)
        session.flush()
        account.active_profile_id = profile.id
    nurse = session.scalar(select(Staff).where(Staff.staff_no == "N001"))
    nurse.wecom_userid = "li_nurse"
    session.add(
        Catheter(
            patient_id=zhao.id,
            device_type="PICC",
            placed_at=utcnow() - timedelta(days=20),
            responsible_staff_id=nurse.id,
        )
    )
    root = settings.media_root
    blood = add_report(
        session,
        root,
        zhao.id,
        day=today - timedelta(days=2),
        items=[PLT_LOW, WBC_HIGH, ("血红蛋白", "HGB", "130", "115-150", None)],
        account_id=a_zhao.id,
    )
    older = add_report(
        session,
        root,
        zhao.id,
        kind="coagulation",
        day=today - timedelta(days=30),
        source=ReportSource.OUTSIDE,
        institution="市二院",
    )
    undated = add_report(session, root, zhao.id, institution=None, account_id=a_zhao.id)
    pending = add_report(session, root, zhao.id, status=OcrStatus.PENDING, institution=None)
    failed = add_report(
        session, root, zhao.id, status=OcrStatus.FAILED, institution=None, ocr_problem="照片太暗"
    )
    other = add_report(session, root, zhao.id, status=OcrStatus.NOT_A_REPORT, institution=None)
    foreign = add_report(session, root, qian.id, day=today, institution="本院")
    foreign_other = add_report(session, root, qian.id, status=OcrStatus.NOT_A_REPORT)
    session.commit()
    return {
        "app": create_app(settings),
        "today": today,
        "zhao": zhao.id,
        "accounts": (a_zhao.id, a_qian.id),
        "blood": blood.id,
        "older": older.id,
        "undated": undated.id,
        "pending": pending.id,
        "failed": failed.id,
        "other": other.id,
        "foreign": foreign.id,
        "foreign_other": foreign_other.id,
    }


def follower(world, which: int = 0):
    client = world["app"].test_client()
    with client.session_transaction() as web_session:
        web_session["account_id"] = world["accounts"][which]
    return client


def token(client, path: str = "/h5/reports") -> str:
    return csrf(client.get(path).get_data(as_text=True))


def entries(page: str) -> list[str]:
    return [" ".join(e.split()) for e in re.findall(r'<a class="report"(.*?)</a>', page, re.S)]


@pytest.mark.req("P2.5", "P6.2")
def test_p6_2_the_list_shows_the_active_patients_reports_newest_first_with_flags(world):
    home = follower(world).get("/h5/home").get_data(as_text=True)
    assert 'href="/h5/reports"' in home and "我的报告（上传与识别结果）" in home
    assert "在公众号对话中直接发送报告照片" not in home
    page = follower(world).get("/h5/reports").get_data(as_text=True)
    assert "赵大爷的报告" in page and 'type="file" accept="image/*" multiple' in page
    shown = entries(page)
    ids = [int(re.search(r"/h5/reports/(\d+)", e).group(1)) for e in shown]
    # dated by the report, the others by their upload (today); newest upload first
    assert ids.index(world["blood"]) < ids.index(world["older"])
    assert set(ids) == {
        world[k] for k in ("blood", "older", "undated", "pending", "failed", "other")
    }
    blood = shown[ids.index(world["blood"])]
    assert "血常规" in blood and "本院 · 本人上传" in blood and "血小板 45↓；白细胞 12.5↑" in blood
    assert "血红蛋白" not in blood  # only flagged values on the list
    assert "凝血功能" in shown[ids.index(world["older"])] and "市二院 · 外院" in page
    assert "日期待补充" in shown[ids.index(world["undated"])]
    assert "【识别中】" in shown[ids.index(world["pending"])]
    assert "【未能识别】" in shown[ids.index(world["failed"])]
    assert "【待确认】" in shown[ids.index(world["other"])]
    assert f"/h5/reports/{world['foreign']}" not in page


@pytest.mark.req("P4.1", "P6.2")
def test_p4_1_photos_uploaded_on_the_page_become_reports_read_on_the_queue(
    world, settings, session_factory, redis_conn
):
    client = follower(world)
    files = [(photo("第一张"), "a.jpg"), (photo("第二张"), "b.jpg")]
    data = {"csrf_token": token(client), "photos": [(_io(d), n) for d, n in files]}
    r = client.post("/h5/reports/upload", data=data, content_type="multipart/form-data")
    assert r.status_code == 302 and r.headers["Location"] == "/h5/reports"
    assert "已收到2张报告，正在识别…" in client.get("/h5/reports").get_data(as_text=True)
    with session_factory() as s:
        new = s.scalars(
            select(Report).where(Report.id > world["foreign_other"]).order_by(Report.id)
        ).all()
        assert len(new) == 2
        for report in new:
            assert report.source is ReportSource.SELF and report.ocr_status is OcrStatus.PENDING
            assert report.patient_id == world["zhao"]
            assert report.uploaded_by_account_id == world["accounts"][0]
            path = report.image_path
            assert path.startswith(str(settings.media_root)) and path.endswith(".jpg")
        created = s.scalars(select(AuditLog).where(AuditLog.action == "create")).all()
        assert {(a.object_id, a.context) for a in created} == {(str(n.id), "h5") for n in new}
    assert Queue("reports", connection=redis_conn).job_ids == [f"report-{n.id}" for n in new]
    # the same photo again is the same report, not read twice
    again = {"csrf_token": token(client), "photos": [(_io(files[0][0]), "a.jpg")]}
    with session_factory() as s:
        s.get(Report, new[0].id).ocr_status = OcrStatus.DONE
        s.commit()
    client.post("/h5/reports/upload", data=again, content_type="multipart/form-data")
    assert "有1张报告之前已上传过" in client.get("/h5/reports").get_data(as_text=True)
    with session_factory() as s:
        assert len(s.scalars(select(Report)).all()) == 10


@pytest.mark.req("P4.1")
def test_p4_1_a_gif_or_a_broken_jpeg_is_refused_with_the_reason_and_nothing_is_saved(
    world, settings, session_factory, redis_conn
):
    client = follower(world)
    before = sorted(settings.media_root.rglob("*"))
    whole = photo("坏的")
    broken = whole[: len(whole) // 2]  # a JPEG cut short: its header reads, its pixels do not
    data = {
        "csrf_token": token(client),
        "photos": [(_io(photo("动图", fmt="GIF")), "x.gif"), (_io(broken), "y.jpg")],
    }
    r = client.post("/h5/reports/upload", data=data, content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "第1张（x.gif）：不支持动图（GIF）" in page and "第2张（y.jpg）：照片文件已损坏" in page
    assert sorted(settings.media_root.rglob("*")) == before
    with session_factory() as s:
        assert len(s.scalars(select(Report)).all()) == 8
    assert Queue("reports", connection=redis_conn).job_ids == []
    # a good photo with a bad one: the good one is kept, the bad one's reason shown
    data = {
        "csrf_token": token(client),
        "photos": [(_io(photo("好的")), "ok.jpg"), (_io(broken), "y.jpg")],
    }
    client.post("/h5/reports/upload", data=data, content_type="multipart/form-data")
    page = client.get("/h5/reports").get_data(as_text=True)
    assert "已收到1张报告，正在识别…" in page and "第2张（y.jpg）：照片文件已损坏" in page
    no_token = {"photos": [(_io(photo("无令牌")), "z.jpg")]}
    r = client.post("/h5/reports/upload", data=no_token, content_type="multipart/form-data")
    assert r.status_code == 400
    with session_factory() as s:
        assert len(s.scalars(select(Report)).all()) == 9


@pytest.mark.req("P4.2")
def test_p4_2_the_report_page_shows_the_zoomable_photo_and_what_was_read(world, settings):
    client = follower(world)
    page = client.get(f"/h5/reports/{world['blood']}").get_data(as_text=True)
    assert f'id="photo" src="/h5/reports/{world["blood"]}/photo"' in page
    assert 'id="viewer"' in page and "双击或双指张开放大" in page
    assert "血常规 · " + (world["today"] - timedelta(days=2)).isoformat() in page
    assert re.search(r'aria-label="血小板结果"[^>]*value="45"', page)
    assert 'type="date"' in page and 'http-equiv="refresh"' not in page
    photo_r = client.get(f"/h5/reports/{world['blood']}/photo")
    assert photo_r.status_code == 200 and photo_r.mimetype == "image/jpeg"
    assert "private" in photo_r.headers["Cache-Control"]
    thumb = client.get(f"/h5/reports/{world['blood']}/photo?thumb=1")
    assert max(Image.open(_io(thumb.data)).size) <= 320 < len(photo_r.data)


@pytest.mark.req("P4.2")
def test_p4_2_reading_failing_or_blurred_photos_say_so(world, session_factory):
    client = follower(world)
    pending = client.get(f"/h5/reports/{world['pending']}").get_data(as_text=True)
    assert "识别中，请稍候" in pending and '<meta http-equiv="refresh" content="4">' in pending
    assert 'id="correct"' not in pending
    failed = client.get(f"/h5/reports/{world['failed']}").get_data(as_text=True)
    assert "没能识别这张报告：照片太暗" in failed and 'id="correct"' in failed
    with session_factory() as s:
        s.get(Report, world["blood"]).ocr_problem = "照片模糊，请把手机拿稳"
        s.commit()
    blurred = client.get(f"/h5/reports/{world['blood']}").get_data(as_text=True)
    assert "照片模糊，请把手机拿稳。识别结果可能不准" in blurred


@pytest.mark.req("P4.2", "P6.2")
def test_p4_2_another_followers_report_and_photo_are_not_found_like_missing_ones(world):
    zhao = follower(world)
    form = {"csrf_token": token(zhao), "report_date": "2020-01-01"}
    for path in ("/h5/reports/{}", "/h5/reports/{}/photo"):
        foreign, missing = zhao.get(path.format(world["foreign"])), zhao.get(path.format(99999))
        assert foreign.status_code == missing.status_code == 404
        assert foreign.get_data() == missing.get_data()
    for path in ("/h5/reports/{}", "/h5/reports/{}/keep", "/h5/reports/{}/to-nurse"):
        assert zhao.post(path.format(world["foreign_other"]), data=form).status_code == 404
    assert follower(world, 1).get(f"/h5/reports/{world['foreign']}/photo").status_code == 200
    anonymous = world["app"].test_client().get(f"/h5/reports/{world['blood']}/photo")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/h5/auth")


@pytest.mark.req("P4.4")
def test_p4_4_corrections_are_saved_and_audited_with_who_changed_what(world, session_factory):
    client = follower(world)
    report_id = world["undated"]
    with session_factory() as s:
        s.get(Report, report_id).items = []
        blood = s.get(Report, world["blood"])
        plt_id = next(i.id for i in blood.items if i.code == "PLT")
        s.commit()
    day = world["today"] - timedelta(days=5)
    form = {
        "csrf_token": token(client, f"/h5/reports/{report_id}"),
        "report_date": day.isoformat(),
        "institution": "  市第二人民医院 ",
        "remarks": "复查",
    }
    r = client.post(f"/h5/reports/{report_id}", data=form)
    assert r.status_code == 302 and r.headers["Location"] == f"/h5/reports/{report_id}"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已保存" in page and f'value="{day.isoformat()}"' in page and "市第二人民医院" in page
    r = client.post(
        f"/h5/reports/{world['blood']}",
        data={**form, "report_date": day.isoformat(), f"item-{plt_id}": "150", "remarks": ""},
    )
    assert r.status_code == 302
    with session_factory() as s:
        undated = s.get(Report, report_id)
        assert undated.report_date == day and undated.institution_name == "市第二人民医院"
        assert undated.remarks == "复查" and undated.confirmed
        plt = next(i for i in s.get(Report, world["blood"]).items if i.code == "PLT")
        assert (plt.value, plt.flag) == ("150", None)  # within 125-350 now
        rows = s.scalars(
            select(AuditLog).where(AuditLog.action == "update").order_by(AuditLog.id)
        ).all()
        assert [(a.object_id, a.actor_id, a.context) for a in rows] == [
            (str(report_id), world["accounts"][0], "h5"),
            (str(world["blood"]), world["accounts"][0], "h5"),
        ]
        assert rows[0].detail == {
            "report_date": [None, day.isoformat()],
            "institution": [None, "市第二人民医院"],
            "remarks": [None, "复查"],
        }
        assert rows[1].detail["item:血小板"] == ["45", "150"]


@pytest.mark.req("P4.4")
@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("tomorrow", "报告日期不能晚于今天，请核对后重新填写。"),
        ("1989-12-31", "报告日期不能早于1990年，请核对后重新填写。"),
        ("2024-13-40", "请按“年-月-日”填写报告日期。"),
    ],
)
def test_p4_4_a_date_in_the_future_or_before_1990_is_refused_and_asked_again(
    world, session_factory, typed, reason
):
    client = follower(world)
    report_id = world["blood"]
    typed = (world["today"] + timedelta(days=1)).isoformat() if typed == "tomorrow" else typed
    form = {
        "csrf_token": token(client, f"/h5/reports/{report_id}"),
        "report_date": typed,
        "institution": "另一家医院",
    }
    r = client.post(f"/h5/reports/{report_id}", data=form)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and reason in page
    assert re.search(r'id="report_date" name="report_date" type="date"[^>]*value=""', page)
    assert 'value="另一家医院"' in page  # what else was typed is kept
    with session_factory() as s:
        assert s.get(Report, report_id).report_date == world["today"] - timedelta(days=2)
        assert s.get(Report, report_id).institution_name == "本院"
        assert s.scalars(select(AuditLog).where(AuditLog.action == "update")).all() == []


@pytest.mark.req("P4.2")
def test_p4_2_a_photo_taken_for_something_else_is_kept_as_a_report_anyway(world, session_factory):
    client = follower(world)
    page = client.get(f"/h5/reports/{world['other']}").get_data(as_text=True)
    assert "这张照片看起来不是检验检查报告" in page
    assert "仍作为报告保存" in page and "发给护士查看" in page and 'id="correct"' not in page
    r = client.post(f"/h5/reports/{world['other']}/keep", data={"csrf_token": csrf(page)})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已作为报告保存" in page and 'id="correct"' in page
    with session_factory() as s:
        assert s.get(Report, world["other"]).ocr_status is OcrStatus.DONE
        entry = s.scalar(select(AuditLog).where(AuditLog.object_id == str(world["other"])))
        assert entry.detail == {"ocr_status": ["not_a_report", "done"]}
    listed = entries(follower(world).get("/h5/reports").get_data(as_text=True))
    assert not any("待确认" in e for e in listed)


@pytest.mark.req("P4.2")
def test_p4_2_a_photo_of_the_site_goes_to_the_responsible_nurse(world, session_factory, redis_conn):
    client = follower(world)
    form = {"csrf_token": token(client, f"/h5/reports/{world['other']}")}
    r = client.post(f"/h5/reports/{world['other']}/to-nurse", data=form)
    assert r.status_code == 302 and r.headers["Location"] == "/h5/reports"
    page = client.get("/h5/reports").get_data(as_text=True)
    assert "照片已发给负责您导管的护士查看" in page
    assert f'/h5/reports/{world["other"]}"' not in page  # no longer among the reports
    with session_factory() as s:
        assert s.get(Report, world["other"]).ocr_status is OcrStatus.WOUND_PHOTO
        sent = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert {(m.channel, m.recipient) for m in sent} == {(Channel.WORK, "user:li_nurse")}
        assert [m.msg_type for m in sent] == ["text", "image"]
        assert "赵大爷" in sent[0].payload["text"]["content"]
        jobs = [f"outbound-{m.id}" for m in sent]
    assert Queue("outbound", connection=redis_conn).job_ids == jobs
    page = client.get(f"/h5/reports/{world['other']}").get_data(as_text=True)
    assert "已作为导管处照片发给护士查看" in page


@pytest.mark.req("P4.2")
def test_p4_2_when_no_nurse_can_be_reached_the_photo_is_kept_and_the_patient_told(
    world, session_factory
):
    client = follower(world, 1)  # 钱阿姨 has no line, so no responsible nurse
    report_id = world["foreign_other"]
    form = {"csrf_token": token(client, f"/h5/reports/{report_id}")}
    r = client.post(f"/h5/reports/{report_id}/to-nurse", data=form)
    assert r.headers["Location"] == f"/h5/reports/{report_id}"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "暂时联系不到负责您导管的护士，照片已保留在这里" in page
    assert "仍作为报告保存" in page  # still asked what it is
    with session_factory() as s:
        assert s.get(Report, report_id).ocr_status is OcrStatus.NOT_A_REPORT
        assert s.scalars(select(OutboxMessage)).all() == []
