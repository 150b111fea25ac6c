"""The patient's H5 home page (P2.5): every entry of the requirement is on it and each one that
is built answers for the signed-in patient; 我的提醒 lists the latest and marks them read; the
agreements and account deletion are at the bottom."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed, NotFound

from bot.models import (
    Agreement,
    AgreementAcceptance,
    Catheter,
    InAppMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    utcnow,
)
from bot.models.enums import AgreementKind
from server import create_app
from tests.support.web_clients import follower_client

pytestmark = [pytest.mark.db, pytest.mark.redis]

# the entries of P2.5 and where they lead; {patient} and {picc} are filled in
ENTRIES = {
    "历史记录": "/h5/patients/{patient}",
    "我的报告": "/h5/reports",
    "附近机构": "/h5/nearby",
    "科普宣教": "/h5/articles",
    "我的预约": "/h5/appointments",
    "我的提醒": "/h5/reminders",
    "置管二维码": "/h5/catheters/{picc}/qr",
    "服务协议": "/h5/agreements/service",
    "隐私政策": "/h5/agreements/privacy",
    "注销账号": "/h5/account/delete",
}
# built by other parts of the issue; the others must answer now
ELSEWHERE = {"/h5/nearby", "/h5/articles", "/h5/appointments"}


@pytest.fixture
def world(settings, engine, redis_conn, session):
    patient = Patient(name="吴建国")
    account = PatientAccount(openid="o_wu")
    terms = [
        Agreement(
            kind=kind,
            version=1,
            title=title,
            body=f"# {title}\n\n**第一条** 内容",
            published_at=utcnow(),
        )
        for kind, title in (
            (AgreementKind.SERVICE, "服务协议"),
            (AgreementKind.PRIVACY, "隐私政策"),
        )
    ]
    session.add_all([patient, account, *terms])
    session.flush()
    profile = PatientProfile(account_id=account.id, patient_id=patient.id)
    picc = Catheter(patient_id=patient.id, device_type="PICC", placed_at=utcnow())
    session.add_all([profile, picc])
    session.flush()
    account.active_profile_id = profile.id
    session.add_all([AgreementAcceptance(account_id=account.id, agreement_id=t.id) for t in terms])
    now = utcnow()
    session.add_all(
        [
            InAppMessage(
                patient_id=patient.id,
                kind="reminder",
                title=f"维护提醒{i}",
                body=f"第{i}条",
                created_at=now - timedelta(hours=i),
                read_at=now if i == 3 else None,
            )
            for i in (1, 2, 3)
        ]
    )
    session.commit()
    return {
        "app": create_app(settings),
        "account": account.id,
        "patient": patient.id,
        "picc": picc.id,
    }


def follower(world):
    return follower_client(world["app"], world["account"])


def links(world) -> dict[str, str]:
    return {
        label: path.format(patient=world["patient"], picc=world["picc"])
        for label, path in ENTRIES.items()
    }


@pytest.mark.req("P2.5")
def test_p2_5_every_entry_is_on_the_home_page(world):
    page = follower(world).get("/h5/home").get_data(as_text=True)
    for label, path in links(world).items():
        anchors = re.findall(rf'<a href="{re.escape(path)}">([^<]*)', page)
        assert any(label in a for a in anchors), label
    assert "维护提醒1：第1条" in page and "维护提醒2：第2条" in page  # unread on the page
    assert "维护提醒3" not in page  # read already
    assert 'name="viewport"' in page and "grid-template-columns" in page  # laid out for a phone


@pytest.mark.req("P2.5")
def test_p2_5_every_entry_that_is_built_answers_for_the_signed_in_patient(world):
    client, adapter = follower(world), world["app"].url_map.bind("localhost")
    page = client.get("/h5/home").get_data(as_text=True)
    hrefs = set(re.findall(r'href="(/h5/[^"]*)"', page))
    assert set(links(world).values()) <= hrefs
    for href in sorted(hrefs):
        try:
            adapter.match(href, method="GET")
        except (NotFound, MethodNotAllowed):
            assert href in ELSEWHERE, f"{href} is linked from the home page but not built"
            continue
        assert client.get(href).status_code == 200, href


@pytest.mark.req("P2.5", "P2.4")
def test_p2_5_my_reminders_lists_the_latest_and_marks_them_read(world, session):
    client = follower(world)
    page = client.get("/h5/reminders").get_data(as_text=True)
    titles = re.findall(r"<strong>(维护提醒\d)</strong>", page)
    assert titles == ["维护提醒1", "维护提醒2", "维护提醒3"]  # newest first, read ones too
    assert page.count(">新</span>") == 2
    assert all(m.read_at for m in session.scalars(select(InAppMessage)))
    home = client.get("/h5/home").get_data(as_text=True)
    assert "暂无未读提醒" in home


@pytest.mark.req("P2.5", "A5.1")
def test_p2_5_the_agreements_in_force_can_be_read_again_from_the_home_page(world):
    page = follower(world).get("/h5/agreements/privacy").get_data(as_text=True)
    assert "<h1>隐私政策</h1>" in page and "<strong>第一条</strong>" in page
    assert "第1版" in page and "您已于" in page


@pytest.mark.req("P2.5")
def test_p2_5_a_follower_not_yet_bound_is_offered_binding_and_the_open_services(world, session):
    stranger = PatientAccount(openid="o_new")
    session.add(stranger)
    session.flush()
    session.add_all(
        [
            AgreementAcceptance(account_id=stranger.id, agreement_id=a.id)
            for a in session.scalars(select(Agreement))
        ]
    )
    session.commit()
    page = follower_client(world["app"], stranger.id).get("/h5/home").get_data(as_text=True)
    assert 'href="/h5/bind"' in page
    for path in ("/h5/nearby", "/h5/articles", "/h5/account/delete", "/h5/agreements/service"):
        assert f'href="{path}"' in page
