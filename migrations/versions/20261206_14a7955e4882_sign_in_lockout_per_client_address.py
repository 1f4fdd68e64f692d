"""sign-in lock-out per email and client address: a stranger can lock out only their own address (issue 13)

sign_in_source holds, per email address tried and client address (both as keyed hashes), the wrong passwords in
a row from there, the lock they caused and the last successful sign-in from there. app_user.failed_sign_ins and
app_user.locked_until go: a lock no longer belongs to the whole account. Locks in force at the upgrade are not
carried over (they held the owner out too, and end within SIGN_IN_LOCKOUT_MINUTES anyway). A downgrade carries
the latest lock of each account back to app_user.locked_until, where the older code reads it.

Revision ID: 14a7955e4882
Revises: c5d8e2a91f37
Create Date: 2026-12-06 03:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "14a7955e4882"
down_revision: str | None = "c5d8e2a91f37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_source",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email_key", sa.String(length=64), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("failed_sign_ins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("failed_sign_ins >= 0", name=op.f("ck_sign_in_source_failed_sign_ins_not_negative")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_sign_in_source_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_source")),
        sa.UniqueConstraint("email_key", "client_key", name="uq_sign_in_source_email_key_client_key"),
    )
    op.create_index(op.f("ix_sign_in_source_user_id"), "sign_in_source", ["user_id"], unique=False)
    op.create_index(op.f("ix_sign_in_source_last_attempt_at"), "sign_in_source", ["last_attempt_at"], unique=False)
    # Not in a batch: batch mode on SQLite would recreate app_user, which fails once rows reference it. SQLite
    # (3.35 and later) and PostgreSQL both drop a column that is in no index or constraint in place.
    op.drop_column("app_user", "locked_until")
    op.drop_column("app_user", "failed_sign_ins")


def downgrade() -> None:
    # Plain added columns (a literal server default, no constraint), so SQLite adds them in place instead of
    # recreating app_user, which most tables reference.
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE app_user SET locked_until = (SELECT max(sign_in_source.locked_until) FROM sign_in_source "
        "WHERE sign_in_source.user_id = app_user.id)"
    )
    op.drop_index(op.f("ix_sign_in_source_last_attempt_at"), table_name="sign_in_source")
    op.drop_index(op.f("ix_sign_in_source_user_id"), table_name="sign_in_source")
    op.drop_table("sign_in_source")
