"""group series: a run of group sessions with a roster; group-only cohorts; carers at a session (issue 17, item 2)

- group_series: a named run of group sessions in a programme, with a capacity (children on the roster at any one
  time), the number of sessions a child must attend to complete it (K of N), a lead facilitator and an optional
  second one.
- series_member: the roster. A child joins through the enrolment holding their place; leaving sets left_at and
  keeps the row. One current row per series and child (a partial unique index).
- mentoring_session.series_id: a group session that belongs to a series.
- cohort.kind: one_to_one (every existing cohort) or group_only (its own places; its children attend group sessions
  only).
- session_carer: a parent or carer who came to a session, with how they are related and, optionally, the child on
  the register they came for. No name is kept.

Downgrade drops the series, their rosters and the carers recorded, and the cohorts' kind (group-only cohorts become
ordinary cohorts). The group sessions stay, as group sessions with no series.

Revision ID: 9c3d5e7f2a48
Revises: 8a4c2e6f1b37
Create Date: 2026-12-06 10:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c3d5e7f2a48"
down_revision: str | None = "8a4c2e6f1b37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As api/programmes/rules.py had them when this migration was written (a migration never imports the app).
COHORT_KINDS = ("one_to_one", "group_only")


def upgrade() -> None:
    op.create_table(
        "group_series",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("programme_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("complete_after_sessions", sa.Integer(), nullable=False),
        sa.Column("lead_facilitator_id", sa.Uuid(), nullable=False),
        sa.Column("co_facilitator_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_user_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_group_series_capacity_positive")),
        sa.CheckConstraint(
            "co_facilitator_id IS NULL OR co_facilitator_id <> lead_facilitator_id",
            name=op.f("ck_group_series_two_different_facilitators"),
        ),
        sa.CheckConstraint(
            "complete_after_sessions > 0", name=op.f("ck_group_series_complete_after_sessions_positive")
        ),
        sa.ForeignKeyConstraint(
            ["co_facilitator_id"], ["app_user.id"], name=op.f("fk_group_series_co_facilitator_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"], ["app_user.id"], name=op.f("fk_group_series_created_by_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["lead_facilitator_id"], ["app_user.id"], name=op.f("fk_group_series_lead_facilitator_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_group_series_programme_id_programme")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_user_id"], ["app_user.id"], name=op.f("fk_group_series_updated_by_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_series")),
        sa.UniqueConstraint("programme_id", "name", name="uq_group_series_programme_id_name"),
    )
    op.create_index("ix_group_series_co_facilitator_id", "group_series", ["co_facilitator_id"], unique=False)
    op.create_index("ix_group_series_lead_facilitator_id", "group_series", ["lead_facilitator_id"], unique=False)
    op.create_table(
        "series_member",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("series_id", sa.Uuid(), nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("joined_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_by_user_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["child_id"], ["child.id"], name=op.f("fk_series_member_child_id_child")),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolment.id"], name=op.f("fk_series_member_enrolment_id_enrolment")
        ),
        sa.ForeignKeyConstraint(
            ["joined_by_user_id"], ["app_user.id"], name=op.f("fk_series_member_joined_by_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["left_by_user_id"], ["app_user.id"], name=op.f("fk_series_member_left_by_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["series_id"], ["group_series.id"], name=op.f("fk_series_member_series_id_group_series")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series_member")),
    )
    op.create_index("ix_series_member_child_id", "series_member", ["child_id"], unique=False)
    op.create_index("ix_series_member_enrolment_id", "series_member", ["enrolment_id"], unique=False)
    op.create_index(
        "uq_series_member_series_id_child_id_current",
        "series_member",
        ["series_id", "child_id"],
        unique=True,
        postgresql_where=sa.text("left_at IS NULL"),
        sqlite_where=sa.text("left_at IS NULL"),
    )
    op.create_table(
        "session_carer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column(
            "relationship",
            sa.Enum(
                "parent",
                "foster_carer",
                "kinship_carer",
                "other_carer",
                name="session_carer_relationship",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("child_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["child_id"], ["child.id"], name=op.f("fk_session_carer_child_id_child")),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"], ["app_user.id"], name=op.f("fk_session_carer_recorded_by_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["mentoring_session.id"],
            name=op.f("fk_session_carer_session_id_mentoring_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_carer")),
    )
    op.create_index("ix_session_carer_session_id", "session_carer", ["session_id"], unique=False)
    with op.batch_alter_table("cohort") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=32), nullable=False, server_default="one_to_one"))
        batch_op.create_check_constraint(
            op.f("ck_cohort_cohort_kind"), "kind IN (" + ", ".join(f"'{kind}'" for kind in COHORT_KINDS) + ")"
        )
    with op.batch_alter_table("cohort") as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=32), server_default=None)
    with op.batch_alter_table("mentoring_session") as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Uuid(), nullable=True))
        batch_op.create_index("ix_mentoring_session_series_id", ["series_id"], unique=False)
        batch_op.create_foreign_key(
            op.f("fk_mentoring_session_series_id_group_series"), "group_series", ["series_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("mentoring_session") as batch_op:
        batch_op.drop_constraint(op.f("fk_mentoring_session_series_id_group_series"), type_="foreignkey")
        batch_op.drop_index("ix_mentoring_session_series_id")
        batch_op.drop_column("series_id")
    with op.batch_alter_table("cohort") as batch_op:
        batch_op.drop_constraint(op.f("ck_cohort_cohort_kind"), type_="check")
        batch_op.drop_column("kind")
    op.drop_index("ix_session_carer_session_id", table_name="session_carer")
    op.drop_table("session_carer")
    op.drop_index(
        "uq_series_member_series_id_child_id_current",
        table_name="series_member",
        postgresql_where=sa.text("left_at IS NULL"),
        sqlite_where=sa.text("left_at IS NULL"),
    )
    op.drop_index("ix_series_member_enrolment_id", table_name="series_member")
    op.drop_index("ix_series_member_child_id", table_name="series_member")
    op.drop_table("series_member")
    op.drop_index("ix_group_series_lead_facilitator_id", table_name="group_series")
    op.drop_index("ix_group_series_co_facilitator_id", table_name="group_series")
    op.drop_table("group_series")
