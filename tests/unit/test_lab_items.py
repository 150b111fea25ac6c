"""The dictionary's lab items: what OCR matches printed names against (P4.3), validated like the
rest of the dictionary (A7.1), absent from versions stored before they existed."""

from __future__ import annotations

import pytest

from bot.care.defaults import LAB_ITEMS
from bot.care.dictionary import DictionaryError, build_dictionary, validate_payload


@pytest.mark.req("P4.3")
def test_p4_3_the_shipped_dictionary_knows_blood_count_coagulation_chemistry_and_infection_items(d):
    for code in ("WBC", "HGB", "PLT", "NEUT_PCT", "PT", "APTT", "INR", "FIB", "TT", "DDIMER"):
        assert code in d.lab_items
    for code in ("ALT", "AST", "TBIL", "ALB", "CREA", "UREA", "UA", "K", "NA", "CL", "CA"):
        assert code in d.lab_items
    assert d.lab_items["CRP"].cue_for("H") == "infection"
    assert d.lab_items["PCT"].cue_for("H") == "infection"
    assert d.lab_items["PLT"].cue_for("L") == "bleeding"
    assert d.lab_items["INR"].cue_for("H") == "bleeding"
    assert d.lab_items["DDIMER"].cue_for("H") == "thrombosis"
    assert d.lab_items["PLT"].cue_for("H") is None


@pytest.mark.req("P4.4")
@pytest.mark.parametrize(
    ("printed", "code"),
    [
        ("白细胞计数", "WBC"),
        ("白细胞", "WBC"),
        ("WBC", "WBC"),
        ("ＷＢＣ", "WBC"),  # full-width letters
        ("白 细 胞 计 数", "WBC"),  # spaces between characters
        ("*白细胞计数", "WBC"),  # the abnormal-row marker
        ("白细胞计数(WBC)", "WBC"),
        ("白细助计数", "WBC"),  # one character misread
        ("D-二聚体", "DDIMER"),
        ("D二聚体", "DDIMER"),
        ("PT-INR", "INR"),
        ("γ-谷氨酰转移酶", "GGT"),
        ("Y-谷氨酰转移酶", "GGT"),  # γ read as Y
        ("谷丙转氨酶", "ALT"),
        ("Cr", "CREA"),
        ("钾", "K"),
        ("平均红细胞血红蛋白浓庹", "MCHC"),  # 度 misread, still nearer MCHC than MCH
    ],
)
def test_p4_4_printed_names_and_abbreviations_find_their_item(d, printed, code):
    item = d.lab_item(printed)
    assert item is not None and item.code == code


@pytest.mark.req("P4.4")
@pytest.mark.parametrize(
    "printed",
    [
        "嗜骏性粒细胞百分比",  # 酸 or 碱? misread where the two differ: no guess
        "异型淋巴细胞百分比",  # another item that contains a known name
        "前白蛋白",  # prealbumin, not albumin
        "血小板压积",  # plateletcrit, not procalcitonin (PCT)
        "红细胞分布宽度",
        "平均血小板体积",
        "KK",
        "",
    ],
)
def test_p4_4_unknown_or_ambiguous_names_are_not_guessed(d, printed):
    assert d.lab_item(printed) is None


@pytest.mark.req("A7.1")
def test_a_stored_version_without_lab_items_gets_the_shipped_list(payload):
    del payload["lab_items"]
    assert validate_payload(payload) == []
    d = build_dictionary(payload, version=3)
    assert list(d.lab_items) == [e["code"] for e in LAB_ITEMS]
    assert d.lab_item("血小板计数").code == "PLT"


@pytest.mark.req("A7.1")
def test_a_version_with_its_own_lab_items_uses_them(payload):
    payload["lab_items"] = [
        {
            "code": "HGB",
            "label": "血红蛋白",
            "aliases": ["Hb"],
            "unit": "g/L",
            "low": 110,
            "high": 160,
            "kind": "blood_routine",
        },
    ]
    d = build_dictionary(payload, version=3)
    assert list(d.lab_items) == ["HGB"] and d.lab_item("血小板") is None


@pytest.mark.req("A7.1")
def test_lab_items_with_duplicate_codes_missing_labels_or_inverted_ranges_are_refused(payload):
    payload["lab_items"] = [
        {"code": "WBC", "label": "白细胞计数", "kind": "blood_routine", "low": 3.5, "high": 9.5},
        {"code": "WBC", "label": "", "kind": "blood_routine", "low": 10, "high": 2},
        {"code": "X", "label": "某项", "kind": "imaging", "cue": {"high": "fever"}},
    ]
    problems = validate_payload(payload)
    assert "检验项目编码重复" in problems
    assert "检验项目 WBC 缺少名称" in problems
    assert "检验项目 WBC 的参考下限必须小于上限" in problems
    assert any("检验项目 X 的类别" in p for p in problems)
    assert any("检验项目 X 的提示 cue" in p for p in problems)
    with pytest.raises(DictionaryError):
        build_dictionary(payload, version=3)
