"""consultations in WeChat Work group chats, their media and notes, the consultation roster

A consultation now goes requested → open → concluded → closed; the group chat it was opened in,
the attempts to open it and the last failure, who closed it and when, the 48-hour reminder.
Media (photos, voice, video, files) and notes (advice, conclusion) get tables of their own, as
does the roster of on-duty consultants (``consultant_duties``). Existing rows: a consultation
still "open" without a group chat becomes "requested"; an "expert" member becomes a
"consultant"; a concluded one (conclusion recorded) becomes "concluded".

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 11:50:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consultant_duties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("weekdays", JSON, nullable=False),
        sa.Column("starts_at", sa.String(length=5), nullable=False),
        sa.Column("ends_at", sa.String(length=5), nullable=False),
        sa.Column("note", sa.String(length=120), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_consultant_duties_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultant_duties")),
    )
    op.create_index(
        op.f("ix_consultant_duties_staff_id"), "consultant_duties", ["staff_id"], unique=False
    )
    op.create_table(
        "consultation_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("posted_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_media_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["staff.id"],
            name=op.f("fk_consultation_media_uploaded_by_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_media")),
        sa.UniqueConstraint(
            "consultation_id", "sha256", name=op.f("uq_consultation_media_consultation_id_sha256")
        ),
    )
    op.create_index(
        op.f("ix_consultation_media_consultation_id"),
        "consultation_media",
        ["consultation_id"],
        unique=False,
    )
    op.create_table(
        "consultation_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consultation_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("posted_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name=op.f("fk_consultation_notes_consultation_id_consultations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_consultation_notes_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consultation_notes")),
    )
    op.create_index(
        op.f("ix_consultation_notes_consultation_id"),
        "consultation_notes",
        ["consultation_id"],
        unique=False,
    )
    with op.batch_alter_table("consultation_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("added_at", WHEN, nullable=False, server_default=sa.func.current_timestamp())
        )
        batch_op.add_column(
            sa.Column("in_chat", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("request_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("requested_consultant_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chat_name", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("chat_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("chat_error", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("opened_at", WHEN, nullable=True))
        batch_op.add_column(sa.Column("closed_at", WHEN, nullable=True))
        batch_op.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", WHEN, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_consultations_requested_by_id"), ["requested_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_consultations_status"), ["status"], unique=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_consultations_request_key"), ["request_key"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_consultations_requested_consultant_id_staff"),
            "staff",
            ["requested_consultant_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_consultations_closed_by_id_staff"), "staff", ["closed_by_id"], ["id"]
        )

    # existing rows in the new statuses
    op.execute(
        "UPDATE consultations SET status = 'concluded' "
        "WHERE status = 'open' AND conclusion IS NOT NULL"
    )
    op.execute(
        "UPDATE consultations SET status = 'requested' WHERE status = 'open' AND chat_id IS NULL"
    )
    op.execute("UPDATE consultations SET opened_at = created_at WHERE chat_id IS NOT NULL")
    op.execute("UPDATE consultations SET closed_at = updated_at WHERE status = 'closed'")
    op.execute("UPDATE consultation_members SET role = 'consultant' WHERE role = 'expert'")


def downgrade() -> None:
    op.execute("UPDATE consultation_members SET role = 'expert' WHERE role = 'consultant'")
    op.execute(
        "UPDATE consultations SET status = 'open' WHERE status IN ('requested', 'concluded')"
    )
    with op.batch_alter_table("consultations", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_consultations_closed_by_id_staff"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_consultations_requested_consultant_id_staff"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_consultations_request_key"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_consultations_status"))
        batch_op.drop_index(batch_op.f("ix_consultations_requested_by_id"))
        for column in (
            "reminded_at",
            "closed_by_id",
            "closed_at",
            "opened_at",
            "chat_error",
            "chat_attempts",
            "chat_name",
            "requested_consultant_id",
            "request_key",
            "urgent",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("consultation_members", schema=None) as batch_op:
        batch_op.drop_column("in_chat")
        batch_op.drop_column("added_at")
    op.drop_index(op.f("ix_consultation_notes_consultation_id"), table_name="consultation_notes")
    op.drop_table("consultation_notes")
    op.drop_index(op.f("ix_consultation_media_consultation_id"), table_name="consultation_media")
    op.drop_table("consultation_media")
    op.drop_index(op.f("ix_consultant_duties_staff_id"), table_name="consultant_duties")
    op.drop_table("consultant_duties")
