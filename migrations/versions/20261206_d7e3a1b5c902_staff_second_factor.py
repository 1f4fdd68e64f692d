"""staff second factor: TOTP enrolment, recovery codes, and sign-ins that record it

- app_user.mfa_seed: the random seed the user's TOTP secret is derived from (with a key the database does not
  hold); mfa_enrolled_at: when the user proved a code from it (then every sign-in asks for one); mfa_last_step:
  the TOTP time step of the last code accepted, so a code is never accepted twice.
- mfa_recovery_code: a user's single-use recovery codes, hashed.
- auth_session.second_factor_at: when the sign-in proved the second factor (None: a password alone). Every
  existing sign-in was made with a password alone.

Downgrade drops them: every enrolment is forgotten, and sign-ins go back to the password alone.

Revision ID: d7e3a1b5c902
Revises: 9c3d5e7f2a48
Create Date: 2026-12-06 14:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d7e3a1b5c902"
down_revision: str | None = "9c3d5e7f2a48"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.add_column(sa.Column("mfa_seed", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("mfa_enrolled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("mfa_last_step", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("auth_session") as batch_op:
        batch_op.add_column(sa.Column("second_factor_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "mfa_recovery_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_mfa_recovery_code_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_recovery_code")),
    )
    op.create_index(op.f("ix_mfa_recovery_code_user_id"), "mfa_recovery_code", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_mfa_recovery_code_user_id"), table_name="mfa_recovery_code")
    op.drop_table("mfa_recovery_code")
    with op.batch_alter_table("auth_session") as batch_op:
        batch_op.drop_column("second_factor_at")
    with op.batch_alter_table("app_user") as batch_op:
        batch_op.drop_column("mfa_last_step")
        batch_op.drop_column("mfa_enrolled_at")
        batch_op.drop_column("mfa_seed")
