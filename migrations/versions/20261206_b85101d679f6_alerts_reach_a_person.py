"""alerts reach a person: urgency, one open alert per child and kind, acknowledgement, resolution, escalation

Hand-edited after autogenerate. alert gains its urgency (from its kind), a state, a short code for SMS, a count of
occurrences, its escalation step and time, and a resolution; alert_kind's CHECK gains the new kinds (by table copy
on SQLite). Existing alerts are carried over faithfully:

- An acknowledged alert was closed by its acknowledgement (there was no resolving before): it becomes resolved,
  with the acknowledgement's note as its outcome, and keeps its acknowledgement.
- Alerts still waiting become `raised`, with no escalation step: they were raised before anyone could be texted,
  and texting old alerts now would wake a coordinator for something days old. They stay at the top of the list.
- Several alerts still waiting for one child and kind (a falling score raised one each time) become one: the
  earliest stays open with their count and the latest detail; the others are resolved as repeats of it.

outbound_message gains alert_id and urgent; programme gains alert_thresholds (null: the defaults).

Revision ID: b85101d679f6
Revises: ea4b6a8fdd95
Create Date: 2026-12-06 07:19:03.450575
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b85101d679f6"
down_revision: str | None = "ea4b6a8fdd95"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = "kind IN ('safeguarding_concern', 'wellbeing_drop')"
KINDS_AFTER = (
    "kind IN ('safeguarding_concern', 'child_missing', 'lone_working_overdue', 'wellbeing_drop', "
    "'return_conversation_due', 'disengagement', 'contact_lost', 'duty_cover_gap')"
)
PURPOSES_BEFORE = "purpose IN ('check_in_link', 'session_reminder')"
PURPOSES_AFTER = "purpose IN ('check_in_link', 'session_reminder', 'alert', 'lone_working_check')"
RECIPIENTS_BEFORE = "recipient_type IN ('child', 'carer', 'mentor')"
RECIPIENTS_AFTER = "recipient_type IN ('child', 'carer', 'mentor', 'coordinator')"
URGENCY_OF_KIND = {"safeguarding_concern": "urgent", "wellbeing_drop": "high"}
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "alert_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "event",
            _enum(
                "alert_event_kind",
                "raised",
                "repeated",
                "texted",
                "nobody_to_text",
                "escalated",
                "acknowledged",
                "resolved",
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_event_alert_id_alert"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_alert_event_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_event")),
    )
    with op.batch_alter_table("alert_event") as batch_op:
        batch_op.create_index("ix_alert_event_alert_id", ["alert_id"], unique=False)

    with op.batch_alter_table("alert") as batch_op:
        batch_op.add_column(sa.Column("urgency", _enum("alert_urgency", "urgent", "high", "normal"), nullable=True))
        batch_op.add_column(
            sa.Column("state", _enum("alert_state", "raised", "acknowledged", "resolved"), nullable=True)
        )
        batch_op.add_column(sa.Column("code", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("occurrences", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_raised_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "escalation_step",
                _enum("alert_escalation_step", "duty", "fallback", "all_coordinators", "exhausted"),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_by_user_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("resolution_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("subject", sa.JSON(), nullable=True))
        batch_op.alter_column("child_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.drop_constraint(op.f("ck_alert_alert_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_alert_kind"), sa.text(KINDS_AFTER))
        batch_op.create_foreign_key(
            batch_op.f("fk_alert_resolved_by_user_id_app_user"), "app_user", ["resolved_by_user_id"], ["id"]
        )

    _carry_over_alerts()

    with op.batch_alter_table("alert") as batch_op:
        for column in ("urgency", "state", "code", "occurrences", "last_raised_at"):
            batch_op.alter_column(column, nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_alert_code"), ["code"])
        batch_op.create_index(
            "ix_alert_escalate_at",
            ["escalate_at"],
            unique=False,
            postgresql_where=sa.text("escalate_at IS NOT NULL"),
            sqlite_where=sa.text("escalate_at IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_alert_open_child_kind",
            ["child_id", "kind"],
            unique=True,
            postgresql_where=sa.text("state != 'resolved' AND child_id IS NOT NULL"),
            sqlite_where=sa.text("state != 'resolved' AND child_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_alert_open_programme_kind",
            ["programme_id", "kind"],
            unique=True,
            postgresql_where=sa.text("state != 'resolved' AND child_id IS NULL"),
            sqlite_where=sa.text("state != 'resolved' AND child_id IS NULL"),
        )

    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.add_column(sa.Column("alert_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbound_message_alert_id_alert"), "alert", ["alert_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.drop_constraint(op.f("ck_outbound_message_message_purpose"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_message_purpose"), sa.text(PURPOSES_AFTER))
        batch_op.drop_constraint(op.f("ck_outbound_message_message_recipient_type"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_message_recipient_type"), sa.text(RECIPIENTS_AFTER))
    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.alter_column("urgent", server_default=None)
        batch_op.create_index(
            "ix_outbound_message_urgent_due",
            ["send_after"],
            unique=False,
            postgresql_where=sa.text("urgent AND state = 'queued'"),
            sqlite_where=sa.text("urgent AND state = 'queued'"),
        )

    with op.batch_alter_table("programme") as batch_op:
        batch_op.add_column(sa.Column("alert_thresholds", sa.JSON(), nullable=True))


def _carry_over_alerts() -> None:
    connection = op.get_bind()
    alert = sa.table(
        "alert",
        sa.column("id", sa.Uuid()),
        sa.column("child_id", sa.Uuid()),
        sa.column("kind", sa.String()),
        sa.column("detail", sa.Text()),
        sa.column("raised_at", sa.DateTime(timezone=True)),
        sa.column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.column("acknowledged_by_user_id", sa.Uuid()),
        sa.column("acknowledgement_note", sa.Text()),
        sa.column("urgency", sa.String()),
        sa.column("state", sa.String()),
        sa.column("code", sa.String()),
        sa.column("occurrences", sa.Integer()),
        sa.column("last_raised_at", sa.DateTime(timezone=True)),
        sa.column("resolved_at", sa.DateTime(timezone=True)),
        sa.column("resolved_by_user_id", sa.Uuid()),
        sa.column("resolution_note", sa.Text()),
    )
    rows = connection.execute(
        sa.select(alert).order_by(alert.c.child_id, alert.c.kind, alert.c.raised_at, alert.c.id)
    ).all()
    codes: set[str] = set()
    open_by_child_kind: dict[tuple[object, str], tuple[object, str]] = {}
    for row in rows:
        code = _new_code(codes)
        values: dict[str, object] = {
            "urgency": URGENCY_OF_KIND.get(row.kind, "normal"),
            "code": code,
            "occurrences": 1,
            "last_raised_at": row.raised_at,
        }
        if row.acknowledged_at is not None:
            values.update(
                state="resolved",
                resolved_at=row.acknowledged_at,
                resolved_by_user_id=row.acknowledged_by_user_id,
                resolution_note=row.acknowledgement_note,
            )
        elif (row.child_id, row.kind) in open_by_child_kind:
            kept_id, kept_code = open_by_child_kind[(row.child_id, row.kind)]
            values.update(
                state="resolved",
                resolved_at=row.raised_at,
                resolution_note=f"A repeat of alert {kept_code}, counted there when alerts became one per child "
                "and kind.",
            )
            connection.execute(
                alert.update()
                .where(alert.c.id == kept_id)
                .values(occurrences=alert.c.occurrences + 1, last_raised_at=row.raised_at, detail=row.detail)
            )
        else:
            values["state"] = "raised"
            open_by_child_kind[(row.child_id, row.kind)] = (row.id, code)
        connection.execute(alert.update().where(alert.c.id == row.id).values(**values))


def _new_code(taken: set[str]) -> str:
    while True:
        code = "A-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(5))
        if code not in taken:
            taken.add(code)
            return code


def downgrade() -> None:
    # New kinds, programme-wide alerts and the alerts' history cannot be kept by the older schema: they go. Alerts
    # resolved as repeats stay as the separate rows they were.
    connection = op.get_bind()
    staff_messages = (
        "SELECT id FROM outbound_message WHERE purpose IN ('alert', 'lone_working_check') "
        "OR recipient_type = 'coordinator'"
    )
    connection.execute(sa.text(f"DELETE FROM outbound_message_event WHERE message_id IN ({staff_messages})"))
    connection.execute(sa.text(f"DELETE FROM outbound_message WHERE id IN ({staff_messages})"))
    connection.execute(
        sa.text("DELETE FROM alert WHERE child_id IS NULL OR kind NOT IN ('safeguarding_concern', 'wellbeing_drop')")
    )
    with op.batch_alter_table("programme") as batch_op:
        batch_op.drop_column("alert_thresholds")

    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.drop_index(
            "ix_outbound_message_urgent_due",
            postgresql_where=sa.text("urgent AND state = 'queued'"),
            sqlite_where=sa.text("urgent AND state = 'queued'"),
        )
        batch_op.drop_constraint(batch_op.f("fk_outbound_message_alert_id_alert"), type_="foreignkey")
        batch_op.drop_column("urgent")
        batch_op.drop_column("alert_id")
        batch_op.drop_constraint(op.f("ck_outbound_message_message_purpose"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_message_purpose"), sa.text(PURPOSES_BEFORE))
        batch_op.drop_constraint(op.f("ck_outbound_message_message_recipient_type"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_message_recipient_type"), sa.text(RECIPIENTS_BEFORE))

    with op.batch_alter_table("alert") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alert_resolved_by_user_id_app_user"), type_="foreignkey")
        batch_op.drop_index(
            "uq_alert_open_programme_kind",
            postgresql_where=sa.text("state != 'resolved' AND child_id IS NULL"),
            sqlite_where=sa.text("state != 'resolved' AND child_id IS NULL"),
        )
        batch_op.drop_index(
            "uq_alert_open_child_kind",
            postgresql_where=sa.text("state != 'resolved' AND child_id IS NOT NULL"),
            sqlite_where=sa.text("state != 'resolved' AND child_id IS NOT NULL"),
        )
        batch_op.drop_constraint(batch_op.f("uq_alert_code"), type_="unique")
        batch_op.drop_index(
            "ix_alert_escalate_at",
            postgresql_where=sa.text("escalate_at IS NOT NULL"),
            sqlite_where=sa.text("escalate_at IS NOT NULL"),
        )
        batch_op.alter_column("child_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_constraint(op.f("ck_alert_alert_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_alert_kind"), sa.text(KINDS_BEFORE))
        for constraint in ("ck_alert_alert_urgency", "ck_alert_alert_state", "ck_alert_alert_escalation_step"):
            batch_op.drop_constraint(op.f(constraint), type_="check")
        for column in (
            "subject",
            "resolution_note",
            "resolved_by_user_id",
            "resolved_at",
            "escalate_at",
            "escalation_step",
            "last_raised_at",
            "occurrences",
            "code",
            "state",
            "urgency",
        ):
            batch_op.drop_column(column)

    with op.batch_alter_table("alert_event") as batch_op:
        batch_op.drop_index("ix_alert_event_alert_id")
    op.drop_table("alert_event")
