"""The patient's home card and reminder list in chat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.care.rules import local_date
from bot.models import Catheter, InAppMessage, Patient, utcnow
from nlu.actions import home

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("action_runtime")]


def run(action, **meta):
    message = {"intent": {"name": "my_catheter"}, "entities": [], "text": "", "metadata": meta}
    d = CollectingDispatcher()
    action.run(d, Tracker("mp:o", {}, message, [], False, None, {}, "action_listen"), {})
    return d.messages


def test_home_card_lists_catheters_with_status_words_and_unread_reminders(session, settings):
    today = local_date(utcnow(), settings.timezone)
    p = Patient(name="张三")
    session.add(p)
    session.flush()
    session.add_all([
        Catheter(patient_id=p.id, device_type="PICC", placed_at=utcnow() - timedelta(days=30),
                 next_due_on=today - timedelta(days=2)),
        InAppMessage(patient_id=p.id, kind="reminder", title="导管维护已逾期", body="请尽快维护"),
    ])  # fmt: skip
    session.commit()
    [card] = run(home.ActionMyCatheter(), role="patient", channel="mp", active_patient_id=p.id)
    fields = dict(card["custom"]["fields"])
    assert fields["PICC"] == "【已逾期】逾期2天" and fields["未读提醒"] == "1条"
    [msg] = run(home.ActionMyReminders(), role="patient", channel="mp", active_patient_id=p.id)
    assert "导管维护已逾期：请尽快维护" in msg["text"]
    [card] = run(home.ActionMyCatheter(), role="patient", channel="mp", active_patient_id=p.id)
    assert dict(card["custom"]["fields"])["未读提醒"] == "0条"  # read by listing them


def test_unbound_followers_are_offered_binding_and_clinicians_refused(session):
    messages = run(home.ActionMyCatheter(), role="patient", channel="mp", active_patient_id=None)
    assert "还没有绑定就诊人" in messages[0]["text"] and messages[1]["custom"]["url"].endswith(
        "/h5/bind"
    )
    assert "面向患者" in run(home.ActionMyReminders(), role="nurse", channel="work")[0]["text"]
