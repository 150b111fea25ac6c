"""statistics, exports and the low-code platform

Exports record their format, whether identifiers were shown in full and why, progress, the
file's hash and how far the push to the hospital's low-code platform has got; a scheduled export
has no staff. ``lowcode_batches`` holds each batch of ≤ 100 rows sent with its idempotency key
and the platform's record ids. Staff may be allowed to export identifiers in full. Indexes for
the dashboard's period filters (placement, onset, removal dates).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 19:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "lowcode_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("export_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("record_ids", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["export_id"], ["export_log.id"], name=op.f("fk_lowcode_batches_export_id_export_log")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lowcode_batches")),
        sa.UniqueConstraint("export_id", "seq", name=op.f("uq_lowcode_batches_export_id_seq")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_lowcode_batches_transaction_id")),
    )
    op.create_index(op.f("ix_lowcode_batches_export_id"), "lowcode_batches", ["export_id"])
    with op.batch_alter_table("export_log", schema=None) as batch_op:
        batch_op.alter_column("staff_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("format", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("full_identifiers", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("rows_written", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("file_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lowcode_status", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("lowcode_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("lowcode_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("lowcode_next_attempt_at", WHEN, nullable=True))
        batch_op.add_column(sa.Column("lowcode_pushed_at", WHEN, nullable=True))
        batch_op.add_column(sa.Column("started_at", WHEN, nullable=True))
        batch_op.create_index(batch_op.f("ix_export_log_lowcode_status"), ["lowcode_status"])
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "may_export_identifiers", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    # the dashboard's period filters
    op.create_index(op.f("ix_catheters_placed_at"), "catheters", ["placed_at"])
    op.create_index(op.f("ix_complications_onset_on"), "complications", ["onset_on"])
    op.create_index(op.f("ix_removals_removed_on"), "removals", ["removed_on"])
    # the maintenance on-time rate: a period's maintenance and the due dates falling in it
    # from the indexes alone (INCLUDE on PostgreSQL), the next maintenance of a catheter after
    # a given one
    op.drop_index("ix_maintenance_records_performed_at", table_name="maintenance_records")
    op.create_index(
        "ix_maintenance_records_performed_at",
        "maintenance_records",
        ["performed_at"],
        postgresql_include=["catheter_id", "next_due_on"],
    )
    op.create_index(
        "ix_maintenance_records_next_due_on",
        "maintenance_records",
        ["next_due_on"],
        postgresql_include=["catheter_id", "performed_at"],
    )
    op.create_index(
        "ix_maintenance_records_catheter_id_performed_at",
        "maintenance_records",
        ["catheter_id", "performed_at"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_maintenance_records_catheter_id_performed_at", table_name="maintenance_records"
    )
    op.drop_index("ix_maintenance_records_next_due_on", table_name="maintenance_records")
    op.drop_index("ix_maintenance_records_performed_at", table_name="maintenance_records")
    op.create_index("ix_maintenance_records_performed_at", "maintenance_records", ["performed_at"])
    op.drop_index(op.f("ix_removals_removed_on"), table_name="removals")
    op.drop_index(op.f("ix_complications_onset_on"), table_name="complications")
    op.drop_index(op.f("ix_catheters_placed_at"), table_name="catheters")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("may_export_identifiers")
    with op.batch_alter_table("export_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_log_lowcode_status"))
        for column in (
            "started_at",
            "lowcode_pushed_at",
            "lowcode_next_attempt_at",
            "lowcode_error",
            "lowcode_attempts",
            "lowcode_status",
            "file_sha256",
            "rows_written",
            "reason",
            "full_identifiers",
            "format",
        ):
            batch_op.drop_column(column)
    op.drop_index(op.f("ix_lowcode_batches_export_id"), table_name="lowcode_batches")
    op.drop_table("lowcode_batches")
