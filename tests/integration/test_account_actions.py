"""Binding, switching and unbinding in chat, and the welcome of a new follower."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.models import Patient, PatientAccount, PatientProfile
from nlu.actions import account, common
from tests.support.forms import run_coroutine

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("action_runtime")]


@pytest.fixture
def family(session):
    acc = PatientAccount(openid="o_fam", ih_user_id="ih-1")
    session.add(acc)
    session.flush()
    profiles = []
    for name, relation in [("张三", "本人"), ("王桂芳", "配偶"), ("张小明", "子女")]:
        p = Patient(name=name)
        session.add(p)
        session.flush()
        profile = PatientProfile(account_id=acc.id, patient_id=p.id, relation=relation)
        session.add(profile)
        session.flush()
        profiles.append(profile)
    acc.active_profile_id = profiles[0].id
    session.commit()
    return acc, profiles


def run(action, intent, *, entities=(), **meta):
    message = {
        "intent": {"name": intent},
        "entities": [{"entity": k, "value": v} for k, v in entities],
        "text": "",
        "metadata": {"channel": "mp", "role": "patient", **meta},
    }
    t = Tracker("mp:o", {}, message, [], False, None, {}, "action_listen")
    d = CollectingDispatcher()
    result = action.run(d, t, {})
    if asyncio.iscoroutine(result):
        run_coroutine(result)
    return d.messages


@pytest.mark.req("P1.1")
def test_an_unbound_follower_gets_the_binding_link(family):
    [card] = run(account.ActionBindAccount(), "bind_account", account_id=None, bound=False)
    assert card["custom"]["card"] == "news" and card["custom"]["url"].endswith("/h5/bind")


@pytest.mark.req("P1.3")
def test_a_bound_follower_is_told_who_is_bound(family):
    acc, _ = family
    [msg] = run(account.ActionBindAccount(), "bind_account", account_id=acc.id, bound=True)
    assert "张三（本人）、王桂芳（配偶）、张小明（子女）" in msg["text"]


@pytest.mark.req("P2.1")
def test_switch_in_one_step_to_the_named_or_the_next_profile(family, session_factory):
    acc, profiles = family
    [msg] = run(account.ActionSwitchProfile(), "switch_profile", account_id=acc.id, bound=True)
    assert "已切换到就诊人：王桂芳（配偶）" in msg["text"]
    [msg] = run(
        account.ActionSwitchProfile(),
        "switch_profile",
        entities=[("patient_name", "张小明")],
        account_id=acc.id,
        bound=True,
    )
    assert "张小明（子女）" in msg["text"]
    with session_factory() as s:
        assert s.get(PatientAccount, acc.id).active_profile_id == profiles[2].id


@pytest.mark.req("P2.1")
def test_clinicians_are_refused_and_unbinding_is_confirmed_on_the_page(family):
    acc, _ = family
    [msg] = run(account.ActionSwitchProfile(), "switch_profile", role="nurse", channel="work")
    assert "面向患者" in msg["text"]
    [msg] = run(account.ActionUnbindAccount(), "unbind_account", account_id=acc.id, bound=True)
    assert "/h5/home" in msg["text"]


@pytest.mark.req("P1.1")
def test_a_new_followers_first_message_is_welcomed_with_the_agreements(family):
    message = {"intent": {"name": "greet"}, "entities": [], "text": "你好", "metadata": {}}
    slots = {
        "session_started_metadata": {"channel": "mp", "role": "patient", "first_contact": True}
    }
    t = Tracker("mp:o_new", slots, message, [], False, None, {}, "action_listen")
    d = CollectingDispatcher()
    run_coroutine(common.ActionSessionStart().run(d, t, {}))
    assert d.messages[0]["custom"]["url"].endswith("/h5/agreements?next=/h5/bind")
    # the subscribe event of the same first contact does not welcome twice
    assert run(common.ActionWelcome(), "subscribe", first_contact=True) == []
    assert run(common.ActionWelcome(), "subscribe", first_contact=False)
