"""reminder sweep: a watermark of how far ahead it has looked, and notes of what changed who is reminded (issue 20)

reminder_sweep holds one row: every planned session starting up to covered_until has had its reminders queued, so
each sweep reads only the sessions entering its horizon since. reminder_recheck holds a note for each change to who
is reminded that the session's own writes do not re-sync (a consent, a number, a mentor's mobile or activity, a
programme's reminder times), read and deleted by the next sweep. mentoring_session gains an index on its start time
for the sweep's range read. docs/decisions.md, "The reminder sweep follows what changed".

Revision ID: e8b2c4f6a1d3
Revises: d4e7a1c9b362
Create Date: 2026-12-06 17:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e8b2c4f6a1d3"
down_revision: str | None = "d4e7a1c9b362"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_sweep",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("covered_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("swept_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_reminder_sweep_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_sweep")),
    )
    op.create_table(
        "reminder_recheck",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=True),
        sa.Column("mentor_id", sa.Uuid(), nullable=True),
        sa.Column("programme_id", sa.Uuid(), nullable=True),
        sa.Column("noted_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(CASE WHEN child_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN mentor_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN programme_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_reminder_recheck_names_one_thing"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_recheck")),
    )
    op.create_index("ix_mentoring_session_planned_start_at", "mentoring_session", ["planned_start_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_mentoring_session_planned_start_at", table_name="mentoring_session")
    op.drop_table("reminder_recheck")
    op.drop_table("reminder_sweep")
