"""SMS: status callbacks that arrive before their send is recorded are kept; a claim names the process that made it

sms_early_status_report keeps a signed status callback for a provider id no message carries yet, until a send is
recorded or found with that id (issue 21). outbound_message.claimed_by names the process that claimed a message,
so a scheduler that takes the lock reconciles every other process's claims at once. Both start empty.

Revision ID: 3e7a9c1d5b20
Revises: b85101d679f6
Create Date: 2026-12-06 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3e7a9c1d5b20"
down_revision: str | None = "b85101d679f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_early_status_report",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_early_status_report")),
    )
    op.create_index("ix_sms_early_status_report_provider_id", "sms_early_status_report", ["provider_id"], unique=False)
    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.drop_column("claimed_by")
    op.drop_index("ix_sms_early_status_report_provider_id", table_name="sms_early_status_report")
    op.drop_table("sms_early_status_report")
