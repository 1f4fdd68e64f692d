"""session register: each child's line at a session says whether they came (issue 17, item 1)

session_attendee gains `attendance` (booked, attended, did_not_attend, cancelled_by_child, cancelled_by_service)
and the times a child arrived and left. Until now a child's row only copied its session's status, so a group
session logged completed counted every child booked as having attended; every count of attendance now reads
`attendance`. The status copy stays: the dashboards still count sessions by what happened to them. The dashboards'
index includes `attendance` as well, so their counts stay index-only on PostgreSQL.

Existing rows are mapped from their status copy: planned -> booked; completed -> attended; did_not_attend ->
did_not_attend; cancelled_by_child -> cancelled_by_child; cancelled_by_mentor -> cancelled_by_service;
rescheduled -> cancelled_by_service (the session moved: it never happened as planned; its replacement has its own
rows). A group session logged completed before this migration counted every child as attended, and who really came
was never recorded: its children become `attended`, as recorded at the time, so figures already reported do not
change. That old data overcounts and cannot be corrected here; a mentor may still correct such a session's register
(PUT /sessions/{id}/register), which is open on a completed session.

Downgrade drops the register (the status copy was kept in step throughout, so nothing else is lost).

Revision ID: 8a4c2e6f1b37
Revises: 6f2b9d4e8a17
Create Date: 2026-12-06 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a4c2e6f1b37"
down_revision: str | None = "6f2b9d4e8a17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As api/sessions/register_rules.py had them when this migration was written (a migration never imports the app).
ATTENDANCES = ("booked", "attended", "did_not_attend", "cancelled_by_child", "cancelled_by_service")
ATTENDANCE_OF_STATUS = {
    "planned": "booked",
    "completed": "attended",
    "did_not_attend": "did_not_attend",
    "cancelled_by_child": "cancelled_by_child",
    "cancelled_by_mentor": "cancelled_by_service",
    "rescheduled": "cancelled_by_service",
}


def upgrade() -> None:
    with op.batch_alter_table("session_attendee") as batch_op:
        batch_op.add_column(sa.Column("attendance", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))
    mapping = " ".join(f"WHEN '{status}' THEN '{line}'" for status, line in ATTENDANCE_OF_STATUS.items())
    op.execute(f"UPDATE session_attendee SET attendance = CASE status {mapping} END")
    with op.batch_alter_table("session_attendee") as batch_op:
        batch_op.alter_column("attendance", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_session_attendee_session_attendance"),
            "attendance IN (" + ", ".join(f"'{line}'" for line in ATTENDANCES) + ")",
        )
        batch_op.drop_index("ix_session_attendee_enrolment_id_planned_start_at")
        batch_op.create_index(
            "ix_session_attendee_enrolment_id_planned_start_at",
            ["enrolment_id", "planned_start_at"],
            unique=False,
            postgresql_include=["status", "attendance", "session_id", "starts_in_evening", "starts_at_weekend"],
        )


def downgrade() -> None:
    with op.batch_alter_table("session_attendee") as batch_op:
        batch_op.drop_index("ix_session_attendee_enrolment_id_planned_start_at")
        batch_op.create_index(
            "ix_session_attendee_enrolment_id_planned_start_at",
            ["enrolment_id", "planned_start_at"],
            unique=False,
            postgresql_include=["status", "session_id", "starts_in_evening", "starts_at_weekend"],
        )
        batch_op.drop_constraint(op.f("ck_session_attendee_session_attendance"), type_="check")
        batch_op.drop_column("left_at")
        batch_op.drop_column("arrived_at")
        batch_op.drop_column("attendance")
