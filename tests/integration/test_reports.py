"""Report photos end to end inside the service (issue 13): the chat takes a photo at once and
hands it to the ``reports`` queue; the job reads it with the real OCR engine and writes the
fields, the patient's result card and the nurse's alerts; lost and crashing jobs; LIS import.
Photos are generated (devtools/report_images.py), never hard-coded OCR text."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from PIL import Image
from rq import Queue
from sqlalchemy import select, update

from bot.care.rules import local_date
from bot.jobs import reports as report_jobs
from bot.jobs.queues import REPORTS
from bot.jobs.sweeper import requeue_reports
from bot.models import (
    AuditLog,
    Catheter,
    Institution,
    OutboxMessage,
    Patient,
    PatientAccount,
    PatientProfile,
    Report,
    Staff,
    utcnow,
)
from bot.models.enums import CatheterState, OcrStatus, ReportSource, StaffRole
from bot.services import dictionary as dictionary_service
from bot.services import lis_import, report_reading
from devtools.report_images import other_photo, report_photo
from nlu.actions.report import ActionReceiveReport
from tests.support.forms import FormDriver, run_action

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("action_runtime")]


@pytest.fixture
def ward(session, settings):
    home = Institution(code="HOME", name="本院", is_home=True)
    nurse = Staff(
        institution=home, staff_no="N1", name="李护士", role=StaffRole.NURSE, wecom_userid="n1"
    )
    session.add_all([home, nurse])
    session.flush()
    patient = Patient(name="王丽娟", hospital_patient_id="H000123")
    session.add(patient)
    session.flush()
    picc = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        institution_id=home.id,
        placed_at=utcnow() - timedelta(days=10),
        responsible_staff_id=nurse.id,
        state=CatheterState.IN_PLACE,
    )
    account = PatientAccount(openid="o-pat", ih_user_id="ih1")
    session.add_all([picc, account])
    session.flush()
    profile = PatientProfile(account_id=account.id, patient_id=patient.id)
    session.add(profile)
    session.flush()
    account.active_profile_id = profile.id
    session.commit()
    return {"patient_id": patient.id, "account": account, "picc": picc, "nurse": nurse}


def _driver(domain, ward) -> FormDriver:
    return FormDriver(
        ActionReceiveReport(),
        domain,
        "mp:o-pat",
        role="patient",
        channel="mp",
        account_id=ward["account"].id,
        active_patient_id=ward["patient_id"],
    )


def _send(settings, domain, ward, data: bytes, content_type: str = "image/jpeg") -> str:
    from bot.adapters.media import MediaStore

    stored = MediaStore(settings.media_root).save(data, content_type)
    return run_action(
        ActionReceiveReport(),
        _driver(domain, ward),
        "upload_image",
        [("media_path", str(stored.path)), ("sha256", stored.sha256)],
    )


def _report(session_factory, **where) -> Report:
    with session_factory() as s:
        report = s.scalars(select(Report).filter_by(**where).order_by(Report.id.desc())).first()
        assert report is not None
        _ = report.items  # loaded before the session closes
        return report


def _outbox(session_factory, recipient: str) -> list[OutboxMessage]:
    with session_factory() as s:
        return list(
            s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.recipient == recipient)
                .order_by(OutboxMessage.id)
            )
        )


def _seed(kind: str, wanted: str) -> int:
    """The first generated report of ``kind`` whose conclusion says ``wanted``."""
    return next(s for s in range(200) if wanted in (report_photo(s, kind)[1]["conclusion"] or ""))


# --- upload in chat ----------------------------------------------------------------------------


@pytest.mark.req("P4.1")
def test_p4_1_photos_in_chat_are_taken_at_once_and_queued_for_reading(
    settings, domain, ward, session_factory, redis_conn
):
    first = _send(settings, domain, ward, report_photo(1, "blood_routine")[0])
    assert "已收到1张报告，正在识别" in first
    second = _send(settings, domain, ward, report_photo(2, "coagulation")[0])
    assert "已收到2张报告，正在识别" in second
    with session_factory() as s:
        reports = list(s.scalars(select(Report).order_by(Report.id)))
    assert [r.ocr_status for r in reports] == [OcrStatus.PENDING, OcrStatus.PENDING]
    assert all(r.source is ReportSource.SELF for r in reports)
    queued = Queue(REPORTS, connection=redis_conn).job_ids
    assert queued == [f"report-{r.id}" for r in reports]
    # the same photo again is the same report, not read twice while it is being read
    again = _send(settings, domain, ward, report_photo(1, "blood_routine")[0])
    assert "已收到" in again
    with session_factory() as s:
        assert len(s.scalars(select(Report)).all()) == 2


@pytest.mark.req("P4.1")
@pytest.mark.parametrize(
    ("make", "content_type", "reason"),
    [
        (lambda: _gif(), "image/gif", "不支持动图"),
        (lambda: report_photo(1, "blood_routine")[0][:5000], "image/jpeg", "损坏"),
        (lambda: b"%PDF-1.4 not a photo", "application/octet-stream", "不是有效的照片"),
        (lambda: _bomb(), "image/png", "尺寸过大"),
        (lambda: b"\xff\xd8" + b"0" * (21 * 1024 * 1024), "image/jpeg", "超过20MB"),
    ],
    ids=["gif", "corrupt-jpeg", "not-an-image", "image-bomb", "30mb"],
)
def test_p4_1_a_file_that_is_no_photo_is_refused_with_the_reason_and_nothing_saved(
    settings, domain, ward, session_factory, redis_conn, make, content_type, reason
):
    said = _send(settings, domain, ward, make(), content_type)
    assert reason in said
    with session_factory() as s:
        assert s.scalars(select(Report)).all() == []
    assert Queue(REPORTS, connection=redis_conn).count == 0


def _gif() -> bytes:
    frames = [Image.new("RGB", (400, 400), c) for c in ("white", "black")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def _bomb() -> bytes:
    """A PNG header claiming 60000×60000 pixels over a few bytes of data."""
    out = io.BytesIO()
    Image.new("1", (60000, 60000)).save(out, "PNG")
    return out.getvalue()


# --- the job, with the real OCR engine ----------------------------------------------------------


def _uploaded(settings, domain, ward, session_factory, data: bytes) -> Report:
    _send(settings, domain, ward, data)
    return _report(session_factory)


@pytest.mark.req("P4.3", "P4.4")
def test_p4_3_the_job_reads_a_lab_report_and_sends_the_result_card(
    settings, domain, ward, session_factory
):
    data, truth = report_photo(3, "blood_routine")
    report = _uploaded(settings, domain, ward, session_factory, data)
    assert report_jobs.read_report(report.id) == "done"
    read = _report(session_factory, id=report.id)
    assert read.report_type == "blood_routine"
    assert read.institution_name == truth["institution"]
    assert read.report_date.isoformat() == truth["report_date"]
    by_name = {i.code: (i.value, i.flag) for i in read.items if i.code}
    expected = {t["code"]: (t["value"], t["flag"]) for t in truth["items"] if t["code"]}
    matched = sum(by_name.get(code) == value for code, value in expected.items())
    assert matched >= 0.9 * len(expected), (by_name, expected)
    [card] = _outbox(session_factory, "o-pat")
    article = card.payload["news"]["articles"][0]
    assert article["title"].startswith("报告识别结果：血常规")
    assert article["url"].endswith(f"/h5/reports/{report.id}")
    flagged = [i for i in read.items if i.flag]
    if flagged:  # the flagged values lead the card, with their arrows
        arrow = "↑" if flagged[0].flag == "H" else "↓"
        assert f"{flagged[0].name} {flagged[0].value}" in article["description"]
        assert arrow in article["description"]
    # the job run again (a retry after a lost acknowledgement) writes and sends nothing more
    assert report_jobs.read_report(report.id) == "nothing to read"
    assert len(_outbox(session_factory, "o-pat")) == 1


@pytest.mark.req("P4.3")
def test_p4_3_an_ultrasound_showing_thrombosis_alerts_the_responsible_nurse(
    settings, domain, ward, session_factory
):
    data, truth = report_photo(_seed("ultrasound", "血栓形成"), "ultrasound")
    assert "未见" not in truth["conclusion"]
    report = _uploaded(settings, domain, ward, session_factory, data)
    assert report_jobs.read_report(report.id) == "done"
    assert "血栓" in (_report(session_factory, id=report.id).conclusion or "")
    [alert] = _outbox(session_factory, "user:n1")
    card = alert.payload["template_card"]
    assert card["main_title"]["title"] == "疑似导管相关血栓"
    assert "王丽娟" in card["main_title"]["desc"]
    [button] = card["button_list"]
    payload = json.loads(button["key"].removeprefix("/report_complication"))
    assert payload == {"complication": "THROMBOSIS", "patient_name": "王丽娟"}


@pytest.mark.req("P4.3")
def test_p4_3_a_negative_ultrasound_alerts_nobody(settings, domain, ward, session_factory):
    data, _ = report_photo(_seed("ultrasound", "未见明显血栓"), "ultrasound")
    report = _uploaded(settings, domain, ward, session_factory, data)
    assert report_jobs.read_report(report.id) == "done"
    assert _outbox(session_factory, "user:n1") == []


@pytest.mark.req("P4.1")
def test_p4_1_a_photo_that_is_not_a_report_offers_the_two_choices(
    settings, domain, ward, session_factory
):
    report = _uploaded(settings, domain, ward, session_factory, other_photo("dressing", seed=1))
    assert report_jobs.read_report(report.id) == "not_a_report"
    [notice] = _outbox(session_factory, "o-pat")
    text = notice.payload["text"]["content"]
    assert "这张照片看起来不是检验检查报告" in text
    assert "仍作为报告保存" in text and "发给护士查看" in text


@pytest.mark.req("P4.1")
def test_p4_1_a_photo_that_keeps_failing_is_given_up_and_the_patient_told(
    settings, domain, ward, session_factory, monkeypatch
):
    report = _uploaded(settings, domain, ward, session_factory, report_photo(4, "coagulation")[0])

    def crash(*_a, **_k):
        raise RuntimeError("onnxruntime crashed")

    monkeypatch.setattr(report_jobs, "read_image", crash)
    for _ in range(report_reading.MAX_OCR_ATTEMPTS):
        with pytest.raises(RuntimeError):
            report_jobs.read_report(report.id)  # RQ retries; a killed worker counts too
        assert _report(session_factory, id=report.id).ocr_status is OcrStatus.PENDING
    assert report_jobs.read_report(report.id) == "failed"
    failed = _report(session_factory, id=report.id)
    assert failed.ocr_status is OcrStatus.FAILED and failed.ocr_problem == "多次识别未成功"
    [notice] = _outbox(session_factory, "o-pat")
    assert "报告照片没能识别：多次识别未成功" in notice.payload["text"]["content"]


@pytest.mark.req("P4.1")
def test_p4_1_a_report_whose_job_was_lost_is_read_again(
    settings, domain, ward, session_factory, redis_conn
):
    report = _uploaded(settings, domain, ward, session_factory, report_photo(5, "coagulation")[0])
    queue = Queue(REPORTS, connection=redis_conn)
    queue.empty()  # Redis lost it, or the worker died with it
    assert requeue_reports() == 0  # fresh: left to its own job for a while
    with session_factory() as s:
        s.execute(
            update(Report)
            .where(Report.id == report.id)
            .values(updated_at=utcnow() - timedelta(minutes=10))
        )
        s.commit()
    assert requeue_reports() == 1
    assert queue.job_ids == [f"report-{report.id}"]
    assert requeue_reports() == 0  # queued now: not twice


# --- what matters for the line -----------------------------------------------------------------


@pytest.mark.req("P4.3")
@pytest.mark.parametrize(
    ("kind", "conclusion", "alert"),
    [
        ("ultrasound", "右侧贵要静脉未见异常；左侧腋静脉内低回声充填，考虑血栓形成", "thrombosis"),
        ("ultrasound", "双上肢深静脉未见明显血栓形成", None),
        ("blood_culture", "检出表皮葡萄球菌", "crbsi"),
        ("blood_culture", "培养5天无细菌生长", None),
        ("chest_xray", "PICC置管术后，导管尖端位于T6椎体水平", "tip_position"),
    ],
)
def test_p4_3_line_alerts_read_clause_by_clause(kind, conclusion, alert):
    report = Report(report_type=kind, conclusion=conclusion)
    assert [a.kind for a in report_reading.alerts(report)] == ([alert] if alert else [])


# --- the hospital's LIS ------------------------------------------------------------------------


@pytest.mark.req("C4.2")
def test_c4_2_lis_import_adds_reports_once_and_reports_bad_lines(settings, ward, session_factory):
    lines = [
        json.dumps(
            {
                "accession": "L1",
                "patient_id": "H000123",
                "kind": "coagulation",
                "report_date": "2026-11-20",
                "items": [
                    {"name": "D-二聚体", "value": "1.86", "reference_range": "0-0.55"},
                    {"name": "国际标准化比值", "value": "1.02", "flag": ""},
                ],
            },
            ensure_ascii=False,
        ),
        json.dumps({"accession": "L2", "patient_id": "nobody", "kind": "other"}),
        "{not json",
        json.dumps(
            {
                "accession": "U1",
                "patient_id": "H000123",
                "kind": "ultrasound",
                "report_date": "2026-11-21",
                "conclusion": "左侧腋静脉内低回声充填，考虑血栓形成",
            },
            ensure_ascii=False,
        ),
    ]
    with session_factory() as s:
        d = dictionary_service.current(s)
        today = local_date(utcnow(), settings.timezone)
        outcome = lis_import.import_lines(s, lines, d, today)
        s.commit()
        assert len(outcome.created) == 2 and outcome.updated == []
        assert outcome.errors[0].startswith("第2行：找不到病案号")
        assert outcome.errors[1].startswith("第3行：格式错误")
        again = lis_import.import_lines(s, lines, d, today)
        s.commit()
        assert again.created == [] and len(again.updated) == 2
        reports = list(s.scalars(select(Report).order_by(Report.id)))
        assert len(reports) == 2
        coag = reports[0]
        assert (coag.source, coag.institution_name, coag.confirmed) == (
            ReportSource.HOSPITAL,
            "本院",
            True,
        )
        ddimer = coag.items[0]
        assert (ddimer.code, ddimer.flag) == ("DDIMER", "H")  # computed from the range
        assert report_reading.item_cues(coag.items, d) == ["D-二聚体 1.86↑：血栓风险"]
        assert [a.kind for a in report_reading.alerts(reports[1])] == ["thrombosis"]
        assert s.scalar(
            select(AuditLog).where(
                AuditLog.object_type == "report", AuditLog.context == "lis-import"
            )
        )


@pytest.mark.req("P4.4")
@pytest.mark.parametrize("misread", ["2031-05-01", "1986-05-01"])
def test_p4_4_a_report_date_in_the_future_or_before_1990_is_asked_again(
    settings, ward, session_factory, misread
):
    from datetime import date

    from bot.ocr import Item, Reading

    reading = Reading(
        is_report=True,
        problem=None,
        kind="coagulation",
        institution="市人民医院",
        report_date=date.fromisoformat(misread),
        items=[Item("D-二聚体", "DDIMER", "1.86", "mg/L FEU", "0-0.55", "H")],
        text="…",
    )
    with session_factory() as s:
        report = Report(
            patient_id=ward["patient_id"],
            source=ReportSource.SELF,
            uploaded_by_account_id=ward["account"].id,
            image_path="/m/x.jpg",
        )
        s.add(report)
        s.flush()
        report_reading.apply(s, report, reading, today=local_date(utcnow(), settings.timezone))
        assert report.report_date is None and report.confirmed is False
        [outbox_id] = report_reading.notify_patient(s, report, "https://h")
        s.commit()
        card = s.get(OutboxMessage, outbox_id).payload["news"]["articles"][0]
    assert "（日期待补充）" in card["title"]
    assert "未能确认报告日期，请点开补充" in card["description"]
    assert "D-二聚体 1.86mg/L FEU↑" in card["description"]
