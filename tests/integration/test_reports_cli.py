"""``flask reports read FILE... --json`` (P4.3): the worker's reading of report photos, one JSON
object per line, checked from outside the way an operator or a script uses it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete

from bot.models import ClinicalDictionary
from devtools.report_images import Photo, other_photo, report_photo
from server import create_app

pytestmark = [pytest.mark.db, pytest.mark.req("P4.3")]
KEYS = {"file", "kind", "institution", "report_date", "items", "conclusion", "text", "seconds"}


def run(settings, *args: str):  # type: ignore[no-untyped-def]
    return create_app(settings).test_cli_runner().invoke(args=["reports", "read", *args])


def test_p4_3_reports_read_prints_one_json_object_per_photo_and_fails_on_a_bad_file(
    settings, engine, tmp_path
):
    data, truth = report_photo(21, "coagulation", Photo(size=(1440, 1920), rotation=180))
    photo, broken = tmp_path / "coag.jpg", tmp_path / "broken.jpg"
    photo.write_bytes(data)
    broken.write_bytes(data[:2000])

    out = run(settings, str(photo), str(broken), "--json")

    assert out.exit_code == 1
    first, second = (json.loads(line) for line in out.stdout.splitlines())
    assert set(first) == KEYS and first["file"] == str(photo)
    assert first["kind"] == "coagulation"
    assert first["institution"] == truth["institution"]
    assert first["report_date"] == truth["report_date"]
    read = {(i["code"], i["value"]) for i in first["items"]}
    assert {(i["code"], i["value"]) for i in truth["items"] if i["code"]} <= read
    assert all(set(i) == {"name", "code", "value", "unit", "flag"} for i in first["items"])
    assert second == {"file": str(broken), "error": second["error"]} and "损坏" in second["error"]


def test_p4_3_reports_read_uses_the_shipped_dictionary_when_the_database_has_none(
    settings, engine, tmp_path
):
    with engine.begin() as conn:  # whatever an earlier test or the template left
        conn.execute(delete(ClinicalDictionary))
    wall = tmp_path / "wall.jpg"
    wall.write_bytes(other_photo("wall"))

    out = run(settings, str(wall), "--json")

    assert out.exit_code == 0, out.output
    assert "出厂默认字典" in out.stderr
    result = json.loads(out.stdout)
    assert result["kind"] == "other" and result["items"] == [] and result["report_date"] is None
