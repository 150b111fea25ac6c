"""Clinical rules of CLINICAL.md: every row of the interval and tier tables, and the edges."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.care import rules
from bot.care.rules import DueStatus

SHANGHAI = ZoneInfo("Asia/Shanghai")
MON = date(2026, 3, 2)


# --- Maintenance intervals table ----------------------------------------------------------


@pytest.mark.req("C3.3")
@pytest.mark.parametrize("device", ["PICC", "CVC"])
def test_picc_and_cvc_with_transparent_dressing_are_due_every_7_days(d, device):
    assert rules.interval_days(d, device, dressing_type="TRANSPARENT") == 7
    assert rules.next_due_on(d, device, MON) == date(2026, 3, 9)


@pytest.mark.req("C3.3")
@pytest.mark.parametrize("device", ["PICC", "CVC"])
def test_picc_and_cvc_with_gauze_dressing_are_due_every_2_days(d, device):
    assert rules.next_due_on(d, device, MON, dressing_type="GAUZE") == date(2026, 3, 4)


@pytest.mark.req("C3.3")
@pytest.mark.parametrize(
    "finding", ["DRESSING_LOOSE", "DRESSING_DAMP", "DRESSING_SOILED", "BLEEDING"]
)
def test_loose_damp_soiled_or_bloody_dressing_makes_maintenance_due_the_same_day(d, finding):
    due = date(2026, 3, 9)
    assert rules.due_after_findings(d, due, [finding], seen_on=MON) == MON


@pytest.mark.req("C3.3")
def test_normal_site_findings_leave_the_due_date_alone(d):
    due = date(2026, 3, 9)
    assert rules.due_after_findings(d, due, ["NORMAL", "REDNESS"], seen_on=MON) == due


@pytest.mark.req("C3.3")
def test_a_compromised_dressing_never_postpones_an_already_overdue_date(d):
    overdue = date(2026, 2, 27)
    assert rules.due_after_findings(d, overdue, ["DRESSING_DAMP"], seen_on=MON) == overdue


@pytest.mark.req("C3.3")
def test_port_not_in_use_is_flushed_every_4_weeks(d):
    assert rules.next_due_on(d, "PORT", MON, port_in_use=False) == MON + timedelta(days=28)


@pytest.mark.req("C3.3")
def test_port_in_continuous_use_has_its_needle_changed_every_7_days(d):
    assert rules.next_due_on(d, "PORT", MON, port_in_use=True) == MON + timedelta(days=7)


@pytest.mark.req("C3.3")
def test_port_interval_ignores_dressing_type(d):
    assert rules.interval_days(d, "PORT", dressing_type="GAUZE") == 28


@pytest.mark.req("C3.3")
def test_midline_follows_the_external_catheter_intervals(d):
    assert rules.interval_days(d, "MIDLINE") == 7
    assert rules.interval_days(d, "MIDLINE", dressing_type="GAUZE") == 2


def test_picc_maximum_dwell_is_one_year(d):
    placed = date(2026, 1, 1)
    assert not rules.dwell_exceeded(d, "PICC", placed, placed + timedelta(days=365))
    assert rules.dwell_exceeded(d, "PICC", placed, placed + timedelta(days=366))


def test_port_has_no_maximum_dwell_by_default(d):
    assert not rules.dwell_exceeded(d, "PORT", date(2020, 1, 1), date(2026, 1, 1))


def test_unknown_device_type_is_an_error_not_a_guess(d):
    with pytest.raises(ValueError, match="unknown device type"):
        rules.interval_days(d, "HICKMAN")


# --- Tier table ---------------------------------------------------------------------------


@pytest.mark.req("C3.3", "A7.4")
def test_a7_4_tier_a_is_followed_up_every_3_days(d):
    assert rules.next_follow_up_on(d, "A", MON) == date(2026, 3, 5)


@pytest.mark.req("C3.3", "A7.4")
def test_a7_4_tier_b_is_followed_up_weekly_and_tier_c_not_beyond_maintenance(d):
    assert rules.next_follow_up_on(d, "B", MON) == MON + timedelta(days=7)
    assert rules.next_follow_up_on(d, "C", MON) is None


@pytest.mark.req("C3.3", "A7.4")
def test_a7_4_custom_follow_up_cycle_overrides_the_tier(d):
    assert rules.next_follow_up_on(d, "C", MON, custom_cycle_days=2) == MON + timedelta(days=2)
    with pytest.raises(ValueError):
        rules.next_follow_up_on(d, "A", MON, custom_cycle_days=0)


@pytest.mark.req("C3.3", "A7.4")
def test_a7_4_a_tier_never_changes_the_maintenance_date(d):
    # the follow-up cycle is a check-in: an idle port of a high-risk patient stays due in 4 weeks
    assert rules.next_due_on(d, "PORT", MON) == MON + timedelta(days=28)
    assert rules.next_due_on(d, "PICC", MON) == date(2026, 3, 9)
    assert rules.next_due_on(d, "PICC", MON, dressing_type="GAUZE") == date(2026, 3, 4)


@pytest.mark.req("C3.3", "A7.4")
def test_tier_a_escalates_to_the_nurse_when_overdue_by_one_day(d):
    due = date(2026, 3, 9)
    assert not rules.needs_escalation(d, "A", due, due)
    assert rules.needs_escalation(d, "A", due, due + timedelta(days=1))


@pytest.mark.req("C3.3", "A7.4")
@pytest.mark.parametrize("tier", ["B", "C"])
def test_tiers_b_and_c_do_not_escalate(d, tier):
    assert not rules.needs_escalation(d, tier, date(2026, 3, 1), date(2026, 3, 20))


@pytest.mark.req("C3.3", "A7.4")
def test_custom_maintenance_cycle_overrides_the_device_default(d):
    assert rules.next_due_on(d, "PORT", MON, custom_cycle_days=14) == date(2026, 3, 16)


@pytest.mark.req("C3.3", "A7.4")
def test_custom_cycle_must_be_positive(d):
    with pytest.raises(ValueError):
        rules.next_due_on(d, "PICC", MON, custom_cycle_days=0)


@pytest.mark.req("C3.3")
def test_explicit_next_date_set_by_a_clinician_wins(d):
    chosen = date(2026, 3, 6)
    assert rules.next_due_on(d, "PICC", MON, custom_cycle_days=10, explicit=chosen) == chosen


@pytest.mark.req("C3.3")
def test_explicit_next_date_before_the_maintenance_is_refused(d):
    with pytest.raises(ValueError):
        rules.next_due_on(d, "PICC", MON, explicit=MON - timedelta(days=1))


@pytest.mark.req("C3.3")
def test_unknown_tier_is_refused(d):
    with pytest.raises(ValueError, match="tier"):
        rules.next_follow_up_on(d, "Z", MON)


@pytest.mark.req("A7.1", "C3.3")
def test_edited_dictionary_changes_the_computed_interval(payload):
    from bot.care.dictionary import build_dictionary

    for rule in payload["maintenance_intervals"]:
        if rule["device_type"] == "PORT" and rule["when"] == "PORT_IDLE":
            rule["days"] = 30
    edited = build_dictionary(payload, version=2)
    assert rules.next_due_on(edited, "PORT", MON) == MON + timedelta(days=30)


# --- Calendar edges -----------------------------------------------------------------------


@pytest.mark.req("C3.3")
def test_due_date_crosses_month_end(d):
    assert rules.next_due_on(d, "PICC", date(2026, 1, 28)) == date(2026, 2, 4)
    assert rules.next_due_on(d, "PORT", date(2026, 1, 31)) == date(2026, 2, 28)


@pytest.mark.req("C3.3")
def test_due_date_crosses_a_leap_day(d):
    assert rules.next_due_on(d, "PORT", date(2028, 2, 1)) == date(2028, 2, 29)


@pytest.mark.req("C3.3")
def test_due_date_crosses_year_end(d):
    assert rules.next_due_on(d, "PICC", date(2026, 12, 28)) == date(2027, 1, 4)


def test_local_date_is_the_shanghai_calendar_day_while_servers_run_in_utc():
    # 17:30 UTC on 31 January is 01:30 on 1 February in Shanghai
    instant = datetime(2026, 1, 31, 17, 30, tzinfo=UTC)
    assert rules.local_date(instant, SHANGHAI) == date(2026, 2, 1)
    assert rules.local_date(datetime(2026, 1, 31, 15, 59, tzinfo=UTC), SHANGHAI) == date(
        2026, 1, 31
    )


def test_local_date_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        rules.local_date(datetime(2026, 1, 31, 17, 30), SHANGHAI)


@pytest.mark.req("C3.3")
def test_maintenance_late_in_the_shanghai_evening_counts_for_that_day(d):
    performed = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 March in Shanghai
    assert rules.next_due_on(d, "PICC", rules.local_date(performed, SHANGHAI)) == date(2026, 3, 9)


# --- Status on a given day ----------------------------------------------------------------


@pytest.mark.req("C3.1")
@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (date(2026, 3, 1), DueStatus.OVERDUE),
        (date(2026, 3, 2), DueStatus.DUE_TODAY),
        (date(2026, 3, 3), DueStatus.DUE_SOON),
        (date(2026, 3, 4), DueStatus.DUE_SOON),
        (date(2026, 3, 5), DueStatus.OK),
    ],
)
def test_status_on_a_day(due, expected):
    assert rules.status_on(due, MON, due_soon_days=2) == expected


@pytest.mark.req("C3.1")
def test_removed_catheter_is_removed_whatever_its_due_date():
    assert rules.status_on(date(2026, 1, 1), MON, removed=True) == DueStatus.REMOVED


@pytest.mark.req("C3.1")
def test_catheter_in_place_without_a_due_date_needs_a_look_today():
    assert rules.status_on(None, MON) == DueStatus.DUE_TODAY


@pytest.mark.req("C3.1", "A7.1")
def test_due_soon_window_follows_the_dictionary(payload):
    from bot.care.dictionary import build_dictionary

    payload["due_soon_days"] = 5
    d5 = build_dictionary(payload, version=2)
    assert (
        rules.status_on(date(2026, 3, 7), MON, due_soon_days=d5.due_soon_days) == DueStatus.DUE_SOON
    )


@pytest.mark.req("C3.1")
def test_every_status_has_words_and_a_colour():
    for status in DueStatus:
        assert rules.STATUS_LABELS[status]
        assert rules.STATUS_COLOURS[status].startswith("#")
    assert len(set(rules.STATUS_COLOURS.values())) == len(DueStatus)


@pytest.mark.req("C3.1")
def test_due_list_order_puts_overdue_first():
    ordered = sorted(DueStatus, key=rules.STATUS_ORDER.__getitem__)
    assert ordered[:3] == [DueStatus.OVERDUE, DueStatus.DUE_TODAY, DueStatus.DUE_SOON]


@pytest.mark.req("C3.1")
def test_days_overdue():
    assert rules.days_overdue(date(2026, 2, 27), MON) == 3
    assert rules.days_overdue(date(2026, 3, 9), MON) == 0
    assert rules.days_overdue(None, MON) == 0


# --- Measures -----------------------------------------------------------------------------


@pytest.mark.req("A6.1")
def test_catheter_days_run_from_placement_to_removal():
    assert rules.catheter_days(date(2026, 1, 1), date(2026, 1, 31), as_of=date(2026, 6, 1)) == 30


@pytest.mark.req("A6.1")
def test_catheter_days_of_a_catheter_in_place_run_to_the_report_date():
    assert rules.catheter_days(date(2026, 1, 1), None, as_of=date(2026, 1, 11)) == 10


@pytest.mark.req("A6.1")
def test_catheter_days_never_negative():
    assert rules.catheter_days(date(2026, 1, 10), None, as_of=date(2026, 1, 1)) == 0


@pytest.mark.req("A6.1")
def test_catheter_days_in_a_report_period_count_only_the_overlap():
    # placed 20 Jan, removed 10 Feb; February report counts 9 days
    assert (
        rules.catheter_days_in_period(
            date(2026, 1, 20), date(2026, 2, 10), date(2026, 2, 1), date(2026, 3, 1)
        )
        == 9
    )
    assert (
        rules.catheter_days_in_period(date(2026, 3, 5), None, date(2026, 2, 1), date(2026, 3, 1))
        == 0
    )


@pytest.mark.req("A6.1")
def test_clabsi_needs_the_line_in_place_more_than_two_calendar_days():
    placed = date(2026, 3, 1)
    assert not rules.clabsi_eligible(placed, date(2026, 3, 2))
    assert rules.clabsi_eligible(placed, date(2026, 3, 3))


# --- Red flags ----------------------------------------------------------------------------


@pytest.mark.req("C3.3")
def test_external_length_change_of_2_cm_either_way_is_flagged(d):
    out = rules.red_flags(
        d,
        baseline_external_cm=Decimal("2.0"),
        external_cm=Decimal("4.0"),
        baseline_arm_cm=None,
        arm_cm=None,
    )
    assert [f.code for f in out] == ["EXTERNAL_LENGTH_CHANGE"]
    assert "+2.0cm" in out[0].message
    shorter = rules.red_flags(
        d,
        baseline_external_cm=Decimal("3.0"),
        external_cm=Decimal("1.0"),
        baseline_arm_cm=None,
        arm_cm=None,
    )
    assert [f.code for f in shorter] == ["EXTERNAL_LENGTH_CHANGE"]


@pytest.mark.req("C3.3")
def test_external_length_change_below_threshold_is_not_flagged(d):
    assert not rules.red_flags(
        d,
        baseline_external_cm=Decimal("2.0"),
        external_cm=Decimal("3.9"),
        baseline_arm_cm=None,
        arm_cm=None,
    )


@pytest.mark.req("C3.3")
def test_arm_circumference_increase_of_2_cm_is_flagged(d):
    out = rules.red_flags(
        d,
        baseline_external_cm=None,
        external_cm=None,
        baseline_arm_cm=Decimal("25.0"),
        arm_cm=Decimal("27.0"),
    )
    assert [f.code for f in out] == ["ARM_CIRCUMFERENCE_INCREASE"]
    assert "血栓" in out[0].message


@pytest.mark.req("C3.3")
def test_arm_circumference_decrease_is_not_a_thrombosis_flag(d):
    assert not rules.red_flags(
        d,
        baseline_external_cm=None,
        external_cm=None,
        baseline_arm_cm=Decimal("27.0"),
        arm_cm=Decimal("24.0"),
    )


@pytest.mark.req("C3.3")
def test_missing_measurements_raise_no_flags(d):
    assert not rules.red_flags(
        d,
        baseline_external_cm=None,
        external_cm=Decimal("9"),
        baseline_arm_cm=Decimal("25"),
        arm_cm=None,
    )
