"""lone working: a check-in-by time for a session, the text to its mentor and the alert if they do not (issue: alerts)

lone_working_check holds one check per session: who it is for, when they must check in by (UTC), when it was
closed and how ("I'm safe", or the session logged), and the marks the scheduler sets so it texts the mentor once and
raises the overdue alert once. A new table, so nothing existing changes; a downgrade drops it with its checks.

Revision ID: 5f2b8d4e7a19
Revises: 3e7a9c1d5b20
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5f2b8d4e7a19"
down_revision: str | None = "3e7a9c1d5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lone_working_check",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("mentor_id", sa.Uuid(), nullable=False),
        sa.Column("check_in_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "closed_how",
            sa.Enum(
                "safe",
                "session_logged",
                name="lone_working_closed_how",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("mentor_texted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.Column("alert_raised_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["mentoring_session.id"],
            name=op.f("fk_lone_working_check_session_id_mentoring_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_lone_working_check_programme_id_programme")
        ),
        sa.ForeignKeyConstraint(["mentor_id"], ["app_user.id"], name=op.f("fk_lone_working_check_mentor_id_app_user")),
        sa.ForeignKeyConstraint(["alert_id"], ["alert.id"], name=op.f("fk_lone_working_check_alert_id_alert")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lone_working_check")),
        sa.UniqueConstraint("session_id", name=op.f("uq_lone_working_check_session_id")),
    )
    op.create_index(
        "ix_lone_working_check_open_check_in_by",
        "lone_working_check",
        ["check_in_by"],
        unique=False,
        postgresql_where=sa.text("closed_at IS NULL"),
        sqlite_where=sa.text("closed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_lone_working_check_open_check_in_by", table_name="lone_working_check")
    op.drop_table("lone_working_check")
