"""The demo data set (``flask seed-demo``): what a demonstration and a developer rely on —
enough people and places, every due status on "today", sound encryption, consistent
histories — on the real database (SQLite by default, PostgreSQL by DATABASE_URL)."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.care import rules
from bot.care.rules import DueStatus
from bot.models import (
    Agreement,
    AppointmentSlot,
    ArticleVersion,
    Base,
    Catheter,
    ClinicalDictionary,
    Complication,
    ComplicationStep,
    EducationArticle,
    Institution,
    MaintenanceRecord,
    Patient,
    Removal,
    Staff,
)
from bot.models.enums import (
    AgreementKind,
    CatheterState,
    ComplicationStatus,
    PlacementSource,
    PublishStatus,
    StaffRole,
)
from bot.security import idcard
from bot.seed import plans
from bot.seed.context import Builder
from bot.seed.demo import DEFAULT_SEED, demo_people, seed_demo
from bot.seed.tables import CATHETERS
from bot.services import dictionary as dictionary_service

pytestmark = pytest.mark.db

TODAY = date(2026, 11, 25)
SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE = re.compile(r"^1[3-9]\d{9}$")


@pytest.fixture
def seeded(session, cipher, dictionary):
    started = time.monotonic()
    counts = seed_demo(session, cipher, dictionary, today=TODAY)
    session.commit()
    counts["_seconds"] = time.monotonic() - started  # type: ignore[assignment]
    return counts


def _catheters(session) -> list[Catheter]:
    return list(session.scalars(select(Catheter).order_by(Catheter.id)))


def _status(c: Catheter, today: date, due_soon_days: int) -> DueStatus:
    return rules.status_on(
        c.next_due_on,
        today,
        removed=c.state is CatheterState.REMOVED,
        due_soon_days=due_soon_days,
    )


def _cycle(d, c: Catheter) -> int:
    return rules.cycle_days(
        d,
        c.device_type,
        dressing_type=c.dressing_type,
        port_in_use=c.port_in_use,
        custom_cycle_days=c.maintenance_cycle_days,
    )


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _placed_outside_their_range(session, today: date) -> list[tuple[int, str, int]]:
    """The catheters in place placed longer ago (or sooner) than catheters.yaml's
    ``placed_ago`` allows for their device type, as (id, device type, days ago)."""
    outside = []
    for c in _catheters(session):
        if c.state is not CatheterState.IN_PLACE:
            continue
        lo, hi = CATHETERS["placed_ago"][c.device_type]
        ago = (today - rules.local_date(c.placed_at, SHANGHAI)).days
        if not lo <= ago <= hi:
            outside.append((c.id, c.device_type, ago))
    return outside


def test_counts_meet_the_minima_and_match_the_rows(session, seeded):
    assert seeded["patients"] >= 200
    assert _count(session, Patient) == seeded["patients"]
    assert _count(session, Catheter) == seeded["catheters"] >= seeded["patients"]
    assert _count(session, MaintenanceRecord) == seeded["maintenance_records"]
    assert _count(session, Complication) == seeded["complications"] >= 12
    assert _count(session, Removal) == seeded["removals"] >= 15
    assert seeded["_seconds"] < 10, "the demo seed must stay well under 10 s"

    home = session.scalars(select(Institution).where(Institution.is_home)).one()
    assert home.code == "HOME" and home.latitude and home.longitude
    assert {"PICC_MAINT", "PORT_MAINT", "PICC_PLACE", "PORT_PLACE"} <= set(home.services)
    others = session.scalars(select(Institution).where(Institution.is_home.is_(False))).all()
    placed = [i for i in others if i.latitude is not None and i.longitude is not None]
    assert len(placed) >= 5
    for inst in placed:  # in Hangzhou, not at (0, 0)
        assert 29.8 < inst.latitude < 30.7 and 119.6 < inst.longitude < 120.6
        assert inst.departments and inst.services and inst.opening_hours and inst.phone
    assert len({i.district for i in placed}) >= 4
    assert any(i.services == ["PICC_MAINT"] for i in others)

    devices = Counter(c.device_type for c in _catheters(session))
    assert set(devices) == {"PICC", "PORT", "CVC", "MIDLINE"}
    assert devices.most_common(1)[0][0] == "PICC"

    roles = Counter(s.role for s in session.scalars(select(Staff)))
    assert roles[StaffRole.NURSE] >= 10 and roles[StaffRole.DOCTOR] >= 3
    assert roles[StaffRole.ADMIN] == 1 and roles[StaffRole.OUTSIDE_CLINICIAN] >= 3
    admin = session.scalars(select(Staff).where(Staff.role == StaffRole.ADMIN)).one()
    assert admin.staff_no == "admin"
    assert all(s.password_hash is None for s in session.scalars(select(Staff)))


@pytest.mark.parametrize("today", [TODAY, date(2028, 2, 29)])
def test_every_due_status_occurs_on_today(session, cipher, dictionary, today):
    seed_demo(session, cipher, dictionary, today=today)
    session.commit()
    statuses = Counter(_status(c, today, dictionary.due_soon_days) for c in _catheters(session))
    for status in (DueStatus.OVERDUE, DueStatus.DUE_TODAY, DueStatus.DUE_SOON):
        assert statuses[status] >= 10, statuses
    assert statuses[DueStatus.REMOVED] >= 15, statuses
    assert statuses.most_common(1)[0][0] is DueStatus.OK, statuses


def _longer_cycles(session, monkeypatch) -> None:
    """The dictionary in force changes a midline's and a central line's dressing every
    30 days (their catheters.yaml ranges end at 28 and 35 days)."""
    payload = dictionary_service.payload_of(session, 1)
    for rule in payload["maintenance_intervals"]:
        if rule["device_type"] in ("MIDLINE", "CVC") and rule["when"] == "TRANSPARENT":
            rule["days"] = 30
    session.add(ClinicalDictionary(version=2, payload=payload, note="敷料每30天更换"))
    session.commit()


def _shorter_ranges(session, monkeypatch) -> None:
    """A clinician reviewing catheters.yaml keeps midlines and central lines in for days."""
    monkeypatch.setitem(CATHETERS["placed_ago"], "MIDLINE", [1, 8])
    monkeypatch.setitem(CATHETERS["placed_ago"], "CVC", [1, 10])


@pytest.mark.parametrize("edit", [_longer_cycles, _shorter_ranges])
def test_a_device_whose_range_barely_fits_a_cycle_stays_in_range_and_all_statuses_show(
    session, cipher, monkeypatch, edit
):
    edit(session, monkeypatch)
    d = dictionary_service.current(session)
    seed_demo(session, cipher, d, today=TODAY)
    session.commit()
    assert _placed_outside_their_range(session, TODAY) == []
    statuses = Counter(_status(c, TODAY, d.due_soon_days) for c in _catheters(session))
    for status in (DueStatus.OVERDUE, DueStatus.DUE_TODAY, DueStatus.DUE_SOON):
        assert statuses[status] >= 10, statuses


@pytest.mark.parametrize("edit", [_longer_cycles, _shorter_ranges])
def test_every_planned_target_is_placed_within_its_devices_range(
    session, cipher, monkeypatch, edit
):
    edit(session, monkeypatch)
    b = Builder(session, cipher, dictionary_service.current(session), TODAY, 1, SHANGHAI)
    for device, (lo, hi) in CATHETERS["placed_ago"].items():
        for target in ("overdue", "due_today", "due_soon", "ok", "new"):
            for _ in range(40):
                plan = plans.plan_current(b, 0, device, target, replaced=False)
                assert lo <= (TODAY - plan.placed_on).days <= hi, (device, target)
                assert all(plan.placed_on < day <= TODAY for day in plan.visits)


def test_seeding_twice_adds_nothing(session, cipher, dictionary, seeded):
    tables = [t for t in Base.metadata.sorted_tables]
    before = {t.name: session.scalar(select(func.count()).select_from(t)) for t in tables}
    assert seed_demo(session, cipher, dictionary, today=TODAY) == {}
    assert seed_demo(session, cipher, dictionary, today=TODAY + timedelta(days=3)) == {}
    session.commit()
    after = {t.name: session.scalar(select(func.count()).select_from(t)) for t in tables}
    assert after == before


def test_the_same_seed_gives_the_same_people(session, seeded):
    stored = session.execute(
        select(Patient.name, Patient.birth_date, Patient.sex, Patient.hospital_patient_id).order_by(
            Patient.id
        )
    ).all()
    people = demo_people(DEFAULT_SEED, today=TODAY)
    assert [tuple(row) for row in stored] == [
        (p.name, p.birth_date, p.sex, p.hospital_patient_id) for p in people
    ]
    assert demo_people(DEFAULT_SEED, today=TODAY) == people
    assert demo_people(DEFAULT_SEED + 1, today=TODAY) != people
    assert len({p.name for p in people}) > 150  # realistic variety, not a handful repeated


def test_id_cards_and_phones_decrypt_validate_and_match_their_blind_index(session, cipher, seeded):
    people = {p.hospital_patient_id: p for p in demo_people(DEFAULT_SEED, today=TODAY)}
    patients = session.scalars(select(Patient)).all()
    for patient in patients:
        number = cipher.decrypt(patient.id_card_enc, context="patient.id_card")
        assert number is not None and len(number) == 18
        assert idcard.validate(number) == number  # shape, birth date and check digit
        assert number[17] == idcard.check_digit(number[:17])
        assert number.startswith("33")  # Zhejiang
        assert idcard.birth_date(number) == patient.birth_date
        assert idcard.sex(number) == patient.sex.value
        assert patient.id_card_index == cipher.blind_index(number, kind="id_card")
        assert number.encode() not in patient.id_card_enc

        phone = cipher.decrypt(patient.phone_enc, context="patient.phone")
        assert phone is not None and PHONE.match(phone)
        assert patient.phone_index == cipher.blind_index(phone, kind="phone")
        assert phone.encode() not in patient.phone_enc
        assert people[patient.hospital_patient_id].id_card == number

        age = (TODAY - patient.birth_date).days // 365
        assert 18 <= age <= 90
        assert patient.home_institution_id is not None
    assert len({p.id_card_index for p in patients}) == len(patients)
    for staff in session.scalars(select(Staff)):
        phone = cipher.decrypt(staff.phone_enc, context="staff.phone")
        assert phone is not None and PHONE.match(phone)
        assert staff.phone_index == cipher.blind_index(phone, kind="phone")


@pytest.mark.req("X.1")
def test_no_phone_or_id_number_is_stored_in_clear_anywhere(session, cipher, seeded):
    secrets: set[str] = set()
    for patient in session.scalars(select(Patient)):
        secrets.add(cipher.decrypt(patient.id_card_enc, context="patient.id_card"))
        secrets.add(cipher.decrypt(patient.phone_enc, context="patient.phone"))
    for staff in session.scalars(select(Staff)):
        secrets.add(cipher.decrypt(staff.phone_enc, context="staff.phone"))
    digits = re.compile(r"\d{11,}X?")
    leaks = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            for column, value in zip(table.columns, row, strict=True):
                if value is None:
                    continue
                text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                for run in digits.findall(text):
                    if any(secret in run for secret in secrets):
                        leaks.append(f"{table.name}.{column.name}")
    assert leaks == []


def test_catheters_in_place_are_scheduled_from_their_history(session, dictionary, seeded):
    d = dictionary
    records: dict[int, list[MaintenanceRecord]] = {}
    for record in session.scalars(
        select(MaintenanceRecord).order_by(MaintenanceRecord.performed_at)
    ):
        records.setdefault(record.catheter_id, []).append(record)
    # a midline stays in a few weeks, a central line a month: none is in place for longer
    assert _placed_outside_their_range(session, TODAY) == []
    # removed ones too: none placed before the longest range the demo allows, none today
    longest = max(hi for _, hi in CATHETERS["placed_ago"].values())
    catheters = _catheters(session)
    assert catheters  # the checks below run over real rows
    for c in catheters:
        assert c.placed_at.tzinfo is not None
        placed_on = rules.local_date(c.placed_at, SHANGHAI)
        assert 1 <= (TODAY - placed_on).days <= longest
        assert c.dictionary_version == d.version
        assert c.tier in d.tiers and d.has_code("dressing_types", c.dressing_type)
        assert c.vein is None or d.has_code("veins", c.vein)
        history = records.get(c.id, [])
        for record in history:
            on = rules.local_date(record.performed_at, SHANGHAI)
            assert placed_on < on <= (c.removed_on or TODAY)
            assert record.flushed and record.staff_id and record.institution_id
            assert record.next_due_on == rules.next_due_on(
                d,
                c.device_type,
                on,
                dressing_type=c.dressing_type,
                port_in_use=c.port_in_use,
                custom_cycle_days=c.maintenance_cycle_days,
            )
        if history:
            assert c.last_maintained_on == rules.local_date(history[-1].performed_at, SHANGHAI)
        if c.state is not CatheterState.IN_PLACE:
            continue
        assert c.next_due_on is not None
        if (TODAY - placed_on).days >= _cycle(d, c):
            assert history, f"catheter {c.id} is past its first cycle without maintenance"
        expected = rules.next_due_on(
            d,
            c.device_type,
            c.last_maintained_on or placed_on,
            dressing_type=c.dressing_type,
            port_in_use=c.port_in_use,
            custom_cycle_days=c.maintenance_cycle_days,
        )
        assert c.next_due_on == expected
        # follow-up is its own date: a cycle of the tier from the last visit, not before today
        follow_up = rules.next_follow_up_on(d, c.tier, c.last_maintained_on or placed_on)
        assert c.next_follow_up_on == (max(follow_up, TODAY) if follow_up else None)


def test_removed_catheters_have_a_removal_with_their_dwell_days(session, dictionary, seeded):
    removals = {r.catheter_id: r for r in session.scalars(select(Removal))}
    removed = [c for c in _catheters(session) if c.state is CatheterState.REMOVED]
    assert len(removed) >= 15
    assert set(removals) == {c.id for c in removed}
    for c in removed:
        removal = removals[c.id]
        placed_on = rules.local_date(c.placed_at, SHANGHAI)
        assert c.removed_on == removal.removed_on < TODAY
        assert removal.dwell_days == rules.catheter_days(placed_on, c.removed_on, TODAY)
        assert (c.removed_on - placed_on).days <= CATHETERS["removed_dwell"][c.device_type][1]
        assert removal.reason in dictionary.codes["removal_reasons"]
    reasons = Counter(r.reason for r in removals.values())
    assert reasons["COMPLICATION"] >= 1 and reasons["END_OF_THERAPY"] >= 1
    # a patient whose earlier catheter was removed has a newer one in place
    by_patient: dict[int, list[Catheter]] = {}
    for c in _catheters(session):
        by_patient.setdefault(c.patient_id, []).append(c)
    replaced = [cs for cs in by_patient.values() if len(cs) > 1]
    assert replaced
    for cs in replaced:
        old, new = sorted(cs, key=lambda c: c.placed_at)
        assert old.state is CatheterState.REMOVED and new.state is CatheterState.IN_PLACE
        assert old.removed_on <= rules.local_date(new.placed_at, SHANGHAI)


def test_complications_and_records_from_other_hospitals(session, dictionary, seeded):
    complications = session.scalars(select(Complication)).all()
    assert len({c.type for c in complications}) >= 6
    assert {c.status for c in complications} == set(ComplicationStatus)
    assert {"PHLEBITIS", "THROMBOSIS", "CRBSI"} <= {c.type for c in complications}
    for c in complications:
        assert dictionary.has_code("complications", c.type)
        assert c.basic_info and c.brief_history and c.treatment and c.nursing_exam
        assert (c.resolved_at is not None) == (c.status is ComplicationStatus.CLOSED)
        if c.type == "PHLEBITIS":
            assert c.grade in (1, 2, 3, 4)
    steps = Counter(s.complication_id for s in session.scalars(select(ComplicationStep)))
    assert all(steps[c.id] >= 1 for c in complications)

    removal_reasons = {r.catheter_id: r.reason for r in session.scalars(select(Removal))}
    led = [c for c in complications if c.led_to_removal]
    assert any(removal_reasons.get(c.catheter_id) == "COMPLICATION" for c in led)
    assert all(c.catheter_id in removal_reasons for c in led)

    linked = session.scalars(
        select(MaintenanceRecord).where(MaintenanceRecord.complication_id.is_not(None))
    ).all()
    assert len(linked) >= 10
    assert {r.complication_id for r in linked} <= {c.id for c in complications}

    home_id = session.scalar(select(Institution.id).where(Institution.is_home))
    outside = session.scalars(
        select(MaintenanceRecord).where(MaintenanceRecord.institution_id != home_id)
    ).all()
    assert outside
    outside_staff = {
        s.id: s.institution_id
        for s in session.scalars(select(Staff).where(Staff.role == StaffRole.OUTSIDE_CLINICIAN))
    }
    assert all(outside_staff.get(r.staff_id) == r.institution_id for r in outside)

    brought_in = [c for c in _catheters(session) if c.source is PlacementSource.BROUGHT_IN]
    assert brought_in and all(c.outside_institution_name for c in brought_in)


def test_content_agreements_and_clinic_slots(session, seeded):
    articles = session.scalars(select(EducationArticle)).all()
    published = [a for a in articles if a.status is PublishStatus.PUBLISHED]
    assert len(published) >= 16 and all(a.published_at for a in published)
    assert sum(a.status is PublishStatus.DRAFT for a in articles) == 1
    assert all(len(a.body) > 300 and a.version == 1 for a in published)
    assert {a.stage for a in published} >= {
        "after_placement",
        "daily_care",
        "before_maintenance",
        "warning_signs",
        "after_removal",
    }
    versions = session.scalars(select(ArticleVersion)).all()
    assert sorted(v.article_id for v in versions) == sorted(a.id for a in articles)

    agreements = session.scalars(select(Agreement)).all()
    assert {(a.kind, a.version) for a in agreements} == {
        (AgreementKind.SERVICE, 1),
        (AgreementKind.PRIVACY, 1),
    }
    assert all(a.published_at and a.body for a in agreements)

    slots = session.scalars(select(AppointmentSlot).order_by(AppointmentSlot.starts_at)).all()
    assert slots
    for slot in slots:
        day = rules.local_date(slot.starts_at, SHANGHAI)
        assert TODAY < day <= TODAY + timedelta(days=14) and day.weekday() < 5
        assert slot.capacity == 8 and slot.ends_at > slot.starts_at
