"""Questions asked of the codings: retrieval, code x timepoint matrix, trajectories, co-occurrence, progress.

The TUI, the CLI and the exporters ask the same questions and must get the same answers, so they live here
once. Each function reads through the caller's ``Session`` with a handful of SQL queries (never one query
per code or per segment) and does the interval work in Python over sorted offsets (bisect, merges, sweep
lines). Results are plain dataclasses; ``as_dict()`` gives their JSON form.

This package's public names are imported from here (``from models.queries import retrieve``); each family
lives in its own module:

- ``scope``: filters resolved to ids, roles, which codes a query covers, which transcripts are coded;
- ``rows``: the raw read path (Core rows, driver cursor rows, the collector paused while building results);
- ``layouts``: turns and sentences as sorted offsets, with the cache of parsed columns;
- ``words``: word offsets and the bit-level word ranks, cached by text;
- ``spans``: unions and passages of ``[start, end)`` spans;
- ``retrieval``: segments and coded spans; ``matrix``: the code x timepoint matrix; ``presence``: theme
  presence and trajectories; ``code_pairs``: co-occurrence; ``progress``: coding progress.
"""

from __future__ import annotations

from models.queries.code_pairs import SegmentPair, cooccurrence, cooccurrence_segments
from models.queries.layouts import TranscriptLayout, TurnInfo, load_layouts
from models.queries.matrix import Cell, Interviews, Matrix, MatrixRow, code_timepoint_matrix, interviews_coded
from models.queries.presence import (
    ABSENT,
    EMERGED,
    FADED,
    MISSING,
    NOT_CODED,
    PERSISTED,
    RETURNED,
    UNCODED,
    ThemePresence,
    Trajectory,
    TrajectoryPoint,
    theme_presence,
    trajectories,
    trajectory_labels,
)
from models.queries.progress import coding_progress
from models.queries.retrieval import CodedSpan, Segment, coded_spans, retrieve, segments_by_id
from models.queries.rows import driver_rows, fetch_rows
from models.queries.scope import (
    ROLES,
    Attribute,
    Context,
    Scope,
    check_roles,
    codebook_order,
    hidden_codes,
    resolve_scope,
    selected_codes,
    where_codes,
)
from models.queries.spans import group_passages, merge_spans
from models.queries.words import WordRanks, word_mask, word_ranks, word_starts

__all__ = [
    "ABSENT",
    "EMERGED",
    "FADED",
    "MISSING",
    "NOT_CODED",
    "PERSISTED",
    "RETURNED",
    "ROLES",
    "UNCODED",
    "Attribute",
    "Cell",
    "CodedSpan",
    "Context",
    "Interviews",
    "Matrix",
    "MatrixRow",
    "Scope",
    "Segment",
    "SegmentPair",
    "ThemePresence",
    "Trajectory",
    "TrajectoryPoint",
    "TranscriptLayout",
    "TurnInfo",
    "WordRanks",
    "check_roles",
    "code_timepoint_matrix",
    "codebook_order",
    "coded_spans",
    "coding_progress",
    "cooccurrence",
    "cooccurrence_segments",
    "driver_rows",
    "fetch_rows",
    "group_passages",
    "hidden_codes",
    "interviews_coded",
    "load_layouts",
    "merge_spans",
    "resolve_scope",
    "retrieve",
    "segments_by_id",
    "selected_codes",
    "theme_presence",
    "trajectories",
    "trajectory_labels",
    "where_codes",
    "word_mask",
    "word_ranks",
    "word_starts",
]
