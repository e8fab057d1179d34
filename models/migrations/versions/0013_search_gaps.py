"""search index: text outside speaker turns

Revision ID: 0013_search_gaps
Revises: 0007_name_register
Create Date: 2026-12-06

Issue 21 item 14: search missed preambles and label lines because only turns were indexed. Each stretch of
a transcript's text outside every turn (holding more than white space) becomes an index row whose rowid packs
the transcript id and its start offset: ``-(transcript_id * 2**32 + start)`` (see models/search_index.py).
The rows are derived data, so the upgrade adds them for the transcripts already stored and the downgrade
removes them. The gap computation is repeated here (not imported) so this migration stays as written.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_search_gaps"
down_revision = "0007_name_register"
branch_labels = None
depends_on = None

GAP_SHIFT = 2**32


def _gaps(full_text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    found, position = [], 0
    for start, end in sorted(spans):
        if start > position:
            found.append((position, start))
        position = max(position, end)
    if position < len(full_text):
        found.append((position, len(full_text)))
    return [(s, e) for s, e in found if full_text[s:e].strip()]


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name not in ("sqlite", "postgresql"):
        return
    # idempotent: a file already at this schema (re-stamped older) keeps one row per gap
    conn.execute(sa.text("DELETE FROM search_index WHERE rowid < 0"))
    spans: dict[int, list[tuple[int, int]]] = {}
    for tid, start, end in conn.execute(sa.text('SELECT transcript_id, start, "end" FROM turns')):
        spans.setdefault(tid, []).append((start, end))
    insert = sa.text("INSERT INTO search_index(rowid, text, transcript_id) VALUES (:id, :text, :tid)")
    for tid, full_text in conn.execute(sa.text("SELECT id, text FROM transcripts")).all():
        rows = [
            {"id": -(tid * GAP_SHIFT + s), "text": full_text[s:e], "tid": tid}
            for s, e in _gaps(full_text, spans.get(tid, []))
        ]
        if rows:
            conn.execute(insert, rows)


def downgrade() -> None:
    if op.get_bind().dialect.name in ("sqlite", "postgresql"):
        op.execute("DELETE FROM search_index WHERE rowid < 0")
