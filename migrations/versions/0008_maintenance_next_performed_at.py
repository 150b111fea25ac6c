"""maintenance records know when the next maintenance was done

``maintenance_records.next_performed_at``: when the catheter's first maintenance after this one
was done, kept by the application at every flush (bot.models.links), filled here for the records
already there. The due-date index carries it (PostgreSQL: INCLUDE), so the on-time rate reads a
period's due dates and whether they were met from the index alone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 00:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# the first maintenance of the same catheter strictly after each record (peers are not "next")
BACKFILL = """
UPDATE maintenance_records SET next_performed_at = linked.next_at
FROM (
    SELECT id, min(performed_at) OVER (
        PARTITION BY catheter_id ORDER BY performed_at
        GROUPS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING
    ) AS next_at
    FROM maintenance_records
) AS linked
WHERE maintenance_records.id = linked.id AND linked.next_at IS NOT NULL
"""


def upgrade() -> None:
    with op.batch_alter_table("maintenance_records", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_performed_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute(BACKFILL)
    op.drop_index("ix_maintenance_records_next_due_on", table_name="maintenance_records")
    op.create_index(
        "ix_maintenance_records_next_due_on",
        "maintenance_records",
        ["next_due_on"],
        postgresql_include=["catheter_id", "next_performed_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_maintenance_records_next_due_on", table_name="maintenance_records")
    op.create_index(
        "ix_maintenance_records_next_due_on",
        "maintenance_records",
        ["next_due_on"],
        postgresql_include=["catheter_id", "performed_at"],
    )
    with op.batch_alter_table("maintenance_records", schema=None) as batch_op:
        batch_op.drop_column("next_performed_at")
