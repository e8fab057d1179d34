"""blind coding (issue 16)

Revision ID: 0016_blind
Revises: 0015_accounts
Create Date: 2026-12-06

``blind_transcripts``: transcripts being coded blind, who switched them on and since when. Revealing one
deletes its row. On PostgreSQL the foreign key is deferrable, as 0010 made every other.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_blind"
down_revision = "0015_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blind_transcripts",
        sa.Column("transcript_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["transcript_id"], ["transcripts.id"], name=op.f("fk_blind_transcripts_transcript_id_transcripts"),
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("transcript_id", name=op.f("pk_blind_transcripts")),
        if_not_exists=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            'ALTER TABLE blind_transcripts ALTER CONSTRAINT "fk_blind_transcripts_transcript_id_transcripts" '
            "DEFERRABLE INITIALLY IMMEDIATE"
        )


def downgrade() -> None:
    op.drop_table("blind_transcripts")
