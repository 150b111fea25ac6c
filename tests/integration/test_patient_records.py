"""The patient's own records on H5 (P2.3, P2.5, P6.1, P6.3): the history of placements, each
catheter laid out as the paper form with its maintenance, the QR code full-screen; only for
the 就诊人's own follower, anything else "not found". And the ward's card as a PDF (P2.2)."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
from pyzbar.pyzbar import decode
from sqlalchemy import select

from bot.care.rules import local_date
from bot.models import (
    AuditLog,
    Catheter,
    MaintenanceRecord,
    Patient,
    PatientAccount,
    PatientProfile,
    utcnow,
)
from bot.models.enums import CatheterState
from bot.services.qr import QrCodes
from server import create_app
from tests.integration.test_staff_pages import add_nurse_and_outsider
from tests.integration.test_staff_web import sign_in

pytestmark = [pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def world(settings, engine, redis_conn, session, cipher):
    """赵大爷 (a PICC in place with two visits, a port removed last year) followed by o_zhao;
    钱阿姨 (a PICC) followed by o_qian; a nurse and an outside clinician."""
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
    picc = Catheter(
        patient_id=zhao.id,
        device_type="PICC",
        placed_at=utcnow() - timedelta(days=20),
        vein="BASILIC",
        side="RIGHT",
        techniques=["US"],
        insertion_length_cm=Decimal(42),
        external_length_cm=Decimal(3),
        arm_circumference_cm=Decimal(26),
        tier="A",
        next_due_on=today + timedelta(days=4),
        follow_up_notes="洗澡时用保护套",
    )
    port = Catheter(
        patient_id=zhao.id,
        device_type="PORT",
        placed_at=utcnow() - timedelta(days=400),
        port_site="CHEST",
        state=CatheterState.REMOVED,
        removed_on=today - timedelta(days=30),
    )
    foreign = Catheter(
        patient_id=qian.id, device_type="PICC", placed_at=utcnow() - timedelta(days=5)
    )
    session.add_all([picc, port, foreign])
    session.flush()
    session.add_all(
        [
            MaintenanceRecord(
                catheter_id=picc.id,
                performed_at=utcnow() - timedelta(days=10),
                flushed=True,
                locked=True,
                dressing_changed=True,
                external_length_cm=Decimal("3.0"),
                arm_circumference_cm=Decimal("26.5"),
                next_due_on=today - timedelta(days=3),
            ),
            MaintenanceRecord(
                catheter_id=picc.id,
                performed_at=utcnow() - timedelta(days=3),
                flushed=True,
                connector_changed=True,
                external_length_cm=Decimal("3.5"),
                arm_circumference_cm=Decimal("27.0"),
                site_findings=["REDNESS"],
                next_due_on=today + timedelta(days=4),
            ),
        ]
    )
    session.commit()
    return {
        "app": create_app(settings),
        "picc": picc.id,
        "port": port.id,
        "foreign": foreign.id,
        "zhao": zhao.id,
        "qian": qian.id,
        "accounts": (a_zhao.id, a_qian.id),
    }


def follower(world, which: int = 0):
    """A browser of the follower, signed in as WeChat OAuth would (test_patient_binding.py
    goes through the simulator's OAuth; here only who is signed in matters)."""
    client = world["app"].test_client()
    with client.session_transaction() as web_session:
        web_session["account_id"] = world["accounts"][which]
    return client


@pytest.mark.req("P2.3", "P2.5")
def test_home_links_the_history_and_the_code_instead_of_saying_coming_soon(world):
    page = follower(world).get("/h5/home").get_data(as_text=True)
    assert "即将上线" not in page
    assert f'href="/h5/patients/{world["zhao"]}"' in page and "历史记录" in page
    assert f'href="/h5/catheters/{world["picc"]}/qr"' in page  # the PICC in place
    assert f'href="/h5/catheters/{world["port"]}/qr"' not in page  # not for a removed port
    assert f'href="/h5/catheters/{world["port"]}"' in page  # but its record is there


@pytest.mark.req("P2.5", "P6.1")
def test_history_lists_every_placement_with_its_maintenance_count(world):
    page = follower(world).get(f"/h5/patients/{world['zhao']}").get_data(as_text=True)
    picc, port = page.index("PICC"), page.index("输液港")
    assert picc < port  # newest placement first
    assert "维护记录 2 次" in page and "维护记录 0 次" in page and "【已拔管】" in page
    assert "提醒记录" in page


@pytest.mark.req("P6.1", "P6.3")
def test_a_catheter_page_is_the_paper_form_with_every_maintenance_record(world, settings):
    page = follower(world).get(f"/h5/catheters/{world['picc']}").get_data(as_text=True)
    assert "置管登记表" in page and "右侧贵要静脉" in page and "超声引导" in page
    assert "42" in page and "注意事项：洗澡时用保护套" in page
    visits = re.findall(r'<p class="visit">(.*?)</p>', page, re.S)
    assert len(visits) == 2
    newest = " ".join(visits[0].split())
    due = (local_date(utcnow(), settings.timezone) + timedelta(days=4)).isoformat()
    assert "冲封管" in newest and "更换输液接头" in newest and "外露3.5cm" in newest
    assert "臂围27.0cm" in newest and "穿刺点：发红" in newest and f"下次 {due}" in newest
    assert "更换敷料" in visits[1] and "穿刺点：无异常" in visits[1]
    assert "分级" not in page  # the follow-up tier is the clinicians' business
    port = follower(world).get(f"/h5/catheters/{world['port']}").get_data(as_text=True)
    assert "输液港植入登记表" in port and "输液港位置" in port and "已拔管" in port


@pytest.mark.req("P2.3", "P6.1")
def test_another_followers_catheter_is_not_found_exactly_like_a_missing_one(world):
    zhao = follower(world)
    for path in ("/h5/catheters/{}", "/h5/catheters/{}/qr"):
        foreign = zhao.get(path.format(world["foreign"]))
        missing = zhao.get(path.format(999999))
        assert foreign.status_code == missing.status_code == 404
        assert foreign.get_data() == missing.get_data()
    assert zhao.get(f"/h5/patients/{world['qian']}").status_code == 404
    assert follower(world, 1).get(f"/h5/catheters/{world['foreign']}").status_code == 200
    anonymous = world["app"].test_client().get(f"/h5/catheters/{world['picc']}/qr")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/h5/auth")


def qr_image(html: str) -> Image.Image:
    data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    return Image.open(io.BytesIO(base64.b64decode(data)))


@pytest.mark.req("P2.2", "P2.3")
def test_the_full_screen_code_scans_back_to_the_catheter_and_says_what_to_do(
    world, settings, session
):
    page = follower(world).get(f"/h5/catheters/{world['picc']}/qr").get_data(as_text=True)
    [code] = decode(qr_image(page))
    assert QrCodes.from_settings(settings).catheter(session, code.data.decode()).id == world["picc"]
    assert "请护士扫描此码登记维护" in page and "赵** · PICC" in page
    placed = local_date(session.get(Catheter, world["picc"]).placed_at, settings.timezone)
    assert f"置管日期 {placed:%Y-%m-%d}" in page
    assert "赵大爷" not in page  # initials only: the screen is shown around the ward
    removed = follower(world).get(f"/h5/catheters/{world['port']}/qr").get_data(as_text=True)
    assert "data:image" not in removed and "已拔管，无需出示二维码" in removed


@pytest.mark.req("P2.2")
def test_the_followers_phone_camera_opens_the_catheter_record(world, settings, session):
    url = QrCodes.from_settings(settings).url(session.get(Catheter, world["picc"]))
    r = follower(world).get(url.removeprefix(settings.public_base_url))
    assert r.status_code == 302 and r.headers["Location"] == f"/h5/catheters/{world['picc']}"


def pdf_image(pdf: bytes) -> Image.Image:
    """The one picture of a Pillow-written PDF (a JPEG stream)."""
    start = pdf.index(b"\xff\xd8")
    return Image.open(io.BytesIO(pdf[start : pdf.index(b"\xff\xd9", start) + 2]))


@pytest.mark.req("P2.2", "X.1")
def test_the_printable_card_comes_as_a_pdf_with_the_same_access_rules_and_is_audited(
    world, settings, session, session_factory
):
    nurse = world["app"].test_client()
    sign_in(nurse, "N001", "Nurse1234")
    page = nurse.get(f"/staff/catheters/{world['picc']}").get_data(as_text=True)
    assert f'href="/staff/catheters/{world["picc"]}/card.pdf"' in page
    r = nurse.get(f"/staff/catheters/{world['picc']}/card.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    assert b"/MediaBox [ 0 0 192.0 249.6 ]" in r.data  # 800 x 1040 px at 300 dpi, in points
    picture = pdf_image(r.data)
    assert picture.size == (800, 1040)
    [code] = decode(picture)
    assert QrCodes.from_settings(settings).catheter(session, code.data.decode()).id == world["picc"]
    with session_factory() as s:
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "print_card"))
        assert entry.object_id == str(world["picc"]) and entry.patient_id == world["zhao"]
    outsider = world["app"].test_client()
    sign_in(outsider, "13900009999", "Outside123")
    assert outsider.get(f"/staff/catheters/{world['picc']}/card.pdf").status_code == 404
    assert follower(world).get(f"/staff/catheters/{world['picc']}/card.pdf").status_code == 302


@pytest.mark.req("P1.1", "A5.1")
def test_record_pages_wait_for_the_current_agreements(world, session):
    """A new version of the privacy policy is accepted before any record is shown again."""
    from urllib.parse import parse_qs, urlsplit

    from bot.models import Agreement
    from bot.models.enums import AgreementKind
    from bot.services import binding

    policy = Agreement(
        kind=AgreementKind.PRIVACY,
        version=2,
        title="隐私政策",
        body="第二版",
        published_at=utcnow(),
    )
    session.add(policy)
    session.commit()
    client = follower(world)
    for path in (
        f"/h5/patients/{world['zhao']}",
        f"/h5/catheters/{world['picc']}",
        f"/h5/catheters/{world['picc']}/qr",
        "/h5/home",
    ):
        r = client.get(path)
        where = urlsplit(r.headers["Location"])
        assert r.status_code == 302 and where.path == "/h5/agreements", path
        assert parse_qs(where.query)["next"] == [path]
    binding.accept(session, world["accounts"][0], [policy.id])
    session.commit()
    assert client.get(f"/h5/catheters/{world['picc']}").status_code == 200
