"""All persistent models; importing this package registers every table on Base.metadata."""

from .admin import (
    Agreement,
    AgreementAcceptance,
    AuditLog,
    ClinicalDictionary,
    EducationArticle,
    ExportLog,
)
from .base import Base, utcnow
from .catheters import (
    Catheter,
    Complication,
    ComplicationPhoto,
    ComplicationStep,
    FollowUp,
    MaintenanceRecord,
    Removal,
)
from .messaging import InAppMessage, InboxMessage, OutboxMessage, Reminder
from .org import Department, Institution, OutsideApplication, Staff
from .people import Patient, PatientAccount, PatientProfile
from .records import (
    Appointment,
    AppointmentSlot,
    ConsultantDuty,
    Consultation,
    ConsultationMedia,
    ConsultationMember,
    ConsultationNote,
    Report,
    ReportItem,
)

__all__ = [
    "Agreement",
    "AgreementAcceptance",
    "Appointment",
    "AppointmentSlot",
    "AuditLog",
    "Base",
    "Catheter",
    "ClinicalDictionary",
    "Complication",
    "ComplicationPhoto",
    "ComplicationStep",
    "FollowUp",
    "ConsultantDuty",
    "Consultation",
    "ConsultationMedia",
    "ConsultationMember",
    "ConsultationNote",
    "Department",
    "EducationArticle",
    "ExportLog",
    "InAppMessage",
    "InboxMessage",
    "Institution",
    "MaintenanceRecord",
    "OutboxMessage",
    "OutsideApplication",
    "Patient",
    "PatientAccount",
    "PatientProfile",
    "Reminder",
    "Removal",
    "Report",
    "ReportItem",
    "Staff",
    "utcnow",
]
