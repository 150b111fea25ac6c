"""Institutions, departments, staff and outside-clinician applications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped
from .enums import ApprovalStatus, StaffRole, enum_type


class Institution(Timestamped, Base):
    """A hospital or clinic; ``is_home`` marks the hospital running this service."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    short_name: Mapped[str | None] = mapped_column(String(40))
    is_home: Mapped[bool] = mapped_column(default=False)
    level: Mapped[str | None] = mapped_column(String(40))  # e.g. 三级甲等
    address: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(40))
    district: Mapped[str | None] = mapped_column(String(40))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    phone: Mapped[str | None] = mapped_column(String(40))  # public switchboard, not PII
    opening_hours: Mapped[str | None] = mapped_column(String(255))
    # service codes from the dictionary, e.g. ["PICC_MAINT", "PORT_MAINT"]
    services: Mapped[list[Any]] = mapped_column(default=list)
    # device types it maintains (PICC, PORT, CVC, MIDLINE): who is shown it as nearby (P5.1)
    device_types: Mapped[list[Any]] = mapped_column(default=list)
    # where the coordinates (GCJ-02, Tencent Maps) came from: "manual", "geocoder", "seed"
    coordinates_source: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)

    departments: Mapped[list[Department]] = relationship(back_populates="institution")


class Department(Base):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    wecom_department_id: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)

    institution: Mapped[Institution] = relationship(back_populates="departments")


class Staff(Timestamped, Base):
    """A clinician or administrator (home hospital or approved outside clinician)."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("institution_id", "staff_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    staff_no: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(40))
    role: Mapped[StaffRole] = mapped_column(enum_type(StaffRole))
    title: Mapped[str | None] = mapped_column(String(40))  # 主管护师, 副主任医师 …
    is_vascular_expert: Mapped[bool] = mapped_column(default=False)
    # may export records with identifiers in full (stating a reason each time, A6.2); admins only
    may_export_identifiers: Mapped[bool] = mapped_column(default=False)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    institution: Mapped[Institution] = relationship()
    department: Mapped[Department | None] = relationship()

    # the protocol of a signed-in web user (Flask-Login's), without importing Flask here
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)


class OutsideApplication(Timestamped, Base):
    """An outside clinician's request to use the service (C1.2, A2)."""

    __tablename__ = "outside_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    institution_name: Mapped[str] = mapped_column(String(120))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    department_name: Mapped[str] = mapped_column(String(80))
    title: Mapped[str | None] = mapped_column(String(40))
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    licence_no: Mapped[str] = mapped_column(String(40))  # 执业证书编号
    badge_photo_path: Mapped[str | None] = mapped_column(String(255))
    wecom_userid: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[ApprovalStatus] = mapped_column(
        enum_type(ApprovalStatus), default=ApprovalStatus.PENDING, index=True
    )
    reason: Mapped[str | None] = mapped_column(Text)  # required when rejected
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[datetime | None]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
