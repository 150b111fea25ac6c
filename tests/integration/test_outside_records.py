"""Records from other hospitals (C4.1, C4.2): gathered per patient with their institutions,
newest first, within the access rules, every read audited; the H5 list pages and the merged
timeline with each entry's institution and source."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.models import AuditLog
from bot.services import access, outside_records
from server import create_app
from tests.integration.test_staff_web import sign_in
from tests.support.outside_story import LOT, NAME, build

pytestmark = [pytest.mark.db]


@pytest.fixture
def story(session, cipher):
    return build(session, cipher)


@pytest.mark.req("C4.1", "C4.2")
def test_c4_1_outside_records_list_only_other_institutions_newest_first(session, story):
    found = outside_records.for_patient(session, story.nurse, story.patient.id)
    assert [(r.kind, r.institution) for r in found] == [
        ("complication", "县人民医院"),
        ("report", "县人民医院"),
        ("maintenance", "市第二人民医院"),
        ("placement", "市第二人民医院"),
    ]
    # this hospital's maintenance and removal, and the patient's own photo, are not listed
    assert all("本院" not in r.institution for r in found)
    assert [r.at for r in found] == sorted((r.at for r in found), reverse=True)
    placement = found[-1]
    assert placement.person == "王医生（主治医师）" and LOT in placement.summary
    assert placement.target == f"/staff/catheters/{story.catheter.id}"
    complication = found[0]
    assert complication.person == "赵护士" and "照片1张" in complication.summary
    assert found[1].summary.startswith("超声") and "D-二聚体 2.4↑" in found[1].summary


@pytest.mark.req("C4.2")
def test_c4_2_an_outside_clinician_without_a_link_cannot_read_them_and_is_audited(session, story):
    with pytest.raises(access.NotVisible):
        outside_records.for_patient(session, story.stranger, story.patient.id)
    session.commit()
    denied = session.scalars(select(AuditLog).where(AuditLog.action == "denied")).all()
    assert [(a.actor_id, a.patient_id) for a in denied] == [(story.stranger.id, story.patient.id)]
    assert outside_records.recent_patients(session, story.stranger) == []
    # the doctor who placed the catheter may see it
    assert outside_records.for_patient(session, story.placer, story.patient.id)


@pytest.mark.req("C4.1", "X.1")
def test_c4_1_reading_outside_records_is_audited(session, story):
    outside_records.for_patient(session, story.nurse, story.patient.id, context="chat")
    outside_records.recent_patients(session, story.nurse, context="chat")
    session.commit()
    rows = session.scalars(select(AuditLog).where(AuditLog.actor_id == story.nurse.id)).all()
    assert [(a.action, a.object_type, a.patient_id, a.context) for a in rows] == [
        ("read", "outside_records", story.patient.id, "chat"),
        ("read", "outside_records_list", None, "chat"),
    ]
    assert rows[1].detail["patients"] == [story.patient.id, story.other_patient.id]


@pytest.mark.req("C4.1")
def test_c4_1_recent_patients_have_outside_records_with_counts_by_kind(session, story):
    found = outside_records.recent_patients(session, story.nurse)
    assert [p.name for p in found] == [NAME, "周外院"]  # 孙本院 has this hospital's records only
    assert found[0].counts == {"placement": 1, "maintenance": 1, "complication": 1, "report": 1}
    assert found[0].counts_text == "置管1 · 维护1 · 并发症1 · 报告1"
    assert found[1].counts == {"maintenance": 1}
    # an outside clinician sees only the patients they cared for
    assert [p.name for p in outside_records.recent_patients(session, story.county_nurse)] == [NAME]


@pytest.mark.req("C4.1", "C4.2")
def test_c4_2_pages_list_outside_records_and_the_merged_timeline_names_institutions(
    settings, engine, redis_conn, session, story
):
    app = create_app(settings)
    client = app.test_client()
    assert sign_in(client, "N001", "Nurse1234").status_code == 302
    listing = client.get("/staff/outside-records").get_data(as_text=True)
    assert NAME in listing and "周外院" in listing and "孙本院" not in listing
    assert "置管1 · 维护1 · 并发症1 · 报告1" in listing
    page = client.get(f"/staff/patients/{story.patient.id}/outside").get_data(as_text=True)
    assert page.count('class="record"') == 4
    assert page.index("县人民医院") < page.index("市第二人民医院")  # newest first
    timeline = client.get(f"/staff/patients/{story.patient.id}")
    assert timeline.status_code == 200
    text = timeline.get_data(as_text=True)
    entries = text.split('<li class="event"')[1:]
    assert len(entries) == 12  # every event of the story
    # each entry names its institution and source; the newest (the removal, here) first
    assert 'data-kind="removal"' in entries[0] and "本院省人民医院" in entries[0]
    assert "本院</span>" in entries[0]
    placement = entries[-1]
    assert 'data-kind="placement"' in placement and "市第二人民医院" in placement
    assert "外院</span>" in placement
    self_report = next(e for e in entries if "血小板" in e)
    assert "患者上传</span>" in self_report and "社区医院" in self_report
    # the stranger gets 404 for every page of the patient, each audited as denied
    stranger = app.test_client()
    assert sign_in(stranger, "13900001111", "Outside123").status_code == 302
    for url in (
        f"/staff/patients/{story.patient.id}",
        f"/staff/patients/{story.patient.id}/outside",
    ):
        assert stranger.get(url).status_code == 404
