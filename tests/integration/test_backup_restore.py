"""A dump restored into an empty PostgreSQL database opens with DATA_KEY and holds what the
manifest says (issue 12 §5); a wrong key or a short dump is reported, not trusted."""

from __future__ import annotations

import base64
import json
import subprocess
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bot.models import Institution, Patient, Staff
from bot.models.enums import StaffRole
from bot.security import idcard
from server import create_app

pytestmark = [pytest.mark.db, pytest.mark.req("X.1")]
ID = "11010519491231002" + idcard.check_digit("11010519491231002")


@pytest.fixture
def restore_target(settings):
    """An empty PostgreSQL database beside the test one, dropped afterwards."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("pg_dump/pg_restore: the restore drill needs PostgreSQL (CI runs it)")
    name = f"{url.database}_restore"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def libpq(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def test_a_restored_dump_opens_with_the_key_and_matches_its_manifest(
    settings, engine, session, cipher, restore_target, tmp_path
):
    session.add_all(
        [
            Patient(
                name="周阿姨",
                id_card_enc=cipher.encrypt(ID, context="patient.id_card"),
                id_card_index=cipher.blind_index(ID, kind="id_card"),
                phone_enc=cipher.encrypt("13800002222", context="patient.phone"),
                phone_index=cipher.blind_index("13800002222", kind="phone"),
            ),
            Staff(
                institution=Institution(code="HOME", name="本院", is_home=True),
                staff_no="N9",
                name="吴护士",
                role=StaffRole.NURSE,
                phone_enc=cipher.encrypt("13900001111", context="staff.phone"),
                phone_index=cipher.blind_index("13900001111", kind="phone"),
            ),
        ]
    )
    session.commit()
    manifest, dump = tmp_path / "manifest.json", tmp_path / "vam.dump"
    out = create_app(settings).test_cli_runner().invoke(args=["backup", "manifest", str(manifest)])
    assert out.exit_code == 0, out.output
    source = make_url(settings.database_url)
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), libpq(source)], check=True)
    subprocess.run(["pg_restore", "--no-owner", "-d", libpq(restore_target), str(dump)], check=True)

    restored = replace(settings, database_url=libpq(restore_target))
    app = create_app(restored)
    out = app.test_cli_runner().invoke(args=["backup", "check", "--manifest", str(manifest)])
    assert out.exit_code == 0 and "DATA_KEY 可解密" in out.output, out.output
    with app.app_context():
        from web import container

        with container().uow() as uow:
            patient = uow.session.scalar(select(Patient).where(Patient.name == "周阿姨"))
            assert container().cipher.decrypt(patient.id_card_enc, context="patient.id_card") == ID

    other_key = base64.urlsafe_b64encode(b"z" * 32).decode()
    wrong = create_app(replace(restored, data_key=base64.urlsafe_b64decode(other_key)))
    out = wrong.test_cli_runner().invoke(args=["backup", "check", "--manifest", str(manifest)])
    assert out.exit_code == 1 and "无法用 DATA_KEY 解密" in out.output

    short = json.loads(manifest.read_text())
    short["tables"]["patients"] += 1  # the dump was cut short: a row is missing
    manifest.write_text(json.dumps(short))
    out = app.test_cli_runner().invoke(args=["backup", "check", "--manifest", str(manifest)])
    assert out.exit_code == 1 and "表 patients" in out.output
