"""A patient's request to delete their account (A1.1, 个人信息保护法): the account's personal data
erased and its 就诊人 unbound, the conversation blanked, the clinical records kept; a second
request does nothing; audited; the same person following again gets a new account."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from bot.models import (
    Agreement,
    AgreementAcceptance,
    AuditLog,
    Catheter,
    InboxMessage,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    utcnow,
)
from bot.models.enums import (
    ActorType,
    AgreementKind,
    Channel,
    DeliveryStatus,
    InboxStatus,
)
from bot.services import account_erasure, audit, people
from server import create_app
from tests.support.web_clients import add_admin, admin_client, follower_client, form_token

pytestmark = [pytest.mark.db, pytest.mark.redis]

OPENID = "oErase0000000000000001"


@pytest.fixture
def world(settings, engine, redis_conn, session):
    """An account with nickname, unionid, internet-hospital id, two 就诊人 (one with a PICC),
    what it said and was sent, an accepted agreement; and a stranger's conversation."""
    me, mother = Patient(name="周明"), Patient(name="周母")
    account = PatientAccount(
        openid=OPENID, unionid="u-zhou", ih_user_id="ih-zhou", nickname="小周", bound_at=utcnow()
    )
    terms = Agreement(
        kind=AgreementKind.SERVICE, version=1, title="服务协议", body="正文", published_at=utcnow()
    )
    session.add_all([me, mother, account, terms])
    session.flush()
    profiles = [
        PatientProfile(account_id=account.id, patient_id=me.id),
        PatientProfile(account_id=account.id, patient_id=mother.id, relation="母亲"),
    ]
    session.add_all(profiles)
    session.flush()
    account.active_profile_id = profiles[0].id
    session.add_all(
        [
            Catheter(patient_id=me.id, device_type="PICC", placed_at=utcnow()),
            AgreementAcceptance(account_id=account.id, agreement_id=terms.id),
            InboxMessage(
                channel=Channel.MP,
                sender=OPENID,
                dedupe_key="m1",
                msg_type="text",
                payload={"Content": "我的手臂有点红肿"},
                status=InboxStatus.DONE,
                turn_input={"text": "我的手臂有点红肿"},
                replies=[{"text": "请尽快就医"}],
            ),
            InboxMessage(
                channel=Channel.MP,
                sender=OPENID,
                dedupe_key="m2",
                msg_type="text",
                payload={"Content": "还在吗"},
            ),
            InboxMessage(
                channel=Channel.MP,
                sender="oSomeoneElse",
                dedupe_key="m1",
                msg_type="text",
                payload={"Content": "别人的话"},
            ),
            OutboxMessage(
                dedupe_key="o1",
                channel=Channel.MP,
                recipient=OPENID,
                msg_type="text",
                payload={"content": "周明您好，明天维护"},
                status=DeliveryStatus.SENT,
            ),
            OutboxMessage(
                dedupe_key=f"hold:mp:{OPENID}:1",
                channel=Channel.MP,
                recipient=OPENID,
                msg_type="text",
                payload={"content": "还没发出"},
            ),
        ]
    )
    add_admin(session)
    session.commit()
    return {
        "app": create_app(settings),
        "account": account.id,
        "patients": (me.id, mother.id),
    }


@pytest.fixture
def tracker(engine):
    """Rasa's tracker table in this database, as in a PostgreSQL deployment."""
    with engine.begin() as conn:
        existed = engine.dialect.has_table(conn, "events")
        if not existed:
            # the columns of Rasa 3.6's SQLTrackerStore (the real table exists once the engine
            # has run against this database, e.g. after the end-to-end tests)
            conn.execute(
                text(
                    "CREATE TABLE events (id serial PRIMARY KEY, sender_id varchar(255) NOT NULL,"
                    " type_name varchar(255) NOT NULL, timestamp float, intent_name varchar(255),"
                    " action_name varchar(255), data text)"
                )
            )
        conn.execute(
            text(
                "INSERT INTO events (sender_id, type_name, timestamp, data) VALUES"
                " (:a, 'user', 1.0, '我的手臂有点红肿'), (:b, 'user', 2.0, '别人')"
            ),
            {"a": f"mp:{OPENID}", "b": "mp:oSomeoneElse"},
        )
    yield
    with engine.begin() as conn:
        if existed:
            conn.execute(
                text("DELETE FROM events WHERE sender_id IN (:a, :b)"),
                {"a": f"mp:{OPENID}", "b": "mp:oSomeoneElse"},
            )
        else:
            conn.execute(text("DROP TABLE events"))


def follower(world):
    return follower_client(world["app"], world["account"])


@pytest.mark.req("A1.1")
def test_a1_1_a_patient_deletes_their_account_and_the_hospital_keeps_the_records(
    world, tracker, session, engine
):
    client = follower(world)
    home = client.get("/h5/home").get_data(as_text=True)
    assert 'href="/h5/account/delete"' in home
    page = client.get("/h5/account/delete").get_data(as_text=True)
    assert "将被删除" in page and "医院依法保留" in page and "诊疗记录" in page
    r = client.post("/h5/account/delete", data={"csrf_token": form_token(page)})
    assert "请勾选" in r.get_data(as_text=True)  # not confirmed: nothing erased
    session.expire_all()
    assert session.get(PatientAccount, world["account"]).erased_at is None
    assert client.post("/h5/account/delete", data={"confirm": "yes"}).status_code == 400  # no CSRF
    r = client.post("/h5/account/delete", data={"csrf_token": form_token(page), "confirm": "yes"})
    assert r.status_code == 302 and r.headers["Location"] == "/h5/account/deleted"
    assert "账号已注销" in client.get("/h5/account/deleted").get_data(as_text=True)
    session.expire_all()
    account = session.get(PatientAccount, world["account"])
    assert account.openid == f"erased:{account.id}" and account.erased_at is not None
    assert (account.nickname, account.unionid, account.ih_user_id) == (None, None, None)
    assert account.subscribed is False and account.active_profile_id is None
    assert session.scalar(select(func.count(PatientProfile.id))) == 0
    # the conversation is blanked; a stranger's is not
    mine = session.scalars(select(InboxMessage).where(InboxMessage.sender == account.openid)).all()
    assert len(mine) == 2 and all(m.payload == {} and m.turn_input is None for m in mine)
    assert all(m.status is InboxStatus.DONE for m in mine)
    assert session.scalar(select(InboxMessage.payload).where(InboxMessage.sender == "oSomeoneElse"))
    sent = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(o.recipient, o.payload, o.status) for o in sent] == [
        (account.openid, {}, DeliveryStatus.SENT),
        (account.openid, {}, DeliveryStatus.SKIPPED),  # never sent after the request
    ]
    with engine.connect() as conn:
        left = conn.execute(text("SELECT sender_id FROM events")).scalars().all()
    assert f"mp:{OPENID}" not in left and "mp:oSomeoneElse" in left
    # nothing anywhere still names the openid
    with engine.connect() as conn:
        for table in ("patient_accounts", "inbox_messages", "outbox_messages"):
            dump = str(conn.execute(text(f"SELECT * FROM {table}")).all())
            assert OPENID not in dump and "小周" not in dump and "红肿" not in dump, table
    # the clinical records and the proof of consent stay
    assert {p.id for p in session.scalars(select(Patient))} == set(world["patients"])
    assert session.scalar(select(func.count(Catheter.id))) == 1
    assert session.scalar(select(func.count(AgreementAcceptance.id))) == 1
    entry = session.scalar(select(AuditLog).where(AuditLog.action == "erase"))
    assert entry.actor_type is ActorType.PATIENT and entry.object_id == str(account.id)
    assert entry.detail["reason"] and entry.detail["profiles"] == 2
    # the browser is signed out: the erased account signs nobody in
    assert client.get("/h5/home").headers["Location"].startswith("/h5/auth")


@pytest.mark.req("A1.1")
def test_a1_1_deleting_an_account_twice_erases_nothing_more_and_raises_nothing(world, session):
    account = session.get(PatientAccount, world["account"])
    actor = audit.Actor(ActorType.PATIENT, account.id)
    assert account_erasure.erase(session, account, actor, "本人申请") is True
    session.commit()
    placeholder = account.openid
    assert account_erasure.erase(session, account, actor, "再次申请") is False
    session.commit()
    session.expire_all()
    assert session.get(PatientAccount, world["account"]).openid == placeholder
    assert session.scalar(select(func.count()).where(AuditLog.action == "erase")) == 1


@pytest.mark.req("A1.1")
def test_a1_1_two_deletions_at_the_same_moment_erase_once(world, session, session_factory, engine):
    """Two requests that both read the account before either erased it (a double tap, an
    administrator and the patient): the second waits for the first's row lock and then finds
    the account erased — one audit row, the first erasure's time kept."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    first, second = session_factory(), session_factory()
    try:
        mine = first.get(PatientAccount, world["account"])
        theirs = second.get(PatientAccount, world["account"])
        assert mine.erased_at is None and theirs.erased_at is None  # both read it alive
        actor = audit.Actor(ActorType.PATIENT, mine.id)
        assert account_erasure.erase(first, mine, actor, "本人申请") is True
        outcome: list[bool] = []
        waiting = threading.Thread(
            target=lambda: outcome.append(account_erasure.erase(second, theirs, actor, "管理员"))
        )
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive()  # blocked on the first request's row lock
        first.commit()
        erased_at = mine.erased_at
        waiting.join(10)
        second.commit()
        assert outcome == [False]
    finally:
        first.close()
        second.close()
    session.expire_all()
    assert session.get(PatientAccount, world["account"]).erased_at == erased_at
    assert session.scalar(select(func.count()).where(AuditLog.action == "erase")) == 1


@pytest.mark.req("A1.1")
def test_a1_1_a_returning_follower_gets_a_new_account(world, session):
    account = session.get(PatientAccount, world["account"])
    account_erasure.erase(session, account, audit.Actor(ActorType.PATIENT, account.id), "本人")
    session.commit()
    sender = people.resolve(session, Channel.MP, OPENID, utcnow())
    session.commit()
    assert sender.account_id != world["account"]
    fresh = session.get(PatientAccount, sender.account_id)
    assert fresh.openid == OPENID and fresh.ih_user_id is None and fresh.profiles == []


@pytest.mark.req("A1.1")
def test_a1_1_an_administrator_erases_an_account_with_a_reason(world, session):
    admin = admin_client(world["app"])
    page = admin.get("/admin/accounts/").get_data(as_text=True)
    assert "注销账号（删除个人信息）" in page
    r = admin.post(
        "/admin/accounts/action/",
        data={"csrf_token": form_token(page), "action": "erase", "rowid": str(world["account"])},
    )
    assert r.status_code == 302 and "/admin/accounts/erase" in r.headers["Location"]
    form = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "诊疗记录" in form and f"编号 {world['account']}" in form
    data = {"csrf_token": form_token(form), "ids": str(world["account"])}
    assert "请填写注销原因" in admin.post("/admin/accounts/erase", data=data).get_data(as_text=True)
    session.expire_all()
    assert session.get(PatientAccount, world["account"]).erased_at is None
    r = admin.post("/admin/accounts/erase", data=data | {"reason": "患者本人来电申请"})
    assert r.status_code == 302
    session.expire_all()
    assert session.get(PatientAccount, world["account"]).erased_at is not None
    entry = session.scalar(select(AuditLog).where(AuditLog.action == "erase"))
    assert entry.actor_type is ActorType.STAFF and entry.detail["reason"] == "患者本人来电申请"
    # erasing it again from the list: told, nothing more done
    again = admin.post(
        "/admin/accounts/erase", data=data | {"reason": "重复"}, follow_redirects=True
    )
    assert "此前已注销" in again.get_data(as_text=True)
    assert session.scalar(select(func.count()).where(AuditLog.action == "erase")) == 1
