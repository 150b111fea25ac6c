"""The indicators of A6.1 on hand-built data; every expected number is counted by hand beside
its assertion. Placements and maintenance are at 10:00 in Shanghai (02:00 UTC) unless a test
needs the hospital's midnight: then the UTC date and the local date differ on purpose."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.models import (
    Catheter,
    Complication,
    Department,
    FollowUp,
    Institution,
    MaintenanceRecord,
    OutboxMessage,
    Patient,
    Reminder,
    Removal,
    Staff,
)
from bot.models.enums import (
    CatheterState,
    Channel,
    DeliveryStatus,
    FollowUpStatus,
    PlacementSource,
    ReminderKind,
    StaffRole,
)
from bot.services import stats
from bot.services.stats import NO_DATA, Filters
from bot.services.stats.sql import DateSql

pytestmark = pytest.mark.db

OCT, NOV, DEC = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
TODAY = date(2026, 12, 10)


def at(day: date, hour: int = 2, minute: int = 0) -> datetime:
    """A UTC instant; the default 02:00 UTC is 10:00 in Shanghai, the same date."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def home_patient(session, name: str) -> tuple[Institution, Patient]:
    home = Institution(code="H1", name="本院", is_home=True)
    session.add(home)
    session.flush()
    patient = Patient(name=name)
    session.add(patient)
    session.flush()
    return home, patient


def add_catheter(
    session,
    patient: Patient,
    home: Institution,
    device: str,
    placed: datetime,
    removed: date | None = None,
    **extra: Any,
) -> Catheter:
    c = Catheter(
        patient_id=patient.id,
        device_type=device,
        institution_id=home.id,
        placed_at=placed,
        state=CatheterState.REMOVED if removed else CatheterState.IN_PLACE,
        removed_on=removed,
        **extra,
    )
    session.add(c)
    session.flush()
    return c


@pytest.fixture
def ward(session) -> dict[str, Any]:
    """Seven catheters in two departments (肿瘤科 D1, 血液科 D2), their maintenance, removals,
    complications, reminders and follow-ups. Catheter-days in November, by hand:
      a PICC D1 placed 2026-10-31 17:00 UTC = 1 Nov 01:00 local, in place: 1→30 Nov = 30
      b PICC D1 placed 20 Oct, removed 10 Nov (accidental, unplanned, dwell 21): 1→10 = 9
      c CVC  D2 placed 2026-11-04 16:30 UTC = 5 Nov 00:30 local, removed 25 Nov
             (complication, unplanned, dwell 20): 5→25 = 20
      d PORT D2 placed 1 Sep, in place: 30
      e MIDLINE D1 (gauze dressing) placed 20 Nov, removed 28 Nov (end of therapy, dwell 8): 8
      g PICC D2 placed 2026-11-30 17:00 UTC = 1 Dec 01:00 local: 0 (a December placement)
      h PICC D1 placed 1 Sep, removed 15 Oct (end of therapy, dwell 44): 0
    total 97; central lines (PICC, PORT, CVC) 30+9+20+30 = 89; PICC 30+9 = 39; CVC 20."""
    home = Institution(code="H1", name="本院", is_home=True)
    session.add(home)
    session.flush()
    d1 = Department(institution_id=home.id, code="ONC", name="肿瘤科")
    d2 = Department(institution_id=home.id, code="HEM", name="血液科")
    nurse = Staff(institution_id=home.id, staff_no="N1", name="王护士", role=StaffRole.NURSE)
    patient = Patient(name="甲")
    session.add_all([d1, d2, nurse, patient])
    session.flush()

    def catheter(
        device: str,
        dept: Department,
        placed: datetime,
        removed: date | None = None,
        **extra: Any,
    ) -> Catheter:
        return add_catheter(
            session,
            patient,
            home,
            device,
            placed,
            removed,
            department_id=dept.id,
            inserter_id=nurse.id,
            **extra,
        )

    a = catheter("PICC", d1, datetime(2026, 10, 31, 17, 0, tzinfo=UTC))
    b = catheter("PICC", d1, at(d(10, 20)), d(11, 10))
    c = catheter("CVC", d2, datetime(2026, 11, 4, 16, 30, tzinfo=UTC), d(11, 25))
    dp = catheter("PORT", d2, at(d(9, 1)))
    e = catheter("MIDLINE", d1, at(d(11, 20)), d(11, 28), dressing_type="GAUZE")
    catheter("PICC", d2, datetime(2026, 11, 30, 17, 0, tzinfo=UTC))  # g
    h = catheter("PICC", d1, at(d(9, 1)), d(10, 15))

    def removal(cat: Catheter, reason: str, unplanned: bool, dwell: int) -> None:
        session.add(
            Removal(
                catheter_id=cat.id,
                removed_on=cat.removed_on,
                reason=reason,
                unplanned=unplanned,
                dwell_days=dwell,
            )
        )

    removal(b, "ACCIDENTAL", True, 21)
    removal(c, "COMPLICATION", True, 20)
    removal(e, "END_OF_THERAPY", False, 8)
    removal(h, "END_OF_THERAPY", False, 44)

    def maintained(cat: Catheter, when: datetime, next_due: date) -> None:
        session.add(MaintenanceRecord(catheter_id=cat.id, performed_at=when, next_due_on=next_due))

    # a: first due 1 Nov + 7 = 8 Nov
    maintained(a, at(d(11, 8)), d(11, 15))  # m1 meets 8 Nov
    maintained(a, at(d(11, 18)), d(11, 25))  # m2 late for 15 Nov
    # m3 at 16:30 UTC on 25 Nov = 26 Nov 00:30 local: late for 25 Nov
    maintained(a, datetime(2026, 11, 25, 16, 30, tzinfo=UTC), d(12, 3))
    # b: first due 27 Oct
    maintained(b, at(d(10, 27)), d(11, 3))  # m4 (October) meets 27 Oct
    maintained(b, at(d(11, 2)), d(11, 9))  # m5 early: meets 3 Nov; 9 Nov never met
    # c: first due 5 Nov + 7 = 12 Nov
    maintained(c, at(d(11, 12)), d(11, 19))  # m6 meets 12 Nov
    maintained(c, at(d(11, 19)), d(11, 26))  # m7 meets 19 Nov; 26 Nov after removal
    # d (port, idle every 28 days): first due 29 Sep (before the periods)
    maintained(dp, at(d(10, 20)), d(11, 17))  # m8 (October)
    maintained(dp, at(d(11, 10)), d(11, 24))  # m9 meets 17 Nov; 24 Nov met by m10 (early)
    maintained(dp, at(d(11, 12)), d(11, 24))  # m10 sets 24 Nov again: not met
    # e (midline, gauze every 2 days): first due 22 Nov, never maintained

    def complication(cat: Catheter, kind: str, onset: date, grade: int | None = None) -> None:
        session.add(
            Complication(
                catheter_id=cat.id, patient_id=patient.id, type=kind, onset_on=onset, grade=grade
            )
        )

    complication(a, "CRBSI", d(11, 3))  # day 3 of a central line: a CLABSI
    complication(c, "CRBSI", d(11, 6))  # day 2 (placed 5 Nov local): not a CLABSI
    complication(e, "CRBSI", d(11, 25))  # a midline: not a central line
    complication(dp, "THROMBOSIS", d(11, 15))
    complication(a, "PHLEBITIS", d(11, 12), 2)
    complication(e, "PHLEBITIS", d(11, 30), 1)
    complication(b, "PHLEBITIS", d(10, 30), 2)  # October
    session.flush()

    def reminder(
        cat: Catheter,
        channel: Channel,
        status: DeliveryStatus,
        due: date,
        outbox: DeliveryStatus | None = None,
        fallback: DeliveryStatus | None = None,
        created: datetime | None = None,
    ) -> None:
        r = Reminder(
            catheter_id=cat.id,
            patient_id=patient.id,
            due_on=due,
            kind=ReminderKind.BEFORE,
            channel=channel,
            status=status,
            created_at=created or at(due),
        )
        session.add(r)
        session.flush()
        for suffix, state in (("", outbox), (":fallback", fallback)):
            if state is not None:
                session.add(
                    OutboxMessage(
                        dedupe_key=f"reminder:{r.id}{suffix}",
                        channel=channel,
                        recipient="x",
                        msg_type="text",
                        status=state,
                    )
                )

    S = DeliveryStatus
    reminder(a, Channel.INAPP, S.SENT, d(11, 6))  # r1 reached
    reminder(c, Channel.INAPP, S.SENT, d(11, 10))  # r2 reached
    reminder(a, Channel.INAPP, S.PENDING, d(11, 13))  # r3 not out yet (quiet hours)
    reminder(a, Channel.SMS, S.QUEUED, d(11, 6), outbox=S.SENT)  # r4 reached
    reminder(b, Channel.SMS, S.QUEUED, d(11, 7), outbox=S.FAILED)  # r5 failed
    reminder(b, Channel.SMS, S.FAILED, d(11, 8))  # r6 no phone: out, not reached
    reminder(a, Channel.SMS, S.SKIPPED, d(11, 9))  # r7 replaced: not counted
    # r8 WeChat window closed, the subscribe message went out instead: reached
    reminder(dp, Channel.MP, S.QUEUED, d(11, 15), outbox=S.FAILED, fallback=S.SENT)
    reminder(a, Channel.MP, S.QUEUED, d(11, 20), outbox=S.PENDING)  # r9 still sending
    reminder(a, Channel.INAPP, S.SENT, d(10, 30))  # r10 October

    def follow_up(cat: Catheter, due: date, status: FollowUpStatus) -> None:
        session.add(
            FollowUp(
                catheter_id=cat.id,
                patient_id=patient.id,
                due_on=due,
                status=status,
                sent_at=at(due),
            )
        )

    follow_up(a, d(11, 5), FollowUpStatus.ANSWERED)
    follow_up(a, d(11, 12), FollowUpStatus.NO_ANSWER)
    follow_up(b, d(11, 9), FollowUpStatus.STOPPED)  # removed first: left out
    follow_up(dp, d(11, 20), FollowUpStatus.ANSWERED)
    follow_up(c, d(11, 21), FollowUpStatus.SENT)  # waiting: counted, not answered
    follow_up(e, d(11, 24), FollowUpStatus.ANSWERED)
    follow_up(a, d(10, 29), FollowUpStatus.ANSWERED)  # October
    session.commit()
    return {"d1": d1.id, "d2": d2.id, "nurse": nurse.id, "home": home.id}


def run(session, settings, dictionary, filters: Filters, today: date = TODAY, **kw: Any):
    return stats.compute(
        session, filters, tz=settings.timezone, today=today, dictionary=dictionary, **kw
    )


def values(dashboard) -> dict[str, Any]:
    return {i.code: i.value for i in dashboard.indicators}


def parts(dashboard, code: str) -> tuple[Any, Any]:
    (i,) = [i for i in dashboard.indicators if i.code == code]
    return i.numerator, i.denominator


@pytest.mark.req("A6.1")
def test_a6_1_every_indicator_of_a_month_counted_by_hand(session, settings, dictionary, ward):
    board = run(session, settings, dictionary, Filters(NOV, DEC))
    v = values(board)
    # a (1 Nov local, though 31 Oct in UTC), c, e; b in October, g on 1 Dec local
    assert v["placements"] == 3
    # m1, m2, m3 (26 Nov local), m5, m6, m7, m9, m10
    assert v["maintenances"] == 8
    # dues: a 8✓ 15✗ 25✗ (m3 is 26 Nov local); b 3✓ 9✗; c 12✓ 19✓ (26 after removal);
    # d 17✓, 24 set by m9 ✓ (m10 on 12 Nov) and by m10 ✗; e 22✗ (first due after
    # placement, gauze: 2 days) → 6 of 11 = 54.5 %
    assert parts(board, "maintenance_on_time") == (6, 11) and v["maintenance_on_time"] == 54.5
    assert v["removals"] == 3  # b, c, e (h in October)
    # (21 + 20 + 8) / 3 = 16.33; median of 8, 20, 21 = 20
    assert parts(board, "dwell_days_mean") == (49, 3) and v["dwell_days_mean"] == 16.3
    assert v["dwell_days_median"] == 20
    assert v["catheter_days"] == 97  # 30 + 9 + 20 + 30 + 8 + 0 + 0
    # CRBSI a, c, e; thrombosis d; phlebitis a, e (b's in October)
    assert v["complications"] == 6
    assert parts(board, "complication_rate") == (6, 97) and v["complication_rate"] == 61.86
    # only a's CRBSI: c's on day 2, e's on a midline; 1 / 89 central-line days × 1000 = 11.24
    assert parts(board, "clabsi_rate") == (1, 89) and v["clabsi_rate"] == 11.24
    assert parts(board, "unplanned_removal") == (2, 97) and v["unplanned_removal"] == 20.62
    # PICC: b / (30 + 9) × 1000 = 25.64; CVC: c / 20 × 1000 = 50
    assert parts(board, "unplanned_removal_picc") == (1, 39)
    assert v["unplanned_removal_picc"] == 25.64
    assert parts(board, "unplanned_removal_cvc") == (1, 20) and v["unplanned_removal_cvc"] == 50.0
    assert parts(board, "thrombosis_rate") == (1, 97) and v["thrombosis_rate"] == 10.31
    # in-app r1 r2 of 2 (r3 pending); SMS r4 of r4 r5 r6 (r7 skipped); WeChat r8 of r8 r9
    assert parts(board, "reminder_reach_inapp") == (2, 2) and v["reminder_reach_inapp"] == 100.0
    assert parts(board, "reminder_reach_sms") == (1, 3) and v["reminder_reach_sms"] == 33.3
    assert parts(board, "reminder_reach_mp") == (1, 2) and v["reminder_reach_mp"] == 50.0
    assert parts(board, "reminder_reach") == (4, 7) and v["reminder_reach"] == 57.1
    # answered a 5 Nov, d 20 Nov, e 24 Nov of those and a 12 Nov, c 21 Nov (b's stopped)
    assert parts(board, "follow_up_response") == (3, 5) and v["follow_up_response"] == 60.0


@pytest.mark.req("A6.1")
def test_a6_1_tables_beside_the_charts(session, settings, dictionary, ward):
    t = run(session, settings, dictionary, Filters(NOV, DEC)).tables
    by_type = {(r[0], r[1]): r[2:] for r in t["complications_by_type"].rows}
    # 3 CRBSI / 97 × 1000 = 30.93; one of each other / 97 × 1000 = 10.31
    assert by_type == {
        ("静脉炎", "1级"): [1, 10.31],
        ("静脉炎", "2级"): [1, 10.31],
        ("导管相关性血栓/深静脉血栓", "未分级"): [1, 10.31],
        ("导管相关血流感染(CRBSI/CLABSI)", "未分级"): [3, 30.93],
    }
    assert t["complications_by_type"].rows[0][0] == "静脉炎"  # the dictionary's order
    # reasons: 1 of 3 each = 33.3 %
    assert t["removals_by_reason"].rows == [
        ["治疗结束", 1, 0, 33.3],
        ["并发症", 1, 1, 33.3],
        ["意外/非计划拔管", 1, 1, 33.3],
    ]
    mix = {r[0]: r[1:] for r in t["device_mix"].rows}
    # placements, in place at the end of November, catheter-days
    assert mix == {
        "PICC": [1, 1, 39],  # a placed; a in place (g only from 1 Dec); 30 + 9
        "输液港": [0, 1, 30],
        "CVC": [1, 0, 20],
        "中线导管": [1, 0, 8],
    }
    assert t["reminder_reach"].rows == [
        ["站内消息", 2, 2, 100.0],
        ["微信", 2, 1, 50.0],
        ["短信", 3, 1, 33.3],
    ]
    indicators = t["indicators"]
    assert indicators.columns[:4] == ["指标", "分子", "分母", "值"]
    assert indicators.rows[11][:5] == ["PICC非计划拔管率", 1, 39, 25.64, "‰"]
    # without a grouping the breakdown is the whole
    assert t["breakdown"].rows == [["全部", 3, 8, 54.5, 3, 2, 97, 6, 61.86, 11.24]]


@pytest.mark.req("A6.1")
def test_a6_1_monthly_rows_split_at_the_month_boundary(session, settings, dictionary, ward):
    monthly = run(session, settings, dictionary, Filters(OCT, DEC)).tables["monthly"]
    assert [r[0] for r in monthly.rows] == ["2026-10", "2026-11"]
    october, november = monthly.rows
    # October: placed b (a is 1 Nov local); maintained m4, m8; due b 27 Oct met by m4;
    # removed h; phlebitis b; days b 20 Oct→1 Nov 12 + d 31 + h 1→15 Oct 14 = 57 (a: 0);
    # complication rate 1 / 57 × 1000 = 17.54
    assert october == ["2026-10", 1, 2, 100.0, 1, 0, 1, 57, 17.54]
    assert november == ["2026-11", 3, 8, 54.5, 3, 2, 6, 97, 61.86]
    board = run(session, settings, dictionary, Filters(OCT, DEC))
    assert values(board)["catheter_days"] == 57 + 97
    assert values(board)["placements"] == 4


@pytest.mark.req("A6.1")
def test_a6_1_filters_narrow_everything(session, settings, dictionary, ward):
    board = run(session, settings, dictionary, Filters(NOV, DEC, department_id=ward["d1"]))
    v = values(board)
    # 肿瘤科: a, b, e (and h, removed in October)
    assert v["placements"] == 2  # a, e
    assert v["maintenances"] == 4  # m1 m2 m3 m5
    assert parts(board, "maintenance_on_time") == (2, 6)  # a 1 of 3, b 1 of 2, e 0 of 1
    assert v["catheter_days"] == 47  # 30 + 9 + 8
    assert v["complications"] == 4  # a CRBSI, a phlebitis, e CRBSI, e phlebitis
    assert parts(board, "clabsi_rate") == (1, 39)  # central: a 30 + b 9
    assert parts(board, "unplanned_removal_cvc") == (0, 0) and v["unplanned_removal_cvc"] is None
    # reminders: in-app r1 (r3 pending); SMS r4 r5 r6; WeChat r9
    assert parts(board, "reminder_reach") == (2, 5)
    assert parts(board, "follow_up_response") == (2, 3)  # a 5 Nov ✓, 12 Nov ✗, e 24 Nov ✓

    picc = values(run(session, settings, dictionary, Filters(NOV, DEC, device_type="PICC")))
    # a and b: 2 complications (a's) / 39 × 1000 = 51.28
    assert (picc["placements"], picc["catheter_days"], picc["complication_rate"]) == (1, 39, 51.28)
    assert picc["unplanned_removal_picc"] == 25.64

    other = values(run(session, settings, dictionary, Filters(NOV, DEC, inserter_id=-1)))
    assert other["catheter_days"] == 0 and other["complication_rate"] is None


@pytest.mark.req("A6.1")
def test_a6_1_breakdown_by_department(session, settings, dictionary, ward):
    board = run(session, settings, dictionary, Filters(NOV, DEC), group_by="department")
    breakdown = board.tables["breakdown"]
    assert breakdown.columns[0] == "科室"
    rows = {r[0]: r[1:] for r in breakdown.rows}
    # 肿瘤科 as above; 血液科: placed c; maintained m6 m7 m9 m10; dues c 2 of 2, d 2 of 3 = 80 %;
    # removed c (unplanned); days c 20 + d 30 = 50; complications c CRBSI (day 2), d thrombosis
    # → 2 / 50 × 1000 = 40; CLABSI 0 / 50 = 0
    assert rows == {
        "肿瘤科": [2, 4, 33.3, 2, 1, 47, 4, 85.11, 25.64],
        "血液科": [1, 4, 80.0, 1, 1, 50, 2, 40.0, 0.0],
    }
    by_device = run(session, settings, dictionary, Filters(NOV, DEC), group_by="device_type")
    assert {r[0]: r[6] for r in by_device.tables["breakdown"].rows} == {
        "PICC": 39,
        "CVC": 20,
        "输液港": 30,
        "中线导管": 8,
    }


@pytest.mark.req("A6.1")
def test_a6_1_days_and_dues_stop_at_the_report_date(session, settings, dictionary, ward):
    board = run(session, settings, dictionary, Filters(NOV, DEC), today=d(11, 16))
    v = values(board)
    # to 16 Nov: a 1→16 15, b 9, c 5→16 11, d 15, e (placed 20 Nov) 0 = 50
    assert v["catheter_days"] == 50
    # dues before 16 Nov: a 8✓ 15✗, b 3✓ 9✗, c 12✓ (d's 17 Nov not yet) → 3 of 5
    assert parts(board, "maintenance_on_time") == (3, 5)


@pytest.mark.req("A6.1")
def test_a6_1_a_period_without_data_says_no_data(session, settings, dictionary, ward):
    board = run(session, settings, dictionary, Filters(date(2025, 1, 1), date(2025, 2, 1)))
    v = values(board)
    assert v["placements"] == v["catheter_days"] == v["complications"] == 0
    for code in ("maintenance_on_time", "clabsi_rate", "unplanned_removal_picc", "reminder_reach"):
        assert v[code] is None
    rates = [i for i in board.indicators if i.unit in ("%", "‰")]
    assert {i.display for i in rates} == {NO_DATA}
    assert board.tables["monthly"].rows == [["2025-01", 0, 0, None, 0, 0, 0, 0, None]]
    assert board.tables["complications_by_type"].rows == []
    assert {r[3] for r in board.tables["reminder_reach"].rows} == {None}


@pytest.mark.req("A6.1")
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(1, 1, 1), date(2026, 1, 1)),
        (date(2026, 1, 1), date(9999, 12, 31)),
        (date(1999, 12, 31), date(2000, 2, 1)),
        (date(2100, 12, 1), date(2101, 1, 2)),
    ],
)
def test_a6_1_a_period_beyond_the_years_counted_is_a_value_error(
    session, settings, dictionary, start, end
):
    with pytest.raises(ValueError, match="outside 2000–2100"):
        Filters(start, end)
    with pytest.raises(ValueError, match="outside 2000–2100"):
        Filters.from_params({"start": start.isoformat(), "end": end.isoformat()})
    # midnight of 1 January of year 1 in Shanghai is in year 0 in UTC
    with pytest.raises(ValueError, match="out of range"):
        DateSql("postgresql", ZoneInfo("Asia/Shanghai"), TODAY).instant(date(1, 1, 1))
    # the years' own ends are a period
    assert values(run(session, settings, dictionary, Filters(date(2000, 1, 1), date(2101, 1, 1))))


@pytest.mark.req("A6.1")
def test_a6_1_an_empty_database_gives_zeros(session, settings, dictionary):
    board = run(session, settings, dictionary, Filters(NOV, DEC), group_by="inserter")
    assert all(i.value in (0, None) for i in board.indicators)
    assert board.tables["breakdown"].rows == []


@pytest.mark.req("A6.1")
def test_a6_1_on_time_across_the_period_start_and_at_one_instant(session, settings, dictionary):
    """Due dates in November set in October are met by a maintenance in October too (outside
    the period: probed), and two maintenances at the same instant do not meet each other's."""
    home, patient = home_patient(session, "乙")
    port = add_catheter(session, patient, home, "PORT", at(d(9, 1)))
    for when, due in (
        (at(d(10, 20)), d(11, 5)),  # set ahead across 1 Nov; met by 28 Oct (before the period)
        (at(d(10, 28)), d(11, 4)),  # nothing after it before 4 Nov: missed
        (at(d(11, 10)), d(11, 12)),  # m and m' at one instant: neither is after the other,
        (at(d(11, 10)), d(11, 13)),  # and nothing later: both missed
    ):
        session.add(MaintenanceRecord(catheter_id=port.id, performed_at=when, next_due_on=due))
    session.commit()
    board = run(session, settings, dictionary, Filters(NOV, DEC))
    # 5 Nov ✓, 4 Nov ✗, 12 Nov ✗, 13 Nov ✗ (the port's first due, 29 Sep, is before November)
    assert parts(board, "maintenance_on_time") == (1, 4)


@pytest.fixture
def lines(session):
    """A factory of catheters of one patient at the home institution (their removals
    recorded), and of their complications."""
    home, patient = home_patient(session, "丙")

    def catheter(
        device: str, placed: datetime, removed: date | None = None, unplanned: bool = False, **kw
    ) -> Catheter:
        c = add_catheter(session, patient, home, device, placed, removed, **kw)
        if removed:
            session.add(
                Removal(
                    catheter_id=c.id,
                    removed_on=removed,
                    reason="COMPLICATION" if unplanned else "END_OF_THERAPY",
                    unplanned=unplanned,
                    dwell_days=(removed - placed.date()).days,
                )
            )
        return c

    def complication(c: Catheter, kind: str, onset: date) -> None:
        session.add(
            Complication(catheter_id=c.id, patient_id=patient.id, type=kind, onset_on=onset)
        )

    return catheter, complication


@pytest.mark.req("A6.1")
def test_a6_1_clabsi_needs_the_line_in_place_on_the_day_or_the_day_before(
    session, settings, dictionary, lines
):
    """NHSN: a bloodstream infection the day after removal is still the line's; two days
    after, it is not."""
    catheter, complication = lines
    p1 = catheter("PICC", at(d(11, 1)), d(11, 10))
    p2 = catheter("PICC", at(d(11, 1)), d(11, 10))
    p3 = catheter("PICC", at(d(11, 1)), d(11, 10))
    complication(p1, "CRBSI", d(11, 10))  # on the removal day: the line's
    complication(p2, "CRBSI", d(11, 11))  # the day after removal: the line's
    complication(p3, "CRBSI", d(11, 12))  # two days after removal: not the line's
    session.commit()
    board = run(session, settings, dictionary, Filters(NOV, DEC))
    # central-line days 1→10 Nov: 9 each, 27; CLABSI p1, p2 → 2 / 27 × 1000 = 74.07
    assert parts(board, "clabsi_rate") == (2, 27) and values(board)["clabsi_rate"] == 74.07
    assert values(board)["complications"] == 3  # p3's infection is still a complication


@pytest.mark.req("A6.1")
def test_a6_1_a_brought_in_catheter_counts_its_days_from_its_registration(
    session, settings, dictionary, lines
):
    """Days count from the later of placement and registration here (the days the hospital
    watched the line); the catheter's complications and removal are events all the same."""
    catheter, complication = lines
    brought = PlacementSource.BROUGHT_IN
    here = catheter("PICC", at(d(11, 1)))  # placed here on 1 Nov, in place
    # placed outside on 1 Oct, registered here on 20 Nov, in place
    b1 = catheter("PICC", at(d(10, 1)), source=brought, created_at=at(d(11, 20)))
    # placed outside on 18 Nov, registered 19 Nov 16:30 UTC = 20 Nov 00:30 local, removed
    # here (unplanned) on 25 Nov
    b2 = catheter(
        "CVC",
        at(d(11, 18)),
        d(11, 25),
        unplanned=True,
        source=brought,
        created_at=datetime(2026, 11, 19, 16, 30, tzinfo=UTC),
    )
    # placed outside on 1 Nov, registered only on 5 Dec: nothing of November watched here
    catheter("PICC", at(d(11, 1)), source=brought, created_at=at(d(12, 5)))
    # placed outside on 25 Nov and registered at once (10:00 local): from 25 Nov
    catheter("PICC", at(d(11, 25)), source=brought, created_at=at(d(11, 25)))
    complication(b1, "THROMBOSIS", d(11, 25))
    complication(b2, "CRBSI", d(11, 21))  # placed 18 Nov: day 4 of the line, a CLABSI
    complication(here, "PHLEBITIS", d(11, 5))
    session.commit()

    board = run(session, settings, dictionary, Filters(NOV, DEC))
    v = values(board)
    # days: here 1 Nov→1 Dec 30; b1 from its registration 20 Nov→1 Dec 11 (not 30 from
    # 1 Nov); b2 from its registration 20 Nov→25 Nov 5 (not 7 from 18 Nov); the one
    # registered in December 0 (not 30); the last 25 Nov→1 Dec 6 → 52, all central;
    # PICC 30 + 11 + 6 = 47, CVC 5
    assert v["catheter_days"] == 52
    # b2's CRBSI, b1's thrombosis, here's phlebitis: 3 / 52 × 1000 = 57.69
    assert parts(board, "complication_rate") == (3, 52) and v["complication_rate"] == 57.69
    assert parts(board, "clabsi_rate") == (1, 52) and v["clabsi_rate"] == 19.23
    assert parts(board, "thrombosis_rate") == (1, 52) and v["thrombosis_rate"] == 19.23
    # b2's unplanned removal: 1 / 5 CVC days × 1000 = 200; none of the 47 PICC days
    assert parts(board, "unplanned_removal_cvc") == (1, 5) and v["unplanned_removal_cvc"] == 200.0
    assert parts(board, "unplanned_removal_picc") == (0, 47)
    mix = {r[0]: r[1:] for r in board.tables["device_mix"].rows}
    # placements by their placement date (here, the one registered in December, the last;
    # b2); in place at the end of November: here, b1 and the last (the one registered in
    # December was not yet watched)
    assert mix["PICC"] == [3, 3, 47] and mix["CVC"] == [1, 0, 5]
