"""sign-in lock-out: consecutive failed sign-ins and the time a lock ends, per user (issue 7)

app_user.failed_sign_ins counts wrong passwords since the last successful sign-in (raised by one atomic UPDATE,
so parallel guesses cannot undercount); app_user.locked_until is when a lock-out ends (null: not locked). Existing
users start unlocked with no failures.

Revision ID: 1ad0d70a6297
Revises: 9b3e2c41d7a5
Create Date: 2026-12-01 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1ad0d70a6297"
down_revision: str | None = "9b3e2c41d7a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain added columns (a literal server default, no constraint), so SQLite adds them in place instead of
    # recreating app_user, which most tables reference.
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Not in a batch: batch mode on SQLite would recreate app_user, which fails once rows reference it. SQLite
    # (3.35 and later) and PostgreSQL both drop a column that is in no index or constraint in place.
    op.drop_column("app_user", "locked_until")
    op.drop_column("app_user", "failed_sign_ins")
