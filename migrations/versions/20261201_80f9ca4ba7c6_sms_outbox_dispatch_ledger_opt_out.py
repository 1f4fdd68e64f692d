"""sms outbox: dispatch state, ledger, opt-out and blocked numbers

Hand-edited after autogenerate: the purpose and state CHECK constraints gain their new values (by table copy
on SQLite); existing messages (check-in links) get recipient "child", no attempts, and updated_at = created_at;
a consent recorded from an SMS reply has no member of staff.

Revision ID: 80f9ca4ba7c6
Revises: 1aa444a36779
Create Date: 2026-12-01 00:56:08.097444
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "80f9ca4ba7c6"
down_revision: str | None = "1aa444a36779"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PURPOSES_BEFORE = "purpose IN ('check_in_link')"
PURPOSES_AFTER = "purpose IN ('check_in_link', 'session_reminder')"
STATES_BEFORE = "state IN ('queued')"
STATES_AFTER = (
    "state IN ('queued', 'sending', 'unknown', 'sent', 'delivered', 'undelivered', 'failed', 'dropped', 'cancelled')"
)


def upgrade() -> None:
    op.create_table(
        "outbound_message_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "sending",
                "unknown",
                "sent",
                "delivered",
                "undelivered",
                "failed",
                "dropped",
                "cancelled",
                name="message_event_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbound_message.id"],
            name=op.f("fk_outbound_message_event_message_id_outbound_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_message_event")),
    )
    op.create_index("ix_outbound_message_event_message_id", "outbound_message_event", ["message_id"], unique=False)

    with op.batch_alter_table("contact_consent") as batch_op:
        batch_op.alter_column("recorded_by_user_id", existing_type=sa.Uuid(), nullable=True)

    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.add_column(
            sa.Column(
                "recipient_type",
                sa.Enum(
                    "child", "carer", "mentor",
                    name="message_recipient_type", native_enum=False, create_constraint=True, length=32,
                ),
                nullable=False,
                server_default="child",
            )
        )  # fmt: skip
        batch_op.add_column(sa.Column("session_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("recipient_user_id", sa.Uuid(), nullable=True))
        batch_op.alter_column("phone_number_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.add_column(sa.Column("state_reason", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("claim_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("provider_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("provider_status", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("error_code", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("body_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column(
            "dedupe_key", existing_type=sa.String(length=120), type_=sa.String(length=200), existing_nullable=False
        )
        batch_op.create_index(
            "ix_outbound_message_session_id_pending",
            ["session_id"],
            unique=False,
            postgresql_where=sa.text("session_id IS NOT NULL"),
            sqlite_where=sa.text("session_id IS NOT NULL"),
        )
        batch_op.create_unique_constraint(batch_op.f("uq_outbound_message_provider_id"), ["provider_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_outbound_message_recipient_user_id_app_user"), "app_user", ["recipient_user_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbound_message_session_id_mentoring_session"),
            "mentoring_session",
            ["session_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_constraint(op.f("ck_outbound_message_message_purpose"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_message_purpose"), sa.text(PURPOSES_AFTER))
        batch_op.drop_constraint(op.f("ck_outbound_message_message_state"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_message_state"), sa.text(STATES_AFTER))
    op.execute("UPDATE outbound_message SET updated_at = created_at")
    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(timezone=True), nullable=False)

    with op.batch_alter_table("phone_number") as batch_op:
        batch_op.add_column(sa.Column("sms_blocked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("sms_blocked_reason", sa.String(length=200), nullable=True))

    with op.batch_alter_table("app_user") as batch_op:
        batch_op.add_column(sa.Column("mobile_e164", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.drop_column("mobile_e164")

    with op.batch_alter_table("phone_number") as batch_op:
        batch_op.drop_column("sms_blocked_reason")
        batch_op.drop_column("sms_blocked_at")

    # Messages of the newer kinds and states cannot be kept in the older shape.
    op.execute("DELETE FROM outbound_message_event")
    op.execute(
        "DELETE FROM outbound_message WHERE purpose <> 'check_in_link' OR state <> 'queued' OR phone_number_id IS NULL"
    )
    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.drop_constraint(op.f("ck_outbound_message_message_state"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_message_state"), sa.text(STATES_BEFORE))
        batch_op.drop_constraint(op.f("ck_outbound_message_message_purpose"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbound_message_message_purpose"), sa.text(PURPOSES_BEFORE))
        batch_op.drop_constraint(op.f("ck_outbound_message_message_recipient_type"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_outbound_message_session_id_mentoring_session"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_outbound_message_recipient_user_id_app_user"), type_="foreignkey")
        batch_op.alter_column("phone_number_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_constraint(batch_op.f("uq_outbound_message_provider_id"), type_="unique")
        batch_op.drop_index("ix_outbound_message_session_id_pending")
        batch_op.alter_column(
            "dedupe_key", existing_type=sa.String(length=200), type_=sa.String(length=120), existing_nullable=False
        )
        for column in (
            "updated_at", "sent_at", "attempted_at", "body_digest", "error_code", "provider_status", "provider_id",
            "claimed_at", "claim_id", "attempts", "state_reason", "session_id", "recipient_user_id", "recipient_type",
        ):  # fmt: skip
            batch_op.drop_column(column)

    op.execute("DELETE FROM contact_consent WHERE recorded_by_user_id IS NULL")
    with op.batch_alter_table("contact_consent") as batch_op:
        batch_op.alter_column("recorded_by_user_id", existing_type=sa.Uuid(), nullable=False)

    op.drop_index("ix_outbound_message_event_message_id", table_name="outbound_message_event")
    op.drop_table("outbound_message_event")
