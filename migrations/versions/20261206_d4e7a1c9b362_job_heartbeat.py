"""job heartbeat: the scheduler records each job's latest runs, so a stuck scheduler is noticed (issue: probes)

job_heartbeat holds one row per scheduler job: when its last run started, succeeded and failed, how long it took,
the class name of its last error (never a message: no personal data) and which process ran it. /readyz, /metrics
and `python -m scheduling --check` read it.

Revision ID: d4e7a1c9b362
Revises: d41c7a9e2b65
Create Date: 2026-12-06 14:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4e7a1c9b362"
down_revision: str | None = "d41c7a9e2b65"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_heartbeat",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=120), nullable=True),
        sa.Column("process", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_job_heartbeat")),
    )


def downgrade() -> None:
    op.drop_table("job_heartbeat")
