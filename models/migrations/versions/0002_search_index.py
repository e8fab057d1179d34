"""full-text search index over speaker turns (SQLite FTS5)

Revision ID: 0002_search_index
Revises: 0001_initial
Create Date: 2026-11-24

Kept out of the ORM models so the schema stays portable: on other databases search falls back to
scanning (see models/search_index.py).
"""
from alembic import op

revision = "0002_search_index"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5("
        "text, transcript_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 2')"
    )
    op.execute("CREATE VIRTUAL TABLE search_vocab USING fts5vocab(search_index, 'row')")
    # Index the turns of transcripts imported before this revision.
    op.execute(
        "INSERT INTO search_index(rowid, text, transcript_id) "
        "SELECT turns.id, substr(transcripts.text, turns.start + 1, turns.\"end\" - turns.start), "
        "turns.transcript_id FROM turns JOIN transcripts ON transcripts.id = turns.transcript_id"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE search_vocab")
    op.execute("DROP TABLE search_index")
