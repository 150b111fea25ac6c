"""The vascular-access team's tracking board (A7.2) and its WeChat Work pushes (A7.3), with
the clock injected: reporting and the board page read ``utcnow`` (replaced by the ``clock``
fixture), the board and the 24-hour check take ``now``."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.adapters.media import MediaStore
from bot.models import (
    AuditLog,
    Catheter,
    Complication,
    ComplicationPhoto,
    Department,
    Institution,
    OutboxMessage,
    Patient,
    Staff,
)
from bot.models.enums import ActorType, Channel, ComplicationStatus, StaffRole
from bot.services import audit, auth, complication_alerts, complication_board, complications
from server import create_app

pytestmark = [pytest.mark.db]

T0 = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # 10:00 in the hospital
BASE = "https://vam.example"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def installed(settings):
    """The process's container, as in the worker and the action server: reporting takes the
    public base URL of the alerts' links from it."""
    from bot import container
    from server import bootstrap

    container.install(bootstrap(replace(settings, public_base_url=BASE)))
    yield
    container.install(None)


@pytest.fixture
def clock(monkeypatch):
    from admin import board as board_page

    c = Clock(T0)
    monkeypatch.setattr(complications, "utcnow", c)
    monkeypatch.setattr(board_page, "utcnow", c)
    return c


def _staff(institution, no, name, role=StaffRole.NURSE, **kw):
    return Staff(
        institution=institution,
        staff_no=no,
        name=name,
        role=role,
        password_hash=auth.hash_password("Passw0rd1"),
        password_changed_at=T0,
        **kw,
    )


@pytest.fixture
def ward(session):
    """A PICC of 张小明 in 血液科; his nurse and two reachable experts are the team; an expert
    without WeChat Work, a deactivated one and one of another hospital are not."""
    home = Institution(code="HOME", name="本院", is_home=True)
    county = Institution(code="CTY", name="县医院")
    dept = Department(institution=home, code="HEM", name="血液科")
    people = {
        "admin": _staff(home, "A001", "王管理", StaffRole.ADMIN),
        "nurse": _staff(home, "N001", "李护士", wecom_userid="n0001"),
        "expert": _staff(home, "N002", "周专家", is_vascular_expert=True, wecom_userid="e0002"),
        "doctor": _staff(
            home, "D001", "陈医生", StaffRole.DOCTOR, is_vascular_expert=True, wecom_userid="d0001"
        ),
        "unreachable": _staff(home, "N003", "吴专家", is_vascular_expert=True),
        "retired": _staff(
            home, "N004", "郑专家", is_vascular_expert=True, wecom_userid="e0004", active=False
        ),
        "elsewhere": _staff(county, "N001", "钱专家", is_vascular_expert=True, wecom_userid="c01"),
        "plain": _staff(home, "N005", "孙护士", wecom_userid="n0005"),
    }
    patient = Patient(name="张小明")
    session.add_all([home, county, dept, patient, *people.values()])
    session.flush()
    catheter = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        institution_id=home.id,
        department_id=dept.id,
        placed_at=T0 - timedelta(days=20),
        responsible_staff_id=people["nurse"].id,
    )
    session.add(catheter)
    session.commit()
    return {"home": home, "catheter": catheter, "patient": patient, **people}


def report(session, dictionary, ward, settings, type_code, grade, *, by="nurse"):
    done = complications.report(
        session,
        dictionary,
        ward["catheter"].id,
        type_code=type_code,
        onset_on=(complications.utcnow() - timedelta(days=1)).date(),
        grade=grade,
        brief_history="化疗后第3天",
        tz=settings.timezone,
        actor=audit.Actor(ActorType.STAFF, ward[by].id),
        institution_id=ward["home"].id,
    )
    session.commit()
    return done.complication


def handled(session, dictionary, complication, by):
    actor = audit.Actor(ActorType.STAFF, by.id)
    complications.add_step(session, dictionary, complication.id, text="硫酸镁湿敷", actor=actor)


def pushes(session, *where):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.channel == Channel.WORK, *where)
    ).all()


# --- pushes (A7.3) --------------------------------------------------------------------------


@pytest.mark.req("A7.3")
def test_a7_3_grade_2_phlebitis_is_pushed_to_the_nurse_and_the_experts_once(
    session, dictionary, ward, settings, clock
):
    done = complications.report(
        session,
        dictionary,
        ward["catheter"].id,
        type_code="PHLEBITIS",
        onset_on=(T0 - timedelta(days=1)).date(),
        grade=2,
        brief_history=None,
        tz=settings.timezone,
        actor=audit.Actor(ActorType.STAFF, ward["nurse"].id),
        institution_id=ward["home"].id,
    )
    session.commit()
    c, ids = done.complication, done.outbox_ids
    rows = pushes(session)
    assert sorted(r.id for r in rows) == sorted(ids)
    assert sorted(r.recipient for r in rows) == ["user:d0001", "user:e0002", "user:n0001"]
    text = rows[0].payload["text"]["content"]
    assert "张*明" in text and "张小明" not in text  # masked on a lock screen
    assert "PICC" in text and "静脉炎 2级" in text and "李护士" in text
    assert f"发生日期：{(T0 - timedelta(days=1)).date():%Y-%m-%d}" in text
    assert f"查看与处理：{BASE}/staff/complications/{c.id}" in text
    # reporting again or running the alert again sends nothing twice
    again = complication_alerts.on_reported(session, dictionary, c, base_url=BASE)
    report(session, dictionary, ward, settings, "PHLEBITIS", 2)
    session.commit()
    assert sorted(again) == sorted(ids) and len(pushes(session)) == 3


@pytest.mark.req("A7.3")
@pytest.mark.parametrize(("type_code", "grade"), [("CRBSI", None), ("THROMBOSIS", None)])
def test_a7_3_suspected_crbsi_and_thrombosis_are_pushed_whatever_their_grade(
    session, dictionary, ward, settings, clock, type_code, grade
):
    c = report(session, dictionary, ward, settings, type_code, grade)
    ids = complication_alerts.on_reported(session, dictionary, c, base_url=BASE)
    session.commit()
    assert len(ids) == 3
    assert all(r.payload["text"]["content"].startswith("【警示并发症") for r in pushes(session))


@pytest.mark.req("A7.3")
def test_a7_3_grade_1_phlebitis_is_not_pushed(session, dictionary, ward, settings, clock):
    c = report(session, dictionary, ward, settings, "PHLEBITIS", 1)
    assert complication_alerts.on_reported(session, dictionary, c, base_url=BASE) == []
    session.commit()
    assert pushes(session) == []


@pytest.mark.req("A7.3")
def test_a7_3_a_complication_without_a_step_for_24_hours_is_pushed_once_per_quiet_spell(
    session, dictionary, ward, settings, clock
):
    c = report(session, dictionary, ward, settings, "PHLEBITIS", 1)  # not pushed when new

    def check(hours: float) -> list[int]:
        ids = complication_alerts.stale(
            session, dictionary, T0 + timedelta(hours=hours), tz=settings.timezone, base_url=BASE
        )
        session.commit()
        return ids

    assert check(23.9) == []
    first = check(24)
    assert len(first) == 3
    text = session.get(OutboxMessage, first[0]).payload["text"]["content"]
    assert text.startswith("【并发症24小时未处理】") and "张*明" in text and "静脉炎 1级" in text
    assert "上报：静脉炎 1级（12-08 10:00），此后尚无处理记录" in text
    assert check(30) == [] and check(47) == []  # the same quiet spell: told once
    clock.now = T0 + timedelta(hours=26)
    handled(session, dictionary, c, ward["nurse"])
    session.commit()
    assert check(49) == []  # 23 hours after the step
    second = check(50)
    assert len(second) == 3 and not set(second) & set(first)
    assert (
        "最近处理：硫酸镁湿敷（李护士 12-09 12:00）"
        in session.get(OutboxMessage, second[0]).payload["text"]["content"]
    )
    session.get(Complication, c.id).status = ComplicationStatus.CLOSED
    session.commit()
    assert check(100) == []
    assert len(pushes(session)) == 6


@pytest.mark.req("A7.3")
@pytest.mark.redis
def test_a7_3_the_scheduled_check_queues_the_stale_pushes_once(
    session, dictionary, ward, settings, engine, redis_conn
):
    from rq import Queue

    from bot import container
    from bot.jobs.complications import alert_stale_complications
    from server import bootstrap

    c = report(session, dictionary, ward, settings, "OTHER", None)
    c.reported_at = c.last_step_at = c.reported_at - timedelta(days=2)
    session.commit()
    container.install(bootstrap(settings))
    try:
        assert alert_stale_complications() == "queued 3"
        jobs = Queue("outbound", connection=redis_conn).jobs
        assert sorted(j.args[0] for j in jobs) == sorted(r.id for r in pushes(session))
        assert alert_stale_complications() == "queued 0"
        link = f"{settings.public_base_url}/staff/complications/{c.id}"
        assert all(link in r.payload["text"]["content"] for r in pushes(session))
    finally:
        container.install(None)


# --- the board (A7.2) -----------------------------------------------------------------------


@pytest.fixture
def many(session, dictionary, ward, settings, clock):
    """Complications reported at different times: the board's order is CRBSI (20 h), grade-2
    phlebitis (1 h), then the non-alarming occlusion (5 days) and grade-1 phlebitis (3 days);
    a closed one is not listed."""
    made = {}
    for name, type_code, grade, hours_ago in [
        ("occlusion", "OCCLUSION_PARTIAL", None, 120),
        ("mild", "PHLEBITIS", 1, 72),
        ("crbsi", "CRBSI", None, 20),
        ("closed", "MARSI", None, 10),
        ("phlebitis", "PHLEBITIS", 2, 1),
    ]:
        clock.now = T0 - timedelta(hours=hours_ago)
        made[name] = report(session, dictionary, ward, settings, type_code, grade)
    made["closed"].status = ComplicationStatus.CLOSED
    session.commit()
    clock.now = T0
    return made


@pytest.mark.req("A7.2")
def test_a7_2_board_lists_open_complications_most_urgent_first(session, dictionary, many):
    entries = complication_board.board(session, dictionary, T0)
    order = [many[n].id for n in ("crbsi", "phlebitis", "occlusion", "mild")]
    assert [e.id for e in entries] == order
    by_id = {e.id: e for e in entries}
    assert [by_id[i].alert for i in order] == [True, True, False, False]
    assert [by_id[i].recent for i in order] == [True, True, False, False]
    assert [by_id[i].days_open for i in order] == [0, 0, 5, 3]
    assert {e.patient for e in entries} == {"张*明"}
    assert by_id[many["crbsi"].id].responsible == "李护士"
    assert by_id[many["crbsi"].id].department == "血液科"


@pytest.fixture
def app(settings, engine, redis_conn):
    return create_app(settings)


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def signed_in(app, login):
    client = app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"csrf_token": token, "login": login, "password": "Passw0rd1"})
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def board_reads(session):
    session.expire_all()
    return session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "read", AuditLog.context == "admin_board")
    )


@pytest.mark.req("A7.2")
@pytest.mark.redis
def test_a7_2_the_board_page_shows_open_ones_in_order_with_new_ones_highlighted(app, session, many):
    admin = signed_in(app, "A001")
    html = admin.get("/admin/board/").get_data(as_text=True)
    assert "并发症看板" in html and "张小明" not in html and "张*明" in html
    ids = [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]
    assert ids == [many[n].id for n in ("crbsi", "phlebitis", "occlusion", "mild")]
    rows = dict(zip(ids, re.findall(r'<tr data-id="\d+" class="([^"]*)"', html), strict=True))
    assert "board-new" in rows[many["crbsi"].id] and "board-alert" in rows[many["crbsi"].id]
    assert "board-new" not in rows[many["mild"].id] and "board-alert" not in rows[many["mild"].id]
    assert f'href="/staff/complications/{many["crbsi"].id}"' in html  # the whole record
    assert (
        "静脉炎 2级" in html
        and "5天" in html
        and '未结案 <strong id="board-count">4</strong>' in html
    )
    # every page load is one audited read per complication shown, each naming its patient
    assert board_reads(session) == 4
    admin.get("/admin/board/")
    assert board_reads(session) == 8


@pytest.mark.req("A7.2")
@pytest.mark.redis
def test_a7_2_the_feed_returns_complications_reported_after_the_cursor(
    app, session, dictionary, ward, settings, many, clock
):
    admin = signed_in(app, "A001")
    html = admin.get("/admin/board/").get_data(as_text=True)
    cursor = int(re.search(r'data-cursor="(\d+)"', html).group(1))
    reads = board_reads(session)
    quiet = admin.get(f"/admin/board/feed?after={cursor}&since={cursor}").get_json()
    assert quiet["new"] == [] and quiet["count"] == 4 and quiet["cursor"] == cursor
    assert board_reads(session) == reads  # a poll with nothing new audits nothing
    clock.now = T0 + timedelta(minutes=5)
    fresh = report(session, dictionary, ward, settings, "THROMBOSIS", None)
    data = admin.get(f"/admin/board/feed?after={cursor}&since={cursor}").get_json()
    assert data["new"] == [fresh.id] and data["count"] == 5 and data["cursor"] == fresh.id
    assert "刚刚上报" in data["rows"] and "导管相关性血栓" in data["rows"]
    # alarming, so among the first, after the two alarming ones open longer
    assert re.findall(r'<tr data-id="(\d+)"', data["rows"])[2] == str(fresh.id)
    assert board_reads(session) == reads + 1  # the new one, once
    again = admin.get(f"/admin/board/feed?after={fresh.id}&since={cursor}").get_json()
    assert again["new"] == [] and "刚刚上报" in again["rows"]
    assert board_reads(session) == reads + 1
    bad = admin.get("/admin/board/feed?after=abc")
    assert bad.status_code == 400 and "参数无效" in bad.get_json()["error"]


@pytest.mark.req("A7.2")
@pytest.mark.redis
def test_a7_2_only_administrators_and_vascular_experts_may_open_the_board(app, ward):
    nurse = signed_in(app, "N005")
    assert nurse.get("/admin/board/").status_code == 403
    r = nurse.get("/admin/board/feed?after=0")
    assert r.status_code == 403 and r.get_json()["error"] == "无权查看并发症看板"
    anonymous = app.test_client()
    assert "/login" in anonymous.get("/admin/board/").headers["Location"]
    r = anonymous.get("/admin/board/feed?after=0")
    assert r.status_code == 401 and "登录已失效" in r.get_json()["error"]
    expert = signed_in(app, "N002")
    assert "目前没有未结案的并发症" in expert.get("/admin/board/").get_data(as_text=True)


def jpeg(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.req("A7.3", "A7.2")
@pytest.mark.redis
def test_a7_3_photos_and_the_last_step_show_on_the_board(
    app, session, dictionary, ward, settings, clock
):
    c = report(session, dictionary, ward, settings, "PHLEBITIS", 2)
    media = MediaStore(settings.media_root)
    photos = []
    for colour in [(200, 30, 30), (30, 200, 30)]:
        stored = media.save(jpeg(colour), "image/jpeg")
        photo = ComplicationPhoto(
            complication_id=c.id,
            path=str(stored.path),
            sha256=stored.sha256,
            content_type="image/jpeg",
            uploaded_by_id=ward["nurse"].id,
        )
        session.add(photo)
        photos.append((photo, stored))
    clock.now = T0 + timedelta(hours=2)
    handled(session, dictionary, c, ward["expert"])
    stray = ComplicationPhoto(
        complication_id=c.id, path="/etc/hostname", sha256="0" * 64, content_type="image/jpeg"
    )
    session.add(stray)
    session.commit()
    admin = signed_in(app, "A001")
    html = admin.get("/admin/board/").get_data(as_text=True)
    for photo, stored in photos:
        assert f'src="/admin/board/photos/{photo.id}"' in html
        r = admin.get(f"/admin/board/photos/{photo.id}")
        assert r.status_code == 200 and r.mimetype == "image/jpeg"
        assert r.get_data() == stored.path.read_bytes()
        assert "private" in r.headers["Cache-Control"]
    assert "硫酸镁湿敷" in html and "周专家 · 12-08 12:00" in html
    assert admin.get(f"/admin/board/photos/{stray.id}").status_code == 404  # outside MEDIA_ROOT
    assert admin.get("/admin/board/photos/99999").status_code == 404
    assert signed_in(app, "N005").get(f"/admin/board/photos/{photos[0][0].id}").status_code == 403
