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


@pytest.mark.req("P2.4")
def test_home_card_lists_catheters_with_status_words_and_unread_reminders(session, settings):
    today = local_date(utcnow(), settings.timezone)
    p = Patient(name="张三")
    session.add(p)
    session.flush()
    session.add_all(
        [
            Catheter(
                patient_id=p.id,
                device_type="PICC",
                placed_at=utcnow() - timedelta(days=30),
                next_due_on=today - timedelta(days=2),
            ),
            InAppMessage(
                patient_id=p.id, kind="reminder", title="导管维护已逾期", body="请尽快维护"
            ),
        ]
    )
    session.commit()
    [card] = run(home.ActionMyCatheter(), role="patient", channel="mp", active_patient_id=p.id)
    fields = dict(card["custom"]["fields"])
    assert fields["PICC"] == "【已逾期】逾期2天" and fields["未读提醒"] == "1条"
    [msg] = run(home.ActionMyReminders(), role="patient", channel="mp", active_patient_id=p.id)
    assert "导管维护已逾期：请尽快维护" in msg["text"]
    [card] = run(home.ActionMyCatheter(), role="patient", channel="mp", active_patient_id=p.id)
    assert dict(card["custom"]["fields"])["未读提醒"] == "0条"  # read by listing them


@pytest.mark.req("P2.4")
def test_unbound_followers_are_offered_binding_and_clinicians_refused(session):
    messages = run(home.ActionMyCatheter(), role="patient", channel="mp", active_patient_id=None)
    assert "还没有绑定就诊人" in messages[0]["text"] and messages[1]["custom"]["url"].endswith(
        "/h5/bind"
    )
    assert "面向患者" in run(home.ActionMyReminders(), role="nurse", channel="work")[0]["text"]


@pytest.mark.req("P2.5", "P6.1", "P6.3")
def test_history_in_chat_summarises_placements_and_the_last_visits_and_links_the_page(
    session, settings
):
    from decimal import Decimal

    from bot.models import MaintenanceRecord
    from bot.models.enums import CatheterState

    p = Patient(name="张三")
    session.add(p)
    session.flush()
    picc = Catheter(patient_id=p.id, device_type="PICC", placed_at=utcnow() - timedelta(days=30))
    port = Catheter(
        patient_id=p.id,
        device_type="PORT",
        placed_at=utcnow() - timedelta(days=400),
        state=CatheterState.REMOVED,
    )
    session.add_all([picc, port])
    session.flush()
    session.add_all(
        [
            MaintenanceRecord(
                catheter_id=port.id, performed_at=utcnow() - timedelta(days=60), flushed=True
            )
        ]
        + [
            MaintenanceRecord(
                catheter_id=picc.id,
                performed_at=utcnow() - timedelta(days=d),
                flushed=True,
                dressing_changed=d == 1,
                external_length_cm=Decimal("3.5"),
            )
            for d in (22, 15, 8, 1)
        ]
    )
    session.commit()
    message = {
        "intent": {"name": "history"},
        "entities": [],
        "text": "历史记录",
        "metadata": {"role": "patient", "channel": "mp", "active_patient_id": p.id},
    }
    d = CollectingDispatcher()
    home.ActionHistory().run(
        d, Tracker("mp:o", {}, message, [], False, None, {}, "action_listen"), {}
    )
    summary, card = d.messages
    text = summary["text"]
    assert "即将上线" not in text and "张三的置管记录（共2次）" in text
    assert "【已拔管】，维护1次" in text and "维护4次" in text
    last = local_date(utcnow() - timedelta(days=1), settings.timezone)
    assert "最近3次维护" in text and f"{last:%m-%d} PICC 冲封管、更换敷料，外露3.5cm" in text
    assert text.count("\n· ") == 2 + 3  # two placements, three visits: short enough for chat
    assert card["custom"]["url"] == f"{settings.public_base_url}/h5/patients/{p.id}"
    d = CollectingDispatcher()
    message["metadata"] = {"role": "nurse", "channel": "work"}
    home.ActionHistory().run(
        d, Tracker("w:n", {}, message, [], False, None, {}, "action_listen"), {}
    )
    assert "面向患者" in d.messages[0]["text"]
