"""Browsers of the web tests: an administrator signed in to the admin web, a patient's follower
signed in to the H5 pages (as WeChat OAuth would leave them), and the CSRF token of a page's
hand-written form."""

from __future__ import annotations

import re
from typing import Any

from bot.models import Institution, Staff, utcnow
from bot.models.enums import StaffRole
from bot.services import auth
from tests.integration.test_staff_web import sign_in

ADMIN_NO, ADMIN_PASSWORD = "A001", "Admin1234"


def add_admin(session: Any, institution: Institution | None = None) -> Staff:
    """王管理, administrator of 本院 (or of ``institution``), committed."""
    admin = Staff(
        institution=institution or Institution(code="HOME", name="本院", is_home=True),
        staff_no=ADMIN_NO,
        name="王管理",
        role=StaffRole.ADMIN,
        password_hash=auth.hash_password(ADMIN_PASSWORD),
        password_changed_at=utcnow(),
    )
    session.add(admin)
    session.commit()
    return admin


def admin_client(app: Any) -> Any:
    client = app.test_client()
    assert sign_in(client, ADMIN_NO, ADMIN_PASSWORD).status_code == 302
    return client


def follower_client(app: Any, account_id: int) -> Any:
    client = app.test_client()
    with client.session_transaction() as web_session:
        web_session["account_id"] = account_id
    return client


def form_token(html: str) -> str:
    """The CSRF token of the page's first form (hand-written or Flask-Admin's)."""
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
