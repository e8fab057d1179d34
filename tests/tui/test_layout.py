"""The pure layout of the transcript view: wrapping, cells <-> offsets, motions, lanes, fuzzy matching."""

from __future__ import annotations

import random

from app.tui.fuzzy import rank_codes
from app.tui.widgets.layout import (
    BLANK,
    Block,
    LineIndex,
    SpanIndex,
    Units,
    assign_lanes,
    cell_of_offset,
    layout,
    offset_at_cell,
    text_cells,
    trim_span,
    wrap_span,
)
from models.workspace_queries import CodeInfo


def test_wrap_keeps_every_character_on_exactly_one_line_and_fits():
    rng = random.Random(3)
    words = ["a", "peer", "supervision", "café", "cafe\u0301", "🙂", "日本語", "x" * 25, "end."]
    for _ in range(300):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 60)))
        if rng.random() < 0.3:
            text = text.replace(" ", "\n", 2)
        width = rng.choice([8, 13, 20, 47])
        lines = wrap_span(text, 0, len(text), width)
        covered = "".join(text[a:b] for a, b in lines)
        assert covered == text.replace("\n", "")
        for a, b in lines:
            assert text_cells(text[a:b].rstrip()) <= width


def test_cells_and_offsets_round_trip_with_wide_and_combining_characters():
    text = "The cafe\u0301 🙂 日本 ok"
    for offset in range(len(text)):
        if text[offset] == "\u0301":
            continue  # a combining mark has no cell of its own
        x = cell_of_offset(text, 0, offset)
        assert offset_at_cell(text, 0, len(text), x) == offset
    emoji = text.index("🙂")
    x = cell_of_offset(text, 0, emoji)
    assert offset_at_cell(text, 0, len(text), x + 1) == emoji  # the emoji's second cell
    accent = text.index("e\u0301")
    assert offset_at_cell(text, 0, len(text), cell_of_offset(text, 0, accent) + 1) == accent + 2


def test_sentence_motions_select_whole_sentences():
    units = Units([(0, 10), (11, 20), (21, 30)])
    assert units.next_start(0) == 11 and units.prev_start(11) == 0
    assert units.next_end(0) == 10 and units.next_end(10) == 20
    assert units.snap(3, 15) == (0, 20)
    assert trim_span("  ab  ", 0, 6) == (2, 4)


def test_layout_rows_and_offsets():
    text = "I: Hello there.\nP: Yes indeed it was a long answer that wraps around."
    blocks = [Block(0, "I", "interviewer", 3, 15), Block(1, "P", "participant", 19, len(text))]
    lines = layout(text, blocks, 20)
    assert [line.kind for line in lines].count(BLANK) == 1
    index = LineIndex(lines)
    assert lines[index.row_of(19)].start == 19
    assert lines[index.row_of(len(text))].end == len(text)


def test_lanes_never_share_a_column_between_overlapping_spans():
    rng = random.Random(5)
    spans = []
    for _ in range(400):
        a = rng.randrange(0, 5000)
        spans.append((a, a + rng.randrange(1, 400)))
    lanes = assign_lanes(spans)
    index = SpanIndex(spans)
    for i, (a, b) in enumerate(spans):
        for j in index.overlapping(a, b):
            if j != i:
                assert lanes[i] != lanes[j]


def test_every_typed_word_matches_on_its_own():
    codes = [
        CodeInfo(1, "Barriers/Money worries", "Money worries", "#f00", "Pay and contracts", False, 1),
        CodeInfo(2, "Support/Peer support", "Peer support", "#0f0", "Help from peers", False, 1),
        CodeInfo(3, "Feelings/Hope", "Hope", "#00f", "Looking forward", False, 1),
    ]
    assert [c.id for c in rank_codes("wor mon", codes)] == [1]
    assert [c.id for c in rank_codes("peer sup", codes)][0] == 2
    assert [c.id for c in rank_codes("suport", codes)][0] == 2  # a typo
    assert [c.id for c in rank_codes("contracts", codes)] == [1]  # from the definition
    assert rank_codes("zebra", codes) == []


def test_span_index_agrees_with_brute_force_and_new_lanes_keep_old_ones():
    from app.tui.widgets.layout import extend_lanes

    rng = random.Random(9)
    spans = []
    for _ in range(600):
        a = rng.randrange(0, 20000)
        spans.append((a, a + rng.choice([rng.randrange(1, 300), rng.randrange(4000, 9000)])))
    index = SpanIndex(spans)
    for _ in range(300):
        a = rng.randrange(0, 21000)
        b = a + rng.randrange(0, 200)
        expected = (
            [i for i, (s, e) in enumerate(spans) if (s < b and e > a) if b > a]
            if b > a
            else [i for i, (s, e) in enumerate(spans) if s <= a < e]
        )
        assert index.overlapping(a, b) == expected
    lanes = assign_lanes(spans)
    added = spans + [(100, 5000), (7000, 7100)]
    grown = extend_lanes(added, [*lanes, None, None], SpanIndex(added))
    assert grown[: len(spans)] == lanes
    check = SpanIndex(added)
    for i, (a, b) in enumerate(added):
        assert all(grown[j] != grown[i] for j in check.overlapping(a, b) if j != i)
