"""Retrieval, the code x timepoint matrix, trajectories, co-occurrence and progress, checked against counts
worked out by hand from the coded small study (see ``CODED_CODINGS`` in conftest)."""

from __future__ import annotations

import random
from itertools import combinations

import pytest
from sqlalchemy import func, select

from models import nlp, queries
from models.errors import NotFoundError, WaveqdaError
from models.queries import TranscriptLayout, TurnInfo
from models.schema import Code, Coder, Coding, Transcript
from tests.conftest import CODED_CODINGS, CodedStudy, phrase_span

# --- retrieval ---------------------------------------------------------------------------------------


def labels(study: CodedStudy, segments: list[queries.Segment]) -> list[int]:
    by_id = {coding_id: label for label, coding_id in study.codings.items()}
    return [by_id[s.id] for s in segments]


def test_retrieve_theme_with_descendants_in_codebook_timepoint_participant_order(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        segments = queries.retrieve(session, "Support")
    # Support's own coding, then Peer support (T1 P01, T1 P02, T2 P01), then Supervision
    # (T1 P01 at 0 and at "The supervision", T2 P01, T2 P02).
    assert labels(coded_study, segments) == [3, 1, 7, 6, 12, 2, 5, 9]
    assert [s.code for s in segments[:2]] == ["Support", "Support/Peer support"]


def test_retrieve_without_descendants_and_by_id(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        by_path = queries.retrieve(session, "Support", with_descendants=False)
        by_id = queries.retrieve(session, coded_study.codes["Support"], with_descendants=False)
    assert labels(coded_study, by_path) == labels(coded_study, by_id) == [3]


def test_retrieved_text_is_the_transcript_sliced_at_the_stored_offsets(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        segments = queries.retrieve(session, include_archived=True)
        texts = dict(session.execute(select(Transcript.id, Transcript.text)).all())
        stored = {c.id: (c.start, c.end) for c in session.scalars(select(Coding))}
    assert len(segments) == len(CODED_CODINGS)
    for segment in segments:
        assert (segment.start, segment.end) == stored[segment.id]
        assert segment.text == texts[segment.transcript_id][segment.start : segment.end]
        assert segment.context == texts[segment.transcript_id][segment.context_start : segment.context_end]
        assert segment.context_start <= segment.start < segment.end <= segment.context_end


def test_segment_fields(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        segments = {s.id: s for s in queries.retrieve(session, "Support/Peer support")}
    first = segments[coded_study.codings[7]]
    assert (first.participant, first.timepoint, first.timepoint_label) == ("P02", "T1", "After training")
    assert (first.code, first.coder, first.text) == ("Support/Peer support", "ana", "The team supports me.")
    assert (first.speaker, first.role, first.turn_index, first.last_turn_index) == ("Marcus", "participant", 1, 1)
    assert first.key_quote is True and first.memo == "" and first.status == "ok" and len(first.uuid) == 36
    assert first.context == "The team supports me."  # already a whole sentence


def test_context_is_the_whole_sentence_or_turn(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        sentence = queries.retrieve(session, "Worry/Job insecurity", participants=["P02"])[0]
        turn = queries.retrieve(session, "Worry/Job insecurity", participants=["P02"], context="turn")[0]
    assert sentence.text == "might leave"
    assert sentence.context == "I might leave."
    assert turn.context == "The clinical team ignores us. Supervison is missing. I might leave."
    with coded_study.project.read() as session, pytest.raises(WaveqdaError):
        queries.retrieve(session, context="paragraph")  # type: ignore[arg-type]


def test_segment_spanning_two_turns(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        (segment,) = queries.retrieve(session, "Worry", with_descendants=False)
    assert (segment.turn_index, segment.last_turn_index, segment.speaker) == (1, 2, "Dana")
    assert segment.text.startswith("Harder.") and segment.text.endswith("Interviewer: And supervision?")
    assert segment.context == segment.text  # it starts and ends on sentence boundaries


def test_retrieve_filters(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        assert labels(coded_study, queries.retrieve(session, timepoints=["T2"])) == [6, 5, 9, 11, 8]
        assert labels(coded_study, queries.retrieve(session, participants=["P02"])) == [7, 9, 8]
        assert labels(coded_study, queries.retrieve(session, coders=["ben"])) == [6, 12, 9]
        assert labels(coded_study, queries.retrieve(session, roles=["interviewer"])) == [12]
        assert labels(coded_study, queries.retrieve(session, attribute=("site", " south "))) == [7, 9, 8]
        both = [("site", "North"), ("site", "South")]
        assert queries.retrieve(session, attribute=both) == []
        assert labels(coded_study, queries.retrieve(session, key_only=True)) == [7]
        tid = coded_study.transcripts["P02/T2"]
        assert labels(coded_study, queries.retrieve(session, transcript_ids=[tid])) == [9, 8]


def test_archived_codes_are_left_out_unless_asked_for(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        assert 10 not in labels(coded_study, queries.retrieve(session))
        assert 10 in labels(coded_study, queries.retrieve(session, include_archived=True))
        assert labels(coded_study, queries.retrieve(session, "Archived")) == [10]


def test_an_archived_theme_hides_its_subtree_unless_named(coded_study: CodedStudy) -> None:
    with coded_study.project.change("tester", "code.archive", "archive Worry") as session:
        session.get(Code, coded_study.codes["Worry"]).archived = True
    with coded_study.project.read() as session:
        assert set(labels(coded_study, queries.retrieve(session))) == {1, 2, 3, 5, 6, 7, 9, 12}
        assert labels(coded_study, queries.retrieve(session, "Worry")) == [11, 4, 8]
        assert [row.code for row in queries.code_timepoint_matrix(session).rows] == [
            "Support",
            "Support/Peer support",
            "Support/Supervision",
        ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"code_ref": "Nope"},
        {"timepoints": ["T9"]},
        {"participants": ["P99"]},
        {"coders": ["zed"]},
        {"roles": ["narrator"]},
        {"attribute": ("colour", "blue")},
    ],
)
def test_unknown_filter_values_are_errors(coded_study: CodedStudy, kwargs: dict) -> None:
    with coded_study.project.read() as session, pytest.raises(WaveqdaError):
        queries.retrieve(session, **kwargs)


def test_turn_range_and_context_at_labels_and_edges() -> None:
    text = "A: one. two.\nB: three."
    layout = TranscriptLayout(
        text, [TurnInfo(0, "A", "participant", 3, 12), TurnInfo(1, "B", "participant", 16, 22)], [3, 8, 16], [7, 12, 22]
    )
    assert layout.turn_range(3, 5) == (0, 0)
    assert layout.turn_range(13, 15) == (1, 1)  # inside the "B: " label: belongs to the next turn
    assert layout.turn_range(8, 20) == (0, 1)
    assert layout.turn_range(22, 22) == (1, 1)
    assert layout.context(9, 10, "sentence") == (8, 12)
    assert layout.context(5, 18, "sentence") == (3, 22)
    assert layout.context(9, 10, "turn") == (3, 12)
    assert TranscriptLayout("xyz", []).context(1, 2, "sentence") == (1, 2)


# --- matrix ------------------------------------------------------------------------------------------


def cells(matrix: queries.Matrix) -> dict[str, dict[str, tuple[int, int, int]]]:
    return {
        row.code: {key: (c.segments, c.participants, c.words) for key, c in row.cells.items()} for row in matrix.rows
    }


def test_matrix_rolls_up_the_hierarchy_without_double_counting(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        matrix = queries.code_timepoint_matrix(session)
    assert [(row.code, row.depth) for row in matrix.rows] == [
        ("Support", 0),
        ("Support/Peer support", 1),
        ("Support/Supervision", 1),
        ("Worry", 0),
        ("Worry/Job insecurity", 1),
    ]
    none = (0, 0, 0)
    assert cells(matrix) == {
        # T1: codings 1 (5 words) and 7 (4); T2: coding 6 (6)
        "Support/Peer support": {"T1": (2, 2, 9), "T2": (1, 1, 6), "T3": none},
        # T1: 12 (5) and 2 (4), both P01; T2: 5 (6) and 9 (3)
        "Support/Supervision": {"T1": (2, 1, 9), "T2": (2, 2, 9), "T3": none},
        # T1: P01's union of 1, 2, 3 is coding 3 (9) plus 12 (5); P02's 7 (4). T2: 5 + 6 (12), 9 (3)
        "Support": {"T1": (5, 2, 18), "T2": (3, 2, 15), "T3": none},
        # T2: coding 11 spans two turns: 12 words, the "Interviewer" label and 2 more; coding 8 has 2
        "Worry": {"T1": (1, 1, 9), "T2": (2, 2, 17), "T3": none},
        "Worry/Job insecurity": {"T1": (1, 1, 9), "T2": (1, 1, 2), "T3": none},
    }
    support = matrix.rows[0].total
    assert (support.segments, support.participants, support.words) == (8, 2, 33)
    totals = {key: (c.segments, c.participants, c.words) for key, c in matrix.totals.items()}
    # T1 words: P01 union 3 + 4 + 12 = 23, P02 4. T2: P01 11 (covers 6) + 5 = 21, P02 8 + 9 = 5
    assert totals == {"T1": (6, 2, 27), "T2": (5, 2, 26), "T3": none}
    assert (matrix.total.segments, matrix.total.participants, matrix.total.words) == (11, 2, 53)
    assert matrix.timepoints == [("T1", "After training"), ("T2", "4 months"), ("T3", "12 months")]


def test_matrix_words_match_word_count_of_the_coded_text(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        matrix = queries.code_timepoint_matrix(session)
        segments = queries.retrieve(session, "Worry/Job insecurity")
    assert sum(c.words for c in matrix.rows[-1].cells.values()) == sum(nlp.word_count(s.text) for s in segments)


def test_matrix_filters_and_archived(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        ben = cells(queries.code_timepoint_matrix(session, coders=["ben"]))
        p02 = queries.code_timepoint_matrix(session, participants=["P02"], timepoints=["T2"])
        archived = queries.code_timepoint_matrix(session, include_archived=True)
    assert ben["Support"] == {"T1": (1, 1, 5), "T2": (2, 2, 9), "T3": (0, 0, 0)}
    assert ben["Worry"]["T2"] == (0, 0, 0)
    assert p02.timepoints == [("T2", "4 months")]
    assert cells(p02)["Worry"] == {"T2": (1, 1, 2)}
    assert cells(archived)["Archived"]["T1"] == (1, 1, 3)
    assert archived.totals["T1"].words == 27 + 3


def test_matrix_of_an_uncoded_project(small_project) -> None:
    with small_project.read() as session:
        matrix = queries.code_timepoint_matrix(session)
    assert matrix.rows == [] and matrix.total.segments == 0


def test_matrix_as_dict(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        data = queries.code_timepoint_matrix(session).as_dict()
    assert data["timepoints"][0] == {"key": "T1", "label": "After training"}
    assert data["rows"][0]["cells"]["T1"] == {"segments": 5, "participants": 2, "words": 18, "passages": 3}
    assert data["totals"]["T2"]["words"] == 26


def test_word_starts_agree_with_nlp_word_count(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        texts = dict(session.execute(select(Transcript.id, Transcript.text)).all())
        starts = queries.word_starts(session, texts)
    for tid, text in texts.items():
        assert len(starts[tid]) == nlp.word_count(text)
        assert queries.word_mask(starts[tid], 0, len(text)).bit_count() == nlp.word_count(text)
    tid = coded_study.transcripts["P01/T1"]
    inside = texts[tid].index("supported") + 1  # a span from inside a word counts the words starting in it
    assert queries.word_mask(starts[tid], inside, inside + 20).bit_count() == 2  # "by", "everyone"
    assert queries.word_mask(starts[tid], 5, 5) == 0


def test_merge_spans_joins_overlapping_and_touching() -> None:
    assert queries.merge_spans([(5, 8), (0, 2), (2, 4), (6, 7), (9, 10)]) == [(0, 4), (5, 8), (9, 10)]
    assert queries.merge_spans([]) == []


# --- trajectories --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("presence", "expected"),
    [
        ([True, False, True], ["emerged", "faded", "returned"]),
        ([False, True, True, False, False], ["absent", "emerged", "persisted", "faded", "absent"]),
        ([True, None, True], ["emerged", "missing", "persisted"]),
        ([None, False, True], ["missing", "absent", "emerged"]),
        ([True, False, None, True, True], ["emerged", "faded", "missing", "returned", "persisted"]),
        ([False, False], ["absent", "absent"]),
    ],
)
def test_trajectory_labels(presence: list[bool | None], expected: list[str]) -> None:
    assert queries.trajectory_labels(presence) == expected


def test_trajectories_per_participant(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        found = queries.trajectories(session, "Worry/Job insecurity")
    assert [(t.participant, t.pattern) for t in found] == [("P01", "+-."), ("P02", "-+.")]
    p01, p02 = found
    assert [p.status for p in p01.points] == ["emerged", "faded", "missing"]
    assert [p.status for p in p02.points] == ["absent", "emerged", "missing"]
    assert [p.interviewed for p in p01.points] == [True, True, False]
    assert labels(coded_study, p01.points[0].segments) == [4]
    assert labels(coded_study, p02.points[1].segments) == [8]


def test_trajectories_of_a_theme_include_its_codes(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        worry = queries.trajectories(session, "Worry")
        alone = queries.trajectories(session, "Worry", with_descendants=False)
        ben = queries.trajectories(session, "Support", coders=["ben"])
    assert [t.pattern for t in worry] == ["++.", "-+."]
    assert [t.pattern for t in alone] == ["-+.", "--."]
    assert [t.pattern for t in ben] == ["++.", "?+."]  # ben has not coded P02/T1 at all
    assert worry[0].as_dict()["points"][1]["status"] == "persisted"


# --- co-occurrence -------------------------------------------------------------------------------------


def test_cooccurrence_counts(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        pairs = queries.cooccurrence(session)
    assert [(p["code_a"], p["code_b"], p["overlaps"], p["turns"]) for p in pairs] == [
        ("Support", "Support/Peer support", 1, 1),  # 3 contains 1
        ("Support", "Support/Supervision", 1, 1),  # 3 contains 2
        ("Support/Peer support", "Support/Supervision", 0, 1),  # 1 and 2: same turn, adjacent sentences
        ("Support/Peer support", "Worry", 1, 1),  # 11 spans turns 1-2 and contains 6
        ("Support/Supervision", "Worry/Job insecurity", 0, 1),  # 9 and 8 in Marcus's T2 turn
    ]
    assert pairs[0]["code_a_id"] == coded_study.codes["Support"]


def test_cooccurrence_of_themes_and_by_coder(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        themes = queries.cooccurrence(session, ["Support", "Worry"], with_descendants=True)
        ben = queries.cooccurrence(session, coders=["ben"])
    assert [(p["code_a"], p["code_b"], p["overlaps"], p["turns"]) for p in themes] == [("Support", "Worry", 1, 2)]
    assert ben == []  # ben's three codings are in different turns


def test_cooccurrence_segments(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        (overlapping,) = queries.cooccurrence_segments(session, "Support/Peer support", "Worry")
        (same_turn,) = queries.cooccurrence_segments(session, "Support/Supervision", "Worry/Job insecurity")
    assert (overlapping.first.id, overlapping.second.id) == (coded_study.codings[6], coded_study.codings[11])
    assert overlapping.overlap == (overlapping.first.start, overlapping.first.end)
    assert overlapping.shared_turns == [1]
    assert (same_turn.first.id, same_turn.second.id) == (coded_study.codings[9], coded_study.codings[8])
    assert same_turn.overlap is None and same_turn.shared_turns == [1]
    assert same_turn.as_dict()["first"]["text"] == "Supervison is missing."


def test_cooccurrence_overlaps_match_brute_force(coded_study: CodedStudy) -> None:
    """The sweep line against every pair, on 300 random codings of four codes in one transcript."""
    rng = random.Random(7)
    project = coded_study.project
    tid = coded_study.transcripts["P01/T1"]
    with project.change("tester", "seed", "random codings") as session:
        length = len(session.get(Transcript, tid).text)
        codes = [Code(name=f"R{i}", position=10 + i) for i in range(4)]
        session.add_all(codes)
        session.flush()
        coder = session.scalar(select(Coder).where(Coder.name == "ana"))
        spans = []
        for _ in range(300):
            start = rng.randrange(length - 1)
            end = min(length, start + rng.randint(1, 40))
            code = rng.choice(codes)
            spans.append((code.id, start, end))
            session.add(Coding(transcript_id=tid, code_id=code.id, coder_id=coder.id, start=start, end=end))
    expected: dict[tuple[int, int], int] = {}
    for (ca, sa, ea), (cb, sb, eb) in combinations(spans, 2):
        if ca != cb and sa < eb and sb < ea:
            key = (min(ca, cb), max(ca, cb))
            expected[key] = expected.get(key, 0) + 1
    with project.read() as session:
        pairs = queries.cooccurrence(session, [c.id for c in codes])
    assert {(p["code_a_id"], p["code_b_id"]): p["overlaps"] for p in pairs if p["overlaps"]} == expected


# --- progress ------------------------------------------------------------------------------------------


def test_coding_progress(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        rows = queries.coding_progress(session)
    got = [(r["participant"], r["timepoint"], r["coder"], r["coded_turns"], r["participant_turns"]) for r in rows]
    assert got == [
        ("P01", "T1", "ana", 2, 2),
        ("P01", "T1", "ben", 0, 2),  # ben only coded the interviewer's question
        ("P01", "T2", "ana", 2, 2),
        ("P01", "T2", "ben", 1, 2),
        ("P02", "T1", "ana", 1, 1),
        ("P02", "T1", "ben", 0, 1),
        ("P02", "T2", "ana", 1, 1),
        ("P02", "T2", "ben", 1, 1),
    ]
    assert [r["share"] for r in rows[:4]] == [1.0, 0.0, 1.0, 0.5]
    assert rows[0]["transcript_id"] == coded_study.transcripts["P01/T1"]


def test_phrase_span_helper_matches_the_fixture(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session:
        coding = session.get(Coding, coded_study.codings[11])
        text = session.get(Transcript, coding.transcript_id).text
    assert (coding.start, coding.end) == phrase_span(text, "Harder.", "And supervision?")


def test_not_found_error_is_a_waveqda_error(coded_study: CodedStudy) -> None:
    with coded_study.project.read() as session, pytest.raises(NotFoundError):
        queries.trajectories(session, "Nope")


def test_matrix_passages_are_the_passages_of_the_codes_codings(coded_study: CodedStudy) -> None:
    """Passages: codings of a code and its sub-codes that share text count once, however many coders or
    sub-codes coded them; checked against ``group_passages`` over the retrieved codings."""
    with coded_study.project.read() as session:
        matrix = queries.code_timepoint_matrix(session)
        for row in matrix.rows:
            segments = queries.retrieve(session, row.code_id, with_descendants=True)
            for key, cell in row.cells.items():
                groups = queries.group_passages([s for s in segments if s.timepoint == key])
                assert cell.passages == len(groups), (row.code, key)
                assert cell.segments == sum(len(g) for g in groups)
    support = next(r for r in matrix.rows if r.code == "Support")
    assert support.cells["T1"].segments > support.cells["T1"].passages  # overlapping codings joined


# every test here runs on an SQLite file and on a PostgreSQL database
pytestmark = pytest.mark.both_engines


def test_codebook_counts_roll_up_files_participants_and_references_as_nvivo(coded_study) -> None:
    """Issue 15: each code counts its own and its sub-codes' codings; files and participants once each."""
    from models.codebook import codebook_rows
    from models.codes import CodeTree
    from models.schema import Coding, Timepoint, Transcript

    with coded_study.project.read() as session:
        rows = {row.path: row for row in codebook_rows(session)}
        tree = CodeTree.load(session)
        codings = session.execute(
            select(Coding.code_id, Coding.transcript_id, Transcript.participant_id, Timepoint.key)
            .join(Transcript, Transcript.id == Coding.transcript_id)
            .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        ).all()
    for path, row in rows.items():
        family = {row.id, *tree.descendants(row.id)}
        mine = [c for c in codings if c.code_id in family]
        assert (row.files, row.participants, row.references) == (
            len({c.transcript_id for c in mine}),
            len({c.participant_id for c in mine}),
            len(mine),
        ), path
        for key, counts in row.by_timepoint.items():
            assert counts["references"] == sum(1 for c in mine if c.key == key), (path, key)
    assert rows["Support"].references > sum(rows["Support"].counts.values())  # children rolled up


@pytest.mark.parametrize(("rows", "columns"), [("codes", "attribute:site"), ("coders", "timepoints"),
                                               ("participants", "codes"), ("attribute:site", "coders")])  # fmt: skip
def test_matrix_coding_cells_count_what_a_direct_count_finds(coded_study, rows: str, columns: str) -> None:
    """Issue 15: any two dimensions; each cell's codings, participants and covered characters, counted here
    from the rows themselves (codes with their sub-codes)."""
    from models.codes import CodeTree
    from models.nlp import WORD_RE
    from models.queries.crosstab import crosstab
    from models.schema import Participant, ParticipantAttribute, Timepoint

    with coded_study.project.read() as session:
        table = crosstab(session, rows, columns, words=True)
        texts = dict(session.execute(select(Transcript.id, Transcript.text)).all())
        tree = CodeTree.load(session, include_archived=False)
        site = dict(session.execute(select(ParticipantAttribute.participant_id, ParticipantAttribute.value)).all())
        facts = session.execute(
            select(
                Coding.id,
                Coding.code_id,
                Coder.name,
                Timepoint.key,
                Participant.study_id,
                Transcript.participant_id,
                Coding.transcript_id,
                Coding.start,
                Coding.end,
            )  # fmt: skip
            .join(Coder, Coder.id == Coding.coder_id)
            .join(Transcript, Transcript.id == Coding.transcript_id)
            .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
            .join(Participant, Participant.id == Transcript.participant_id)
        ).all()
        lengths = dict(session.execute(select(Transcript.id, func.length(Transcript.text))).all())
        owners = dict(session.execute(select(Transcript.id, Transcript.participant_id)).all())
        keys = dict(session.execute(select(Transcript.id, Timepoint.key).join(Timepoint)).all())

    def labels(kind: str, fact) -> set[str]:
        if kind == "codes":
            return {tree.path(c) for c in tree.ancestors_and_self(fact.code_id) if c in tree.codes}
        return {{"coders": fact.name, "timepoints": fact.key, "participants": fact.study_id,
                 "attribute:site": site.get(fact.participant_id, "(none)")}[kind]}  # fmt: skip

    def text_in(kind: str, label: str, tid: int) -> bool:
        if kind == "timepoints":
            return keys[tid] == label
        if kind == "attribute:site":
            return site.get(owners[tid], "(none)") == label
        if kind == "participants":
            return any(f.study_id == label and f.transcript_id == tid for f in facts) or False
        return True

    checked = 0
    for r, row in zip(table.rows, table.cells, strict=True):
        for c, cell in zip(table.columns, row, strict=True):
            # archived codes are left out of every matrix, as in the code x timepoint one
            mine = [f for f in facts if f.code_id in tree.codes and r in labels(rows, f) and c in labels(columns, f)]
            assert cell.segments == len(mine) and cell.segment_ids == sorted(f.id for f in mine), (r, c)
            assert cell.participants == len({f.study_id for f in mine})
            covered = {(f.transcript_id, i) for f in mine for i in range(f.start, f.end)}
            starts = {(tid, m.start()) for tid in {f.transcript_id for f in mine} for m in WORD_RE.finditer(texts[tid])}
            assert cell.words == len(starts & covered), (r, c)  # words starting in coded text, each once
            if mine and "participants" not in (rows, columns):
                total = sum(n for tid, n in lengths.items() if text_in(rows, r, tid) and text_in(columns, c, tid))
                assert cell.coverage == pytest.approx(len(covered) / total)
            checked += bool(mine)
    assert checked >= 3
