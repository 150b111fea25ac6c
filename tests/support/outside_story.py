"""One patient's catheter across three hospitals, every kind of record once (C4.1, C4.2, A7.5):
placed at 市第二人民医院 by an outside doctor, maintained there and here, a report and a
complication at 县人民医院 (with a photo and a handling step by our nurse), a consultation with
its conclusion, a report the patient photographed, a reminder, a follow-up check-in and the
removal here. A second patient has only this hospital's records; a third only one outside
maintenance. Rows are written directly, with fixed times, so each test reads the same story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.models import (
    Catheter,
    Complication,
    ComplicationPhoto,
    ComplicationStep,
    Consultation,
    ConsultationMember,
    FollowUp,
    Institution,
    MaintenanceRecord,
    Patient,
    Reminder,
    Removal,
    Report,
    ReportItem,
    Staff,
    utcnow,
)
from bot.models.enums import (
    CatheterState,
    Channel,
    ComplicationStatus,
    ConsultationStatus,
    DeliveryStatus,
    FollowUpStatus,
    OcrStatus,
    PlacementSource,
    ReminderKind,
    ReportSource,
    StaffRole,
)
from bot.services import auth

NAME = "欧阳明珠"
LOT = "LOT-A2026-0815"
PASSWORDS = {"N001": "Nurse1234", "A001": "Admin1234"}


@dataclass
class Story:
    home: Institution
    second: Institution  # 市第二人民医院: placed the catheter
    county: Institution  # 县人民医院: a report and a complication
    nurse: Staff
    admin: Staff
    expert: Staff
    placer: Staff  # outside doctor at the second hospital
    county_nurse: Staff  # outside nurse at the county hospital
    stranger: Staff  # outside clinician at a third hospital, no link to the patient
    patient: Patient
    catheter: Catheter
    home_patient: Patient  # only this hospital's records
    other_patient: Patient  # one outside maintenance
    start: datetime

    def day(self, n: int, hour: int = 2) -> datetime:
        return self.start + timedelta(days=n, hours=hour)


def _staff(inst: Institution, no: str, name: str, role: StaffRole, **kw: object) -> Staff:
    password = PASSWORDS.get(no, "Outside123")
    return Staff(
        institution=inst,
        staff_no=no,
        name=name,
        role=role,
        password_hash=auth.hash_password(password),
        password_changed_at=utcnow(),
        **kw,
    )


def build(session, cipher=None) -> Story:  # type: ignore[no-untyped-def]
    start = (utcnow() - timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)
    home = Institution(code="HOME", name="本院省人民医院", is_home=True)
    second = Institution(code="SECOND", name="市第二人民医院")
    county = Institution(code="COUNTY", name="县人民医院")
    town = Institution(code="TOWN", name="镇卫生院")
    nurse = _staff(home, "N001", "李护士", StaffRole.NURSE)
    admin = _staff(home, "A001", "管理员", StaffRole.ADMIN)
    expert = _staff(home, "E001", "张专家", StaffRole.NURSE, is_vascular_expert=True)
    placer = _staff(second, "S001", "王医生", StaffRole.OUTSIDE_CLINICIAN, title="主治医师")
    county_nurse = _staff(county, "C001", "赵护士", StaffRole.OUTSIDE_CLINICIAN)
    stranger = _staff(town, "T001", "钱医生", StaffRole.OUTSIDE_CLINICIAN)
    if cipher is not None:
        stranger.phone_enc = cipher.encrypt("13900001111", context="staff.phone")
        stranger.phone_index = cipher.blind_index("13900001111", kind="phone")
        placer.phone_enc = cipher.encrypt("13900002222", context="staff.phone")
        placer.phone_index = cipher.blind_index("13900002222", kind="phone")
    patient = Patient(name=NAME, hospital_patient_id="H0815")
    if cipher is not None:
        patient.id_card_enc = cipher.encrypt("330102196803120018", context="patient.id_card")
    home_patient = Patient(name="孙本院", hospital_patient_id="H0001")
    other_patient = Patient(name="周外院", hospital_patient_id="H0002")
    session.add_all([nurse, admin, expert, placer, county_nurse, stranger])
    session.add_all([patient, home_patient, other_patient])
    session.flush()
    story = Story(
        home, second, county, nurse, admin, expert, placer, county_nurse, stranger,
        patient, None, home_patient, other_patient, start,  # type: ignore[arg-type]
    )  # fmt: skip
    c = Catheter(
        patient_id=patient.id,
        device_type="PICC",
        source=PlacementSource.HERE,
        institution_id=second.id,
        inserter_id=placer.id,
        registered_by_id=placer.id,
        placed_at=story.day(0),
        brand="巴德",
        model="PowerPICC 4Fr",
        lot_number=LOT,
        vein="BASILIC",
        side="RIGHT",
        state=CatheterState.REMOVED,
        removed_on=story.day(30).date(),
    )
    session.add(c)
    session.flush()
    story.catheter = c
    session.add_all(
        [
            MaintenanceRecord(
                catheter_id=c.id,
                performed_at=story.day(7),
                institution_id=second.id,
                staff_id=placer.id,
                flushed=True,
                dressing_changed=True,
                notes="二院首次维护",
            ),
            MaintenanceRecord(
                catheter_id=c.id,
                performed_at=story.day(14),
                institution_id=home.id,
                staff_id=nurse.id,
                flushed=True,
                connector_changed=True,
                notes="本院维护一次",
            ),
        ]
    )
    outside_report = Report(
        patient_id=patient.id,
        source=ReportSource.OUTSIDE,
        uploaded_by_staff_id=county_nurse.id,
        ocr_status=OcrStatus.DONE,
        report_type="ultrasound",
        report_date=story.day(20).date(),
        institution_id=county.id,
        institution_name=county.name,
        conclusion="右上肢贵要静脉血栓形成",
        items=[ReportItem(position=0, name="D-二聚体", value="2.4", flag="H")],
    )
    self_report = Report(
        patient_id=patient.id,
        source=ReportSource.SELF,
        ocr_status=OcrStatus.DONE,
        report_type="blood_routine",
        report_date=story.day(25).date(),
        institution_name="社区医院",
        items=[ReportItem(position=0, name="血小板", value="45", flag="L")],
    )
    session.add_all([outside_report, self_report])
    x = Complication(
        catheter_id=c.id,
        patient_id=patient.id,
        type="THROMBOSIS",
        onset_on=story.day(21).date(),
        brief_history="右上臂肿胀三天",
        institution_id=county.id,
        reported_by_id=county_nurse.id,
        reported_at=story.day(21),
        status=ComplicationStatus.CLOSED,
        led_to_removal=True,
    )
    session.add(x)
    session.flush()
    session.add_all(
        [
            ComplicationStep(
                complication_id=x.id,
                at=story.day(21),
                staff_id=county_nurse.id,
                kind="REPORT",
                action="上报：导管相关性血栓",
            ),
            ComplicationStep(
                complication_id=x.id,
                at=story.day(22),
                staff_id=nurse.id,
                kind="NOTE",
                action="抬高患肢，低分子肝素抗凝",
            ),
            ComplicationPhoto(
                complication_id=x.id, path="x/arm.jpg", sha256="a" * 64, content_type="image/jpeg"
            ),
        ]
    )
    k = Consultation(
        patient_id=patient.id,
        catheter_id=c.id,
        complication_id=x.id,
        requested_by_id=county_nurse.id,
        title="PICC相关血栓是否拔管",
        summary="患者右上臂肿胀，超声示血栓，是否需要拔管？",
        status=ConsultationStatus.CLOSED,
        conclusion="建议抗凝两周后拔管，复查超声",
        concluded_by_id=expert.id,
        concluded_at=story.day(23),
        created_at=story.day(22, hour=6),
    )
    session.add(k)
    session.flush()
    session.add_all(
        [
            ConsultationMember(consultation_id=k.id, staff_id=county_nurse.id, role="requester"),
            ConsultationMember(consultation_id=k.id, staff_id=expert.id, role="consultant"),
            Reminder(
                catheter_id=c.id,
                patient_id=patient.id,
                due_on=story.day(26).date(),
                kind=ReminderKind.DUE,
                channel=Channel.SMS,
                status=DeliveryStatus.SENT,
                created_at=story.day(26),
                sent_at=story.day(26),
            ),
            FollowUp(
                catheter_id=c.id,
                patient_id=patient.id,
                due_on=story.day(27).date(),
                status=FollowUpStatus.ANSWERED,
                sent_at=story.day(27),
                answered_at=story.day(27, hour=5),
                free_text="手臂不肿了",
                level="OK",
            ),
            Removal(
                catheter_id=c.id,
                removed_on=story.day(30).date(),
                reason="COMPLICATION",
                unplanned=True,
                complication_id=x.id,
                catheter_intact=True,
                tip_culture_sent=True,
                tip_culture_result="尖端培养阴性",
                dwell_days=30,
                institution_id=home.id,
                staff_id=nurse.id,
                created_at=story.day(30),
            ),
        ]
    )
    # a patient with this hospital's records only, and one with a single outside maintenance
    here = Catheter(
        patient_id=home_patient.id,
        device_type="PORT",
        institution_id=home.id,
        inserter_id=nurse.id,
        registered_by_id=nurse.id,
        placed_at=story.day(5),
    )
    there = Catheter(
        patient_id=other_patient.id,
        device_type="PICC",
        institution_id=home.id,
        registered_by_id=nurse.id,
        placed_at=story.day(1),
    )
    session.add_all([here, there])
    session.flush()
    session.add_all(
        [
            MaintenanceRecord(
                catheter_id=here.id, performed_at=story.day(9), institution_id=home.id
            ),
            MaintenanceRecord(
                catheter_id=there.id,
                performed_at=story.day(12),
                institution_id=second.id,
                staff_id=placer.id,
                flushed=True,
            ),
        ]
    )
    session.commit()
    return story
