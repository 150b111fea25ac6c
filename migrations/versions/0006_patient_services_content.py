"""patient services run by the hospital's staff: institutions, articles, clinics, agreements,
patient records and accounts

Institutions say which device types they maintain and where their coordinates came from.
Articles get a lifecycle stage, a review step, read counts and every saved text as a version
(``article_versions``; existing articles become version 1), and a table of the articles sent by
themselves (``article_deliveries``). Clinics get a weekly schedule (``clinic_sessions``) and
closures (``clinic_closures``); slots can be closed; appointments record cancellation, a change,
the reminder the day before and arrived / no-show. Agreements carry a note of what changed.
Patient records can be deactivated or merged into another; accounts can be erased.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "clinic_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("service", sa.String(length=24), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.String(length=5), nullable=False),
        sa.Column("ends_at", sa.String(length=5), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_clinic_sessions_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_clinic_sessions_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_sessions")),
    )
    op.create_index(
        op.f("ix_clinic_sessions_institution_id"), "clinic_sessions", ["institution_id"]
    )
    op.create_table(
        "clinic_closures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=120), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff.id"], name=op.f("fk_clinic_closures_created_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_clinic_closures_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_closures")),
        sa.UniqueConstraint(
            "institution_id", "day", name=op.f("uq_clinic_closures_institution_id_day")
        ),
    )
    op.create_table(
        "article_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("catheter_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["patient_accounts.id"],
            name=op.f("fk_article_deliveries_account_id_patient_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["education_articles.id"],
            name=op.f("fk_article_deliveries_article_id_education_articles"),
        ),
        sa.ForeignKeyConstraint(
            ["catheter_id"],
            ["catheters.id"],
            name=op.f("fk_article_deliveries_catheter_id_catheters"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_article_deliveries_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_deliveries")),
        sa.UniqueConstraint(
            "patient_id", "article_id", name=op.f("uq_article_deliveries_patient_id_article_id")
        ),
    )
    op.create_index(op.f("ix_article_deliveries_patient_id"), "article_deliveries", ["patient_id"])
    op.create_index(op.f("ix_article_deliveries_sent_on"), "article_deliveries", ["sent_on"])
    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("summary", sa.String(length=255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("device_types", JSON, nullable=False),
        sa.Column("keywords", JSON, nullable=False),
        sa.Column("stage", sa.String(length=24), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["education_articles.id"],
            name=op.f("fk_article_versions_article_id_education_articles"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff.id"], name=op.f("fk_article_versions_created_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_versions")),
        sa.UniqueConstraint(
            "article_id", "version", name=op.f("uq_article_versions_article_id_version")
        ),
    )
    op.create_index(op.f("ix_article_versions_article_id"), "article_versions", ["article_id"])
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(length=255), nullable=True))
    with op.batch_alter_table("appointment_slots", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("closed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("closed_reason", sa.String(length=120), nullable=True))
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", WHEN, nullable=True))
        batch_op.add_column(sa.Column("marked_at", WHEN, nullable=True))
        batch_op.add_column(sa.Column("marked_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_appointments_marked_by_id_staff"), "staff", ["marked_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_appointments_replaces_id_appointments"),
            "appointments",
            ["replaces_id"],
            ["id"],
        )
    with op.batch_alter_table("education_articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("reviewed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("read_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index(batch_op.f("ix_education_articles_stage"), ["stage"])
        batch_op.create_foreign_key(
            batch_op.f("fk_education_articles_reviewed_by_id_staff"),
            "staff",
            ["reviewed_by_id"],
            ["id"],
        )
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_types", JSON, nullable=True))
        batch_op.add_column(sa.Column("coordinates_source", sa.String(length=16), nullable=True))
    with op.batch_alter_table("patient_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", WHEN, nullable=True))
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_patients_merged_into_id_patients"),
            "patients",
            ["merged_into_id"],
            ["id"],
        )

    # Existing rows: the device types an institution maintains follow from its services (a PICC
    # clinic also maintains CVCs and midlines); coordinates entered before were seeded or typed;
    # every article's text so far is its version 1.
    conn = op.get_bind()
    institutions = sa.table(
        "institutions",
        sa.column("id", sa.Integer()),
        sa.column("services", JSON),
        sa.column("device_types", JSON),
        sa.column("latitude", sa.Float()),
        sa.column("coordinates_source", sa.String()),
    )
    for row in conn.execute(
        sa.select(institutions.c.id, institutions.c.services, institutions.c.latitude)
    ):
        services = list(row.services or [])
        devices = []
        if "PICC_MAINT" in services:
            devices += ["PICC", "CVC", "MIDLINE"]
        if "PORT_MAINT" in services:
            devices.append("PORT")
        conn.execute(
            institutions.update()
            .where(institutions.c.id == row.id)
            .values(
                device_types=devices,
                coordinates_source="manual" if row.latitude is not None else None,
            )
        )
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.alter_column("device_types", existing_type=JSON, nullable=False)
    op.execute(
        "INSERT INTO article_versions (article_id, version, title, summary, body, category,"
        " device_types, keywords, stage, note, created_by_id, created_at)"
        " SELECT id, 1, title, summary, body, category, device_types, keywords, NULL,"
        " '迁移前的内容', author_id, created_at FROM education_articles"
    )


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_patients_merged_into_id_patients"), type_="foreignkey"
        )
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("active")
    with op.batch_alter_table("patient_accounts", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.drop_column("coordinates_source")
        batch_op.drop_column("device_types")
    op.execute("UPDATE education_articles SET status = 'draft' WHERE status = 'review'")
    with op.batch_alter_table("education_articles", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_education_articles_reviewed_by_id_staff"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_education_articles_stage"))
        for column in ("read_count", "reviewed_by_id", "version", "stage"):
            batch_op.drop_column(column)
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_appointments_replaces_id_appointments"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_appointments_marked_by_id_staff"), type_="foreignkey"
        )
        for column in ("marked_by_id", "marked_at", "reminded_at", "replaces_id", "cancel_reason"):
            batch_op.drop_column(column)
    with op.batch_alter_table("appointment_slots", schema=None) as batch_op:
        batch_op.drop_column("closed_reason")
        batch_op.drop_column("closed")
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_column("note")
    op.drop_index(op.f("ix_article_versions_article_id"), table_name="article_versions")
    op.drop_table("article_versions")
    op.drop_index(op.f("ix_article_deliveries_sent_on"), table_name="article_deliveries")
    op.drop_index(op.f("ix_article_deliveries_patient_id"), table_name="article_deliveries")
    op.drop_table("article_deliveries")
    op.drop_table("clinic_closures")
    op.drop_index(op.f("ix_clinic_sessions_institution_id"), table_name="clinic_sessions")
    op.drop_table("clinic_sessions")
