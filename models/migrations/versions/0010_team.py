"""team projects: code names unique per parent, deferrable foreign keys and full-text search on PostgreSQL

Revision ID: 0010_team
Revises: 0007_name_register
Create Date: 2026-12-06

- ``uq_codes_parent_name``: one code name per parent (case-insensitively), enforced by the database, so two
  coders adding "Job insecurity" at the same moment get one code and a clear refusal, not two codes. The
  check in ``models.codebook`` stays (it gives the friendly message); this index is the guarantee.
- PostgreSQL only: every foreign key becomes ``DEFERRABLE INITIALLY IMMEDIATE``, so undo and redo can put
  rows back in any order inside their transaction (``SET CONSTRAINTS ALL DEFERRED``), as SQLite's
  ``defer_foreign_keys`` allows; and the full-text index SQLite keeps in FTS5 (migration 0002) becomes a table
  with a ``tsvector`` column and a GIN index, tokenised like FTS5's ``unicode61 remove_diacritics 2``: the
  ``simple`` configuration (no stemming: waveqda expands lemmas itself) after ``unaccent``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_team"
down_revision = "0006_sentence_brackets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    op.create_index(
        "uq_codes_parent_name",
        "codes",
        [sa.text("coalesce(parent_id, 0)"), sa.text("lower(name)")],
        unique=True,
        if_not_exists=True,  # idempotent: a file already at this schema (tests stamp one older) opens
    )
    if conn.dialect.name != "postgresql":
        return
    foreign_keys = conn.execute(
        sa.text(
            "SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE c.contype = 'f' AND n.nspname = current_schema()"
        )
    ).all()
    for table, name in foreign_keys:
        op.execute(f'ALTER TABLE {table} ALTER CONSTRAINT "{name}" DEFERRABLE INITIALLY IMMEDIATE')
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute(
        "DO $$ BEGIN "
        "IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'waveqda') THEN "
        "CREATE TEXT SEARCH CONFIGURATION waveqda (COPY = simple); "
        "ALTER TEXT SEARCH CONFIGURATION waveqda ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple; "
        "END IF; END $$"
    )
    op.execute(
        "CREATE TABLE search_index ("
        " rowid bigint PRIMARY KEY,"
        " transcript_id integer NOT NULL,"
        " text text NOT NULL,"
        " tsv tsvector GENERATED ALWAYS AS (to_tsvector('waveqda'::regconfig, text)) STORED)"
    )
    op.execute("CREATE INDEX ix_search_index_tsv ON search_index USING gin (tsv)")
    op.execute("CREATE INDEX ix_search_index_transcript ON search_index (transcript_id)")
    op.execute(
        "INSERT INTO search_index (rowid, transcript_id, text) "
        "SELECT turns.id, turns.transcript_id, substr(transcripts.text, turns.start + 1, turns.\"end\" - turns.start) "
        "FROM turns JOIN transcripts ON transcripts.id = turns.transcript_id"
    )


def downgrade() -> None:
    op.drop_index("uq_codes_parent_name", table_name="codes")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS search_index")
