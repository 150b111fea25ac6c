"""A5.1 in chat: a newly published agreement version is accepted before the next use. The
worker tells the actions (``agreements_pending`` in the metadata) and the patient features
answer with the agreements link; binding, unbinding and the agreements themselves stay open."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.models import Agreement, Catheter, Patient, PatientAccount, PatientProfile, utcnow
from bot.models.enums import AgreementKind, Channel
from bot.services import binding, people
from nlu.actions import account, appointment, appointment_cancel, common, home, report, scan

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("action_runtime")]
LINK = "/h5/agreements"


def published(session, kind: AgreementKind, version: int) -> Agreement:
    row = Agreement(
        kind=kind, version=version, title=kind.value, body=f"第{version}版", published_at=utcnow()
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def patient_account(session):
    """A bound follower who accepted the first versions; their 就诊人 has a PICC in place."""
    terms = [
        published(session, AgreementKind.SERVICE, 1),
        published(session, AgreementKind.PRIVACY, 1),
    ]
    patient = Patient(name="钱阿姨")
    acc = PatientAccount(openid="o_terms", ih_user_id="ih-1")
    session.add_all([patient, acc])
    session.flush()
    profile = PatientProfile(account_id=acc.id, patient_id=patient.id, relation="本人")
    session.add(profile)
    session.add(
        Catheter(patient_id=patient.id, device_type="PICC", placed_at=utcnow() - timedelta(days=3))
    )
    session.flush()
    acc.active_profile_id = profile.id
    binding.accept(session, acc.id, [t.id for t in terms])
    session.commit()
    return acc


def turn(session, openid: str, action, intent: str = "my_catheter"):
    """What the worker would pass with the next message, and what the action answers."""
    meta = people.resolve(session, Channel.MP, openid, utcnow()).metadata
    session.commit()
    message: dict[str, Any] = {
        "intent": {"name": intent},
        "entities": [],
        "text": "",
        "metadata": meta,
    }
    d = CollectingDispatcher()
    action.run(d, Tracker("mp:" + openid, {}, message, [], False, None, {}, "action_listen"), {})
    return d.messages


def text(messages) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


@pytest.mark.req("A5.1")
def test_a5_1_a_new_version_is_accepted_before_the_next_chat_request(
    session, settings, patient_account
):
    [card] = turn(session, "o_terms", home.ActionMyCatheter())
    assert card["custom"]["fields"]  # accepted: the home card

    draft = published(session, AgreementKind.PRIVACY, 2)  # 发布 in the admin web
    session.commit()

    for action in (
        home.ActionMyCatheter(),
        home.ActionMyReminders(),
        home.ActionHistory(),
        account.ActionSwitchProfile(),
        appointment_cancel.ActionMyAppointments(),
        scan.ActionShowQr(),  # the code opens the record: not before accepting
        report.ActionReceiveReport(),  # a report photo is personal data: not kept before
    ):
        messages = turn(session, "o_terms", action)
        assert f"{settings.public_base_url}{LINK}" in text(messages), action.name()
        assert "已更新" in text(messages) and not any(m.get("custom") for m in messages)
    assert appointment.refusal(_tracker(session)) is not None
    # still open: the agreements themselves and binding (and leaving)
    assert "第2版" in text(turn(session, "o_terms", common.ActionAgreement(), "agreement"))
    assert "已更新" not in text(turn(session, "o_terms", account.ActionBindAccount(), "bind"))

    binding.accept(session, patient_account.id, [draft.id])
    session.commit()
    [card] = turn(session, "o_terms", home.ActionMyCatheter())
    assert card["custom"]["fields"]
    assert appointment.refusal(_tracker(session)) is None


def _tracker(session) -> Tracker:
    meta = people.resolve(session, Channel.MP, "o_terms", utcnow()).metadata
    session.commit()
    message: dict[str, Any] = {
        "intent": {"name": "book"},
        "entities": [],
        "text": "",
        "metadata": meta,
    }
    return Tracker("mp:o_terms", {}, message, [], False, None, {}, "action_listen")


@pytest.mark.req("A5.1")
def test_a5_1_only_a_bound_account_with_an_unaccepted_current_version_is_stopped(session):
    published(session, AgreementKind.SERVICE, 1)
    session.add(PatientAccount(openid="o_new"))  # not bound: accepts on the way to binding
    session.commit()
    meta = people.resolve(session, Channel.MP, "o_new", utcnow()).metadata
    assert meta is not None and meta["agreements_pending"] is False
    bound = PatientAccount(openid="o_bound", ih_user_id="ih-2")
    session.add(bound)
    session.commit()
    meta = people.resolve(session, Channel.MP, "o_bound", utcnow()).metadata
    assert meta is not None and meta["agreements_pending"] is True
