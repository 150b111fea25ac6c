"""What changed between two versions of the clinical dictionary, and how the admin web reads
a section's JSON (A7.1)."""

import copy

import pytest

from bot.services.dictionary import (
    SectionInputError,
    diff,
    find_section,
    parse_section,
    section_value,
    shown,
    with_section,
)

pytestmark = pytest.mark.req("A7.1")


def _rule(payload, device, when):
    return next(
        r
        for r in payload["maintenance_intervals"]
        if (r["device_type"], r["when"]) == (device, when)
    )


def test_a7_1_an_edited_field_is_named_by_its_entry_code_with_old_and_new(payload):
    new = copy.deepcopy(payload)
    _rule(new, "PORT", "PORT_IDLE")["days"] = 21
    [change] = diff(payload, new)
    assert change.path == ("maintenance_intervals", "PORT/PORT_IDLE", "days")
    assert (change.kind, change.old, change.new) == ("changed", 28, 21)
    assert change.where.startswith("维护间隔 › PORT/PORT_IDLE（") and change.where.endswith(
        " › 间隔天数"
    )


def test_a7_1_entries_moved_in_a_list_are_no_change(payload):
    new = copy.deepcopy(payload)
    new["veins"].reverse()
    new["scales"]["phlebitis"].reverse()
    assert diff(payload, new) == []


def test_a7_1_added_and_removed_entries_and_sections_are_listed(payload):
    new = copy.deepcopy(payload)
    new["veins"] = [v for v in new["veins"] if v["code"] != "FEMORAL"]
    new["sides"].append({"code": "BOTH", "label": "双侧"})
    new["hospital_note"] = "本院试行"
    del new["units"]
    found = {(c.kind, c.path, c.where) for c in diff(payload, new)}
    assert found == {
        ("removed", ("veins", "FEMORAL"), "静脉 › FEMORAL（股静脉）"),
        ("added", ("sides", "BOTH"), "侧别 › BOTH（双侧）"),
        ("added", ("hospital_note",), "hospital_note"),
        ("removed", ("units",), "计量单位"),
    }


def test_a7_1_a_list_of_plain_values_changes_as_a_whole(payload):
    new = copy.deepcopy(payload)
    new["device_types"][0]["snomed"] = ["1396526001"]
    [change] = diff(payload, new)
    assert change.path == ("device_types", "PICC", "snomed")
    assert shown(change.old) == '["1396526001", "1396489007"]'


def test_a7_1_a_number_turned_into_text_is_a_change(payload):
    new = copy.deepcopy(payload)
    new["due_soon_days"] = "2"
    [change] = diff(payload, new)
    assert (change.old, change.new) == (2, "2")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[\n  {"code": "A"\n  "label": "甲"}\n]', "第 3 行第 3 列，缺少逗号"),
        ('[{"code": "A",}]', "第 1 行第 15 列，键名须用英文双引号括起，或多了逗号"),
        ("[{'code': 'A'}]", "第 1 行第 3 列"),
        ('{"code": "A"}', "「随访分级」应为列表"),
    ],
)
def test_a7_1_malformed_or_wrong_kind_of_json_is_answered_in_chinese(payload, text, message):
    section = find_section(payload, "tiers")
    with pytest.raises(SectionInputError, match=message):
        parse_section(text, section, section_value(payload, section))


def test_a7_1_a_grouped_section_must_keep_exactly_its_keys(payload):
    section = find_section(payload, "reminders")
    with pytest.raises(SectionInputError, match="due_soon_days、reminder_days_before"):
        parse_section('{"due_soon_days": 3}', section, section_value(payload, section))
    value = parse_section(
        '{"due_soon_days": 3, "reminder_days_before": 1}', section, section_value(payload, section)
    )
    new = with_section(payload, section, value)
    assert (new["due_soon_days"], new["reminder_days_before"]) == (3, 1)
    assert payload["due_soon_days"] == 2  # the version in force is not touched


def test_a7_1_a_section_the_payload_lacks_shows_the_shipped_list(payload):
    del payload["lab_items"]
    items = section_value(payload, find_section(payload, "lab_items"))
    assert any(i["code"] == "WBC" for i in items)


def test_a7_1_the_whole_dictionary_drops_the_version_that_show_prints(payload):
    whole = find_section(payload, "all")
    new = with_section(payload, whole, {**payload, "version": 7})
    assert "version" not in new and diff(payload, new) == []
