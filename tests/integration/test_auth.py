"""Staff sign-in: staff number or mobile, lockout after repeated failures, forced change of an
administrator-set password, audit entries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.models import AuditLog, Institution, Staff, utcnow
from bot.models.enums import ActorType, StaffRole
from bot.services import auth
from bot.services.audit import Actor

pytestmark = pytest.mark.db


@pytest.fixture
def nurse(session, cipher):
    home = Institution(code="HOME", name="本院", is_home=True)
    other = Institution(code="OUT", name="外院")
    staff = Staff(
        institution=home,
        staff_no="N1001",
        name="李护士",
        role=StaffRole.NURSE,
        phone_enc=cipher.encrypt("13900001111", context="staff.phone"),
        phone_index=cipher.blind_index("13900001111", kind="phone"),
        password_hash=auth.hash_password("Secret123"),
        password_changed_at=utcnow(),
    )
    # the same staff number at another hospital does not sign in by number
    session.add_all(
        [
            staff,
            Staff(
                institution=other,
                staff_no="N1001",
                name="外院同号",
                role=StaffRole.OUTSIDE_CLINICIAN,
            ),
        ]
    )
    session.commit()
    return staff


@pytest.mark.req("C1.1")
def test_signs_in_by_staff_number_or_mobile(session, cipher, nurse):
    assert auth.sign_in(session, cipher, "N1001", "Secret123").staff.id == nurse.id
    signed = auth.sign_in(session, cipher, " 13900001111 ", "Secret123")
    assert signed.staff.id == nurse.id and not signed.must_change_password
    assert nurse.last_login_at is not None


@pytest.mark.req("C1.1", "X.1")
def test_wrong_password_counts_down_then_locks_with_the_time_to_wait(session, cipher, nurse):
    now = utcnow()
    for left in (4, 3, 2, 1):
        with pytest.raises(auth.LoginRefused, match=f"再错{left}次将锁定"):
            auth.sign_in(session, cipher, "N1001", "wrong", now=now)
    with pytest.raises(auth.LoginRefused, match="15分钟后再试"):
        auth.sign_in(session, cipher, "N1001", "wrong", now=now)
    # even the right password is refused while locked, with the minutes left
    with pytest.raises(auth.LoginRefused, match="6分钟后再试"):
        auth.sign_in(session, cipher, "N1001", "Secret123", now=now + timedelta(minutes=10))
    assert auth.sign_in(session, cipher, "N1001", "Secret123", now=now + timedelta(minutes=16))
    session.commit()
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["lockout", "login"]


@pytest.mark.req("C1.1")
def test_unknown_accounts_and_inactive_ones_are_refused(session, cipher, nurse):
    with pytest.raises(auth.LoginRefused, match="工号/手机号或密码错误"):
        auth.sign_in(session, cipher, "N9999", "Secret123")
    nurse.active = False
    with pytest.raises(auth.LoginRefused, match="已停用"):
        auth.sign_in(session, cipher, "N1001", "Secret123")


@pytest.mark.req("C1.1")
def test_an_admin_reset_password_must_be_changed_and_weak_ones_are_refused(session, cipher, nurse):
    temporary = auth.reset_password(session, nurse, Actor(ActorType.STAFF, None))
    signed = auth.sign_in(session, cipher, "N1001", temporary)
    assert signed.must_change_password
    with pytest.raises(auth.WeakPassword, match="字母和数字"):
        auth.change_password(session, nurse, temporary, "abcdefgh")
    with pytest.raises(auth.WeakPassword, match="8–64位"):
        auth.change_password(session, nurse, temporary, "a1")
    with pytest.raises(auth.LoginRefused, match="原密码不正确"):
        auth.change_password(session, nurse, "nope", "NewSecret456")
    auth.change_password(session, nurse, temporary, "NewSecret456")
    assert not auth.sign_in(session, cipher, "N1001", "NewSecret456").must_change_password
    assert "NewSecret456" not in nurse.password_hash
