"""duty rota: who is the duty coordinator of each programme, period by period, and who falls back (issue: alerts)

duty_shift holds one period of a programme's rota: the coordinator on duty, an optional fallback, and the UTC
instants it starts and ends. A new table, so nothing existing changes; a downgrade drops it with the rota in it.

Revision ID: ea4b6a8fdd95
Revises: 14a7955e4882
Create Date: 2026-12-06 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ea4b6a8fdd95"
down_revision: str | None = "14a7955e4882"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duty_shift",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("coordinator_user_id", sa.Uuid(), nullable=False),
        sa.Column("fallback_user_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_duty_shift_ends_after_starts")),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"], name=op.f("fk_duty_shift_programme_id_programme")),
        sa.ForeignKeyConstraint(
            ["coordinator_user_id"], ["app_user.id"], name=op.f("fk_duty_shift_coordinator_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["fallback_user_id"], ["app_user.id"], name=op.f("fk_duty_shift_fallback_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["app_user.id"], name=op.f("fk_duty_shift_created_by_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_shift")),
    )
    op.create_index("ix_duty_shift_programme_id_starts_at", "duty_shift", ["programme_id", "starts_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_duty_shift_programme_id_starts_at", table_name="duty_shift")
    op.drop_table("duty_shift")
