"""Enrolments: a queue number per cohort, given under the cohort's lock, orders places and the waitlist

The waitlist broke ties by enrolment.created_at, read from the request's clock before the cohort's lock was taken,
while places went in lock order: under a rush the positions answered disagreed with the final queue (issue 17).
queue_number is 1, 2, 3 ... per cohort in the order the lock was taken. Existing enrolments are numbered in the
order they had: by created_at, then id.

Revision ID: 6f2b9d4e8a17
Revises: 5f2b8d4e7a19
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6f2b9d4e8a17"
down_revision: str | None = "5f2b8d4e7a19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enrolment") as batch_op:
        batch_op.add_column(sa.Column("queue_number", sa.Integer(), nullable=True))
    # Window functions: PostgreSQL, and SQLite since 3.25.
    op.execute(
        """
        UPDATE enrolment SET queue_number = (
            SELECT numbered.queue_number FROM (
                SELECT id, row_number() OVER (PARTITION BY cohort_id ORDER BY created_at, id) AS queue_number
                FROM enrolment
            ) AS numbered
            WHERE numbered.id = enrolment.id
        )
        """
    )
    with op.batch_alter_table("enrolment") as batch_op:
        batch_op.alter_column("queue_number", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index("uq_enrolment_cohort_id_queue_number", ["cohort_id", "queue_number"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("enrolment") as batch_op:
        batch_op.drop_index("uq_enrolment_cohort_id_queue_number")
        batch_op.drop_column("queue_number")
