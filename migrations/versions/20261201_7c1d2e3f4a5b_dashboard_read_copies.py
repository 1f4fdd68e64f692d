"""dashboard read copies: attendances and scores carry what the dashboards filter and count on

session_attendee gains copies of its session's status and planned start, and whether that start falls in the
evening or at the weekend in the programme's time zone; check_in_score gains its check-in's child, instrument and
completion time. Each gets an index the dashboards read a whole programme's figures from (index-only on
PostgreSQL), replacing session_attendee (enrolment_id). Without them a programme's ~67,000 attendances and ~6,700
check-ins cost one random page read each at national scale (bench/README.md).

Existing rows are filled from their session (and programme) or check-in: in SQL on PostgreSQL, in Python on
SQLite (which has no time zones).

Revision ID: 7c1d2e3f4a5b
Revises: 1ad0d70a6297
Create Date: 2026-12-01 03:50:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "7c1d2e3f4a5b"
down_revision: str | None = "1ad0d70a6297"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As api/sessions/rules.py had them when this migration was written (a migration never imports the app).
EVENING_STARTS = time(17, 0)
SESSION_STATUSES = (
    "planned",
    "completed",
    "did_not_attend",
    "cancelled_by_child",
    "cancelled_by_mentor",
    "rescheduled",
)


def upgrade() -> None:
    with op.batch_alter_table("session_attendee") as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("planned_start_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("starts_in_evening", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("starts_at_weekend", sa.Boolean(), nullable=True))
    with op.batch_alter_table("check_in_score") as batch_op:
        batch_op.add_column(sa.Column("child_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("instrument_key", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        _fill_in_sql()
    else:
        _fill_in_python()

    with op.batch_alter_table("session_attendee") as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("planned_start_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column("starts_in_evening", existing_type=sa.Boolean(), nullable=False)
        batch_op.alter_column("starts_at_weekend", existing_type=sa.Boolean(), nullable=False)
        batch_op.create_check_constraint(
            op.f("ck_session_attendee_session_status"),
            "status IN (" + ", ".join(f"'{status}'" for status in SESSION_STATUSES) + ")",
        )
        batch_op.drop_index("ix_session_attendee_enrolment_id")
        batch_op.create_index(
            "ix_session_attendee_enrolment_id_planned_start_at",
            ["enrolment_id", "planned_start_at"],
            unique=False,
            postgresql_include=["status", "session_id", "starts_in_evening", "starts_at_weekend"],
        )
    with op.batch_alter_table("check_in_score") as batch_op:
        batch_op.alter_column("child_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column("instrument_key", existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column("completed_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_foreign_key(op.f("fk_check_in_score_child_id_child"), "child", ["child_id"], ["id"])
        batch_op.create_index(
            "ix_check_in_score_child_id_kind_measure_completed_at",
            ["child_id", "kind", "instrument_key", "measure", "completed_at"],
            unique=False,
            postgresql_include=["value"],
        )


def _fill_in_sql() -> None:
    op.execute(
        f"""UPDATE session_attendee AS a SET status = s.status, planned_start_at = s.planned_start_at,
                starts_in_evening = (s.planned_start_at AT TIME ZONE p.time_zone)::time >= '{EVENING_STARTS}',
                starts_at_weekend = extract(isodow FROM s.planned_start_at AT TIME ZONE p.time_zone) >= 6
            FROM mentoring_session AS s JOIN programme AS p ON p.id = s.programme_id
            WHERE s.id = a.session_id"""
    )
    op.execute(
        """UPDATE check_in_score AS score SET child_id = c.child_id, instrument_key = c.instrument_key,
                completed_at = c.completed_at
            FROM check_in AS c WHERE c.id = score.check_in_id"""
    )


def _fill_in_python() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            """SELECT a.id, s.status, s.planned_start_at, p.time_zone FROM session_attendee a
                JOIN mentoring_session s ON s.id = a.session_id JOIN programme p ON p.id = s.programme_id"""
        )
    ).all()
    for attendee_id, status, planned_start_at, time_zone in rows:
        start = planned_start_at if isinstance(planned_start_at, datetime) else datetime.fromisoformat(planned_start_at)
        local = (start if start.tzinfo else start.replace(tzinfo=UTC)).astimezone(ZoneInfo(time_zone))
        connection.execute(
            sa.text(
                """UPDATE session_attendee SET status = :status, planned_start_at = :start,
                    starts_in_evening = :evening, starts_at_weekend = :weekend WHERE id = :id"""
            ),
            {
                "status": status,
                "start": planned_start_at,
                "evening": local.time() >= EVENING_STARTS,
                "weekend": local.isoweekday() >= 6,
                "id": attendee_id,
            },
        )
    op.execute(
        """UPDATE check_in_score SET
            child_id = (SELECT child_id FROM check_in WHERE check_in.id = check_in_score.check_in_id),
            instrument_key = (SELECT instrument_key FROM check_in WHERE check_in.id = check_in_score.check_in_id),
            completed_at = (SELECT completed_at FROM check_in WHERE check_in.id = check_in_score.check_in_id)"""
    )


def downgrade() -> None:
    with op.batch_alter_table("check_in_score") as batch_op:
        batch_op.drop_index("ix_check_in_score_child_id_kind_measure_completed_at")
        batch_op.drop_constraint(op.f("fk_check_in_score_child_id_child"), type_="foreignkey")
        batch_op.drop_column("completed_at")
        batch_op.drop_column("instrument_key")
        batch_op.drop_column("child_id")
    with op.batch_alter_table("session_attendee") as batch_op:
        batch_op.drop_index("ix_session_attendee_enrolment_id_planned_start_at")
        batch_op.create_index("ix_session_attendee_enrolment_id", ["enrolment_id"], unique=False)
        batch_op.drop_constraint(op.f("ck_session_attendee_session_status"), type_="check")
        batch_op.drop_column("starts_at_weekend")
        batch_op.drop_column("starts_in_evening")
        batch_op.drop_column("planned_start_at")
        batch_op.drop_column("status")
