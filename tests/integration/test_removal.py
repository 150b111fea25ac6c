"""Catheter removal (拔管, issue 14 item 5): registered once with its dwell days and unplanned
mark; the line leaves the due list, reminders and follow-ups at once; a complication it ends is
closed; the patient is told once; the QR code and every page say 已拔管; the H5 form and its
bad input."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from bot.care.rules import local_date
from bot.models import (
    AuditLog,
    Catheter,
    Complication,
    FollowUp,
    MaintenanceRecord,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    Reminder,
    Removal,
    Staff,
    utcnow,
)
from bot.models.enums import (
    ActorType,
    CatheterState,
    Channel,
    ComplicationStatus,
    DeliveryStatus,
    FollowUpStatus,
    ReminderKind,
)
from bot.services import audit, due, follow_ups, reminders, removals
from bot.services import dictionary as dictionary_service
from bot.services.qr import QrCodes
from server import create_app
from tests.integration.test_staff_pages import add_nurse_and_outsider
from tests.integration.test_staff_web import sign_in

pytestmark = [pytest.mark.db]

PLACED_DAYS_AGO = 20
MAINTAINED_DAYS_AGO = 3


@pytest.fixture
def line(session, settings, cipher):
    """赵大爷's PICC placed 20 days ago, maintained 3 days ago and due (overdue) yesterday,
    tier A, followed by o_zhao; the home nurse N001 and an outside clinician (no access)."""
    add_nurse_and_outsider(session, cipher)
    session.flush()
    nurse = session.scalar(select(Staff).where(Staff.staff_no == "N001"))
    nurse.wecom_userid = "n001"
    today = local_date(utcnow(), settings.timezone)
    p = Patient(name="赵大爷", phone_enc=cipher.encrypt("13800001111", context="patient.phone"))
    acc = PatientAccount(openid="o_zhao", ih_user_id="ih-z")
    session.add_all([p, acc])
    session.flush()
    session.add(PatientProfile(account_id=acc.id, patient_id=p.id))
    c = Catheter(
        patient_id=p.id,
        device_type="PICC",
        institution_id=nurse.institution_id,
        placed_at=_noon(settings, today - timedelta(days=PLACED_DAYS_AGO)),
        next_due_on=today - timedelta(days=1),
        next_follow_up_on=today,
        tier="A",
        responsible_staff_id=nurse.id,
    )
    session.add(c)
    session.flush()
    session.add(
        MaintenanceRecord(
            catheter_id=c.id,
            performed_at=_noon(settings, today - timedelta(days=MAINTAINED_DAYS_AGO)),
            flushed=True,
        )
    )
    session.commit()
    return {"catheter": c.id, "patient": p.id, "nurse": nurse.id, "today": today}


def _noon(settings, day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=settings.timezone).astimezone(UTC)


def _register(session_factory, settings, catheter_id, nurse_id, **kw):
    """Register in a unit of work of its own; the result, committed."""
    kw.setdefault("removed_on", local_date(utcnow(), settings.timezone))
    kw.setdefault("reason", "END_OF_THERAPY")
    with session_factory() as s:
        result = removals.register(
            s,
            dictionary_service.current(s),
            catheter_id,
            tz=settings.timezone,
            actor=audit.Actor(ActorType.STAFF, nurse_id),
            institution_id=None,
            **kw,
        )
        s.commit()
        return result.removal.id, list(result.outbox_ids)


def _refused(session_factory, settings, catheter_id, nurse_id, **kw) -> str:
    with pytest.raises(removals.RemovalRefused) as refused:
        _register(session_factory, settings, catheter_id, nurse_id, **kw)
    return str(refused.value)


def _complication(session, line, type_code: str = "PHLEBITIS", days_ago: int = 1, **kw):
    """A complication of the fixture's PICC, committed."""
    x = Complication(
        catheter_id=line["catheter"],
        patient_id=line["patient"],
        type=type_code,
        onset_on=line["today"] - timedelta(days=days_ago),
        **kw,
    )
    session.add(x)
    session.commit()
    return x


def _count(session_factory, model, *where) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_removal_registers_dwell_days_and_takes_the_line_out_of_care(
    line, session_factory, settings
):
    removal_id, outbox_ids = _register(session_factory, settings, line["catheter"], line["nurse"])
    with session_factory() as s:
        r = s.get(Removal, removal_id)
        c = s.get(Catheter, line["catheter"])
        assert r.dwell_days == PLACED_DAYS_AGO and r.reason == "END_OF_THERAPY"
        assert r.unplanned is False and r.staff_id == line["nurse"]
        assert c.state is CatheterState.REMOVED and c.removed_on == line["today"]
        assert c.next_follow_up_on is None
        entry = s.scalar(select(AuditLog).where(AuditLog.object_type == "removal"))
        assert entry.action == "create" and entry.patient_id == line["patient"]
        [notice] = s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids)))
        words = notice.payload["text"]["content"]
        assert notice.recipient == "o_zhao" and notice.channel is Channel.MP
        assert "已于" in words and "治疗结束" in words and f"留置{PLACED_DAYS_AGO}天" in words
        assert "24小时内保持干燥" in words and "及时就医" in words


@pytest.mark.req("A6.1")
@pytest.mark.parametrize(
    ("reason", "unplanned"),
    [("ACCIDENTAL", True), ("COMPLICATION", True), ("PATIENT_REQUEST", False)],
)
def test_removal_unplanned_mark_comes_from_the_reason(
    line, session_factory, settings, reason, unplanned
):
    removal_id, _ = _register(
        session_factory, settings, line["catheter"], line["nurse"], reason=reason
    )
    with session_factory() as s:
        assert s.get(Removal, removal_id).unplanned is unplanned


@pytest.mark.req("C3.4")
def test_removal_for_a_complication_closes_its_only_open_complication(
    line, session, session_factory, settings
):
    _complication(session, line, grade=2, days_ago=2)
    removal_id, _ = _register(
        session_factory, settings, line["catheter"], line["nurse"], reason="COMPLICATION"
    )
    with session_factory() as s:
        r = s.get(Removal, removal_id)
        x = s.scalars(select(Complication)).one()
        assert r.complication_id == x.id and r.unplanned
        assert x.status is ComplicationStatus.CLOSED and x.outcome == "REMOVED"
        assert x.led_to_removal and x.closed_by_id == line["nurse"] and x.resolved_at
        removal_step, close_step = x.steps
        assert removal_step.kind == "REMOVAL" and "拔管" in removal_step.action
        assert close_step.kind == "CLOSE" and "导致拔管" in close_step.action
        assert {removal_step.staff_id, close_step.staff_id} == {line["nurse"]}


@pytest.mark.req("C3.4")
def test_removal_linked_to_a_complication_closed_before_keeps_its_outcome(
    line, session, session_factory, settings
):
    x = _complication(
        session,
        line,
        "OCCLUSION_PARTIAL",
        days_ago=5,
        status=ComplicationStatus.CLOSED,
        outcome="IMPROVING",
    )
    _register(
        session_factory,
        settings,
        line["catheter"],
        line["nurse"],
        reason="COMPLICATION",
        complication_id=x.id,
    )
    with session_factory() as s:
        x = s.get(Complication, x.id)
        assert x.status is ComplicationStatus.CLOSED and x.outcome == "IMPROVING"
        assert x.led_to_removal and [step.kind for step in x.steps] == ["REMOVAL"]


@pytest.mark.req("C3.4")
def test_removal_linked_complication_must_be_this_catheters_and_several_open_need_a_choice(
    line, session, session_factory, settings
):
    other = Catheter(patient_id=line["patient"], device_type="PICC", placed_at=utcnow())
    session.add(other)
    session.flush()
    onset = line["today"] - timedelta(days=1)
    foreign = Complication(
        catheter_id=other.id, patient_id=line["patient"], type="PHLEBITIS", onset_on=onset
    )
    mine = [
        Complication(
            catheter_id=line["catheter"], patient_id=line["patient"], type=t, onset_on=onset
        )
        for t in ("PHLEBITIS", "OCCLUSION_PARTIAL")
    ]
    session.add_all([foreign, *mine])
    session.commit()
    assert "不属于这根导管" in _refused(
        session_factory,
        settings,
        line["catheter"],
        line["nurse"],
        reason="COMPLICATION",
        complication_id=foreign.id,
    )
    assert "2个未结案的并发症" in _refused(
        session_factory, settings, line["catheter"], line["nurse"], reason="COMPLICATION"
    )
    assert _count(session_factory, Removal) == 0
    removal_id, _ = _register(
        session_factory,
        settings,
        line["catheter"],
        line["nurse"],
        reason="COMPLICATION",
        complication_id=mine[1].id,
    )
    with session_factory() as s:
        closed, still_open = s.get(Complication, mine[1].id), s.get(Complication, mine[0].id)
        assert closed.led_to_removal and closed.status is ComplicationStatus.CLOSED
        assert still_open.status is ComplicationStatus.OPEN and not still_open.led_to_removal


def test_removal_twice_is_refused_with_the_first_date_and_reason(line, session_factory, settings):
    first_day = line["today"] - timedelta(days=1)
    _register(
        session_factory,
        settings,
        line["catheter"],
        line["nurse"],
        removed_on=first_day,
        reason="ACCIDENTAL",
    )
    message = _refused(session_factory, settings, line["catheter"], line["nurse"])
    assert message == f"该导管已于{first_day:%Y-%m-%d}拔管（意外/非计划拔管），不能重复登记。"
    assert _count(session_factory, Removal) == 1


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"removed_on": "before_placement"}, "不能早于置管日期"),
        ({"removed_on": "tomorrow"}, "不能晚于今天"),
        ({"reason": "LOST"}, "拔管原因不在字典中"),
        ({"tip_culture_result": "阳" * 121}, "120字以内"),
    ],
)
def test_removal_with_an_impossible_date_or_reason_is_refused_and_nothing_changes(
    line, session_factory, settings, changes, said
):
    days = {
        "before_placement": line["today"] - timedelta(days=PLACED_DAYS_AGO + 1),
        "tomorrow": line["today"] + timedelta(days=1),
    }
    if "removed_on" in changes:
        changes = {"removed_on": days[changes["removed_on"]]}
    assert said in _refused(session_factory, settings, line["catheter"], line["nurse"], **changes)
    with session_factory() as s:
        assert s.get(Catheter, line["catheter"]).state is CatheterState.IN_PLACE
        assert s.scalar(select(func.count()).select_from(Removal)) == 0


def test_removal_before_the_last_maintenance_needs_confirmation(line, session_factory, settings):
    early = line["today"] - timedelta(days=MAINTAINED_DAYS_AGO + 1)
    last = line["today"] - timedelta(days=MAINTAINED_DAYS_AGO)
    with pytest.raises(removals.NeedsConfirmation) as asked:
        _register(session_factory, settings, line["catheter"], line["nurse"], removed_on=early)
    assert str(asked.value) == f"拔管日期早于最近一次维护（{last:%Y-%m-%d}），确认无误请再次提交。"
    assert _count(session_factory, Removal) == 0 and _count(session_factory, OutboxMessage) == 0
    removal_id, _ = _register(
        session_factory, settings, line["catheter"], line["nurse"], removed_on=early, confirmed=True
    )
    with session_factory() as s:
        assert s.get(Removal, removal_id).dwell_days == PLACED_DAYS_AGO - MAINTAINED_DAYS_AGO - 1


@pytest.mark.req("C3.1", "P3.1")
def test_removal_leaves_the_due_list_and_the_reminder_sweep_sends_nothing_for_it(
    line, session_factory, settings, cipher
):
    now = _noon(settings, line["today"])
    actor = audit.Actor(ActorType.STAFF, line["nurse"])

    def due_ids() -> set[int]:
        with session_factory() as s:
            d = dictionary_service.current(s)
            entries = due.due_list(s, d, line["today"], institution_id=None, actor=actor)
            return {e.catheter_id for e in entries}

    def sweep() -> tuple[int, list[int], list[int]]:
        with session_factory() as s:
            d = dictionary_service.current(s)
            result = reminders.sweep(
                s, d, cipher, now, settings.timezone, public_base_url="https://vam.example"
            )
            escalated = reminders.escalate(s, d, now, settings.timezone)
            s.commit()
            return result.created, result.outbox_ids, escalated

    assert line["catheter"] in due_ids()
    created, queued, escalated = sweep()  # overdue: reminders on three channels, the nurse told
    assert created == 3 and queued and escalated
    _register(session_factory, settings, line["catheter"], line["nurse"])
    assert line["catheter"] not in due_ids()
    with session_factory() as s:  # what was still waiting to go out is withdrawn
        waiting = s.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like("reminder:%"))
        ).all()
        assert waiting and {m.status for m in waiting} == {DeliveryStatus.SKIPPED}
    before = _count(session_factory, OutboxMessage)
    tomorrow = now + timedelta(days=1)
    for moment in (now + timedelta(hours=1), tomorrow):
        now = moment
        assert sweep() == (0, [], [])
    assert _count(session_factory, OutboxMessage) == before
    assert (
        _count(
            session_factory,
            Reminder,
            Reminder.status.in_([DeliveryStatus.PENDING, DeliveryStatus.QUEUED]),
        )
        == 0
    )
    assert _count(session_factory, Reminder, Reminder.kind == ReminderKind.OVERDUE) == 3


@pytest.mark.req("A7.4")
def test_removal_stops_the_follow_ups_and_the_follow_up_sweep_sends_nothing_more(
    line, session, session_factory, settings
):
    today = line["today"]
    session.add(
        FollowUp(
            catheter_id=line["catheter"],
            patient_id=line["patient"],
            due_on=today - timedelta(days=3),
            status=FollowUpStatus.ANSWERED,
        )
    )
    session.commit()

    def sweep(now: datetime) -> follow_ups.SweepResult:
        with session_factory() as s:
            d = dictionary_service.current(s)
            result = follow_ups.sweep(s, d, now, settings.timezone, public_base_url="https://x")
            s.commit()
            return result

    assert sweep(_noon(settings, today)).sent == 1  # today's check-in, in the outbox
    _register(session_factory, settings, line["catheter"], line["nurse"])
    with session_factory() as s:
        statuses = {f.due_on: f.status for f in s.scalars(select(FollowUp))}
        assert statuses == {
            today - timedelta(days=3): FollowUpStatus.ANSWERED,
            today: FollowUpStatus.STOPPED,
        }
        assert s.get(Catheter, line["catheter"]).next_follow_up_on is None
        [check_in] = s.scalars(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith("follow_up:"))
        ).all()
        assert check_in.status is DeliveryStatus.SKIPPED  # not sent if still waiting
    before = _count(session_factory, OutboxMessage)
    for later in (timedelta(days=1, hours=1), timedelta(days=3)):  # the reminder, the next date
        result = sweep(_noon(settings, today) + later)
        assert (result.created, result.sent, result.reminded, result.outbox_ids) == (0, 0, 0, [])
    assert _count(session_factory, OutboxMessage) == before


def test_removal_tells_the_patient_once_and_a_death_tells_nobody(
    line, session, session_factory, settings
):
    _, outbox_ids = _register(session_factory, settings, line["catheter"], line["nurse"])
    assert len(outbox_ids) == 1
    _refused(session_factory, settings, line["catheter"], line["nurse"])  # a double tap
    with session_factory() as s:  # a retried job re-writing the notice finds it written
        from bot.services import notify

        again = notify.text(s, Channel.MP, "o_zhao", "x", key=f"removal:{line['catheter']}:o_zhao")
        assert again == outbox_ids[0]
    assert _count(session_factory, OutboxMessage, OutboxMessage.recipient == "o_zhao") == 1
    other = Catheter(patient_id=line["patient"], device_type="PORT", placed_at=utcnow())
    session.add(other)
    session.commit()
    _, silent = _register(session_factory, settings, other.id, line["nurse"], reason="DEATH")
    assert silent == []
    assert _count(session_factory, OutboxMessage, OutboxMessage.recipient == "o_zhao") == 1


def test_removal_two_at_once_one_wins_the_other_is_refused(line, session_factory, settings):
    """Session A holds its removal uncommitted while B tries: B waits (row lock on PostgreSQL,
    the write lock on SQLite) and is refused once A commits."""
    with session_factory() as s:
        d = dictionary_service.current(s)
    actor = audit.Actor(ActorType.STAFF, line["nurse"])
    today = line["today"]

    def attempt(session, reason: str) -> None:
        removals.register(
            session,
            d,
            line["catheter"],
            removed_on=today,
            reason=reason,
            tz=settings.timezone,
            actor=actor,
            institution_id=None,
        )

    a = session_factory()
    attempt(a, "END_OF_THERAPY")
    outcome: dict[str, object] = {}

    def second() -> None:
        with session_factory() as b:
            try:
                attempt(b, "ACCIDENTAL")
                b.commit()
                outcome["b"] = "registered"
            except removals.RemovalRefused as exc:
                outcome["b"] = str(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(1.0)  # B is blocked behind A
    assert thread.is_alive()
    a.commit()
    a.close()
    thread.join(30)
    assert outcome["b"] == f"该导管已于{today:%Y-%m-%d}拔管（治疗结束），不能重复登记。"
    assert _count(session_factory, Removal) == 1


# ---- H5 -----------------------------------------------------------------------------------


@pytest.fixture
def app(settings, line, redis_conn):
    return create_app(settings)


def _nurse(app):
    client = app.test_client()
    sign_in(client, "N001", "Nurse1234")
    return client


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _form(page: str, **values: str) -> dict[str, str]:
    return {"csrf_token": _csrf(page), "reason": "END_OF_THERAPY", **values}


@pytest.mark.redis
@pytest.mark.req("P2.2", "C3.1")
def test_removal_h5_form_round_trip_then_every_page_says_removed(
    app, line, session_factory, settings
):
    client = _nurse(app)
    url = f"/staff/catheters/{line['catheter']}/removal"
    catheter_page = client.get(f"/staff/catheters/{line['catheter']}").get_data(as_text=True)
    assert f'href="{url}"' in catheter_page and "登记拔管" in catheter_page
    page = client.get(url).get_data(as_text=True)
    assert f'value="{line["today"].isoformat()}"' in page  # today by default
    assert "治疗结束" in page and "意外/非计划拔管（非计划）" in page and "尖端已送培养" in page
    r = client.post(
        url,
        data=_form(
            page,
            removed_on=line["today"].isoformat(),
            catheter_intact="yes",
            tip_culture_sent="1",
            notes="化疗结束",
        ),
    )
    assert r.status_code == 302
    done = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "拔管已登记" in done and f"{PLACED_DAYS_AGO} 天" in done and "结果待回报" in done
    # the culture comes back two days later
    r = client.post(
        f"{url}/tip-culture",
        data={"csrf_token": _csrf(done), "tip_culture_result": "无菌生长"},
    )
    assert r.status_code == 302
    catheter_page = client.get(f"/staff/catheters/{line['catheter']}").get_data(as_text=True)
    assert "已拔管" in catheter_page and "无菌生长" in catheter_page and "治疗结束" in catheter_page
    assert "登记拔管" not in catheter_page and "登记本次维护" not in catheter_page
    # the page again: no form, the date and reason
    again = client.get(url).get_data(as_text=True)
    assert "保存拔管登记" not in again and line["today"].strftime("%Y-%m-%d") in again
    with session_factory() as s:
        r_row = s.scalars(select(Removal)).one()
        assert r_row.catheter_intact is True and r_row.notes == "化疗结束"
        assert r_row.tip_culture_result == "无菌生长"
        c = s.get(Catheter, line["catheter"])
    path = QrCodes(settings.secret_key, settings.public_base_url).url(c).split("/q/")[-1]
    scanned = client.get(f"/q/{path}", follow_redirects=True).get_data(as_text=True)
    assert "已拔管" in scanned and "登记本次维护" not in scanned
    # the patient's own pages: the scanned code, the catheter, the code page
    patient = app.test_client()
    with session_factory() as s:
        account_id = s.scalar(select(PatientAccount.id))
    with patient.session_transaction() as web_session:
        web_session["account_id"] = account_id
    mine = patient.get(f"/q/{path}", follow_redirects=True).get_data(as_text=True)
    assert "（已拔管）" in mine and "治疗结束" in mine and "24小时内保持干燥" in mine
    assert "出示置管二维码" not in mine
    code_page = patient.get(f"/h5/catheters/{line['catheter']}/qr").get_data(as_text=True)
    assert "该导管已拔管" in code_page and "data:image/png" not in code_page


@pytest.mark.redis
@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"removed_on": ""}, "请填写拔管日期"),
        ({"removed_on": "2026-13-45"}, "请填写拔管日期"),
        ({"reason": "LOST"}, "请选择拔管原因"),
        ({"complication_id": "999"}, "所选并发症不属于这根导管"),
        ({"catheter_intact": "maybe"}, "请选择导管是否完整"),
        ({"removed_on": "2099-01-01"}, "不能晚于今天"),
        ({"removed_on": "2000-01-01"}, "不能早于置管日期"),
    ],
)
def test_removal_h5_bad_input_comes_back_in_chinese_and_saves_nothing(
    app, line, session_factory, values, said
):
    client = _nurse(app)
    url = f"/staff/catheters/{line['catheter']}/removal"
    page = client.get(url).get_data(as_text=True)
    data = _form(page, removed_on=line["today"].isoformat())
    data.update(values)
    r = client.post(url, data=data)
    assert r.status_code == 400 and said in r.get_data(as_text=True)
    assert _count(session_factory, Removal) == 0


@pytest.mark.redis
def test_removal_h5_before_the_last_maintenance_asks_to_confirm_then_saves(
    app, line, session_factory
):
    client = _nurse(app)
    url = f"/staff/catheters/{line['catheter']}/removal"
    early = (line["today"] - timedelta(days=MAINTAINED_DAYS_AGO + 2)).isoformat()
    page = client.get(url).get_data(as_text=True)
    r = client.post(url, data=_form(page, removed_on=early, reason="ACCIDENTAL"))
    asked = r.get_data(as_text=True)
    assert r.status_code == 400 and "确认无误请再次提交" in asked and 'name="confirmed"' in asked
    assert f'value="{early}"' in asked and 'value="ACCIDENTAL" selected' in asked  # kept
    assert _count(session_factory, Removal) == 0
    r = client.post(url, data=_form(asked, removed_on=early, reason="ACCIDENTAL", confirmed="1"))
    assert r.status_code == 302
    done = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "【非计划拔管】" in done and early in done
    # a second submit of the old form is refused with the first one's date and reason
    r = client.post(url, data=_form(asked, removed_on=early, confirmed="1"))
    assert r.status_code == 409 and f"该导管已于{early}拔管（意外/非计划拔管）" in r.get_data(
        as_text=True
    )
    assert _count(session_factory, Removal) == 1


@pytest.mark.redis
def test_removal_h5_is_not_open_to_a_clinician_without_access(app, line, session_factory):
    client = app.test_client()
    sign_in(client, "13900009999", "Outside123")
    url = f"/staff/catheters/{line['catheter']}/removal"
    assert client.get(url).status_code == 404
    assert client.post(url, data={"reason": "END_OF_THERAPY"}).status_code in (400, 404)
    assert _count(session_factory, Removal) == 0


@pytest.mark.redis
@pytest.mark.req("C3.4")
def test_removal_h5_for_a_chosen_complication_shows_it_closed_on_the_catheter_page(
    app, line, session, session_factory
):
    x = _complication(session, line, grade=2)
    client = _nurse(app)
    url = f"/staff/catheters/{line['catheter']}/removal"
    page = client.get(url).get_data(as_text=True)
    assert f'<option value="{x.id}"' in page and "静脉炎" in page and "未处理" in page
    data = _form(
        page,
        removed_on=line["today"].isoformat(),
        reason="COMPLICATION",
        complication_id=str(x.id),
        tip_culture_result="表皮葡萄球菌",
    )
    assert client.post(url, data=data).status_code == 302
    catheter_page = client.get(f"/staff/catheters/{line['catheter']}").get_data(as_text=True)
    assert "【非计划拔管】" in catheter_page and "转归：导致拔管" in catheter_page
    assert f'href="/staff/complications/{x.id}"' in catheter_page
    assert "已送检：表皮葡萄球菌" in catheter_page
    with session_factory() as s:
        assert s.get(Complication, x.id).status is ComplicationStatus.CLOSED
