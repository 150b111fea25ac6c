"""患者档案 in the admin web (A1.1): records created by hand with a checked, encrypted ID card,
masked on screen and audited; edited with the changed fields audited (never the numbers);
duplicates merged with every related row moved; records deactivated and no longer offered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.models import (
    Appointment,
    AppointmentSlot,
    ArticleDelivery,
    AuditLog,
    Catheter,
    Complication,
    Consultation,
    EducationArticle,
    FollowUp,
    InAppMessage,
    Institution,
    Patient,
    PatientAccount,
    PatientProfile,
    Reminder,
    Staff,
    utcnow,
)
from bot.models.enums import ActorType, AppointmentStatus, Channel, ReminderKind, StaffRole
from bot.security import idcard
from bot.services import access, audit
from bot.services import patient_records as records
from server import create_app
from tests.support.reports import add_report
from tests.support.web_clients import add_admin, admin_client, form_token

pytestmark = [pytest.mark.db, pytest.mark.redis]

GOOD = "11010519491231002X"  # a valid check digit, born 1949-12-31, female
BAD = "110105194912310021"  # the same with a wrong check digit


@pytest.fixture
def world(settings, engine, redis_conn, session):
    home = Institution(code="HOME", name="本院", is_home=True)
    admin = add_admin(session, home)
    app = create_app(settings)
    client = admin_client(app)
    return {"app": app, "admin": client, "admin_id": admin.id, "home": home.id}


def create(client, **fields):
    page = client.get("/admin/patients/new").get_data(as_text=True)
    data = {"name": "", "sex": "", "birth_date": "", "id_card": "", "phone": ""}
    data |= {"hospital_patient_id": "", **fields, "csrf_token": form_token(page)}
    return client.post("/admin/patients/new", data=data)


@pytest.mark.req("A1.1")
def test_a1_1_a_bad_id_card_is_refused_with_the_reason_and_nothing_saved(world, session):
    r = create(world["admin"], name="孙秀英", id_card=BAD, phone="13812345678")
    assert r.status_code == 200 and "身份证号校验位不正确" in r.get_data(as_text=True)
    r = create(world["admin"], name="孙秀英", id_card="110105194913310021")
    assert "出生日期无效" in r.get_data(as_text=True)
    r = create(world["admin"], name="孙秀英", id_card=GOOD, phone="12345")
    assert "手机号应为11位" in r.get_data(as_text=True)
    assert session.scalar(select(func.count(Patient.id))) == 0


@pytest.mark.req("A1.1")
def test_a1_1_a_record_by_hand_is_encrypted_masked_and_audited(world, session, engine):
    r = create(world["admin"], name="孙秀英", id_card=GOOD.lower(), phone="138 1234 5678")
    assert r.status_code == 302
    patient = session.scalar(select(Patient).where(Patient.name == "孙秀英"))
    # filled from the ID card; the row holds no number in clear
    assert str(patient.birth_date) == "1949-12-31" and patient.sex.value == "F"
    with engine.connect() as conn:
        row = conn.exec_driver_sql(f"SELECT * FROM patients WHERE id = {patient.id}").one()
    assert not any(GOOD in str(v) or "13812345678" in str(v) for v in row)
    assert GOOD.encode() not in patient.id_card_enc and patient.id_card_index
    details = world["admin"].get(r.headers["Location"]).get_data(as_text=True)
    assert "1101**********002X" in details and "138****5678" in details
    assert GOOD not in details and "13812345678" not in details
    listing = world["admin"].get("/admin/patients/?q=秀英").get_data(as_text=True)
    assert "孙秀英" in listing and "1101**********002X" in listing and GOOD not in listing
    reads = {
        (a.action, a.object_type)
        for a in session.scalars(select(AuditLog).where(AuditLog.actor_id == world["admin_id"]))
    }
    assert {("create", "patient"), ("read", "patient"), ("read", "patient_list")} <= reads
    listed = session.scalar(
        select(AuditLog).where(AuditLog.object_type == "patient_list").order_by(AuditLog.id.desc())
    )
    assert listed.detail["patients"] == [patient.id]


@pytest.mark.req("A1.1")
def test_a1_1_an_id_card_already_on_file_is_refused_with_a_link_to_that_record(world, session):
    first = create(world["admin"], name="孙秀英", id_card=GOOD)
    existing = int(first.headers["Location"].rsplit("/", 1)[1])
    r = create(world["admin"], name="孙秀", id_card=GOOD)
    page = r.get_data(as_text=True)
    assert "该身份证号已有档案" in page and f'href="/admin/patients/{existing}"' in page
    assert session.scalar(select(func.count(Patient.id))) == 1


@pytest.mark.req("A1.1")
def test_a1_1_an_edit_is_audited_with_the_fields_changed_never_the_numbers(world, session, cipher):
    patient = Patient(name="孙秀")
    session.add(patient)
    session.commit()
    client = world["admin"]
    page = client.get(f"/admin/patients/{patient.id}/edit").get_data(as_text=True)
    form = {"csrf_token": form_token(page), "name": "孙秀英", "sex": "", "birth_date": ""}
    r = client.post(
        f"/admin/patients/{patient.id}/edit",
        data=form | {"id_card": GOOD, "phone": "13912345678", "hospital_patient_id": "H001"},
    )
    assert r.status_code == 302
    session.expire_all()
    edited = session.get(Patient, patient.id)
    assert edited.name == "孙秀英" and edited.hospital_patient_id == "H001"
    assert cipher.decrypt(edited.id_card_enc, context="patient.id_card") == GOOD
    assert edited.id_card_index == cipher.blind_index(GOOD, kind="id_card")
    assert cipher.decrypt(edited.phone_enc, context="patient.phone") == "13912345678"
    entry = session.scalar(
        select(AuditLog).where(AuditLog.action == "update", AuditLog.object_type == "patient")
    )
    assert set(entry.detail["fields"]) >= {"name", "id_card", "phone", "hospital_patient_id"}
    assert GOOD not in str(entry.detail) and "13912345678" not in str(entry.detail)
    # a bad ID card on edit is refused and the one on file kept; empty keeps it too
    r = client.post(
        f"/admin/patients/{patient.id}/edit",
        data=form | {"id_card": BAD, "phone": "", "hospital_patient_id": "H001"},
    )
    assert "身份证号校验位不正确" in r.get_data(as_text=True)
    client.post(
        f"/admin/patients/{patient.id}/edit",
        data=form | {"name": "孙秀英", "id_card": "", "phone": "", "hospital_patient_id": "H001"},
    )
    session.expire_all()
    kept = session.get(Patient, patient.id).id_card_enc
    assert cipher.decrypt(kept, context="patient.id_card") == GOOD


def everything_of(session, patient_id: int, world) -> None:
    """One row in every table that refers to a patient."""
    nurse = Staff(institution_id=world["home"], staff_no="N9", name="护士", role=StaffRole.NURSE)
    session.add(nurse)
    catheter = Catheter(patient_id=patient_id, device_type="PICC", placed_at=utcnow())
    session.add(catheter)
    session.flush()
    today = utcnow().date()
    reminder = Reminder(
        catheter_id=catheter.id,
        patient_id=patient_id,
        due_on=today,
        kind=ReminderKind.DUE,
        channel=Channel.MP,
    )
    session.add(reminder)
    slot = AppointmentSlot(
        institution_id=world["home"],
        service="PICC_MAINT",
        starts_at=utcnow() + timedelta(days=1),
        ends_at=utcnow() + timedelta(days=1, hours=1),
        capacity=5,
        booked=1,
    )
    article = EducationArticle(title="冲管", body="正文")
    session.add_all([slot, article])
    session.flush()
    session.add_all(
        [
            InAppMessage(patient_id=patient_id, kind="reminder", title="提醒", body="明天维护"),
            FollowUp(catheter_id=catheter.id, patient_id=patient_id, due_on=today),
            Appointment(slot_id=slot.id, patient_id=patient_id),
            Complication(
                catheter_id=catheter.id, patient_id=patient_id, type="PHLEBITIS", onset_on=today
            ),
            Consultation(
                patient_id=patient_id, requested_by_id=nurse.id, title="会诊", summary="会诊"
            ),
            ArticleDelivery(
                patient_id=patient_id, article_id=article.id, stage="placed", sent_on=today
            ),
        ]
    )
    session.flush()


@pytest.mark.req("A1.1")
def test_a1_1_a_merge_moves_every_related_row_and_deactivates_the_duplicate(
    world, session, settings, cipher
):
    keep = Patient(name="孙秀英")  # typed in at a placement, no ID card
    dup = Patient(
        name="孙秀英",
        id_card_enc=cipher.encrypt(GOOD, context="patient.id_card"),
        id_card_index=cipher.blind_index(GOOD, kind="id_card"),
        hospital_patient_id="H77",
    )
    account = PatientAccount(openid="o_sun")
    session.add_all([keep, dup, account])
    session.flush()
    everything_of(session, dup.id, world)
    add_report(session, settings.media_root, dup.id)
    profile = PatientProfile(account_id=account.id, patient_id=dup.id)
    session.add(profile)
    session.commit()
    references = records._patient_references()
    covered = {t.name for t, c in references if c != "merged_into_id"}

    def count(pid):
        return {
            t.name: session.scalar(select(func.count()).select_from(t).where(t.c[c] == pid))
            for t, c in references
            if c != "merged_into_id"
        }

    before = count(dup.id)
    # the fixture has a row in every table that refers to a patient: a new table is not forgotten
    assert {name for name, n in before.items() if n} == covered
    client = world["admin"]
    page = client.get(f"/admin/patients/merge?keep={keep.id}&duplicate={dup.id}")
    html = page.get_data(as_text=True)
    assert "1101**********002X" in html and GOOD not in html
    r = client.post(
        "/admin/patients/merge",
        data={
            "csrf_token": form_token(html),
            "keep": keep.id,
            "duplicate": dup.id,
            "confirm": "yes",
        },
    )
    assert r.status_code == 302
    session.expire_all()
    assert all(n == 0 for n in count(dup.id).values())
    assert count(keep.id) == before
    kept, merged = session.get(Patient, keep.id), session.get(Patient, dup.id)
    assert merged.active is False and merged.merged_into_id == keep.id
    # the kept record now carries the ID card: a binding by ID card finds it
    assert kept.id_card_index == cipher.blind_index(GOOD, kind="id_card")
    assert kept.hospital_patient_id == "H77" and merged.id_card_index is None
    entry = session.scalar(select(AuditLog).where(AuditLog.action == "merge"))
    assert entry.patient_id == keep.id and entry.detail["duplicate"] == dup.id
    assert "1101**********002X" in client.get(f"/admin/patients/{keep.id}").get_data(as_text=True)


@pytest.mark.req("A1.1")
def test_a1_1_records_with_different_id_cards_are_not_merged(world, session, cipher):
    other = "110105194912310046"
    assert idcard.validate(other)
    a, b = (
        Patient(
            name="孙秀英",
            id_card_enc=cipher.encrypt(n, context="patient.id_card"),
            id_card_index=cipher.blind_index(n, kind="id_card"),
        )
        for n in (GOOD, other)
    )
    session.add_all([a, b])
    session.flush()
    session.add(Catheter(patient_id=b.id, device_type="PICC", placed_at=utcnow()))
    session.commit()
    html = world["admin"].get(f"/admin/patients/merge?keep={a.id}&duplicate={b.id}")
    r = world["admin"].post(
        "/admin/patients/merge",
        data={
            "csrf_token": form_token(html.get_data(as_text=True)),
            "keep": a.id,
            "duplicate": b.id,
            "confirm": "yes",
        },
    )
    assert "身份证号不同，是两个人，不能合并" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(Patient, b.id).active and session.get(Patient, b.id).merged_into_id is None
    assert session.scalar(select(Catheter.patient_id)) == b.id


@pytest.mark.req("A1.1")
def test_a1_1_a_deactivated_record_is_no_longer_offered_and_can_be_reactivated(world, session):
    patient = Patient(name="孙秀英")
    session.add(patient)
    session.commit()
    client = world["admin"]
    page = client.get(f"/admin/patients/{patient.id}").get_data(as_text=True)
    r = client.post(
        f"/admin/patients/{patient.id}/active", data={"csrf_token": form_token(page), "active": "0"}
    )
    assert r.status_code == 302
    session.expire_all()
    assert session.get(Patient, patient.id).active is False
    assert "孙秀英" not in client.get("/admin/patients/?q=孙").get_data(as_text=True)
    assert "孙秀英" in client.get("/admin/patients/?q=孙&all=1").get_data(as_text=True)
    nurse_actor = audit.Actor(ActorType.STAFF, world["admin_id"])
    assert access.find_patients(session, nurse_actor, "孙秀英", context="test") == []
    from bot.services import names

    staff = session.get(Staff, world["admin_id"])
    assert names.visible_names(session, staff, "查一下孙秀英的维护记录") == []
    assert session.scalar(select(AuditLog).where(AuditLog.action == "deactivate"))
    client.post(
        f"/admin/patients/{patient.id}/active", data={"csrf_token": form_token(page), "active": "1"}
    )
    session.expire_all()
    assert session.get(Patient, patient.id).active is True
    assert names.visible_names(session, staff, "查一下孙秀英的维护记录") == ["孙秀英"]
    assert [p.id for p in access.find_patients(session, nurse_actor, "孙秀英", context="t")] == [
        patient.id
    ]


@pytest.mark.req("A1.1")
def test_a1_1_a_merge_keeps_one_profile_and_one_booking_where_both_records_had_one(world, session):
    keep, dup = Patient(name="孙秀英"), Patient(name="孙秀英")
    account = PatientAccount(openid="o_sun")
    slot = AppointmentSlot(
        institution_id=world["home"],
        service="PICC_MAINT",
        starts_at=utcnow() + timedelta(days=1),
        ends_at=utcnow() + timedelta(days=1, hours=1),
        capacity=5,
        booked=2,
    )
    session.add_all([keep, dup, account, slot])
    session.flush()
    kept_profile = PatientProfile(account_id=account.id, patient_id=keep.id)
    dup_profile = PatientProfile(account_id=account.id, patient_id=dup.id, relation="母亲")
    session.add_all(
        [
            kept_profile,
            dup_profile,
            Appointment(slot_id=slot.id, patient_id=keep.id),
            Appointment(slot_id=slot.id, patient_id=dup.id),
        ]
    )
    session.flush()
    account.active_profile_id = dup_profile.id
    session.commit()
    actor = audit.Actor(ActorType.STAFF, world["admin_id"])
    merged = records.merge(session, keep.id, dup.id, actor)
    session.commit()
    assert merged.cancelled_appointments == 1
    session.expire_all()
    profiles = session.scalars(select(PatientProfile)).all()
    assert [(p.id, p.patient_id) for p in profiles] == [(kept_profile.id, keep.id)]
    assert session.get(PatientAccount, account.id).active_profile_id == kept_profile.id
    bookings = session.scalars(select(Appointment)).all()
    assert [b.patient_id for b in bookings] == [keep.id]
    assert session.get(AppointmentSlot, slot.id).booked == 1  # the twin's place given back
    with pytest.raises(records.RecordRefused, match="已合并到"):
        records.merge(session, keep.id, dup.id, actor)


@pytest.mark.req("A1.1")
def test_a1_1_a_merge_keeps_the_duplicates_live_booking_over_a_cancelled_twin(world, session):
    """The kept record cancelled that slot, the duplicate still holds it: the live booking
    survives the merge (moved to the kept record) and its place stays taken."""
    keep, dup = Patient(name="周建国"), Patient(name="周建国")
    slot = AppointmentSlot(
        institution_id=world["home"],
        service="PICC_MAINT",
        starts_at=utcnow() + timedelta(days=1),
        ends_at=utcnow() + timedelta(days=1, hours=1),
        capacity=5,
        booked=1,
    )
    session.add_all([keep, dup, slot])
    session.flush()
    cancelled = Appointment(slot_id=slot.id, patient_id=keep.id, status=AppointmentStatus.CANCELLED)
    live = Appointment(slot_id=slot.id, patient_id=dup.id)
    session.add_all([cancelled, live])
    session.commit()
    merged = records.merge(session, keep.id, dup.id, audit.Actor(ActorType.STAFF, None))
    session.commit()
    assert merged.cancelled_appointments == 0
    session.expire_all()
    bookings = session.scalars(select(Appointment)).all()
    assert [(b.id, b.patient_id, b.status) for b in bookings] == [
        (live.id, keep.id, AppointmentStatus.BOOKED)
    ]
    assert session.get(AppointmentSlot, slot.id).booked == 1


@pytest.mark.req("A1.1", "P1.3")
def test_a1_1_a_binding_does_not_link_a_deactivated_record_and_says_why(world, session, cipher):
    from bot.adapters.internet_hospital import IhPatient, IhUser
    from bot.services import binding

    patient = Patient(
        name="孙秀英",
        id_card_enc=cipher.encrypt(GOOD, context="patient.id_card"),
        id_card_index=cipher.blind_index(GOOD, kind="id_card"),
        active=False,
    )
    account = PatientAccount(openid="o_sun")
    session.add_all([patient, account])
    session.commit()
    person = IhPatient("p1", "本人", "孙秀英", "F", None, GOOD, None, None)
    result = binding.bind(session, cipher, account, IhUser("u1", "孙秀英", None), [person])
    session.commit()
    assert result.linked == [] and result.created == 0
    assert result.refused == ["孙*英：该就诊人的档案已停用，请联系医院"]
    assert session.scalar(select(func.count(PatientProfile.id))) == 0
