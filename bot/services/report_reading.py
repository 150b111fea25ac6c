"""What OCR read, written to the report, and who hears of it (P4.3, P4.4, issue 13 §6).

The patient gets the result card (kind, date, institution, values with ↑/↓, a link to the
report page), or what to retake, or that the photo is not a report. The responsible nurse is
told of what matters for the line — never decided alone: an ultrasound suggesting thrombosis,
a positive blood culture, a chest X-ray's tip position to record. Every message is an outbox
row under a key of the report, so a reading applied twice sends nothing twice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care.dictionary import Dictionary
from bot.models import Catheter, Patient, PatientAccount, Report, ReportItem, Staff
from bot.models.enums import CatheterState, Channel, OcrStatus
from bot.ocr import Reading

from . import audit, notify
from .reports import EARLIEST, ReportError, audited_change, kind_label

MAX_OCR_ATTEMPTS = 3  # a photo that crashes or fails the reader this often is given up on
ARROWS = {"H": "↑", "L": "↓"}
TIP_BY_XRAY = "XRAY"  # the dictionary's tip_confirmation code of a chest X-ray
CARD_ITEMS = 5  # values named on the result card: the flagged ones first
THROMBOSIS = re.compile(
    r"血栓|低回声充填|低回声填充|等回声充填|实性回声充填|充盈缺损|血流信号(?:消失|中断)|管腔内.{0,8}回声"
)
NO_THROMBOSIS = re.compile(r"未见(?:明显)?(?:异常|血栓|充填|充盈缺损)|无血栓|血流通畅")
POSITIVE_CULTURE = re.compile(r"检出|培养出|生长[了]?.{0,12}(?:菌|酵母)|阳性|报警")
NEGATIVE_CULTURE = re.compile(r"无细菌生长|未检出|未生长|阴性|无菌生长")
CLAUSES = re.compile(r"[。；;，,\n]")
TIP = re.compile(
    r"(?:导管)?(?:尖端|头端|末端)[^。；;\n]{0,6}?位于([^。；;，,\n]{2,24})"
    r"|((?:T|第)\s*\d{1,2}\s*(?:椎体|胸椎)[^。；;，,\n]{0,8}水平)"
    r"|(上腔静脉与右心房交界处|上腔静脉下段|上腔静脉中下段|右心房入口处)"
)


@dataclass(frozen=True)
class Alert:
    kind: str  # thrombosis / crbsi / tip_position
    text: str
    complication: str | None = None  # the type a one-tap report is prefilled with
    tip: str | None = None  # a tip position the clinician may record


def apply(session: Session, report: Report, reading: Reading, today: date) -> None:
    """Write a reading to the report (replacing what an earlier reading wrote)."""
    report.ocr_text = reading.text
    report.ocr_problem = reading.problem
    report.ocr_fields = reading.to_json(report.image_path or "")
    if not reading.is_report:
        report.ocr_status = OcrStatus.NOT_A_REPORT
        return
    report.ocr_status = OcrStatus.DONE
    report.report_type = reading.kind
    day = reading.report_date
    # a date in the future or before 1990 is a misreading: asked again on the report page
    report.report_date = day if day and EARLIEST <= day <= today else None
    if reading.institution and not report.institution_name:
        report.institution_name = reading.institution
    report.conclusion = reading.conclusion
    for old in list(report.items):
        session.delete(old)
    session.flush()
    report.items = [
        ReportItem(
            position=n,
            name=item.name[:80],
            code=item.code,
            value=item.value[:40],
            unit=(item.unit or None) and item.unit[:24],
            reference_range=(item.reference_range or None) and item.reference_range[:40],
            flag=item.flag,
        )
        for n, item in enumerate(reading.items)
    ]
    report.confirmed = bool(report.report_date and report.institution_name)


def card_lines(report: Report) -> list[str]:
    """The values worth naming on a card: flagged first, with ↑/↓."""
    items = sorted(report.items, key=lambda i: (i.flag is None, i.position))
    return [
        f"{i.name} {i.value}{(i.unit or '')}{ARROWS.get(i.flag or '', '')}"
        for i in items[:CARD_ITEMS]
    ]


def notify_patient(session: Session, report: Report, base_url: str) -> list[int]:
    """The outbox rows telling the uploader what the photo says (or what to do)."""
    account = session.get(PatientAccount, report.uploaded_by_account_id or 0)
    if account is None:
        return []
    url = f"{base_url}/h5/reports/{report.id}"
    key = f"report:{report.id}:{report.ocr_attempts}"
    if report.ocr_status is OcrStatus.NOT_A_REPORT:
        text = (
            "这张照片看起来不是检验检查报告。\n"
            f"如果它是报告，请点开 {url} 选择“仍作为报告保存”；"
            "如果是导管处皮肤或敷料的照片，可在同一页面选择“发给护士查看”。"
        )
        return [notify.text(session, Channel.MP, account.openid, text, key=f"{key}:not_report")]
    if report.ocr_status is OcrStatus.FAILED:
        text = (
            f"报告照片没能识别：{report.ocr_problem or '照片无法读取'}。\n"
            f"请重新拍照发送，或点开 {url} 查看照片并手动填写报告信息。"
        )
        return [notify.text(session, Channel.MP, account.openid, text, key=f"{key}:failed")]
    missing = [
        what
        for what, value in (("报告日期", report.report_date), ("医院", report.institution_name))
        if not value
    ]
    lines = card_lines(report) or ([report.conclusion[:60]] if report.conclusion else [])
    description = "；".join(lines) or "未识别到检验项目"
    if missing:
        description += f"\n未能确认{'、'.join(missing)}，请点开补充。"
    else:
        description += "\n点开查看原图，核对或修改。"
    title = (
        f"{kind_label(report.report_type)}"
        f" {report.report_date.isoformat() if report.report_date else '（日期待补充）'}"
        f" {report.institution_name or ''}"
    ).strip()
    body = {
        "msgtype": "news",
        "news": {
            "articles": [
                {"title": f"报告识别结果：{title}"[:64], "description": description, "url": url}
            ]
        },
    }
    ids = [notify.payload(session, Channel.MP, account.openid, body, key=f"{key}:result")]
    if report.ocr_problem:  # read, but poorly: say what to retake
        ids.append(
            notify.text(
                session, Channel.MP, account.openid, report.ocr_problem, key=f"{key}:problem"
            )
        )
    return ids


def alerts(report: Report) -> list[Alert]:
    """What a report says that matters for the line, for the responsible nurse to assess."""
    text = report.conclusion or ""
    found: list[Alert] = []
    kind = report.report_type
    if kind == "ultrasound" and _said(text, THROMBOSIS, NO_THROMBOSIS):
        found.append(
            Alert(
                "thrombosis",
                f"疑似导管相关血栓，请评估。超声：{text[:80]}",
                complication="THROMBOSIS",
            )
        )
    if kind == "blood_culture" and _said(text, POSITIVE_CULTURE, NEGATIVE_CULTURE):
        found.append(
            Alert(
                "crbsi",
                f"血培养阳性，疑似导管相关血流感染(CRBSI)，请评估。结果：{text[:80]}",
                complication="CRBSI",
            )
        )
    if kind == "chest_xray" and (tip := tip_position(text)):
        found.append(
            Alert(
                "tip_position", f"胸片示导管尖端位置：{tip}，可记录为本次置管的尖端位置。", tip=tip
            )
        )
    return found


def _said(text: str, finding: re.Pattern[str], negation: re.Pattern[str]) -> bool:
    """A clause states the finding without denying it: "右侧未见异常；左侧见血栓" states it."""
    return any(
        finding.search(clause) and not negation.search(clause) for clause in CLAUSES.split(text)
    )


def tip_position(text: str) -> str | None:
    m = TIP.search(text)
    if m is None:
        return None
    return next(g for g in m.groups() if g).strip()[:60]


def notify_clinicians(session: Session, report: Report, base_url: str) -> list[int]:
    """Each alert to the responsible nurse of the patient's lines in place, once."""
    found = alerts(report)
    if not found:
        return []
    patient = session.get(Patient, report.patient_id)
    assert patient is not None
    rows = _responsible(session, report.patient_id)
    ids: list[int] = []
    for catheter, staff in rows:
        for alert in found:
            ids.append(
                notify.payload(
                    session,
                    Channel.WORK,
                    str(staff.wecom_userid),
                    _alert_card(patient, catheter, report, alert, base_url),
                    key=f"report:{report.id}:alert:{alert.kind}:{catheter.id}:{staff.id}",
                )
            )
    return ids


def _responsible(session: Session, patient_id: int) -> list[tuple[Catheter, Staff]]:
    """The patient's lines in place with their responsible nurse reachable in WeChat Work."""
    rows = session.execute(
        select(Catheter, Staff)
        .join(Staff, Staff.id == Catheter.responsible_staff_id)
        .where(
            Catheter.patient_id == patient_id,
            Catheter.state == CatheterState.IN_PLACE,
            Staff.active.is_(True),
            Staff.wecom_userid.is_not(None),
        )
        .order_by(Catheter.placed_at.desc())
    ).all()
    return [(catheter, staff) for catheter, staff in rows]


def send_as_wound_photo(
    session: Session, report: Report, actor: audit.Actor, base_url: str
) -> list[int]:
    """A photo that is not a report goes to the responsible nurse as a photo of the site;
    it leaves the patient's reports. Empty when no nurse can be reached (the caller says so,
    nothing changes)."""
    patient = session.get(Patient, report.patient_id)
    assert patient is not None
    nurses = {staff.id: (catheter, staff) for catheter, staff in _responsible(session, patient.id)}
    if not nurses or not report.image_path:
        return []
    ids: list[int] = []
    for catheter, staff in nurses.values():
        text = (
            f"{patient.name}（{catheter.device_type}）在公众号发来一张导管处照片，请查看。"
            f"导管记录：{base_url}/staff/catheters/{catheter.id}"
        )
        key = f"report:{report.id}:wound:{staff.id}"
        userid = str(staff.wecom_userid)
        ids.append(notify.text(session, Channel.WORK, userid, text, key=f"{key}:text"))
        image = {"msgtype": "image", "image": {"path": report.image_path}}
        ids.append(notify.payload(session, Channel.WORK, userid, image, key=f"{key}:image"))
    report.ocr_status = OcrStatus.WOUND_PHOTO
    detail = {"ocr_status": ["not_a_report", "wound_photo"]}
    audited_change(session, actor, report, detail, "h5")
    return ids


def _alert_card(
    patient: Patient, catheter: Catheter, report: Report, alert: Alert, base_url: str
) -> dict:
    """A WeChat Work card: a complication alert has a button that starts the complication
    report prefilled (a dialogue payload); a tip position opens the catheter page, where it
    is recorded with one tap."""
    title = {"thrombosis": "疑似导管相关血栓", "crbsi": "疑似CRBSI", "tip_position": "导管尖端位置"}
    when = report.report_date.isoformat() if report.report_date else "日期待补充"
    desc = f"{patient.name} · {catheter.device_type} · {kind_label(report.report_type)} {when}"
    card: dict = {
        "main_title": {"title": title[alert.kind][:26], "desc": desc[:44]},
        "sub_title_text": alert.text[:112],
        "task_id": f"report{report.id}{alert.kind}{catheter.id}"[:128],
    }
    page = f"{base_url}/staff/catheters/{catheter.id}"
    if alert.complication:
        entities = {"complication": alert.complication, "patient_name": patient.name}
        key = "/report_complication" + json.dumps(entities, ensure_ascii=False)
        card["card_type"] = "button_interaction"
        card["button_list"] = [
            {"text": "登记并发症", "style": 1, "key": key[:1024]},
        ]
        card["card_action"] = {"type": 1, "url": f"{page}#reports"}
    else:
        card["card_type"] = "text_notice"
        card["card_action"] = {"type": 1, "url": f"{page}?report={report.id}#tip"}
    return {"msgtype": "template_card", "template_card": card}


def item_cues(items: list[ReportItem], dictionary: Dictionary) -> list[str]:
    """Bleeding / thrombosis / infection cues of flagged values (PLT, INR, D-dimer …)."""
    words = {"bleeding": "出血风险", "thrombosis": "血栓风险", "infection": "感染征象"}
    cues: list[str] = []
    for item in items:
        known = dictionary.lab_items.get(item.code or "")
        cue = known.cue_for(item.flag) if known else None
        if cue:
            cues.append(f"{item.name} {item.value}{ARROWS.get(item.flag or '', '')}：{words[cue]}")
    return cues


def latest_cues(reports: list[Report], dictionary: Dictionary) -> tuple[Report, list[str]] | None:
    """The cues of the newest report with lab values (``reports`` newest first), for the top
    of the catheter page; None when it has none. A later chest X-ray does not hide them."""
    latest = next((r for r in reports if r.items), None)
    cues = item_cues(latest.items, dictionary) if latest else []
    return (latest, cues) if latest and cues else None


def tip_offer(session: Session, catheter: Catheter, report_id: int) -> tuple[Report, str] | None:
    """The tip position a chest X-ray report of the catheter's patient states, to record as the
    placement's; None for another patient's report, another kind or a conclusion without one."""
    report = session.get(Report, report_id)
    if (
        report is None
        or report.patient_id != catheter.patient_id
        or report.report_type != "chest_xray"
        or report.ocr_status in (OcrStatus.PENDING, OcrStatus.WOUND_PHOTO)
    ):
        return None
    tip = tip_position(report.conclusion or "")
    return (report, tip) if tip else None


def record_tip(session: Session, catheter: Catheter, report_id: int, actor: audit.Actor) -> str:
    """Record the X-ray's tip position on the catheter (confirmed by chest X-ray), audited with
    the report it came from. Raises ReportError when the report offers none."""
    offer = tip_offer(session, catheter, report_id)
    if offer is None:
        raise ReportError("这份报告没有可记录的导管尖端位置。")
    report, tip = offer
    detail = {
        "tip_position": [catheter.tip_position, tip],
        "tip_confirmation": [catheter.tip_confirmation, TIP_BY_XRAY],
        "report": report.id,
    }
    catheter.tip_position, catheter.tip_confirmation = tip, TIP_BY_XRAY
    audit.record(
        session,
        actor,
        "update",
        "catheter",
        catheter.id,
        patient_id=catheter.patient_id,
        context="h5",
        detail=detail,
    )
    return tip
