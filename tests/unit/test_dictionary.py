"""A dictionary edit that would break a rule is refused with a message (A7.1)."""

import pytest

from bot.care.dictionary import DictionaryError, build_dictionary, validate_payload


def _interval(payload, device, when):
    return next(
        r
        for r in payload["maintenance_intervals"]
        if r["device_type"] == device and r["when"] == when
    )


@pytest.mark.req("A7.1")
def test_shipped_defaults_are_valid(payload):
    assert validate_payload(payload) == []


@pytest.mark.req("A7.1")
@pytest.mark.parametrize("days", [0, -7, 2.5, None, "7", True])
def test_zero_negative_or_non_integer_interval_is_refused(payload, days):
    _interval(payload, "PICC", "TRANSPARENT")["days"] = days
    problems = validate_payload(payload)
    assert any("PICC/TRANSPARENT" in p and "正整数" in p for p in problems)


@pytest.mark.req("A7.1")
def test_interval_for_an_unknown_device_type_is_refused(payload):
    payload["maintenance_intervals"].append({"device_type": "HICKMAN", "when": "GAUZE", "days": 3})
    assert any("未知的导管类型：HICKMAN" in p for p in validate_payload(payload))


@pytest.mark.req("A7.1")
def test_removing_a_needed_interval_is_refused(payload):
    payload["maintenance_intervals"].remove(_interval(payload, "PORT", "PORT_IN_USE"))
    assert "缺少维护间隔：PORT/PORT_IN_USE" in validate_payload(payload)


@pytest.mark.req("A7.1")
def test_adding_a_device_type_requires_its_intervals(payload):
    payload["device_types"].append({"code": "HICKMAN", "label": "隧道式导管"})
    problems = validate_payload(payload)
    assert "缺少维护间隔：HICKMAN/GAUZE" in problems
    assert "缺少维护间隔：HICKMAN/TRANSPARENT" in problems


@pytest.mark.req("A7.1")
def test_duplicate_codes_are_refused(payload):
    payload["veins"].append({"code": "BASILIC", "label": "重复"})
    assert "字典 veins 中编码重复" in validate_payload(payload)


@pytest.mark.req("A7.1")
def test_non_positive_red_flag_threshold_is_refused(payload):
    payload["red_flags"]["arm_circumference_increase_cm"] = 0
    assert any("arm_circumference_increase_cm" in p for p in validate_payload(payload))


@pytest.mark.req("A7.1")
def test_tier_cycle_must_be_positive_or_empty(payload):
    payload["tiers"][0]["follow_up_days"] = 0
    assert any("分级 A" in p for p in validate_payload(payload))


@pytest.mark.req("A7.1")
def test_build_refuses_an_invalid_payload_with_every_reason(payload):
    _interval(payload, "PICC", "GAUZE")["days"] = 0
    payload["due_soon_days"] = -1
    with pytest.raises(DictionaryError) as err:
        build_dictionary(payload, version=2)
    assert len(err.value.problems) == 2


@pytest.mark.req("A7.1")
def test_labels_come_from_the_dictionary(d):
    assert d.label("veins", "BASILIC") == "贵要静脉"
    assert d.label("device_types", "PORT") == "输液港"
    assert d.label("veins", "RETIRED_CODE") == "RETIRED_CODE"  # old data still shows something
