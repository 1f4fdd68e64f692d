"""indexes for the dashboards: a programme's sessions in a period, and attendances by enrolment (issue 6)

mentoring_session (programme_id, planned_start_at, status): the delivery dashboard counts a programme's sessions
in a period by status; without it PostgreSQL scans every programme's sessions. session_attendee (enrolment_id):
the waitlist and delivery dashboards reach attendances through the programme's enrolments; without it every
attendance is scanned. Measured with bench/dashboards.py (bench/README.md).

Revision ID: 9b3e2c41d7a5
Revises: 4706fee441ba
Create Date: 2026-12-01 02:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9b3e2c41d7a5"
down_revision: str | None = "4706fee441ba"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mentoring_session", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mentoring_session_programme_id_planned_start_at_status",
            ["programme_id", "planned_start_at", "status"],
            unique=False,
        )
    with op.batch_alter_table("session_attendee", schema=None) as batch_op:
        batch_op.create_index("ix_session_attendee_enrolment_id", ["enrolment_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("session_attendee", schema=None) as batch_op:
        batch_op.drop_index("ix_session_attendee_enrolment_id")
    with op.batch_alter_table("mentoring_session", schema=None) as batch_op:
        batch_op.drop_index("ix_mentoring_session_programme_id_planned_start_at_status")
