"""drop the codings index that another covers (issue 14)

Revision ID: 0017_codings_index
Revises: 0016_blind
Create Date: 2026-12-07

``ix_codings_code`` (``code_id``) is the leading column of ``ix_codings_code_transcript`` (``code_id,
transcript_id, start, end, coder_id, key_quote``), which serves every lookup by code (and the foreign key's
check when a code is deleted) as well. Keeping both cost every new coding an index entry it never needed:
~0.06 s of a 50,000-coding import (docs/benchmarks.md, "The import budget, fifth pass").
"""

from alembic import op

revision = "0017_codings_index"
down_revision = "0016_blind"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_codings_code", table_name="codings", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_codings_code", "codings", ["code_id"], unique=False, if_not_exists=True)
