"""programme reminder times: the day-before time and the hours-before lead are per programme

Existing programmes keep the defaults they had in code (17:00 the day before, and 2 hours before).

Revision ID: 053f71fde42c
Revises: 80f9ca4ba7c6
Create Date: 2026-12-01 01:27:30.378698
"""

from collections.abc import Sequence
from datetime import time

import sqlalchemy as sa
from alembic import op

revision: str = "053f71fde42c"
down_revision: str | None = "80f9ca4ba7c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("programme") as batch_op:
        batch_op.add_column(sa.Column("reminder_day_before_at", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("reminder_hours_before", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_programme_reminder_hours_before_positive"), "reminder_hours_before > 0"
        )
    programme = sa.table(
        "programme", sa.column("reminder_day_before_at", sa.Time()), sa.column("reminder_hours_before", sa.Integer())
    )
    op.execute(programme.update().values(reminder_day_before_at=time(17, 0), reminder_hours_before=2))


def downgrade() -> None:
    with op.batch_alter_table("programme") as batch_op:
        batch_op.drop_constraint(op.f("ck_programme_reminder_hours_before_positive"), type_="check")
        batch_op.drop_column("reminder_hours_before")
        batch_op.drop_column("reminder_day_before_at")
