"""follow-up apart from maintenance, complications handled to the end, removal details

Follow-up (随访) and maintenance (维护) become two dates: ``next_follow_up_on`` and the custom
``maintenance_cycle_days`` are new; a tier no longer shortens the maintenance cycle. Existing
data is carried over so that no catheter's maintenance due date changes, except where a tier had
shortened it (the tier-A idle port "due" every 3 days): those go back to the device rule.

Complications get their handling timeline (step kinds, photos per step, the last step's time),
an outcome code (the old free text moves to ``outcome_note``), a responsible nurse and a
department; ``resolved`` becomes ``closed``. Removals record whether they were unplanned and
the complication they were for. ``follow_ups`` holds the check-ins.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 07:40:00
"""

import copy
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WEEKLY = 7  # the shipped follow-up cycle of tier B (常规)


def upgrade() -> None:
    with op.batch_alter_table("catheters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("maintenance_cycle_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_follow_up_on", sa.Date(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_catheters_next_follow_up_on"), ["next_follow_up_on"], unique=False
        )
    with op.batch_alter_table("complications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("outcome_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("responsible_staff_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_step_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reopened_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_complications_idempotency_key"), ["idempotency_key"]
        )
        batch_op.create_index(
            batch_op.f("ix_complications_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complications_reported_at"), ["reported_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_complications_department_id_departments"),
            "departments",
            ["department_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_complications_responsible_staff_id_staff"),
            "staff",
            ["responsible_staff_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_complications_closed_by_id_staff"), "staff", ["closed_by_id"], ["id"]
        )
    # the free-text outcome moves to outcome_note: the column becomes a code
    op.execute("UPDATE complications SET outcome_note = outcome, outcome = NULL")
    with op.batch_alter_table("complication_steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("kind", sa.String(length=24), nullable=False, server_default="NOTE")
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_complication_steps_idempotency_key"), ["idempotency_key"]
        )
    with op.batch_alter_table("complication_photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_complication_photos_step_id_complication_steps"),
            "complication_steps",
            ["step_id"],
            ["id"],
        )
    with op.batch_alter_table("removals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unplanned", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("complication_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_removals_complication_id_complications"),
            "complications",
            ["complication_id"],
            ["id"],
        )
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("catheter_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "sent",
                "answered",
                "no_answer",
                "stopped",
                name="followupstatus",
                native_enum=False,
                create_constraint=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "answers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("free_text", sa.Text(), nullable=True),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column(
            "flags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("nurse_told_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["catheter_id"], ["catheters.id"], name=op.f("fk_follow_ups_catheter_id_catheters")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_follow_ups_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("catheter_id", "due_on", name=op.f("uq_follow_ups_catheter_id_due_on")),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_catheter_id"), ["catheter_id"])
        batch_op.create_index(batch_op.f("ix_follow_ups_patient_id"), ["patient_id"])
        batch_op.create_index(batch_op.f("ix_follow_ups_due_on"), ["due_on"])
        batch_op.create_index(batch_op.f("ix_follow_ups_status"), ["status"])
    with op.batch_alter_table("complications", schema=None) as batch_op:
        batch_op.alter_column("reopened_count", server_default=None)
        batch_op.alter_column(
            "outcome", existing_type=sa.Text(), type_=sa.String(length=24), existing_nullable=True
        )
    with op.batch_alter_table("complication_steps", schema=None) as batch_op:
        batch_op.alter_column("kind", server_default=None)
    with op.batch_alter_table("removals", schema=None) as batch_op:
        batch_op.alter_column("unplanned", server_default=None)
    _carry_over(op.get_bind())


def _carry_over(conn: sa.Connection) -> None:
    """The data: outcomes, statuses, last steps, removals, tier B's weekly follow-up, the
    maintenance due dates a tier had shortened, and each catheter's next follow-up."""
    conn.execute(
        sa.text(
            "UPDATE complications SET outcome = CASE WHEN led_to_removal THEN 'REMOVED' "
            "ELSE 'RESOLVED' END, status = 'closed' WHERE status = 'resolved'"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE complications SET last_step_at = (SELECT max(s.at) FROM complication_steps s "
            "WHERE s.complication_id = complications.id)"
        )
    )
    payload, version = _dictionary(conn)
    if payload is None:
        return  # an empty database: init-db writes the shipped defaults next
    unplanned = [r["code"] for r in payload.get("removal_reasons", []) if r.get("unplanned")]
    if unplanned:
        conn.execute(
            sa.text("UPDATE removals SET unplanned = :yes WHERE reason IN :codes").bindparams(
                sa.bindparam("codes", expanding=True)
            ),
            {"yes": True, "codes": unplanned},
        )
    conn.execute(
        sa.text(
            "UPDATE removals SET complication_id = (SELECT max(c.id) FROM complications c "
            "WHERE c.catheter_id = removals.catheter_id AND c.led_to_removal = :yes) "
            "WHERE complication_id IS NULL"
        ),
        {"yes": True},
    )
    payload = _weekly_tier_b(conn, payload, version)
    _restore_maintenance_due(conn, payload)


def _dictionary(conn: sa.Connection) -> tuple[dict | None, int]:
    row = conn.execute(
        sa.text("SELECT payload, version FROM clinical_dictionaries ORDER BY version DESC LIMIT 1")
    ).first()
    if row is None:
        return None, 0
    payload = row[0]
    if isinstance(payload, str):  # SQLite's JSON comes back as text
        import json

        payload = json.loads(payload)
    return payload, row[1]


def _weekly_tier_b(conn: sa.Connection, payload: dict, version: int) -> dict:
    """Tier B (常规) follows up weekly now; a dictionary where it had no cycle of its own (the
    old shipped default) gets a new version saying so."""
    tiers = payload.get("tiers") or []
    b = next((t for t in tiers if t.get("code") == "B"), None)
    if b is None or b.get("follow_up_days") is not None:
        return payload
    payload = copy.deepcopy(payload)
    for t in payload["tiers"]:
        if t.get("code") == "B":
            t["follow_up_days"] = WEEKLY
            t["description"] = "每周随访一次（线上问询），按标准间隔维护"
    table = sa.table(
        "clinical_dictionaries",
        sa.column("version", sa.Integer),
        sa.column("payload", sa.JSON),
        sa.column("note", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    conn.execute(
        table.insert().values(
            version=version + 1,
            payload=payload,
            note="随访与维护分开：常规分级每周随访",
            created_at=datetime.now(UTC),
        )
    )
    return payload


def _restore_maintenance_due(conn: sa.Connection, payload: dict) -> None:
    """Catheters in place: the custom cycle was a maintenance cycle and stays one; a due date a
    tier shortened goes back to the device rule; the next follow-up is a cycle from the last
    time a nurse saw the patient, not before today."""
    conn.execute(
        sa.text(
            "UPDATE catheters SET maintenance_cycle_days = follow_up_cycle_days "
            "WHERE follow_up_cycle_days IS NOT NULL"
        )
    )
    intervals = {
        (r["device_type"], r["when"]): r["days"] for r in payload.get("maintenance_intervals", [])
    }
    tier_days = {t["code"]: t.get("follow_up_days") for t in payload.get("tiers", [])}
    today = date.today()
    rows = conn.execute(
        sa.text(
            "SELECT id, device_type, dressing_type, port_in_use, tier, follow_up_cycle_days, "
            "next_due_on, next_due_explicit, last_maintained_on, placed_at "
            "FROM catheters WHERE state = 'in_place'"
        )
    ).all()
    for r in rows:
        placed = (
            r.placed_at
            if isinstance(r.placed_at, datetime)
            else datetime.fromisoformat(str(r.placed_at))
        )
        last = _as_date(r.last_maintained_on) or placed.date()
        when = (
            ("PORT_IN_USE" if r.port_in_use else "PORT_IDLE")
            if r.device_type == "PORT"
            else (r.dressing_type)
        )
        device_days = intervals.get((r.device_type, when))
        tier_cycle = tier_days.get(r.tier)
        next_due = _as_date(r.next_due_on)
        values: dict = {}
        if (
            device_days
            and tier_cycle
            and tier_cycle < device_days
            and r.follow_up_cycle_days is None
            and not r.next_due_explicit
            and next_due == last + timedelta(days=tier_cycle)
        ):
            values["next_due_on"] = last + timedelta(days=device_days)
        cycle = r.follow_up_cycle_days or tier_cycle
        if cycle:
            values["next_follow_up_on"] = max(last + timedelta(days=cycle), today)
        if values:
            sets = ", ".join(f"{k} = :{k}" for k in values)
            conn.execute(
                sa.text(f"UPDATE catheters SET {sets} WHERE id = :id"), {**values, "id": r.id}
            )


def _as_date(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value  # type: ignore[return-value]
    return date.fromisoformat(str(value)[:10])


def downgrade() -> None:
    op.drop_table("follow_ups")
    with op.batch_alter_table("removals", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_removals_complication_id_complications"), type_="foreignkey"
        )
        batch_op.drop_column("complication_id")
        batch_op.drop_column("unplanned")
    with op.batch_alter_table("complication_photos", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_complication_photos_step_id_complication_steps"), type_="foreignkey"
        )
        batch_op.drop_column("step_id")
    with op.batch_alter_table("complication_steps", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_complication_steps_idempotency_key"), type_="unique"
        )
        batch_op.drop_column("kind")
        batch_op.drop_column("idempotency_key")
    op.execute(
        "UPDATE complications SET status = 'resolved', outcome = NULL WHERE status = 'closed'"
    )
    with op.batch_alter_table("complications", schema=None) as batch_op:
        batch_op.alter_column(
            "outcome", existing_type=sa.String(length=24), type_=sa.Text(), existing_nullable=True
        )
    op.execute("UPDATE complications SET outcome = outcome_note")
    with op.batch_alter_table("complications", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_complications_closed_by_id_staff"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_complications_responsible_staff_id_staff"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_complications_department_id_departments"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_complications_reported_at"))
        batch_op.drop_index(batch_op.f("ix_complications_department_id"))
        batch_op.drop_constraint(batch_op.f("uq_complications_idempotency_key"), type_="unique")
        batch_op.drop_column("reopened_count")
        batch_op.drop_column("closed_by_id")
        batch_op.drop_column("last_step_at")
        batch_op.drop_column("responsible_staff_id")
        batch_op.drop_column("department_id")
        batch_op.drop_column("outcome_note")
        batch_op.drop_column("idempotency_key")
    with op.batch_alter_table("catheters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catheters_next_follow_up_on"))
        batch_op.drop_column("next_follow_up_on")
        batch_op.drop_column("maintenance_cycle_days")
