"""reports read by OCR: attempts, what to retake, conclusion, LIS accession, item codes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 04:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ocr_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("ocr_problem", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("conclusion", sa.Text(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_reports_source_external_id"), ["source", "external_id"]
        )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.alter_column("ocr_attempts", server_default=None)
    with op.batch_alter_table("report_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_items", schema=None) as batch_op:
        batch_op.drop_column("code")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_reports_source_external_id"), type_="unique")
        batch_op.drop_column("conclusion")
        batch_op.drop_column("external_id")
        batch_op.drop_column("ocr_problem")
        batch_op.drop_column("ocr_attempts")
