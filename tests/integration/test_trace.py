"""One-click trace (A7.5): every kind of event of a catheter in time order with institution and
person; the PDF (text read back with pypdf) holds each event; downloads are audited as exports
and kept in the export log; the clinicians' page and the admin web's search, page and PDF."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from bot.models import AuditLog, ExportLog
from bot.models.enums import ActorType
from bot.services import access, audit, trace
from bot.services import dictionary as dictionary_service
from cards import trace_pdf
from server import create_app
from tests.integration.test_staff_web import sign_in
from tests.support.outside_story import LOT, NAME, build

pytestmark = [pytest.mark.db]


@pytest.fixture
def story(session, cipher):
    return build(session, cipher)


def _trace(session, settings, cipher, story, staff=None):
    actor = audit.Actor(ActorType.STAFF, (staff or story.nurse).id)
    d = dictionary_service.current(session)
    return trace.for_catheter(
        session, d, story.catheter.id, actor=actor, tz=settings.timezone, cipher=cipher
    )


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    # table cells wrap: join the lines so a long detail reads as one string
    return "".join(page.extract_text() for page in reader.pages).replace("\n", "")


@pytest.mark.req("A7.5")
def test_a7_5_trace_holds_every_kind_of_event_in_time_order_with_institution_and_person(
    session, settings, cipher, story
):
    t = _trace(session, settings, cipher, story)
    assert [e.kind for e in t.events] == [
        "placement",
        "maintenance",
        "maintenance",
        "report",
        "complication",
        "complication_step",
        "consultation",
        "consultation_conclusion",
        "report",
        "reminder",
        "follow_up",
        "removal",
    ]
    assert [e.at for e in t.events] == sorted(e.at for e in t.events)
    seen = [(e.kind, e.institution, e.person, e.source) for e in t.events]
    assert seen[0] == ("placement", "市第二人民医院", "王医生（主治医师）", "外院")
    assert seen[1] == ("maintenance", "市第二人民医院", "王医生（主治医师）", "外院")
    assert seen[2] == ("maintenance", "本院省人民医院", "李护士", "本院")
    assert seen[3] == ("report", "县人民医院", "赵护士", "外院")
    assert seen[4] == ("complication", "县人民医院", "赵护士", "外院")
    assert seen[5] == ("complication_step", "本院省人民医院", "李护士", "本院")
    assert seen[6] == ("consultation", "县人民医院", "赵护士", "外院")
    assert seen[7] == ("consultation_conclusion", "本院省人民医院", "张专家", "本院")
    assert seen[8] == ("report", "社区医院", "患者本人", "患者上传")
    assert seen[11] == ("removal", "本院省人民医院", "李护士", "本院")
    texts = [e.text for e in t.events]
    assert LOT in texts[0] and "巴德 PowerPICC 4Fr" in texts[0] and "右侧贵要静脉" in texts[0]
    assert "照片1张" in texts[4] and "抬高患肢" in texts[5]
    assert "会诊专家：张专家" in texts[6] and "建议抗凝两周后拔管" in texts[7]
    assert "D-二聚体 2.4↑" in texts[3] and "血小板 45↓" in texts[8]
    assert "短信" in texts[9] and "已送达" in texts[9]
    assert "手臂不肿了" in texts[10]
    assert "非计划拔管" in texts[11] and "尖端培养阴性" in texts[11]
    assert t.devices[0].lot_number == LOT and t.id_card == "3301**********0018"


@pytest.mark.req("A7.5", "X.1")
def test_a7_5_trace_is_access_checked_and_audited(session, settings, cipher, story):
    _trace(session, settings, cipher, story)
    with pytest.raises(access.NotVisible):
        _trace(session, settings, cipher, story, staff=story.stranger)
    session.commit()
    rows = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert [(a.actor_id, a.action, a.patient_id) for a in rows] == [
        (story.nurse.id, "read", story.patient.id),
        (story.stranger.id, "denied", story.patient.id),
    ]


@pytest.mark.req("A7.5")
def test_a7_5_trace_pdf_contains_each_event(session, settings, cipher, story):
    t = _trace(session, settings, cipher, story)
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    data = trace_pdf.render(t, generated_by="李护士", generated_at=now, tz=settings.timezone)
    assert data.startswith(b"%PDF")
    text = _pdf_text(data)
    assert "导管全程溯源报告" in text
    assert "欧**" in text and "3301**********0018" in text and NAME not in text  # masked
    for words in (
        f"批号：{LOT}",  # the header
        LOT,
        "二院首次维护",
        "本院维护一次",
        "导管相关性血栓",
        "抬高患肢，低分子肝素抗凝",
        "建议抗凝两周后拔管",
        "右上肢贵要静脉血栓形成",
        "血小板",
        "当天提醒",
        "手臂不肿了",
        "尖端培养阴性",
        "市第二人民医院",
        "县人民医院",
        "生成人：李护士",
        "生成时间：2026-11-20 11:00",
        "第 1 页",
    ):
        assert words in text, words


@pytest.mark.req("A7.5")
def test_a7_5_missing_font_is_a_clear_error(tmp_path):
    with pytest.raises(trace_pdf.FontMissing, match="fonts-wqy-zenhei"):
        trace_pdf._font(tmp_path / "none.ttc")


@pytest.mark.req("A7.5", "A7.6")
def test_a7_5_trace_page_and_pdf_download_audited_and_in_export_log(
    settings, engine, redis_conn, session_factory, session, story
):
    app = create_app(settings)
    client = app.test_client()
    assert sign_in(client, "N001", "Nurse1234").status_code == 302
    page = client.get(f"/staff/catheters/{story.catheter.id}/trace")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.index('data-kind="placement"') < body.index('data-kind="removal"')  # oldest first
    pdf = client.get(f"/staff/catheters/{story.catheter.id}/trace.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "尖端培养阴性" in _pdf_text(pdf.data)
    whole = client.get(f"/staff/patients/{story.patient.id}/trace.pdf")
    assert whole.status_code == 200
    with session_factory() as s:
        exports = s.scalars(select(AuditLog).where(AuditLog.action == "export")).all()
        logged = s.scalars(select(ExportLog).order_by(ExportLog.id)).all()
    assert [(a.object_type, a.patient_id, a.context) for a in exports] == [
        ("catheter", story.patient.id, "h5-trace-pdf"),
        ("patient", story.patient.id, "h5-trace-pdf"),
    ]
    assert [(e.staff_id, e.kind, e.params, e.row_count, e.status.value) for e in logged] == [
        (
            story.nurse.id,
            "trace_pdf",
            {"patient_id": story.patient.id, "catheter_id": story.catheter.id},
            12,
            "done",
        ),  # noqa: E501
        (
            story.nurse.id,
            "trace_pdf",
            {"patient_id": story.patient.id, "catheter_id": None},
            12,
            "done",
        ),  # noqa: E501
    ]
    stranger = app.test_client()
    assert sign_in(stranger, "13900001111", "Outside123").status_code == 302
    assert stranger.get(f"/staff/catheters/{story.catheter.id}/trace.pdf").status_code == 404
    assert stranger.get(f"/staff/patients/{story.patient.id}/trace").status_code == 404
    with session_factory() as s:
        assert s.scalar(select(ExportLog).where(ExportLog.staff_id == story.stranger.id)) is None


@pytest.mark.req("A7.5")
def test_a7_5_admin_finds_a_catheter_and_opens_its_trace_and_pdf(
    settings, engine, redis_conn, session_factory, session, story
):
    app = create_app(settings)
    admin = app.test_client()
    assert sign_in(admin, "A001", "Admin1234").status_code == 302
    home = admin.get("/admin/").get_data(as_text=True)
    assert "一键溯源" in home  # in the admin menu
    for q in (NAME, "H0815", str(story.catheter.id)):
        found = admin.get("/admin/trace/", query_string={"q": q}).get_data(as_text=True)
        assert f"/admin/trace/catheter/{story.catheter.id}" in found, q
        assert LOT in found
    assert "没有找到" in admin.get("/admin/trace/?q=nobody").get_data(as_text=True)
    page = admin.get(f"/admin/trace/catheter/{story.catheter.id}").get_data(as_text=True)
    assert page.count("<tr data-kind=") == 12 and "尖端培养阴性" in page
    pdf = admin.get(f"/admin/trace/catheter/{story.catheter.id}.pdf")
    assert pdf.status_code == 200 and "导管全程溯源报告" in _pdf_text(pdf.data)
    with session_factory() as s:
        logged = s.scalars(select(ExportLog)).all()
        reads = s.scalars(select(AuditLog).where(AuditLog.patient_id == story.patient.id))
        contexts = {(a.action, a.context) for a in reads}
    assert [(e.staff_id, e.kind) for e in logged] == [(story.admin.id, "trace_pdf")]
    assert contexts == {("read", "admin_trace"), ("export", "admin_trace")}
    # clinicians are not administrators
    nurse = app.test_client()
    assert sign_in(nurse, "N001", "Nurse1234").status_code == 302
    assert nurse.get(f"/admin/trace/catheter/{story.catheter.id}").status_code == 403
