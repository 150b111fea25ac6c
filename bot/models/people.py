"""Clinical patients, official-account accounts and the 就诊人 profiles linking them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, utcnow
from .enums import Sex, enum_type


class Patient(Timestamped, Base):
    """A clinical patient. ID card and phone are encrypted; the blind index matches
    the same person across hospitals and accounts without storing the number in clear."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    sex: Mapped[Sex] = mapped_column(enum_type(Sex), default=Sex.UNKNOWN)
    birth_date: Mapped[date | None]
    id_card_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_card_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    hospital_patient_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    home_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    # reminder preferences: channels in order, quiet hours (local time)
    reminder_channels: Mapped[list[Any]] = mapped_column(default=lambda: ["inapp", "mp", "sms"])
    quiet_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    # A1.1: a record deactivated by an administrator is kept (its clinical records stay) but no
    # longer offered; a duplicate merged into another record points at it
    active: Mapped[bool] = mapped_column(default=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))


class PatientAccount(Timestamped, Base):
    """An official-account follower, bound to the internet hospital (P1.1)."""

    __tablename__ = "patient_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64))
    ih_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    nickname: Mapped[str | None] = mapped_column(String(64))
    subscribed: Mapped[bool] = mapped_column(default=True)
    bound_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]  # opens WeChat's 48-hour service window
    # the person asked for the account to be deleted (个人信息保护法 第47条): its personal data
    # erased and its 就诊人 unbound; clinical records stay with the hospital
    erased_at: Mapped[datetime | None]
    active_profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient_profiles.id", use_alter=True, ondelete="SET NULL")
    )

    profiles: Mapped[list[PatientProfile]] = relationship(
        back_populates="account", foreign_keys="PatientProfile.account_id"
    )


class PatientProfile(Base):
    """就诊人: a person the account may act for, linked to one clinical patient."""

    __tablename__ = "patient_profiles"
    __table_args__ = (UniqueConstraint("account_id", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("patient_accounts.id", ondelete="CASCADE"), index=True
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    relation: Mapped[str] = mapped_column(String(16), default="本人")
    ih_profile_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[PatientAccount] = relationship(
        back_populates="profiles", foreign_keys=[account_id]
    )
    patient: Mapped[Patient] = relationship()
