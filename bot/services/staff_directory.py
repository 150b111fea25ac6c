"""Staff from the hospital's systems (A1.2): the HR export (CSV or JSON, columns in
docs/staff-import.md) and the WeChat Work directory (departments, members).

The HR export is the source of truth for who works here and in which role; WeChat Work says
which member is which staff member (matched by mobile) and their department. Nobody gets a
password from an import: an administrator resets one, or the person signs in through the
WeChat Work app once bound.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Department, Institution, Staff
from bot.models.enums import StaffRole
from bot.security.crypto import PiiCipher

from . import audit

COLUMNS = (
    "staff_no",
    "name",
    "role",
    "department_code",
    "department_name",
    "title",
    "phone",
    "wecom_userid",
    "active",
)
ROLES = {
    "护士": StaffRole.NURSE,
    "医生": StaffRole.DOCTOR,
    "管理员": StaffRole.ADMIN,
    "nurse": StaffRole.NURSE,
    "doctor": StaffRole.DOCTOR,
    "admin": StaffRole.ADMIN,
}
NO = {"0", "否", "false", "False", "停用", "离职", "n", "N"}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    errors: list[str] = field(default_factory=list)  # "第N行：原因"


def parse(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of a CSV (UTF-8, with or without BOM; GBK accepted) or JSON (a list) export."""
    if filename.lower().endswith(".json"):
        rows = json.loads(data.decode("utf-8-sig"))
        if not isinstance(rows, list):
            raise ValueError("JSON 文件应为人员对象的数组")
        return [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030")  # Excel on Chinese Windows saves CSV as GBK
    return [
        {k.strip(): (v or "").strip() for k, v in r.items() if k}
        for r in csv.DictReader(io.StringIO(text))
    ]


def import_rows(
    session: Session,
    cipher: PiiCipher,
    rows: list[dict[str, str]],
    actor: audit.Actor,
    *,
    deactivate_missing: bool = False,
) -> ImportReport:
    home = session.scalar(select(Institution).where(Institution.is_home.is_(True)))
    if home is None:
        raise ValueError("尚未配置本院机构（flask init-db）")
    report = ImportReport()
    seen: set[str] = set()
    for n, row in enumerate(rows, start=2):  # line 1 is the header
        problem = _problem(row)
        if problem:
            report.errors.append(f"第{n}行：{problem}")
            continue
        staff_no = row["staff_no"].strip()
        seen.add(staff_no)
        staff = session.scalar(
            select(Staff).where(Staff.institution_id == home.id, Staff.staff_no == staff_no)
        )
        created = staff is None
        if staff is None:
            staff = Staff(
                institution_id=home.id, staff_no=staff_no, name=row["name"], role=ROLES[row["role"]]
            )
            session.add(staff)
        staff.name = row["name"].strip()
        staff.role = ROLES[row["role"].strip()]
        staff.title = row.get("title") or staff.title
        staff.active = row.get("active", "1").strip() not in NO
        if row.get("department_code"):
            staff.department_id = _department(
                session,
                home,
                row["department_code"],
                row.get("department_name") or row["department_code"],
            ).id
        if row.get("phone"):
            staff.phone_enc = cipher.encrypt(row["phone"], context="staff.phone")
            staff.phone_index = cipher.blind_index(row["phone"], kind="phone")
        if row.get("wecom_userid"):
            staff.wecom_userid = row["wecom_userid"]
        session.flush()
        report.created += created
        report.updated += not created
    if deactivate_missing and not report.errors:
        for staff in session.scalars(
            select(Staff).where(Staff.institution_id == home.id, Staff.active.is_(True))
        ):
            if staff.staff_no not in seen and staff.role is not StaffRole.ADMIN:
                staff.active = False
                report.deactivated += 1
    audit.record(
        session,
        actor,
        "import",
        "staff",
        None,
        detail={
            "created": report.created,
            "updated": report.updated,
            "deactivated": report.deactivated,
            "errors": len(report.errors),
        },
    )
    return report


def _problem(row: dict[str, str]) -> str | None:
    if not row.get("staff_no", "").strip():
        return "缺少工号"
    if not row.get("name", "").strip():
        return "缺少姓名"
    if row.get("role", "").strip() not in ROLES:
        return f"角色“{row.get('role', '')}”无效（护士/医生/管理员）"
    if row.get("phone") and not re.fullmatch(r"1[3-9]\d{9}", row["phone"].strip()):
        return f"手机号“{row['phone']}”无效"
    return None


def _department(session: Session, home: Institution, code: str, name: str) -> Department:
    dept = session.scalar(
        select(Department).where(Department.institution_id == home.id, Department.code == code)
    )
    if dept is None:
        dept = Department(institution_id=home.id, code=code, name=name)
        session.add(dept)
        session.flush()
    return dept


@dataclass
class SyncReport:
    departments: int = 0
    linked: int = 0
    unmatched: list[str] = field(default_factory=list)  # members with no staff record


def sync_wecom(
    session: Session,
    cipher: PiiCipher,
    departments: list[dict[str, Any]],
    members: list[dict[str, Any]],
    actor: audit.Actor,
) -> SyncReport:
    """Departments by their WeChat Work id; members linked to staff by userid, else by mobile."""
    home = session.scalar(select(Institution).where(Institution.is_home.is_(True)))
    if home is None:
        raise ValueError("尚未配置本院机构（flask init-db）")
    report = SyncReport()
    by_wecom: dict[int, Department] = {}
    for d in departments:
        dept = session.scalar(
            select(Department).where(
                Department.institution_id == home.id, Department.wecom_department_id == d["id"]
            )
        )
        if dept is None:
            dept = _department(session, home, f"WX{d['id']}", d["name"])
            dept.wecom_department_id = d["id"]
        dept.name = d["name"]
        by_wecom[d["id"]] = dept
        report.departments += 1
    for m in members:
        staff = session.scalar(select(Staff).where(Staff.wecom_userid == m["userid"]))
        if staff is None and m.get("mobile"):
            staff = session.scalar(
                select(Staff).where(
                    Staff.phone_index == cipher.blind_index(m["mobile"], kind="phone")
                )
            )
        if staff is None:
            report.unmatched.append(f"{m.get('name', '')}（{m['userid']}）")
            continue
        staff.wecom_userid = m["userid"]
        main = m.get("main_department") or (m.get("department") or [None])[0]
        if main in by_wecom and staff.institution_id == home.id:
            staff.department_id = by_wecom[main].id
        report.linked += 1
    session.flush()
    audit.record(
        session,
        actor,
        "sync_wecom",
        "staff",
        None,
        detail={
            "departments": report.departments,
            "linked": report.linked,
            "unmatched": len(report.unmatched),
        },
    )
    return report
