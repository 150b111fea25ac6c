"""The demo's institutions, departments, staff and patients (institutions.yaml,
staff.yaml, people.yaml): everything the catheters refer to."""

from __future__ import annotations

from typing import Any

from bot.models import ConsultantDuty, Department, Institution, Patient, Staff
from bot.models.enums import StaffRole

from .context import Builder
from .people import demo_people, person_name, phone
from .tables import INSTITUTIONS, STAFF

HOME_CODE = "HOME"
CITY = "杭州市"


def institutions(b: Builder) -> None:
    spec = {k: v for k, v in INSTITUTIONS["home"].items() if k != "departments"}
    home = Institution(code=HOME_CODE, city=CITY, is_home=True, coordinates_source="seed", **spec)
    b.home = home
    b.home_departments = {
        code: Department(institution=home, code=code, name=name)
        for code, name in INSTITUTIONS["home"]["departments"].items()
    }
    b.others = {}
    b.other_departments = {}
    for other in INSTITUTIONS["others"]:
        spec = {k: v for k, v in other.items() if k != "department"}
        inst = Institution(city=CITY, is_home=False, coordinates_source="seed", **spec)
        b.others[inst.code] = inst
        b.other_departments[inst.code] = Department(institution=inst, **other["department"])
    b.s.add(home)
    b.s.add_all(b.others.values())
    b.s.add_all(b.home_departments.values())
    b.s.add_all(b.other_departments.values())
    b.counts["institutions"] = 1 + len(b.others)
    b.counts["departments"] = len(b.home_departments) + len(b.other_departments)


def _staff(
    b: Builder,
    no: str,
    role: StaffRole,
    institution: Institution,
    department: Department | None,
    title: str | None,
    *,
    sex: str = "F",
    expert: bool = False,
    name: str | None = None,
    wecom: bool = True,
) -> Staff:
    if name is None:
        name = person_name(b.rng, sex, b.rng.randrange(1968, 2000))
    number = phone(b.rng, b.staff_phones)
    return Staff(
        institution=institution,
        department=department,
        staff_no=no,
        name=name,
        role=role,
        title=title,
        is_vascular_expert=expert,
        phone_enc=b.cipher.encrypt(number, context="staff.phone"),
        phone_index=b.cipher.blind_index(number, kind="phone"),
        password_hash=None,  # staff set their own password at first login
        wecom_userid=no.lower() if wecom else None,
    )


def _home_staff(
    b: Builder, prefix: str, role: StaffRole, specs: list[dict[str, Any]]
) -> list[Staff]:
    return [
        _staff(
            b,
            f"{prefix}{i:04d}",
            role,
            b.home,
            b.home_departments[spec["department"]],
            spec["title"],
            sex=spec.get("sex", "F"),
            expert=spec.get("expert", False),
        )
        for i, spec in enumerate(specs, start=1)
    ]


def staff(b: Builder) -> None:
    b.nurses = _home_staff(b, "N", StaffRole.NURSE, STAFF["nurses"])
    doctors = _home_staff(b, "D", StaffRole.DOCTOR, STAFF["doctors"])
    b.doctors = {spec["department"]: d for spec, d in zip(STAFF["doctors"], doctors, strict=True)}
    admin = STAFF["admin"]
    b.admin = _staff(
        b, admin["staff_no"], StaffRole.ADMIN, b.home, None, None, name=admin["name"], wecom=False
    )
    b.outside = {}
    for i, spec in enumerate(STAFF["outside_clinicians"], start=1):
        code = spec["institution"]
        clinician = _staff(
            b,
            f"O{i:04d}",
            StaffRole.OUTSIDE_CLINICIAN,
            b.others[code],
            b.other_departments[code],
            spec["title"],
        )
        b.outside.setdefault(code, []).append(clinician)
    b.experts = [n for n in b.nurses if n.is_vascular_expert]
    b.clinic_nurses = [n for n in b.nurses if n.department is b.home_departments["IV_CLINIC"]]
    everyone = [*b.nurses, *b.doctors.values(), b.admin]
    everyone += [c for group in b.outside.values() for c in group]
    b.s.add_all(everyone)
    b.s.flush()
    b.counts["staff"] = len(everyone)
    # the consultation roster (会诊排班): the first expert on weekday days, the others on call
    duties = [
        ConsultantDuty(
            staff_id=expert.id,
            weekdays=[1, 2, 3, 4, 5] if i == 0 else [],
            starts_at="08:00" if i == 0 else "00:00",
            ends_at="17:30" if i == 0 else "24:00",
            note="工作日白班" if i == 0 else "全天值班",
        )
        for i, expert in enumerate(b.experts)
    ]
    b.s.add_all(duties)
    b.counts["roster"] = len(duties)


def patients(b: Builder) -> None:
    b.people = demo_people(b.seed, today=b.today)
    b.patient_rows = [
        Patient(
            name=p.name,
            sex=p.sex,
            birth_date=p.birth_date,
            id_card_enc=b.cipher.encrypt(p.id_card, context="patient.id_card"),
            id_card_index=b.cipher.blind_index(p.id_card, kind="id_card"),
            phone_enc=b.cipher.encrypt(p.phone, context="patient.phone"),
            phone_index=b.cipher.blind_index(p.phone, kind="phone"),
            hospital_patient_id=p.hospital_patient_id,
            home_institution_id=b.home.id,
        )
        for p in b.people
    ]
    b.s.add_all(b.patient_rows)
    b.s.flush()
    b.counts["patients"] = len(b.patient_rows)
