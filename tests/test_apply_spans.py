"""``apply_code_to_spans`` (the batch path of auto-coding and "save as code", issue 20) leaves exactly what
applying the spans one by one with ``apply_code_in_session`` leaves: checked on random spans against the
coder's existing codings (touching, nested, bridged) and a colleague's, which are never touched."""

from __future__ import annotations

import contextlib
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from models.codebook import code_at
from models.codes import CodeTree
from models.coding import apply_code_in_session, apply_code_to_spans
from models.participants import get_or_create_coder
from models.schema import Coding
from models.transcripts import find_transcript

SPAN = st.tuples(st.integers(0, 60), st.integers(1, 12)).map(lambda t: (t[0], t[0] + t[1]))
_names = itertools.count()


def _codings(session, code_id: int) -> list[tuple[int, int, int, int]]:
    return [
        tuple(row)
        for row in session.execute(
            select(Coding.id, Coding.coder_id, Coding.start, Coding.end).where(Coding.code_id == code_id)
        )
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(existing=st.lists(SPAN, max_size=4), spans=st.lists(SPAN, min_size=1, max_size=8), colleague=SPAN)
def test_the_batch_leaves_what_one_by_one_leaves(small_project, existing, spans, colleague) -> None:
    n = next(_names)
    with contextlib.suppress(_Discard):  # nothing of this example stays
        _compare(small_project, n, existing, spans, colleague)


class _Discard(Exception):
    pass


def _compare(small_project, n: int, existing, spans, colleague) -> None:
    with small_project.write_session() as session:
        tid = find_transcript(session, "P01/T1").id
        ana, ben = get_or_create_coder(session, "ana").id, get_or_create_coder(session, "ben").id
        one, batch = (code_at(session, CodeTree.load(session), f"{side} {n}").id for side in ("One", "Batch"))
        for code_id in (one, batch):  # the same codings before, made the same way
            for start, end in existing:
                apply_code_in_session(session, tid, code_id, ana, start, end)
            apply_code_in_session(session, tid, code_id, ben, *colleague)
        before = {code_id: sorted(c[0] for c in _codings(session, code_id)) for code_id in (one, batch)}
        for start, end in spans:
            apply_code_in_session(session, tid, one, ana, start, end)
        apply_code_to_spans(session, batch, ana, {tid: spans})

        def outcome(code_id: int) -> set[tuple[object, int, int, int]]:
            """Each coding as (which old coding it is, or "new"; coder; start; end)."""
            old = {cid: i for i, cid in enumerate(before[code_id])}
            return {(old.get(cid, "new"), coder, s, e) for cid, coder, s, e in _codings(session, code_id)}

        assert outcome(one) == outcome(batch)
        raise _Discard
