"""name register for pseudonymisation

Revision ID: 0003_name_register
Revises: 0002_search_index
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_name_register"
down_revision = "0002_search_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "name_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("term", sa.String(length=300), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("replacement", sa.String(length=300), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "category IN ('person','place','organisation','ward','other')", name=op.f("ck_name_entries_category")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participants.id"], name=op.f("fk_name_entries_participant_id_participants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_name_entries")),
        sa.UniqueConstraint("uuid", name=op.f("uq_name_entries_uuid")),
    )
    op.create_table(
        "name_candidates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("transcript_id", sa.Integer(), nullable=True),
        sa.Column("start", sa.Integer(), nullable=True),
        sa.Column("end", sa.Integer(), nullable=True),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending','accepted','rejected')", name=op.f("ck_name_candidates_status")),
        sa.ForeignKeyConstraint(["entry_id"], ["name_entries.id"], name=op.f("fk_name_candidates_entry_id_name_entries")),
        sa.ForeignKeyConstraint(
            ["transcript_id"], ["transcripts.id"], name=op.f("fk_name_candidates_transcript_id_transcripts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_name_candidates")),
        sa.UniqueConstraint("key", name=op.f("uq_name_candidates_key")),
    )


def downgrade() -> None:
    op.drop_table("name_candidates")
    op.drop_table("name_entries")
