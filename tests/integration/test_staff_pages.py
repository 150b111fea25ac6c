"""Clinician H5 pages: placement forms (valid and invalid), the catheter page with its QR
card, the page a phone camera opens, the due list; access rules on each."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from pyzbar.pyzbar import decode
from sqlalchemy import select

from bot.care.rules import local_date
from bot.models import (
    AuditLog,
    Catheter,
    Institution,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    Staff,
    utcnow,
)
from bot.models.enums import StaffRole
from bot.security import idcard
from bot.services import auth
from server import create_app
from tests.integration.test_staff_web import sign_in

pytestmark = [pytest.mark.db, pytest.mark.redis]
ID = "11010519491231002" + idcard.check_digit("11010519491231002")


def add_nurse_and_outsider(session, cipher) -> None:
    """本院's nurse N001 / Nurse1234 and an outside clinician 13900009999 / Outside123."""
    home = Institution(code="HOME", name="本院", is_home=True)
    session.add_all(
        [
            Staff(
                institution=home,
                staff_no="N001",
                name="李护士",
                role=StaffRole.NURSE,
                password_hash=auth.hash_password("Nurse1234"),
                password_changed_at=utcnow(),
            ),
            Staff(
                institution=Institution(code="X", name="外院"),
                staff_no="X001",
                name="外院医生",
                role=StaffRole.OUTSIDE_CLINICIAN,
                phone_enc=cipher.encrypt("13900009999", context="staff.phone"),
                phone_index=cipher.blind_index("13900009999", kind="phone"),
                password_hash=auth.hash_password("Outside123"),
                password_changed_at=utcnow(),
            ),
        ]
    )


@pytest.fixture
def app(settings, engine, redis_conn, session, cipher):
    add_nurse_and_outsider(session, cipher)
    # a follower already bound to this person (e.g. a relative who bound earlier)
    p = Patient(name="赵大爷", id_card_index=cipher.blind_index(ID, kind="id_card"))
    acc = PatientAccount(openid="o_zhao", ih_user_id="ih-z")
    session.add_all([p, acc])
    session.flush()
    session.add(PatientProfile(account_id=acc.id, patient_id=p.id))
    session.commit()
    return create_app(settings)


def csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


PICC = {
    "patient_name": "赵大爷",
    "id_card": ID,
    "device_type": "PICC",
    "source": "here",
    "vein": "BASILIC",
    "side": "RIGHT",
    "insertion_length_cm": "42",
    "external_length_cm": "3",
    "arm_circumference_cm": "26",
    "french_size": "4",
    "lumens": "1",
    "techniques": ["MST", "US"],
    "tip_confirmation": "ECG",
    "dressing_type": "TRANSPARENT",
    "tier": "B",
    "brand": "BD",
    "attempts": "1",
}


def nurse(app):
    client = app.test_client()
    sign_in(client, "N001", "Nurse1234")
    return client


@pytest.mark.req("C3.2", "P2.2", "X.1")
def test_a_valid_picc_placement_creates_the_catheter_its_first_due_date_and_tells_the_patient(
    app, settings, session_factory
):
    client = nurse(app)
    page = client.get("/staff/placements/new?device=PICC").get_data(as_text=True)
    assert "置管登记 · PICC" in page and "贵要静脉" in page
    today = local_date(utcnow(), settings.timezone)
    placed = today - timedelta(days=1)
    r = client.post(
        "/staff/placements/new",
        data={**PICC, "placed_on": placed.isoformat(), "csrf_token": csrf(page)},
    )
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "置管已登记" in page and "赵大爷 · PICC" in page
    with session_factory() as s:
        c = s.scalars(select(Catheter)).one()
        assert c.next_due_on == placed + timedelta(days=7) and c.techniques == ["MST", "US"]
        assert c.patient.name == "赵大爷"  # the existing patient, matched by ID card
        notice, qr_image = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert (
            notice.recipient == "o_zhao"
            and "PICC已登记" in notice.payload["news"]["articles"][0]["title"]
        )
        assert qr_image.recipient == "o_zhao" and decode(
            Image.open(qr_image.payload["image"]["path"])
        )
        assert s.scalar(select(AuditLog).where(AuditLog.context == "placement"))
    card = client.get(f"/staff/catheters/{c.id}/card.png")
    with session_factory() as s:  # shown on the page: no print entry; downloaded: one
        assert s.scalar(select(AuditLog).where(AuditLog.action == "print_card")) is None
    download = client.get(f"/staff/catheters/{c.id}/card.png?download=1")
    assert download.data == card.data and "attachment" in download.headers["Content-Disposition"]
    with session_factory() as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "print_card")).object_id == str(
            c.id
        )
    [code] = decode(Image.open(io.BytesIO(card.data)))
    token_url = code.data.decode()
    assert "/q/" in token_url
    r = client.get(token_url.split("127.0.0.1:5000")[-1])  # the phone camera opens it, signed in
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/staff/catheters/{c.id}")
    anonymous = app.test_client().get(token_url.split("127.0.0.1:5000")[-1])
    assert anonymous.status_code == 401 and "医护人员请" in anonymous.get_data(as_text=True)
    # reissue: the printed code stops working
    page = client.get(f"/staff/catheters/{c.id}").get_data(as_text=True)
    client.post(f"/staff/catheters/{c.id}/reissue", data={"csrf_token": csrf(page)})
    r = client.get(token_url.split("127.0.0.1:5000")[-1])
    assert r.status_code == 404 and "已作废" in r.get_data(as_text=True)


@pytest.mark.req("C3.2")
@pytest.mark.parametrize(
    ("changes", "field_error"),
    [
        ({"insertion_length_cm": "300"}, "置入长度应在 5–80 之间"),
        ({"placed_on": "2099-01-01"}, "置管日期不能晚于今天"),
        ({"port_site": "CHEST", "needle_gauge": "20"}, "只用于输液港"),
        ({"id_card": ID[:-1] + ("0" if ID[-1] != "0" else "1")}, "校验位不正确"),
        ({"side": ""}, "请选择置管侧"),
        ({"arm_circumference_cm": "abc"}, "臂围请填写数字"),
        ({"source": "brought_in"}, "院外带入请填写置管医院"),
    ],
)
def test_an_impossible_placement_gets_field_errors_and_nothing_is_saved(
    app, session_factory, changes, field_error
):
    client = nurse(app)
    page = client.get("/staff/placements/new").get_data(as_text=True)
    data = {**PICC, "placed_on": "2026-11-20", **changes, "csrf_token": csrf(page)}
    r = client.post("/staff/placements/new", data=data)
    assert (
        r.status_code == 400
        and field_error in r.get_data(as_text=True)
        and "未保存" in r.get_data(as_text=True)
    )
    with session_factory() as s:
        assert s.scalars(select(Catheter)).all() == []


@pytest.mark.req("C3.2", "P6.1")
def test_port_form_needs_the_port_site(app):
    client = nurse(app)
    page = client.get("/staff/placements/new?device=PORT").get_data(as_text=True)
    assert "输液港位置" in page
    data = {
        "patient_name": "赵大爷",
        "id_card": ID,
        "device_type": "PORT",
        "placed_on": "2026-11-20",
        "dressing_type": "TRANSPARENT",
        "csrf_token": csrf(page),
    }
    r = client.post("/staff/placements/new", data=data)
    assert "请选择输液港位置" in r.get_data(as_text=True)
    r = client.post(
        "/staff/placements/new",
        data={**data, "port_site": "CHEST", "needle_gauge": "22g", "needle_length_cm": "2.5"},
    )
    assert r.status_code == 302
    # the needle's gauge is written once with its unit, however it was typed
    record = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "22G，2.5 cm" in record and "G G" not in record


@pytest.mark.req("C3.1")
def test_due_list_page_and_access_rules(app, settings, session, session_factory):
    today = local_date(utcnow(), settings.timezone)
    p = session.scalar(select(Patient))
    for offset in (-2, 0, 1):
        session.add(
            Catheter(
                patient_id=p.id,
                device_type="PICC",
                placed_at=utcnow() - timedelta(days=20),
                next_due_on=today + timedelta(days=offset),
                institution_id=session.scalar(
                    select(Institution.id).where(Institution.is_home.is_(True))
                ),
            )
        )
    session.commit()
    client = nurse(app)
    page = client.get("/staff/due").get_data(as_text=True)
    assert page.index("【已逾期】") < page.index("【今日需维护】") < page.index("【即将到期】")
    assert "逾期2天" in page
    outsider = app.test_client()
    sign_in(outsider, "13900009999", "Outside123")
    some = session.scalar(select(Catheter.id))
    assert outsider.get(f"/staff/catheters/{some}").status_code == 404
    assert app.test_client().get("/staff/due").status_code == 302  # sign in first


@pytest.mark.req("C2.2", "P6.1", "P6.3", "P3.1", "P3.2", "P3.3")
def test_the_catheter_page_shows_the_placement_form_maintenance_and_reminder_history(
    app, settings, session, cipher
):
    from datetime import UTC, datetime

    from bot.models import MaintenanceRecord
    from bot.services import dictionary as dictionary_service
    from bot.services import reminders

    today = local_date(utcnow(), settings.timezone)
    p = session.scalar(select(Patient))
    p.phone_enc = cipher.encrypt("13800001111", context="patient.phone")
    c = Catheter(
        patient_id=p.id,
        device_type="PICC",
        placed_at=utcnow() - timedelta(days=14),
        vein="BASILIC",
        side="RIGHT",
        techniques=["US"],
        insertion_length_cm=42,
        next_due_on=today,
    )
    session.add(c)
    session.flush()
    session.add(
        MaintenanceRecord(
            catheter_id=c.id,
            performed_at=utcnow() - timedelta(days=7),
            flushed=True,
            locked=True,
            site_findings=["REDNESS"],
            external_length_cm=3,
            red_flags=["EXTERNAL_LENGTH_CHANGE"],
            next_due_on=today,
        )
    )
    session.commit()
    d = dictionary_service.current(session)
    night = datetime(today.year, today.month, today.day, 22, tzinfo=settings.timezone).astimezone(
        UTC
    )
    reminders.sweep(
        session, d, cipher, night, settings.timezone, public_base_url="x"
    )  # SMS held back
    session.commit()
    page = nurse(app).get(f"/staff/catheters/{c.id}").get_data(as_text=True)
    assert "置管登记表" in page and "右侧贵要静脉" in page and "超声引导" in page
    assert "冲封管" in page and "穿刺点：发红" in page and "⚠ 需评估" in page
    assert "当天提醒（站内消息" in page and "已送达" in page
    assert "当天提醒（短信" in page and "免打扰" in page
    assert (
        "当天提醒（微信" in page and "没有关注公众号的绑定账号" not in page
    )  # 赵大爷 has a follower


@pytest.mark.req("C3.2", "C3.3")
def test_full_maintenance_form_checks_values_saves_once_and_warns_on_red_flags(
    app, settings, session, session_factory
):
    from bot.models import MaintenanceRecord

    today = local_date(utcnow(), settings.timezone)
    p = session.scalar(select(Patient))
    c = Catheter(
        patient_id=p.id,
        device_type="PICC",
        placed_at=utcnow() - timedelta(days=10),
        external_length_cm=3,
        arm_circumference_cm=26,
        next_due_on=today,
    )
    removed = Catheter(
        patient_id=p.id,
        device_type="PICC",
        placed_at=utcnow() - timedelta(days=40),
        state="removed",
        next_due_on=today,
    )
    session.add_all([c, removed])
    session.commit()
    client = nurse(app)
    page = client.get(f"/staff/catheters/{c.id}/maintenance").get_data(as_text=True)
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    base = {"csrf_token": csrf(page), "key": key, "performed_on": today.isoformat()}
    r = client.post(
        f"/staff/catheters/{c.id}/maintenance", data={**base, "external_length_cm": "500"}
    )
    body = r.get_data(as_text=True)
    assert (
        r.status_code == 400
        and "请至少选择一项维护内容" in body
        and "外露长度应在 0–40 cm 之间" in body
    )
    good = {
        **base,
        "items": ["FLUSH_LOCK", "DRESSING"],
        "external_length_cm": "5.5",
        "arm_circumference_cm": "26",
        "site": ["NORMAL"],
        "blood_return": "yes",
        "patency": "PATENT",
        "intact": "yes",
    }
    r = client.post(f"/staff/catheters/{c.id}/maintenance", data=good)
    body = r.get_data(as_text=True)
    assert (
        f"下次维护日期：{today + timedelta(days=7):%Y年%m月%d日}" in body
        and "外露长度较置管时变化 +2.5cm" in body
    )
    again = client.post(f"/staff/catheters/{c.id}/maintenance", data=good).get_data(
        as_text=True
    )  # double tap
    assert "已经登记过" in again
    with session_factory() as s:
        [record] = s.scalars(select(MaintenanceRecord)).all()
        assert (record.blood_return, record.patency, record.catheter_intact) == (
            True,
            "PATENT",
            True,
        )
    page = client.get(f"/staff/catheters/{removed.id}/maintenance").get_data(as_text=True)
    r = client.post(
        f"/staff/catheters/{removed.id}/maintenance",
        data={**good, "csrf_token": csrf(page), "key": "other"},
    )
    assert r.status_code == 400 and "该导管已拔除" in r.get_data(as_text=True)


@pytest.mark.req("C3.3", "A7.4")
def test_a7_4_follow_up_plan_sets_tier_cycles_notes_and_next_date(
    app, settings, session, session_factory
):
    """Follow-up and maintenance are two dates: the tier and the follow-up cycle move the next
    check-in, never the maintenance date; a custom maintenance cycle moves the maintenance."""
    today = local_date(utcnow(), settings.timezone)
    p = session.scalar(select(Patient))
    c = Catheter(
        patient_id=p.id,
        device_type="PICC",
        placed_at=utcnow() - timedelta(days=3),
        next_due_on=today,
    )
    session.add(c)
    session.commit()
    placed = local_date(c.placed_at, settings.timezone)
    client = nurse(app)
    token = csrf(client.get(f"/staff/catheters/{c.id}").get_data(as_text=True))
    r = client.post(
        f"/staff/catheters/{c.id}/follow-up",
        data={
            "csrf_token": token,
            "tier": "B",
            "cycle_days": "5",
            "maintenance_cycle_days": "5",
            "notes": "化疗间歇期",
        },
        follow_redirects=True,
    )
    page = r.get_data(as_text=True)
    assert f"下次维护日期：{placed + timedelta(days=5):%Y年%m月%d日}" in page
    assert f"下次随访：{today + timedelta(days=5):%Y年%m月%d日}" in page
    r = client.post(
        f"/staff/catheters/{c.id}/follow-up",
        data={"csrf_token": token, "tier": "A", "cycle_days": "", "maintenance_cycle_days": ""},
        follow_redirects=True,
    )
    page = r.get_data(as_text=True)
    # tier A: a check-in every 3 days; maintenance stays on the PICC's weekly rule
    assert f"下次维护日期：{placed + timedelta(days=7):%Y年%m月%d日}" in page
    assert f"下次随访：{today + timedelta(days=3):%Y年%m月%d日}" in page
    r = client.post(
        f"/staff/catheters/{c.id}/follow-up",
        data={"csrf_token": token, "tier": "C"},
        follow_redirects=True,
    )
    assert "不另行随访" in r.get_data(as_text=True)
    r = client.post(
        f"/staff/catheters/{c.id}/follow-up",
        data={
            "csrf_token": token,
            "tier": "A",
            "next_due_on": (placed - timedelta(days=1)).isoformat(),
        },
        follow_redirects=True,
    )
    assert "不能早于上次维护" in r.get_data(as_text=True)
    r = client.post(
        f"/staff/catheters/{c.id}/follow-up",
        data={"csrf_token": token, "tier": "B", "cycle_days": "x"},
        follow_redirects=True,
    )
    assert "随访周期请填写整数天数" in r.get_data(as_text=True)
    with session_factory() as s:
        saved = s.get(Catheter, c.id)
        assert (saved.tier, saved.follow_up_cycle_days, saved.next_due_on) == (
            "C",
            None,
            placed + timedelta(days=7),
        )
        assert saved.next_follow_up_on is None
