"""re-segment sentences so that bracketed transcriber notes stay whole and with their sentence

Revision ID: 0006_sentence_brackets
Revises: 0005_store_safety
Create Date: 2026-12-06

Sentences stored before this revision could end or start inside a note ("no login! [" / "laughs] It's"),
and a note alone ("[laughs]") could be a sentence. Every transcript's sentences are worked out again with
``models.nlp.sentence_spans`` (the segmentation imports use, so old and new projects agree) from the stored
text and turns, which never change.

Nothing else moves: codings, memos and every other row are offsets into the text or ids of other tables, and
no table refers to a sentence's id (sentences are looked up by offset). A sentence whose span is unchanged
keeps its row and id; only changed sentences are deleted and inserted, per transcript. The downgrade keeps
the new sentences (the old segmentation was the defect).
"""

from alembic import op
from sqlalchemy import text

revision = "0006_sentence_brackets"
down_revision = "0005_store_safety"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from models.nlp import sentence_spans

    bind = op.get_bind()
    model = _spacy_model(bind)
    transcript_ids = bind.execute(text("SELECT id FROM transcripts ORDER BY id")).scalars().all()
    for transcript_id in transcript_ids:
        body = bind.execute(text("SELECT text FROM transcripts WHERE id = :id"), {"id": transcript_id}).scalar_one()
        turns = bind.execute(
            text('SELECT "index", start, "end" FROM turns WHERE transcript_id = :id ORDER BY "index"'),
            {"id": transcript_id},
        ).all()
        spans = sentence_spans([body[start:end] for _i, start, end in turns], [start for _i, start, _e in turns], model)
        wanted = {(s, e): index for (index, _s, _e), found in zip(turns, spans) for s, e in found}
        stored = bind.execute(
            text('SELECT id, start, "end" FROM sentences WHERE transcript_id = :id'), {"id": transcript_id}
        ).all()
        stale = [row_id for row_id, start, end in stored if (start, end) not in wanted]
        kept = {(start, end) for _row_id, start, end in stored if (start, end) in wanted}
        if stale:
            bind.execute(text("DELETE FROM sentences WHERE id = :id"), [{"id": row_id} for row_id in stale])
        new = [
            {"transcript_id": transcript_id, "turn_index": index, "start": start, "end": end}
            for (start, end), index in sorted(wanted.items())
            if (start, end) not in kept
        ]
        if new:
            bind.execute(
                text(
                    'INSERT INTO sentences (transcript_id, turn_index, start, "end") '
                    "VALUES (:transcript_id, :turn_index, :start, :end)"
                ),
                new,
            )


def _spacy_model(bind) -> str | None:
    """The project's ``spacy_model`` setting (a JSON value), as imports use it."""
    import json

    row = bind.execute(text("SELECT value FROM settings WHERE key = 'spacy_model'")).first()
    if row is None or row[0] is None:
        return None
    value = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    return value or None


def downgrade() -> None:
    pass
