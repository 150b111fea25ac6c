"""服务协议与隐私政策 in the admin web (A5.1): drafts edited as Markdown are not in force,
publishing makes every patient accept again before the next use, published versions are never
edited, acceptances are kept with version and time, and the patient's page shows the Markdown
sanitised."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.models import (
    Agreement,
    AgreementAcceptance,
    AuditLog,
    PatientAccount,
    Staff,
    utcnow,
)
from bot.models.enums import ActorType, AgreementKind, StaffRole
from bot.services import agreements, audit, binding
from server import create_app
from tests.support.web_clients import add_admin, admin_client, follower_client, form_token

pytestmark = [pytest.mark.db, pytest.mark.redis]


@pytest.fixture
def world(settings, engine, redis_conn, session):
    add_admin(session)
    v1 = Agreement(
        kind=AgreementKind.SERVICE,
        version=1,
        title="服务协议",
        body="第一版正文",
        published_at=utcnow(),
    )
    privacy = Agreement(
        kind=AgreementKind.PRIVACY, version=1, title="隐私政策", body="隐私", published_at=utcnow()
    )
    accounts = [PatientAccount(openid="o_agree_one"), PatientAccount(openid="o_agree_two")]
    session.add_all([v1, privacy, *accounts])
    session.commit()
    for account in accounts:
        binding.accept(session, account.id, [v1.id, privacy.id])
    session.commit()
    app = create_app(settings)
    return {
        "app": app,
        "admin": admin_client(app),
        "v1": v1.id,
        "accounts": [a.id for a in accounts],
    }


def follower(world, which: int = 0):
    return follower_client(world["app"], world["accounts"][which])


def new_draft(admin) -> tuple[int, str]:
    page = admin.get("/admin/agreements/").get_data(as_text=True)
    r = admin.post(
        "/admin/agreements/new", data={"csrf_token": form_token(page), "kind": "service"}
    )
    assert r.status_code == 302
    draft_id = int(re.search(r"id=(\d+)", r.headers["Location"]).group(1))
    return draft_id, admin.get(f"/admin/agreements/edit?id={draft_id}").get_data(as_text=True)


def save(admin, draft_id: int, page: str, body: str, do: str = "save"):
    return admin.post(
        f"/admin/agreements/edit?id={draft_id}",
        data={
            "csrf_token": form_token(page),
            "title": "服务协议",
            "body": body,
            "note": "新增第5条",
            "do": do,
        },
    )


@pytest.mark.req("A5.1")
def test_a5_1_a_draft_is_prefilled_previewed_and_not_in_force(world, session):
    draft_id, page = new_draft(world["admin"])
    assert "第2版" in page and "第一版正文" in page  # prefilled from the latest version
    r = save(world["admin"], draft_id, page, "# 标题\n\n**重要**条款", do="preview")
    assert r.status_code == 200
    preview = r.get_data(as_text=True)
    assert "<h1>标题</h1>" in preview and "<strong>重要</strong>" in preview
    draft = session.get(Agreement, draft_id)
    session.refresh(draft)
    assert draft.version == 2 and draft.published_at is None and draft.note == "新增第5条"
    # patients are not asked to accept a draft
    assert follower(world).get("/h5/home").status_code == 200
    assert [a.version for a in binding.current_agreements(session)] == [1, 1]


@pytest.mark.req("A5.1")
def test_a5_1_publishing_makes_every_patient_accept_again_and_records_when(world, session):
    admin = world["admin"]
    draft_id, page = new_draft(admin)
    save(admin, draft_id, page, "第二版正文")
    page = admin.get(f"/admin/agreements/edit?id={draft_id}").get_data(as_text=True)
    assert "所有患者下次使用前都须重新同意" in page
    # without the confirmation nothing is published
    admin.post("/admin/agreements/publish", data={"csrf_token": form_token(page), "id": draft_id})
    session.expire_all()
    assert session.get(Agreement, draft_id).published_at is None
    r = admin.post(
        "/admin/agreements/publish",
        data={"csrf_token": form_token(page), "id": draft_id, "confirm": "yes"},
    )
    assert r.status_code == 302
    session.expire_all()
    assert session.get(Agreement, draft_id).published_at is not None
    for which in (0, 1):
        client = follower(world, which)
        r = client.get("/h5/home")
        assert r.status_code == 302 and "/h5/agreements" in r.headers["Location"]
    client = follower(world)
    page = client.get("/h5/agreements?next=/h5/home").get_data(as_text=True)
    assert "第2版" in page and "第二版正文" in page and "本版更新：新增第5条" in page
    before = utcnow()
    r = client.post(
        "/h5/agreements?next=/h5/home", data={"csrf_token": form_token(page), "agree": "yes"}
    )
    assert r.status_code == 302 and client.get("/h5/home").status_code == 200
    accepted = session.scalar(
        select(AgreementAcceptance).where(
            AgreementAcceptance.account_id == world["accounts"][0],
            AgreementAcceptance.agreement_id == draft_id,
        )
    )
    assert accepted is not None and accepted.accepted_at >= before
    # the old acceptance is kept: who accepted which version when
    assert (
        session.scalar(
            select(func.count()).where(AgreementAcceptance.account_id == world["accounts"][0])
        )
        == 3
    )
    listing = admin.get(f"/admin/agreements/acceptances?account={world['accounts'][0]}")
    rows = re.findall(
        r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td>第(\d)版",
        listing.get_data(as_text=True),
    )
    assert {(int(a), kind, int(v)) for a, _, kind, v in rows} == {
        (world["accounts"][0], "服务协议", 2),
        (world["accounts"][0], "服务协议", 1),
        (world["accounts"][0], "隐私政策", 1),
    }
    assert all("o_agree_one" not in who for _, who, _, _ in rows)  # masked
    by_openid = admin.get("/admin/agreements/acceptances?account=agree_two").get_data(as_text=True)
    assert f"<tr><td>{world['accounts'][1]}</td>" in by_openid
    assert f"<tr><td>{world['accounts'][0]}</td>" not in by_openid
    huge = admin.get("/admin/agreements/acceptances?account=" + "9" * 30)
    assert huge.status_code == 200 and "没有同意记录" in huge.get_data(as_text=True)
    index = re.sub(r">\s+<", "><", admin.get("/admin/agreements/").get_data(as_text=True))
    assert re.search(
        r"第2版</td><td>服务协议</td><td>已发布[^<]*</td><td>新增第5条</td><td>1</td>", index
    )
    actions = {
        a.action
        for a in session.scalars(select(AuditLog).where(AuditLog.object_type == "agreement"))
    }
    assert {"create", "update", "publish"} <= actions
    assert session.scalar(select(AuditLog).where(AuditLog.object_type == "agreement_acceptances"))


@pytest.mark.req("A5.1")
def test_a5_1_a_published_version_is_never_edited(world, session):
    admin = world["admin"]
    page = admin.get(f"/admin/agreements/edit?id={world['v1']}").get_data(as_text=True)
    assert "不能修改" in page and "<textarea" not in page and "发布第1版" not in page
    page = admin.get("/admin/agreements/").get_data(as_text=True)  # a page with a token
    r = save(admin, world["v1"], page, "偷改的正文")
    assert "已发布的版本不能修改" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(Agreement, world["v1"]).body == "第一版正文"
    r = admin.post(
        "/admin/agreements/publish",
        data={"csrf_token": form_token(page), "id": world["v1"], "confirm": "yes"},
    )
    session.expire_all()
    assert session.get(Agreement, world["v1"]).version == 1
    # whatever code path tries it, the words of a published version do not change
    published = session.get(Agreement, world["v1"])
    published.body = "改了"
    with pytest.raises(agreements.PublishedAgreementIsFrozen):
        session.flush()
    session.rollback()
    # a second "new version" opens the same draft: one draft per kind, no gap in numbers
    first, _ = new_draft(admin)
    second, _ = new_draft(admin)
    assert first == second


@pytest.mark.req("A5.1")
def test_a5_1_markdown_is_sanitised_on_the_patients_page(world, session):
    admin = world["admin"]
    draft_id, page = new_draft(admin)
    body = (
        "## 第一条\n\n请阅读<script>alert('x')</script>"
        "[链接](javascript:alert(1)) <img src=x onerror=alert(2)>\n\n- 条目"
    )
    save(admin, draft_id, page, body)
    page = admin.get(f"/admin/agreements/edit?id={draft_id}").get_data(as_text=True)
    admin.post(
        "/admin/agreements/publish",
        data={"csrf_token": form_token(page), "id": draft_id, "confirm": "yes"},
    )
    html = follower(world).get("/h5/agreements").get_data(as_text=True)
    assert "<h2>第一条</h2>" in html and "<li>条目</li>" in html
    shown = html[html.index('class="agreement"') :]
    assert "<script" not in shown and 'href="javascript:' not in shown and "onerror" not in shown
    assert "&lt;h2&gt;" not in html  # rendered, not escaped


@pytest.mark.req("A5.1")
def test_a5_1_a_draft_published_in_the_session_that_made_it_is_then_frozen(world, session):
    """The service calls in one session (a script, the CLI): create, commit, publish — the
    draft is published, and only then are its words frozen."""
    admin_id = session.scalar(select(Staff.id).where(Staff.role == StaffRole.ADMIN))
    actor = audit.Actor(ActorType.STAFF, admin_id)
    draft = agreements.new_draft(session, AgreementKind.PRIVACY, actor)
    session.commit()  # expires the draft: its published_at is not loaded when publish sets it
    agreements.publish(session, draft.id, actor)
    session.commit()
    assert session.get(Agreement, draft.id).published_at is not None
    session.get(Agreement, draft.id).body = "改了"
    with pytest.raises(agreements.PublishedAgreementIsFrozen):
        session.flush()
    session.rollback()
