"""Staff sign-in (C1.1): staff number or mobile + password, argon2 hashes, lockout.

Passwords are never typed into chat; these functions serve the H5 and admin login pages.
A password set by an administrator (a new account or a reset) must be changed at the next
sign-in (``password_changed_at`` is empty until the person chooses their own).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Institution, Staff, utcnow
from bot.models.enums import ActorType
from bot.security.crypto import PiiCipher

from . import audit

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
_hasher = PasswordHasher()
# A dummy hash verified when the account does not exist, so timing does not reveal which
# staff numbers exist.
_DUMMY = _hasher.hash("not-a-real-password")


class LoginRefused(Exception):
    """Sign-in refused; the message says why in Chinese, never which part was wrong."""


class WeakPassword(ValueError):
    pass


@dataclass(frozen=True)
class SignedIn:
    staff: Staff
    must_change_password: bool


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def check_strength(password: str) -> None:
    if len(password) < 8 or len(password) > 64:
        raise WeakPassword("密码长度需为8–64位")
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        raise WeakPassword("密码需同时包含字母和数字")


def temporary_password() -> str:
    """A one-time password an administrator hands over; changed at first sign-in."""
    return "Vam" + secrets.token_hex(3) + str(secrets.randbelow(90) + 10)


def find(session: Session, cipher: PiiCipher, login: str) -> Staff | None:
    """By mobile (11 digits) or by staff number of the home hospital."""
    login = login.strip()
    if re.fullmatch(r"1[3-9]\d{9}", login):
        return session.scalar(
            select(Staff).where(Staff.phone_index == cipher.blind_index(login, kind="phone"))
        )
    return session.scalar(
        select(Staff)
        .join(Institution, Institution.id == Staff.institution_id)
        .where(Staff.staff_no == login, Institution.is_home.is_(True))
    )


def sign_in(
    session: Session,
    cipher: PiiCipher,
    login: str,
    password: str,
    *,
    now: datetime | None = None,
    ip: str | None = None,
) -> SignedIn:
    """Check the password; lock the account for LOCKOUT after MAX_FAILURES failures."""
    now = now or utcnow()
    staff = find(session, cipher, login)
    if staff is None or not staff.password_hash:
        _verify(_DUMMY, password)
        raise LoginRefused("工号/手机号或密码错误")
    if not staff.active:
        raise LoginRefused("账号已停用，请联系管理员")
    if staff.locked_until and staff.locked_until > now:
        minutes = max(1, int((staff.locked_until - now).total_seconds() // 60) + 1)
        raise LoginRefused(f"密码错误次数过多，账号已锁定，请{minutes}分钟后再试")
    actor = audit.Actor(ActorType.STAFF, staff.id, ip)
    if not _verify(staff.password_hash, password):
        staff.failed_logins += 1
        if staff.failed_logins >= MAX_FAILURES:
            staff.locked_until = now + LOCKOUT
            staff.failed_logins = 0
            audit.record(session, actor, "lockout", "staff", staff.id)
            raise LoginRefused(
                f"密码错误次数过多，账号已锁定，请{int(LOCKOUT.total_seconds() // 60)}分钟后再试"
            )
        left = MAX_FAILURES - staff.failed_logins
        raise LoginRefused(f"工号/手机号或密码错误，再错{left}次将锁定账号")
    staff.failed_logins = 0
    staff.locked_until = None
    staff.last_login_at = now
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    audit.record(session, actor, "login", "staff", staff.id)
    return SignedIn(staff, must_change_password=staff.password_changed_at is None)


def change_password(session: Session, staff: Staff, old: str, new: str) -> None:
    if not staff.password_hash or not _verify(staff.password_hash, old):
        raise LoginRefused("原密码不正确")
    if old == new:
        raise WeakPassword("新密码不能与原密码相同")
    staff.password_hash = hash_password(new)
    staff.password_changed_at = utcnow()
    audit.record(
        session, audit.Actor(ActorType.STAFF, staff.id), "change_password", "staff", staff.id
    )


def reset_password(session: Session, staff: Staff, admin: audit.Actor) -> str:
    """An administrator's reset: a temporary password, to be changed at next sign-in."""
    password = temporary_password()
    staff.password_hash = _hasher.hash(password)
    staff.password_changed_at = None
    staff.failed_logins = 0
    staff.locked_until = None
    audit.record(session, admin, "reset_password", "staff", staff.id)
    return password


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
