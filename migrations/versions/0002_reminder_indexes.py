"""reminders: a partial index over the pending ones instead of two full indexes

The unique key (catheter_id, due_on, channel, kind) already serves lookups by catheter, and an
index on a five-valued status column is rewritten on every status change; the sweep writes a
hundred thousand reminders at once (issue 6 bench: about 1 s of a 10 s budget).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_catheter_id")
        batch_op.drop_index("ix_reminders_status")
        batch_op.create_index(
            "ix_reminders_pending", ["id"], postgresql_where=PENDING, sqlite_where=PENDING
        )


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_reminders_pending")
        batch_op.create_index("ix_reminders_status", ["status"], unique=False)
        batch_op.create_index("ix_reminders_catheter_id", ["catheter_id"], unique=False)
