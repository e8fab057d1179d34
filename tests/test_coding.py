"""Coding operations against a real project file: apply (and its extend rule), spans, edits, memos."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import codebook, history
from models.coding import (
    actor_name,
    apply_code_in_session,
    apply_codes,
    find_codes,
    match_span,
    path_of,
    recode_coding,
    remove_coding,
    resize_coding,
    resolve_span,
    sentence_span,
    set_coding_memo,
    set_default_coder,
    set_key_quote,
    set_transcript_memo,
    snap_to_sentences,
    snap_to_turns,
    transcript_memo,
    turn_span,
)
from models.errors import NotFoundError, WaveqdaError
from models.schema import Coder, Coding, Event, Memo
from models.transcripts import find_transcript, turns_of


@pytest.fixture
def coded(small_project):
    """The small study with codes Support/Peer and Worry."""
    codebook.add_code(small_project, "tester", "Support/Peer")
    codebook.add_code(small_project, "tester", "Worry")
    return small_project


def text_of(project, ref="P01/T1") -> str:
    with project.read() as session:
        return find_transcript(session, ref).text


def span_of(project, needle: str, ref="P01/T1") -> tuple[int, int]:
    start = text_of(project, ref).index(needle)
    return start, start + len(needle)


def all_codings(project) -> list[Coding]:
    with project.read() as session:
        return list(session.scalars(select(Coding).order_by(Coding.id)))


def test_apply_stores_the_span_and_the_text_matches_the_transcript(coded):
    start, end = span_of(coded, "I felt supported by everyone.")
    [coding_id] = apply_codes(coded, "dana", "P01/T1", ["Support/Peer"], "dana", start, end, memo="warm")
    [coding] = all_codings(coded)
    assert coding.id == coding_id
    assert (coding.start, coding.end, coding.memo) == (start, end, "warm")
    assert text_of(coded)[coding.start : coding.end] == "I felt supported by everyone."


def test_apply_several_codes_is_one_undoable_step(coded, db_state):
    before = db_state(coded)
    ids = apply_codes(coded, "dana", "P01/T1", ["Support/Peer", "Worry"], "dana", 5, 20)
    assert len(ids) == 2 and len(all_codings(coded)) == 2
    history.undo(coded, "dana")
    assert db_state(coded) == before  # the coder created on first use goes too


def test_apply_creates_the_coder_once(coded):
    apply_codes(coded, "dana", "P01/T1", ["Worry"], "dana", 0, 5)
    apply_codes(coded, "dana", "P01/T2", ["Worry"], "dana", 0, 5)
    with coded.read() as session:
        assert list(session.scalars(select(Coder.name))) == ["dana"]


def test_same_coder_overlapping_apply_extends_instead_of_adding(coded):
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 10, 30, memo="first")
    ids = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 25, 50, memo="second")
    [coding] = all_codings(coded)
    assert ids == [coding.id]
    assert (coding.start, coding.end) == (10, 50)
    assert coding.memo == "first\n\nsecond"


def test_same_coder_touching_apply_extends(coded):
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 10, 30)
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 30, 40)
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 5, 10)
    [coding] = all_codings(coded)
    assert (coding.start, coding.end) == (5, 40)


def test_apply_bridging_two_codings_absorbs_both_and_keeps_key_quote(coded):
    first, second = (apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", s, e)[0] for s, e in ((0, 10), (20, 30)))
    set_key_quote(coded, "a", second, True)
    [kept] = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 8, 22)
    [coding] = all_codings(coded)
    assert kept == first == coding.id
    assert (coding.start, coding.end, coding.key_quote) == (0, 30, True)


def test_different_coders_are_never_merged(coded):
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 10, 30)
    apply_codes(coded, "b", "P01/T1", ["Worry"], "sam", 10, 30)
    apply_codes(coded, "b", "P01/T1", ["Worry"], "sam", 30, 35)
    spans = sorted((c.coder_id, c.start, c.end) for c in all_codings(coded))
    assert [(s, e) for _, s, e in spans] == [(10, 30), (10, 35)]
    assert len({coder for coder, _, _ in spans}) == 2


def test_different_codes_overlap_freely(coded):
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 10, 30)
    apply_codes(coded, "a", "P01/T1", ["Support/Peer"], "dana", 20, 40)
    assert len(all_codings(coded)) == 2


def test_extension_is_per_transcript(coded):
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 10, 30)
    apply_codes(coded, "a", "P01/T2", ["Worry"], "dana", 10, 30)
    assert len(all_codings(coded)) == 2


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [(-1, 5, "outside"), (0, 10**6, "outside"), (5, 5, "empty"), (9, 3, "empty")],
)
def test_bad_spans_are_refused_and_change_nothing(coded, db_state, start, end, message):
    before = db_state(coded)
    with pytest.raises(WaveqdaError, match=message) as caught:
        apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", start, end)
    assert "\n" not in str(caught.value)
    assert db_state(coded) == before


def test_span_may_end_exactly_at_the_end_of_the_text(coded):
    length = len(text_of(coded))
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", length - 3, length)
    assert len(all_codings(coded)) == 1


@pytest.mark.parametrize(
    ("transcript", "codes", "error"),
    [
        ("P01/T1", ["Nope"], NotFoundError),
        ("P09/T1", ["Worry"], NotFoundError),
        ("P01/T1", ["Worry", "Nope"], NotFoundError),
        ("P01/T1", [], WaveqdaError),
    ],
)
def test_unknown_names_are_refused_and_change_nothing(coded, db_state, transcript, codes, error):
    before = db_state(coded)
    with pytest.raises(error):
        apply_codes(coded, "a", transcript, codes, "dana", 0, 5)
    assert db_state(coded) == before


def test_archived_codes_refuse_new_codings(coded, db_state):
    codebook.archive_code(coded, "a", "Worry")
    before = db_state(coded)
    with pytest.raises(WaveqdaError, match="archived"):
        apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 0, 5)
    assert db_state(coded) == before


def test_apply_code_in_session_composes_in_the_callers_transaction(coded):
    with coded.read() as session:
        worry = codebook.codebook_rows(session)[-1].id
    with coded.change("a", "autocode") as session:
        coder = Coder(name="bot")
        session.add(coder)
        session.flush()
        first = apply_code_in_session(session, 1, worry, coder.id, 0, 5)
        second = apply_code_in_session(session, 1, worry, coder.id, 3, 9)
        assert first.id == second.id and (second.start, second.end) == (0, 9)
    with coded.read() as session:
        assert session.scalar(select(Event).order_by(Event.id.desc())).operation == "autocode"
    with coded.read() as session, pytest.raises(NotFoundError):
        apply_code_in_session(session, 1, worry, 999, 0, 5)


# --- spans -------------------------------------------------------------------------------------------


def test_snap_to_sentences_widens_to_whole_sentences(coded):
    start, end = span_of(coded, "felt supported by everyone. The super")
    with coded.read() as session:
        snapped = snap_to_sentences(session, 1, start, end)
    text = text_of(coded)
    assert text[snapped[0] : snapped[1]] == "I felt supported by everyone. The supervision was good."


def test_snap_to_turns_covers_speech_not_labels(coded):
    start, end = span_of(coded, "on?\nMarcus: The clinical", "P02/T2")
    with coded.read() as session:
        transcript = find_transcript(session, "P02/T2")
        snapped = snap_to_turns(session, transcript.id, start, end)
        turns = turns_of(session, transcript.id)
    assert snapped == (turns[0].start, turns[1].end)
    assert not text_of(coded, "P02/T2")[snapped[0] :].startswith("Interviewer")


def test_snap_of_a_label_only_span_is_refused(coded):
    with coded.read() as session, pytest.raises(WaveqdaError, match="no sentence"):
        snap_to_sentences(session, 1, 0, 5)


def test_sentence_numbers_count_from_zero_and_turn_numbers_from_one(coded):
    text = text_of(coded)
    with coded.read() as session:
        s0, e0 = sentence_span(session, 1, 0)
        s2, e2 = sentence_span(session, 1, 2)
        t1 = turn_span(session, 1, 2)  # the second turn, as every screen and report numbers it
        with pytest.raises(NotFoundError):
            sentence_span(session, 1, 99)
        with pytest.raises(NotFoundError):
            turn_span(session, 1, 0)
    assert text[s0:e0] == "How did the training go?"
    assert text[s2:e2] == "I felt supported by everyone."
    assert text[t1[0] : t1[1]].startswith("It was brilliant.")


def test_match_span_finds_the_first_occurrence(coded):
    with coded.read() as session:
        start, end = match_span(session, 1, "supervision")
        assert text_of(coded)[start:end] == "supervision"
        with pytest.raises(NotFoundError):
            match_span(session, 1, "not in the text")
        with pytest.raises(WaveqdaError):
            match_span(session, 1, "")


def test_resolve_span_needs_exactly_one_way(coded):
    with coded.read() as session:
        assert resolve_span(session, "P01/T1", span="3:9") == (1, 3, 9)
        assert resolve_span(session, "P01/T1", turn=1)[1:] == turn_span(session, 1, 1)
        for kwargs in ({}, {"span": "1:2", "turn": 0}, {"span": "1-2"}, {"span": "a:b"}):
            with pytest.raises(WaveqdaError):
                resolve_span(session, "P01/T1", **kwargs)


# --- editing codings ---------------------------------------------------------------------------------


def test_remove_resize_memo_and_key_quote_each_undo_exactly(coded, db_state):
    [coding_id] = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 10, 30)
    steps = [
        lambda: resize_coding(coded, "a", coding_id, 12, 40),
        lambda: set_coding_memo(coded, "a", coding_id, "interesting"),
        lambda: set_key_quote(coded, "a", coding_id, True),
        lambda: set_transcript_memo(coded, "a", "P01/T1", "Long pauses."),
        lambda: remove_coding(coded, "a", coding_id),
    ]
    for step in steps:
        before = db_state(coded)
        step()
        after = db_state(coded)
        assert after != before
        history.undo(coded, "a")
        assert db_state(coded) == before
        history.redo(coded, "a")
        assert db_state(coded) == after
    assert all_codings(coded) == []


def test_resize_into_a_neighbour_absorbs_it(coded):
    first = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 0, 10)[0]
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 20, 30, memo="later")
    assert resize_coding(coded, "a", first, 0, 25) == first
    [coding] = all_codings(coded)
    assert (coding.id, coding.start, coding.end, coding.memo) == (first, 0, 30, "later")


def test_resize_refuses_bad_spans_and_unknown_codings(coded, db_state):
    [coding_id] = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 10, 30)
    before = db_state(coded)
    for args in ((coding_id, 30, 10), (coding_id, 0, 10**6), (999, 0, 5)):
        with pytest.raises(WaveqdaError):
            resize_coding(coded, "a", *args)
    for call in (lambda: remove_coding(coded, "a", 999), lambda: set_key_quote(coded, "a", 999, True)):
        with pytest.raises(NotFoundError):
            call()
    assert db_state(coded) == before


def test_transcript_memo_is_replaced_and_cleared(coded):
    set_transcript_memo(coded, "a", "P01/T1", "First thoughts")
    set_transcript_memo(coded, "a", 1, "Second thoughts")
    with coded.read() as session:
        assert transcript_memo(session, 1) == "Second thoughts"
        assert transcript_memo(session, 2) == ""
    set_transcript_memo(coded, "a", "P01/T1", "  ")
    with coded.read() as session:
        assert transcript_memo(session, 1) == ""


def test_default_coder_is_a_logged_preference_not_an_undo_step(coded):
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 0, 5)
    set_default_coder(coded, "dana")
    with coded.read() as session:
        assert actor_name(session) == "dana"
        assert actor_name(session, "sam") == "sam"
    undone = history.undo(coded, "a")  # the step's own actor: undo is per coder
    assert undone is not None and undone.operation == "coding.apply"
    with coded.read() as session:
        assert actor_name(session) == "dana"
    with pytest.raises(WaveqdaError):
        set_default_coder(coded, " ")


def test_reapplying_a_coded_span_changes_nothing(coded, db_state):
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 10, 30, memo="once")
    before = db_state(coded)
    apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 12, 20, memo="once")
    assert db_state(coded) == before
    undone = history.undo(coded, "a")
    assert undone is not None and undone.summary.startswith("Coded P01/T1 10:30")


# --- memos attached to codings as separate notes ------------------------------------------------------


def attach_memo(project, coding_id: int, text: str) -> int:
    """A free-standing memo on a coding, as a REFI-QDA import or a merged project leaves them."""
    with project.change("t", "test.memo") as session:
        memo = Memo(target_type="coding", target_id=coding_id, title="Note", text=text)
        session.add(memo)
        session.flush()
        return memo.id


def memo_target(project, memo_id: int) -> tuple[str, int | None, str]:
    with project.read() as session:
        memo = session.get(Memo, memo_id)
        return memo.target_type, memo.target_id, memo.text


def test_removing_a_coding_keeps_its_memos_and_no_later_coding_inherits_them(coded, db_state):
    [first] = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 0, 5)
    memo_id = attach_memo(coded, first, "Ask about this at T2.")
    before = db_state(coded)
    remove_coding(coded, "a", first)
    assert memo_target(coded, memo_id) == ("project", None, "Ask about this at T2.")
    [later] = apply_codes(coded, "a", "P01/T1", ["Support/Peer"], "sam", 40, 50)
    assert later != first  # ids are never handed out twice (AUTOINCREMENT), and the memo does not follow it
    with coded.read() as session:
        assert session.scalars(select(Memo).where(Memo.target_type == "coding")).all() == []
    history.undo(coded, "a")
    history.undo(coded, "a")
    assert db_state(coded) == before
    assert memo_target(coded, memo_id) == ("coding", first, "Ask about this at T2.")


def test_codings_combined_by_an_apply_keep_every_memo(coded, db_state):
    [left] = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 0, 5)
    [right] = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 20, 30)
    memo_id = attach_memo(coded, right, "Right-hand note")
    before = db_state(coded)
    [kept] = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 4, 21)
    assert [(c.id, c.start, c.end) for c in all_codings(coded)] == [(left, 0, 30)]
    assert kept == left and memo_target(coded, memo_id) == ("coding", left, "Right-hand note")
    history.undo(coded, "a")
    assert db_state(coded) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda p: remove_coding(p, "a", 2**70),
        lambda p: set_coding_memo(p, "a", 2**63, "x"),
        lambda p: apply_codes(p, "a", str(2**64), ["Worry"], "dana", 0, 5),
        lambda p: resize_coding(p, "a", 10**30, 0, 5),
    ],
)
def test_ids_beyond_the_integer_range_are_not_found(coded, db_state, call):
    before = db_state(coded)
    with pytest.raises(NotFoundError):
        call(coded)
    assert db_state(coded) == before


def test_transcript_memo_edit_lands_on_the_memo_the_workspace_shows(coded):
    from models.workspace_queries import transcript_memo as shown_memo

    with coded.change("t", "test.memo") as session:  # two notes on one transcript, as an import or merge leaves
        session.add(Memo(target_type="transcript", target_id=1, title="Description", text="Imported from NVivo."))
        session.flush()
        session.add(Memo(target_type="transcript", target_id=1, title="Memo on P01/T1", text="Sam's memo."))
    with coded.read() as session:
        shown = shown_memo(session, 1)
        assert transcript_memo(session, 1) == shown == "Sam's memo."
    set_transcript_memo(coded, "a", "P01/T1", shown + " Agreed.")
    with coded.read() as session:
        texts = sorted(session.scalars(select(Memo.text).where(Memo.target_type == "transcript")))
        assert texts == ["Imported from NVivo.", "Sam's memo. Agreed."]
        assert transcript_memo(session, 1) == shown_memo(session, 1) == "Sam's memo. Agreed."


# --- recoding -----------------------------------------------------------------------------------------


def test_recode_merges_into_the_same_coders_touching_coding_and_one_undo_restores_exactly(coded, db_state):
    [moved] = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 10, 30, memo="first")
    [touching] = apply_codes(coded, "a", "P01/T1", ["Support/Peer"], "dana", 30, 45, memo="peer")
    [other_coder] = apply_codes(coded, "a", "P01/T1", ["Support/Peer"], "sam", 0, 20)
    set_key_quote(coded, "a", touching, True)
    memo_id = attach_memo(coded, touching, "Note on the peer coding")
    before = db_state(coded)
    assert recode_coding(coded, "a", moved, "Support/Peer") == moved
    after = db_state(coded)
    with coded.read() as session:
        rows = {c.id: c for c in session.scalars(select(Coding))}
        assert set(rows) == {moved, other_coder}  # the touching coding was combined into the moved one
        kept = rows[moved]
        assert path_of(session, find_codes(session, [kept.code_id])[0]) == "Support/Peer"
        assert (kept.start, kept.end, kept.memo, kept.key_quote) == (10, 45, "first\n\npeer", True)
        assert (rows[other_coder].start, rows[other_coder].end) == (0, 20)  # another coder's: untouched
    assert memo_target(coded, memo_id) == ("coding", moved, "Note on the peer coding")
    undone = history.undo(coded, "a")
    assert undone is not None and undone.operation == "coding.recode"
    assert db_state(coded) == before  # one step: a single undo restores everything
    history.redo(coded, "a")
    assert db_state(coded) == after


def test_recode_without_neighbours_changes_only_the_code(coded, db_state):
    [coding_id] = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 10, 30, memo="kept")
    apply_codes(coded, "a", "P01/T1", ["Support/Peer"], "dana", 40, 50)  # same coder, not touching
    before = db_state(coded)
    recode_coding(coded, "a", coding_id, "Support/Peer")
    [recoded, untouched] = all_codings(coded)
    assert (recoded.id, recoded.start, recoded.end, recoded.memo) == (coding_id, 10, 30, "kept")
    assert recoded.code_id == untouched.code_id and (untouched.start, untouched.end) == (40, 50)
    history.undo(coded, "a")
    assert db_state(coded) == before


def test_recode_refuses_the_same_code_archived_and_unknown_codes_and_changes_nothing(coded, db_state):
    [coding_id] = apply_codes(coded, "a", "P01/T1", ["Worry"], "dana", 10, 30)
    codebook.add_code(coded, "a", "Old")
    codebook.archive_code(coded, "a", "Old")
    before = db_state(coded)
    for ref, error in (("Worry", WaveqdaError), ("Old", WaveqdaError), ("Nope", NotFoundError)):
        with pytest.raises(error):
            recode_coding(coded, "a", coding_id, ref)
    with pytest.raises(NotFoundError):
        recode_coding(coded, "a", 999, "Support/Peer")
    assert db_state(coded) == before


def test_codes_found_by_id_or_path_as_the_code_tree_finds_them(coded):
    from models.codes import CodeTree

    with coded.read() as session:
        tree = CodeTree.load(session)
        for ref in ["Worry", "Support/Peer", "support / peer", "Peer", 1, " 1 ", str(max(tree.codes))]:
            [code] = find_codes(session, [ref])
            assert code.id == tree.find(ref).id
            assert path_of(session, code) == tree.path(code.id)
        assert [c.id for c in find_codes(session, ["Worry", "Worry", 1])] == [tree.find("Worry").id, 1]
        for missing in ("Nope", "999", 2**70):
            with pytest.raises(NotFoundError):
                find_codes(session, [missing])


def test_checked_span_agrees_with_check_span_on_every_kind_of_span(coded):
    from models.coding import check_span, checked_span, transcript_label

    with coded.change("t", "test.text") as session:  # characters beyond ASCII: SQLite must count as Python
        transcript = find_transcript(session, "P01/T2")
        transcript.text = "Zoë said: the cafe\u0301 was warm 🙂, 日本 friends came. " + transcript.text
    with coded.read() as session:
        transcript = find_transcript(session, "P01/T2")
        n = len(transcript.text)
        spans = [
            (0, 1),
            (0, n),
            (n - 1, n),
            (5, 30),
            (-1, 5),
            (0, n + 1),
            (n, n + 3),
            (n + 5, n + 9),
            (5, 5),
            (9, 3),
            (n, n),
            (n + 2, n + 1),
            (40, 44),
        ]
        for start, end in spans:
            try:
                check_span(transcript, start, end)
                expected = (transcript.id, transcript_label(transcript), transcript.text[start:end])
            except WaveqdaError as exc:
                expected = (type(exc), str(exc))
            for ref in (transcript.id, str(transcript.id), "P01/T2"):
                try:
                    got = checked_span(session, ref, start, end)[:3]
                except WaveqdaError as exc:
                    got = (type(exc), str(exc))
                assert got == expected, (start, end, ref)
        for missing in (999, "999", str(2**70), "P09/T9"):
            with pytest.raises(NotFoundError):
                checked_span(session, missing, 0, 1)


# every test here runs on an SQLite file and on a PostgreSQL database
pytestmark = pytest.mark.both_engines


@pytest.mark.both_engines
def test_a_change_expecting_an_older_version_is_refused_and_changes_nothing(coded, db_state):
    from models.coding import coding_version
    from models.errors import StaleError

    [cid] = apply_codes(coded, "ann", "P01/T1", ["Worry"], "ann", 0, 11)
    with coded.read() as session:
        seen = coding_version(session, cid)
    assert seen is not None
    set_coding_memo(coded, "ben", cid, "Ben was here")  # another writer, after Ann read the coding
    before = db_state(coded)
    for attempt in (
        lambda: set_coding_memo(coded, "ann", cid, "Ann's", expected=seen),
        lambda: set_key_quote(coded, "ann", cid, True, expected=seen),
        lambda: resize_coding(coded, "ann", cid, 0, 12, expected=seen),
        lambda: remove_coding(coded, "ann", cid, expected=seen),
    ):
        with pytest.raises(StaleError, match="changed meanwhile"):
            attempt()
    assert db_state(coded) == before
    with coded.read() as session:
        fresh = coding_version(session, cid)
    set_key_quote(coded, "ann", cid, True, expected=fresh)  # the version now on screen: accepted
    with coded.read() as session:
        now = coding_version(session, cid)
    remove_coding(coded, "ben", cid)
    with pytest.raises(StaleError, match="removed meanwhile"):
        set_coding_memo(coded, "ann", cid, "too late", expected=now)
