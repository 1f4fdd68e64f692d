"""programme session activities

Revision ID: 3284db5ab00b
Revises: 4d6eb7b101c4
Create Date: 2026-11-23 16:06:11.980136
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3284db5ab00b"
down_revision: str | None = "4d6eb7b101c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing programmes start with no activities; an admin adds theirs.
    with op.batch_alter_table("programme") as batch:
        batch.add_column(sa.Column("session_activities", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("programme") as batch:
        batch.drop_column("session_activities")
