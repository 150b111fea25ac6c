"""Reading generated report photos with the real engine (P4.3 reading, P4.4 the fields the
patient then confirms). No OCR text is written here: every photo is drawn by
devtools/report_images.py and compared with the truth it was drawn from.

The engine is loaded once for the module and each photo is read once (about 15 reads)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from bot.ocr import Reading, engine, read_image
from bot.ocr.images import BLURRED, TOO_DARK
from devtools.report_images import Photo, other_photo, report_photo, report_truth

Read = Callable[..., tuple[Reading, dict[str, Any]]]


@pytest.fixture(scope="module")
def read(d) -> Read:  # type: ignore[no-untyped-def]
    """read(seed, kind, photo) -> (reading, truth); each photo read once per module."""
    ocr = engine({"OCR_ENGINE": "rapidocr"})
    done: dict[tuple[Any, ...], tuple[Reading, dict[str, Any]]] = {}

    def run(
        seed: int, kind: str, photo: Photo | None = None, table_header: bool = True
    ) -> tuple[Reading, dict[str, Any]]:
        key = (seed, kind, photo, table_header)
        if key not in done:
            data, truth = report_photo(seed, kind, photo, table_header)
            done[key] = (read_image(data, d, ocr=ocr), truth)
        return done[key]

    return run


@pytest.fixture(scope="module")
def d():  # type: ignore[no-untyped-def]
    from bot.care.defaults import DEFAULT_DICTIONARY
    from bot.care.dictionary import build_dictionary

    return build_dictionary(DEFAULT_DICTIONARY, version=1)


def seed_where(kind: str, wanted: Callable[[dict[str, Any]], bool]) -> int:
    return next(s for s in range(200) if wanted(report_truth(s, kind)))


def read_pairs(reading: Reading) -> set[tuple[str, str]]:
    return {(i.code or i.name, i.value) for i in reading.items}


def known_pairs(truth: dict[str, Any]) -> set[tuple[str, str]]:
    """(code, value) of the printed items the dictionary knows."""
    return {(i["code"], i["value"]) for i in truth["items"] if i["code"]}


FLAGGED = seed_where("blood_routine", lambda t: {"H", "L"} <= {i["flag"] for i in t["items"]})
PHONE = Photo(size=(960, 1280), skew=1.5)


@pytest.mark.req("P4.3")
def test_p4_3_a_blood_count_photo_is_read_row_by_row_into_its_items(read):
    reading, truth = read(FLAGGED, "blood_routine", PHONE)
    assert reading.is_report and reading.kind == "blood_routine"
    known = known_pairs(truth)
    assert len(known & read_pairs(reading)) >= 0.9 * len(known)
    units = {i.code: i.unit for i in reading.items if i.code}
    assert units.get("PLT") in ("10^9/L", "10⁹/L")
    assert reading.seconds > 0 and "\n" in reading.text


@pytest.mark.req("P4.4")
def test_p4_4_the_report_date_is_the_report_time_not_the_sampling_time(read):
    reading, truth = read(FLAGGED, "blood_routine", PHONE)
    assert reading.report_date == date.fromisoformat(truth["report_date"])
    assert truth["other_dates"]["采样时间"] != truth["report_date"]


@pytest.mark.req("P4.4")
def test_p4_4_the_institution_is_the_hospital_of_the_header_line(read):
    reading, truth = read(FLAGGED, "blood_routine", PHONE)
    assert (
        truth["title"].startswith(truth["institution"]) and truth["title"] != truth["institution"]
    )
    assert reading.institution == truth["institution"]


@pytest.mark.req("P4.4")
def test_p4_4_high_and_low_values_are_flagged(read):
    reading, truth = read(FLAGGED, "blood_routine", PHONE)
    flags = {(i.code or i.name, i.value): i.flag for i in reading.items}
    wrong = [
        i
        for i in truth["items"]
        if flags.get((i["code"] or i["name"], i["value"]), i["flag"]) != i["flag"]
    ]
    assert wrong == []
    assert {"H", "L"} <= set(flags.values())


@pytest.mark.req("P4.3")
@pytest.mark.parametrize(
    ("kind", "rotation", "size"),
    [
        ("coagulation", 90, (3024, 4032)),
        ("biochemistry", 180, (1920, 1440)),
        ("coagulation", 270, (1280, 960)),
    ],
)
def test_p4_3_a_page_photographed_sideways_or_upside_down_is_turned_and_read(
    read, kind, rotation, size
):
    reading, truth = read(11, kind, Photo(size=size, rotation=rotation, skew=-2.5))
    assert reading.turned == rotation  # turned back counter-clockwise as much as it was turned
    assert reading.kind == kind
    assert reading.report_date == date.fromisoformat(truth["report_date"])
    known = known_pairs(truth)
    assert len(known & read_pairs(reading)) >= 0.9 * len(known)


@pytest.mark.req("P4.3")
def test_p4_3_a_table_photographed_without_its_header_row_still_gives_its_known_items(read):
    reading, truth = read(3, "blood_routine", Photo(size=(1440, 1920)), table_header=False)
    known = {(i["code"], i["value"], i["flag"]) for i in truth["items"] if i["code"]}
    got = {(i.code, i.value, i.flag) for i in reading.items}
    assert len(known & got) >= 0.9 * len(known)
    assert all(i.code for i in reading.items)  # 血小板压积 PCT is not taken for procalcitonin


@pytest.mark.req("P4.3")
def test_p4_3_an_ultrasound_report_gives_its_conclusion_with_the_thrombosis_wording(read):
    seed = seed_where("ultrasound", lambda t: "血栓形成（" in t["conclusion"])
    reading, truth = read(seed, "ultrasound", Photo(size=(1440, 1920)))
    assert reading.kind == "ultrasound" and reading.items == []
    assert "血栓形成" in (reading.conclusion or "")
    assert "低回声充填" in reading.text


@pytest.mark.req("P4.3")
def test_p4_3_a_chest_xray_report_gives_the_catheter_tip_position(read):
    reading, truth = read(3, "chest_xray", Photo(size=(3024, 4032), blur=1.0))
    level = truth["conclusion"].split("导管尖端位于")[1][:2]
    assert reading.kind == "chest_xray"
    assert f"导管尖端位于{level}椎体水平" in (reading.conclusion or "")


@pytest.mark.req("P4.3")
@pytest.mark.parametrize("positive", [True, False])
def test_p4_3_a_blood_culture_report_gives_its_result(read, positive):
    seed = seed_where("blood_culture", lambda t: t["conclusion"].startswith("检出") == positive)
    reading, truth = read(seed, "blood_culture", Photo(size=(1280, 960), rotation=90))
    assert reading.kind == "blood_culture"
    assert reading.conclusion == truth["conclusion"]


@pytest.mark.req("P4.3")
@pytest.mark.parametrize("what", ["face", "dressing", "wall"])
def test_p4_3_a_photo_that_is_not_a_report_is_said_to_be_none(d, what):
    reading = read_image(other_photo(what, seed=1), d, ocr=engine({"OCR_ENGINE": "rapidocr"}))
    assert not reading.is_report
    assert reading.kind == "other" and reading.items == [] and reading.report_date is None


@pytest.mark.req("P4.3")
def test_p4_3_a_dark_photo_still_read_comes_with_the_hint_to_retake_it_in_light(read):
    reading, _ = read(2, "coagulation", Photo(size=(1440, 1920), darkness=0.8))
    assert reading.problem == TOO_DARK


@pytest.mark.req("P4.3")
def test_p4_3_a_blurred_photo_comes_with_the_hint_to_hold_still_and_focus(read):
    reading, _ = read(4, "biochemistry", Photo(size=(960, 1280), blur=2.5))
    assert reading.problem == BLURRED


@pytest.mark.req("P4.3")
def test_p4_3_the_json_of_a_reading_is_the_cli_contract(read):
    reading, truth = read(FLAGGED, "blood_routine", PHONE)
    out = reading.to_json("photo.jpg")
    assert set(out) == {
        "file",
        "kind",
        "institution",
        "report_date",
        "items",
        "conclusion",
        "text",
        "seconds",
    }
    assert out["file"] == "photo.jpg" and out["report_date"] == truth["report_date"]
    assert all(set(i) == {"name", "code", "value", "unit", "flag"} for i in out["items"])
