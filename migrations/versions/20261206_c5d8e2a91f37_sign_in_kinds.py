"""sign-in kinds: a sign-in opens either the API or only the commissioners' dashboard page (issue 13)

auth_session.kind is 'api' (access and refresh tokens) or 'dashboard_page' (the page's own short-lived cookie,
which the API refuses). Every existing sign-in was made through the API, so they all become 'api'.

Revision ID: c5d8e2a91f37
Revises: b8e4f1a2c3d4
Create Date: 2026-12-06 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c5d8e2a91f37"
down_revision: str | None = "b8e4f1a2c3d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_session") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=32), nullable=False, server_default="api"))
        batch_op.create_check_constraint(op.f("ck_auth_session_sign_in_kind"), "kind IN ('api', 'dashboard_page')")


def downgrade() -> None:
    # Page sign-ins stay, harmless: no access or refresh token was ever made for one, and the older page reads
    # its cookie as an access token, which a page sign-in's cookie is not. The retention purge removes them.
    with op.batch_alter_table("auth_session") as batch_op:
        batch_op.drop_constraint(op.f("ck_auth_session_sign_in_kind"), type_="check")
        batch_op.drop_column("kind")
