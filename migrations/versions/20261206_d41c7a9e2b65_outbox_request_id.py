"""SMS outbox: the id of the request that queued each message

So a request can be followed by its id from the access log to the SMS it caused: the dispatcher logs the row's
request_id with the send. Nullable: messages queued by the scheduler's jobs, and every message queued before this,
have none.

Revision ID: d41c7a9e2b65
Revises: d7e3a1b5c902
Create Date: 2026-12-06 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d41c7a9e2b65"
down_revision: str | None = "d7e3a1b5c902"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch_op:
        batch_op.drop_column("request_id")
