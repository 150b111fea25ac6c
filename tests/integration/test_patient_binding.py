"""A follower binds through the internet hospital: WeChat OAuth says who they are, the
agreements are accepted, the internet hospital's login and consent give a code, the 就诊人 are
imported and matched to clinical patients; then the home page, switching and unbinding. Both
WeChat and the internet hospital are their simulators, over HTTP."""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from bot.models import (
    Agreement,
    AuditLog,
    Catheter,
    Patient,
    PatientAccount,
    PatientProfile,
    utcnow,
)
from bot.models.enums import AgreementKind
from devtools.ih_sim import IhState, create_ih_sim_app
from devtools.wechat_sim.server import LiveSim
from server import create_app
from tests.support.callbacks import sim_config
from tests.support.servers import serve

pytestmark = [pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def world(settings, engine, redis_conn, session):
    session.add_all(
        [
            Agreement(
                kind=AgreementKind.SERVICE,
                version=1,
                title="服务协议",
                body="服务协议正文",
                published_at=utcnow(),
            ),
            Agreement(
                kind=AgreementKind.PRIVACY,
                version=1,
                title="隐私政策",
                body="隐私政策正文",
                published_at=utcnow(),
            ),
        ]
    )
    session.commit()
    ih_state = IhState()
    with LiveSim(sim_config(settings)) as sim, serve(create_ih_sim_app(ih_state)) as ih_url:
        live = replace(
            settings,
            wechat_api_base=sim.mp_api_base,
            internet_hospital_base=ih_url,
            internet_hospital_client_id="vam-dev",
            internet_hospital_client_secret="vam-dev-secret",
        )
        yield {"app": create_app(live), "sim": sim, "ih": ih_url, "ih_state": ih_state}


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def sign_in_with_wechat(client, openid: str, start: str = "/h5/home"):
    r = client.get(start)
    assert r.status_code == 302 and r.headers["Location"].startswith("/h5/auth")
    r = client.get(r.headers["Location"])
    wechat = requests.get(
        r.headers["Location"].split("#")[0] + f"&sim_user={openid}", allow_redirects=False
    )
    return client.get(local(wechat.headers["Location"]))


def accept_agreements(client):
    page = client.get("/h5/agreements").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/h5/agreements?next=/h5/home", data={"csrf_token": token, "agree": "yes"})


def ih_login(authorize_url: str, username: str, decision: str = "allow") -> str:
    """Log in on the internet hospital's page and consent; the redirect back to the product."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    base = authorize_url.split("/oauth/authorize")[0]
    assert "互联网医院" in requests.get(authorize_url).text
    r = requests.post(
        f"{base}/oauth/authorize",
        data={**query, "username": username, "password": "123456", "decision": decision},
        allow_redirects=False,
    )
    return r.headers["Location"]


def bind(client, username: str, decision: str = "allow"):
    r = client.get("/h5/bind")
    assert r.status_code == 302, r.get_data(as_text=True)
    back = ih_login(r.headers["Location"], username, decision)
    return client.get(local(back)), back


@pytest.mark.req("P1.1", "P1.3", "P2.1", "X.1")
def test_new_follower_accepts_agreements_binds_and_sees_and_switches_two_profiles(
    world, session_factory
):
    client = world["app"].test_client()
    sign_in_with_wechat(client, "o_zhang")
    r = client.get("/h5/bind")
    assert "/h5/agreements" in r.headers["Location"]  # agreements first
    accept_agreements(client)
    page, _ = bind(client, "zhangsan")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "已导入 3 位就诊人" in html
    home = client.get("/h5/home").get_data(as_text=True)
    assert "张三（本人）" in home and "王桂芳（配偶）" in home and "切换就诊人" in home
    with session_factory() as s:
        account = s.scalar(select(PatientAccount).where(PatientAccount.openid == "o_zhang"))
        profiles = s.scalars(
            select(PatientProfile).where(PatientProfile.account_id == account.id)
        ).all()
        assert account.ih_user_id == "ih-u-1001" and len(profiles) == 3
        wife = next(p for p in profiles if p.relation == "配偶")
        assert s.scalar(select(AuditLog).where(AuditLog.action == "bind"))
        zhang = s.scalar(select(Patient).where(Patient.name == "张三"))
        assert zhang.id_card_enc and b"330102" not in zhang.id_card_enc
    token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    client.post("/h5/switch", data={"csrf_token": token, "profile_id": wife.id})
    assert "<h1>王桂芳（配偶）</h1>" in client.get("/h5/home").get_data(as_text=True)


@pytest.mark.req("P1.3")
def test_an_existing_clinical_patient_is_linked_not_duplicated(
    world, session, session_factory, cipher
):
    from datetime import date

    from bot.seed.demo import demo_people

    person = demo_people(today=date.today())[1]
    existing = Patient(
        name=person.name, id_card_index=cipher.blind_index(person.id_card, kind="id_card")
    )
    session.add(existing)
    session.flush()
    session.add(Catheter(patient_id=existing.id, device_type="PICC", placed_at=utcnow()))
    session.commit()
    client = world["app"].test_client()
    sign_in_with_wechat(client, "o_wang")
    accept_agreements(client)
    bind(client, "wangwu")
    with session_factory() as s:
        assert (
            s.scalar(
                select(Patient).where(Patient.name == person.name).with_only_columns(Patient.id)
            )
            == existing.id
        )
        assert len(s.scalars(select(Patient).where(Patient.name == person.name)).all()) == 1
    assert "PICC" in client.get("/h5/home").get_data(as_text=True)


@pytest.mark.req("P1.3")
def test_a_bad_id_card_is_refused_with_the_reason_and_the_rest_imported(world):
    client = world["app"].test_client()
    sign_in_with_wechat(client, "o_li")
    accept_agreements(client)
    page, _ = bind(client, "lisi")
    html = page.get_data(as_text=True)
    assert "已导入 1 位就诊人" in html and "校验位不正确" in html and "李*红" in html


@pytest.mark.req("P1.1")
def test_forged_state_reused_code_and_refused_consent_bind_nothing(world, session_factory):
    client = world["app"].test_client()
    sign_in_with_wechat(client, "o_x")
    accept_agreements(client)
    r = client.get("/h5/bind/callback?code=abc&state=forged")
    assert r.status_code == 400 and "未绑定任何就诊人" in r.get_data(as_text=True)
    page, back = bind(client, "zhangsan")
    assert page.status_code == 200
    # the same code and state again (a replayed redirect)
    again = client.get(local(back))
    assert again.status_code == 400 and "未绑定任何就诊人" in again.get_data(as_text=True)
    other = world["app"].test_client()
    sign_in_with_wechat(other, "o_y")
    accept_agreements(other)
    page, _ = bind(other, "lisi", decision="deny")
    assert "取消了互联网医院授权" in page.get_data(as_text=True)
    with session_factory() as s:
        y = s.scalar(select(PatientAccount).where(PatientAccount.openid == "o_y"))
        assert (
            y.ih_user_id is None
            and s.scalars(select(PatientProfile).where(PatientProfile.account_id == y.id)).all()
            == []
        )


@pytest.mark.req("P2.1")
def test_a_follower_cannot_open_another_patients_page_or_switch_to_their_profile(
    world, session_factory
):
    a, b = world["app"].test_client(), world["app"].test_client()
    for client, openid, user in ((a, "o_a", "zhangsan"), (b, "o_b", "lisi")):
        sign_in_with_wechat(client, openid)
        accept_agreements(client)
        bind(client, user)
    with session_factory() as s:
        b_account = s.scalar(select(PatientAccount).where(PatientAccount.openid == "o_b"))
        b_profile = s.scalars(
            select(PatientProfile).where(PatientProfile.account_id == b_account.id)
        ).first()
    own = b.get(f"/h5/patients/{b_profile.patient_id}")
    assert own.status_code == 200 and "提醒记录" in own.get_data(as_text=True)
    assert a.get(f"/h5/patients/{b_profile.patient_id}").status_code == 404
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', a.get("/h5/home").get_data(as_text=True)
    ).group(1)
    assert (
        a.post("/h5/switch", data={"csrf_token": token, "profile_id": b_profile.id}).status_code
        == 404
    )


def test_unbinding_forgets_the_profiles_but_keeps_clinical_records(world, session_factory):
    client = world["app"].test_client()
    sign_in_with_wechat(client, "o_u")
    accept_agreements(client)
    bind(client, "wangwu")
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/h5/home").get_data(as_text=True)
    ).group(1)
    assert "已解除绑定" in client.post("/h5/unbind", data={"csrf_token": token}).get_data(
        as_text=True
    )
    with session_factory() as s:
        account = s.scalar(select(PatientAccount).where(PatientAccount.openid == "o_u"))
        assert account.ih_user_id is None and account.active_profile_id is None
        assert (
            s.scalars(select(PatientProfile).where(PatientProfile.account_id == account.id)).all()
            == []
        )
        assert s.scalars(select(Patient)).all()  # the clinical patient stays


@pytest.mark.req("P1.1", "A5.1")
def test_a_new_agreement_version_must_be_accepted_again(world, session, session_factory):
    client = world["app"].test_client()
    sign_in_with_wechat(client, "o_v")
    accept_agreements(client)
    assert client.get("/h5/home").status_code == 200
    session.add(
        Agreement(
            kind=AgreementKind.PRIVACY,
            version=2,
            title="隐私政策",
            body="新版",
            published_at=utcnow(),
        )
    )
    session.commit()
    r = client.get("/h5/home")
    assert r.status_code == 302 and "/h5/agreements" in r.headers["Location"]
    assert "第2版" in client.get("/h5/agreements").get_data(as_text=True)
