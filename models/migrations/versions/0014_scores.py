"""questionnaire measures and scores (the mixed-methods strand)

Revision ID: 0014_scores
Revises: 0013_search_gaps
Create Date: 2026-12-06

Issue 17: ``measures`` (range, direction, norms and reliability as the user entered them, with their source)
and ``scores`` (one value per participant, timepoint and measure). Ids are AUTOINCREMENT on SQLite (never
reused, as everywhere since 0005); on PostgreSQL the foreign keys are deferrable, as 0010 made every other.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_scores"
down_revision = "0013_search_gaps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("higher_is", sa.String(length=6), nullable=False),
        sa.Column("norm_mean", sa.Float(), nullable=True),
        sa.Column("norm_sd", sa.Float(), nullable=True),
        sa.Column("norm_source", sa.Text(), nullable=False),
        sa.Column("reliability", sa.Float(), nullable=True),
        sa.CheckConstraint("higher_is IN ('better','worse')", name=op.f("ck_measures_higher_is")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measures")),
        sa.UniqueConstraint("name", name=op.f("uq_measures_name")),
        sa.UniqueConstraint("uuid", name=op.f("uq_measures_uuid")),
        sqlite_autoincrement=True,
        if_not_exists=True,
    )
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("timepoint_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"], ["measures.id"], name=op.f("fk_scores_measure_id_measures"),
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participants.id"], name=op.f("fk_scores_participant_id_participants"),
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["timepoint_id"], ["timepoints.id"], name=op.f("fk_scores_timepoint_id_timepoints"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
        sa.UniqueConstraint(
            "participant_id", "timepoint_id", "measure_id", name="uq_scores_participant_timepoint_measure"
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_scores_uuid")),
        sqlite_autoincrement=True,
        if_not_exists=True,
    )
    op.create_index(op.f("ix_scores_measure_id"), "scores", ["measure_id"], unique=False, if_not_exists=True)
    op.create_index(op.f("ix_scores_participant_id"), "scores", ["participant_id"], unique=False, if_not_exists=True)
    if op.get_bind().dialect.name == "postgresql":
        for name in ("fk_scores_measure_id_measures", "fk_scores_participant_id_participants",
                     "fk_scores_timepoint_id_timepoints"):  # fmt: skip
            op.execute(f'ALTER TABLE scores ALTER CONSTRAINT "{name}" DEFERRABLE INITIALLY IMMEDIATE')


def downgrade() -> None:
    op.drop_index(op.f("ix_scores_participant_id"), table_name="scores")
    op.drop_index(op.f("ix_scores_measure_id"), table_name="scores")
    op.drop_table("scores")
    op.drop_table("measures")
