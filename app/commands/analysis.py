"""Analysis commands: codings, matrix, trajectories, cooccurrence, progress, search, autocode.

Handlers parse arguments, call ``models.queries`` / ``models.search`` and print a table or, with ``--json``,
the same data as JSON.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from app.commands.common import (
    AcceptRiskOpt,
    AnonymiseCodersOpt,
    AnonymiseOpt,
    JsonOpt,
    OutputOpt,
    ProjectArg,
    emit_json,
    emit_table,
    fail,
    open_for_reading,
    write_export,
)
from models import queries
from models import search as search_module
from models.coding import needs_review_count
from models.errors import WaveqdaError
from models.participants import default_coder_name
from models.store import Project
from models.transcripts import turn_number

CodeOpt = typer.Option(None, "--code", help="A code path (Theme/Subtheme/Code) or id.", metavar="NAME")
TimepointOpt = typer.Option(None, "--timepoint", help="Only this timepoint (repeat for several).", metavar="T")
ParticipantOpt = typer.Option(None, "--participant", help="Only this participant (repeatable).", metavar="P")
CoderFilterOpt = typer.Option(None, "--coder", help="Only this coder's codings (repeatable).", metavar="C")
RoleOpt = typer.Option(
    None, "--role", help="Only turns of this speaker role: participant, interviewer or other.", metavar="ROLE"
)
AttributeOpt = typer.Option(
    None, "--attribute", help="Only participants with this attribute value (repeatable).", metavar="NAME=VALUE"
)
FuzzyOpt = typer.Option(False, "--fuzzy", help="Also match near spellings (typos, transcription variants).")
LemmaOpt = typer.Option(False, "--lemma", help="Also match other forms of each word (support, supported...).")


def register(app: typer.Typer) -> None:
    app.command("codings")(codings)
    app.command("matrix")(matrix)
    app.command("trajectories")(trajectories)
    app.command("cooccurrence")(cooccurrence)
    app.command("progress")(progress)
    app.command("search")(search)
    app.command("autocode")(autocode)
    app.command("query")(query)
    app.command("words")(words)


@contextmanager
def opened(path: Path) -> Iterator[Project]:
    project = open_for_reading(path)
    try:
        yield project
    finally:
        project.close()


def parse_attributes(values: list[str] | None) -> list[tuple[str, str]] | None:
    """``["site=North"]`` -> ``[("site", "North")]``."""
    if not values:
        return None
    out = []
    for value in values:
        name, sep, wanted = value.partition("=")
        if not sep or not name.strip():
            raise WaveqdaError(f"invalid --attribute {value!r}: use NAME=VALUE, e.g. site=North")
        out.append((name.strip(), wanted.strip()))
    return out


# --- codings -----------------------------------------------------------------------------------------


def codings(
    project: str = ProjectArg,
    code: str | None = CodeOpt,
    with_descendants: bool = typer.Option(False, "--with-descendants", help="Include the code's sub-codes."),
    timepoint: list[str] | None = TimepointOpt,
    participant: list[str] | None = ParticipantOpt,
    coder: list[str] | None = CoderFilterOpt,
    role: list[str] | None = RoleOpt,
    attribute: list[str] | None = AttributeOpt,
    json_out: bool = JsonOpt,
) -> None:
    """List coded segments with their text, in codebook, timepoint and participant order."""
    with opened(project) as proj, proj.read() as session:
        segments = queries.retrieve(
            session,
            code,
            with_descendants=with_descendants,
            timepoints=timepoint,
            participants=participant,
            attribute=parse_attributes(attribute),
            coders=coder,
            roles=role,
        )
    if json_out:
        emit_json([s.as_dict() for s in segments])
        return
    emit_table(
        ["id", "participant", "timepoint", "code", "coder", "span", "speaker", "text"],
        [
            [s.id, s.participant, s.timepoint, s.code, s.coder, f"{s.start}:{s.end}", s.speaker, _quoted(s)]
            for s in segments
        ],
    )


def _quoted(segment: queries.Segment) -> str:
    """The segment's text on one line, marked when a merge could not place it exactly."""
    text = _one_line(segment.text)
    return f"[needs review] {text}" if segment.status == "needs_review" else text


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- matrix ------------------------------------------------------------------------------------------


def matrix(
    project: str = ProjectArg,
    coder: list[str] | None = CoderFilterOpt,
    participant: list[str] | None = ParticipantOpt,
    attribute: list[str] | None = AttributeOpt,
    rows_by: str | None = typer.Option(
        None, "--rows", help="Matrix coding: codes, timepoints, participants, coders or attribute:NAME.", metavar="DIM"
    ),
    columns_by: str | None = typer.Option(None, "--columns", help="The other dimension (as --rows).", metavar="DIM"),
    timepoint: list[str] | None = TimepointOpt,
    measure: str = typer.Option(
        "segments",
        "--measure",
        help="With --output: what each cell holds: segments, participants, words or coverage.",
        metavar="M",
    ),
    output: Path | None = OutputOpt,
    anonymise: bool = AnonymiseOpt,
    anonymise_coders: bool = AnonymiseCodersOpt,
    accept_risk: bool = AcceptRiskOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Code x timepoint matrix: segments / participants / words per cell, rolled up the codebook tree.
    With --rows/--columns: matrix coding of any two dimensions; --output writes it as CSV, XLSX or Word."""
    if output is not None:
        from exporters.dispatch import ExportOptions
        from exporters.filters import ExportFilters

        if json_out:
            raise WaveqdaError("use either --json or --output, not both")
        filters = ExportFilters(
            timepoints=timepoint or None,
            participants=participant or None,
            attributes=parse_attributes(attribute) or [],
            coders=coder or None,
            anonymise=anonymise,
            anonymise_coders=anonymise_coders,
            accept_risk=accept_risk,
        )
        options = ExportOptions(rows=rows_by or "codes", columns=columns_by or "timepoints", cell_measure=measure)
        with opened(project) as proj:
            write_export(proj, output, "matrix-coding", filters, options)
        return
    if rows_by or columns_by:
        _crosstab(project, rows_by or "codes", columns_by or "timepoints", coder, participant, attribute, timepoint,
                  json_out)  # fmt: skip
        return
    with opened(project) as proj, proj.read() as session:
        result = queries.code_timepoint_matrix(
            session, coders=coder, participants=participant, attribute=parse_attributes(attribute)
        )
        review = needs_review_count(session)
    if json_out:
        emit_json({**result.as_dict(), "needs_review": review})
        return
    keys = [key for key, _label in result.timepoints]
    rows = [
        ["  " * row.depth + row.name] + [_cell(row.cells[key]) for key in keys] + [_cell(row.total)]
        for row in result.rows
    ]
    rows.append(["(all codings)", *(_cell(result.totals[key]) for key in keys), _cell(result.total)])
    interviews = result.interviews
    rows.append(["(interviews coded)", *(_coded(interviews[key]) for key in keys), ""])
    emit_table(["code", *keys, "total"], rows)
    typer.echo("cells: segments / participants / words; an interview nobody has coded yet counts as not coded, "
               "not as absent")  # fmt: skip
    if review:
        typer.echo(f"{review} codings need review (a merge could not place them exactly): waveqda codings PROJECT")


def _crosstab(
    project: str,
    rows_by: str,
    columns_by: str,
    coder: list[str] | None,
    participant: list[str] | None,
    attribute: list[str] | None,
    timepoint: list[str] | None,
    json_out: bool,
) -> None:
    from models.queries.crosstab import crosstab

    with opened(project) as proj, proj.read() as session:
        table = crosstab(session, rows_by, columns_by, timepoint, participant, parse_attributes(attribute), coder)
    if json_out:
        emit_json(table.as_dict())
        return
    emit_table(
        [rows_by, *table.columns],
        [
            [label, *(f"{c.segments} / {c.participants} / {c.coverage:.1%}" if c.segments else "-" for c in row)]
            for label, row in zip(table.rows, table.cells, strict=True)
        ],
    )
    typer.echo("cells: segments / participants / coverage of the interviews' text; codes include their sub-codes")


def _coded(found: queries.Interviews) -> str:
    return f"{found.coded} of {found.transcripts}" if found.transcripts else "no interviews"


def _cell(cell: queries.Cell) -> str:
    return f"{cell.segments} / {cell.participants} / {cell.words}" if cell.segments else "-"


# --- trajectories ------------------------------------------------------------------------------------


def trajectories(
    project: str = ProjectArg,
    code: str = typer.Option(..., "--code", help="A code path or id.", metavar="NAME"),
    coder: list[str] | None = CoderFilterOpt,
    json_out: bool = JsonOpt,
) -> None:
    """For each participant, where a code (with its sub-codes) is present wave by wave."""
    with opened(project) as proj, proj.read() as session:
        found = queries.trajectories(session, code, coders=coder)
    if json_out:
        emit_json([t.as_dict() for t in found])
        return
    keys = [point.timepoint for point in found[0].points] if found else []
    emit_table(
        ["participant", *keys, "pattern"],
        [[t.participant, *(_point(p) for p in t.points), t.pattern] for t in found],
    )
    typer.echo("pattern: + present, - absent, ? not coded yet (nobody has coded that interview), . not interviewed")


def _point(point: queries.TrajectoryPoint) -> str:
    return f"{point.status} ({len(point.segments)})" if point.present else point.status


# --- co-occurrence and progress ----------------------------------------------------------------------


def cooccurrence(
    project: str = ProjectArg,
    coder: list[str] | None = CoderFilterOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Pairs of codes that overlap in the text or meet in the same turn."""
    with opened(project) as proj, proj.read() as session:
        pairs = queries.cooccurrence(session, coders=coder)
    if json_out:
        emit_json(pairs)
        return
    emit_table(
        ["code a", "code b", "overlaps", "turns"],
        [[p["code_a"], p["code_b"], p["overlaps"], p["turns"]] for p in pairs],
    )


def progress(project: str = ProjectArg, json_out: bool = JsonOpt) -> None:
    """Per transcript and coder: the share of participant turns that carry at least one code."""
    with opened(project) as proj, proj.read() as session:
        rows = queries.coding_progress(session)
    if json_out:
        emit_json(rows)
        return
    emit_table(
        ["transcript", "participant", "timepoint", "coder", "coded turns", "share"],
        [
            [
                r["transcript_id"],
                r["participant"],
                r["timepoint"],
                r["coder"],
                f"{r['coded_turns']}/{r['participant_turns']}",
                f"{r['share']:.0%}",
            ]
            for r in rows
        ],
    )


# --- search and auto-code ----------------------------------------------------------------------------


def search(
    project: str = ProjectArg,
    query: str = typer.Argument(..., help='Words, "a phrase", or a prefix*.', metavar="QUERY"),
    fuzzy: bool = FuzzyOpt,
    lemma: bool = LemmaOpt,
    timepoint: list[str] | None = TimepointOpt,
    participant: list[str] | None = ParticipantOpt,
    role: list[str] | None = RoleOpt,
    limit: int | None = typer.Option(None, "--limit", help="At most this many hits.", metavar="N"),
    json_out: bool = JsonOpt,
) -> None:
    """Full-text search of every transcript; each hit with its sentence."""
    with opened(project) as proj, proj.read() as session:
        hits = search_module.search(
            session, query, fuzzy, lemma, timepoints=timepoint, participants=participant, roles=role, limit=limit
        )
    if json_out:
        emit_json([{**h.as_dict(), "turn": None if h.turn_index is None else turn_number(h.turn_index)} for h in hits])
        return
    emit_table(
        ["participant", "timepoint", "turn", "speaker", "span", "match", "sentence"],
        [
            [
                h.participant,
                h.timepoint,
                _turn(h.turn_index),
                h.speaker,
                f"{h.start}:{h.end}",
                h.text,
                _one_line(h.context),
            ]
            for h in hits
        ],
    )


def _turn(index: int | None) -> str:
    """A hit's turn as the table shows it (numbered from 1, as everywhere); "-" for text outside every turn
    (a preamble, a label line)."""
    return "-" if index is None else str(turn_number(index))


def autocode(
    project: str = ProjectArg,
    query: str = typer.Argument(..., help='Words, "a phrase", or a prefix*.', metavar="QUERY"),
    code: str = typer.Option(..., "--code", help="The code to apply: a path or id.", metavar="NAME"),
    coder: str | None = typer.Option(
        None, "--coder", help="Coder (default: the project's default coder).", metavar="C"
    ),
    unit: str = typer.Option("hit", "--unit", help="Code the hit itself, its sentence, or its turn.", metavar="UNIT"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be coded."),
    fuzzy: bool = FuzzyOpt,
    lemma: bool = LemmaOpt,
    timepoint: list[str] | None = TimepointOpt,
    participant: list[str] | None = ParticipantOpt,
    role: list[str] | None = RoleOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Apply a code to every search hit (as the hit, its sentence or its turn) in one undoable step."""
    with opened(project) as proj:
        with proj.read() as session:
            chosen = coder or os.environ.get("WAVEQDA_CODER") or default_coder_name(session)
        if not chosen:
            fail("no coder: give --coder NAME, or set a default with: waveqda coder PROJECT NAME")
        result = search_module.autocode(
            proj,
            chosen,
            query,
            code,
            chosen,
            unit,  # type: ignore[arg-type]  # checked by autocode
            dry_run,
            fuzzy,
            lemma,
            timepoints=timepoint,
            participants=participant,
            roles=role,
        )
    if json_out:
        emit_json(result.as_dict())
        return
    if not result.hits:
        typer.echo(f"No hits for {result.query!r}; nothing coded")
        return
    verb = "Would code" if result.dry_run else "Coded"
    typer.echo(
        f"{verb} {result.hits} hits of {result.query!r} as {result.code} ({result.coder}, unit {result.unit}): "
        f"{result.created} new codings, {result.extended} extended, {result.absorbed} absorbed"
    )


def query(
    project: str = ProjectArg,
    expression: str = typer.Argument(
        "", help='e.g. \'"Supervision" AND NOT "Peer supervision"\', \'"A" NEAR/50 "B"\'.', metavar="EXPRESSION"
    ),
    timepoint: list[str] | None = TimepointOpt,
    participant: list[str] | None = ParticipantOpt,
    attribute: list[str] | None = AttributeOpt,
    coder: list[str] | None = CoderFilterOpt,
    role: list[str] | None = RoleOpt,
    context: str = typer.Option(
        "sentence", "--context", help="What to show around each segment: segment, sentence or turn."
    ),
    turns_around: int = typer.Option(
        0, "--turns-around", help="Also show N whole turns before and after.", metavar="N"
    ),
    saved: str | None = typer.Option(None, "--saved", help="Run the query saved under this name.", metavar="NAME"),
    save: str | None = typer.Option(
        None, "--save", help="Keep this query (and its filters) under NAME.", metavar="NAME"
    ),
    save_as_code: str | None = typer.Option(
        None,
        "--save-as-code",
        help="Code every result at this code (created if missing): one undoable step.",
        metavar="PATH",
    ),  # fmt: skip
    as_coder: str | None = typer.Option(None, "--as-coder", help="Who codes with --save-as-code.", metavar="C"),
    json_out: bool = JsonOpt,
) -> None:
    """Coding query: codes combined with AND, OR, NOT, NEAR/N, NEAR/sentence, NEAR/turn, OVERLAPS, PRECEDES."""
    from app.commands.common import actor_of
    from models import query_actions
    from models.queries.coding_query import run_query

    if context not in ("segment", "sentence", "turn"):
        fail(f"--context {context!r}: use segment, sentence or turn")
    with opened(project) as proj:
        if saved:
            q = query_actions.saved_query(proj, saved)
        else:
            if not expression.strip():
                fail("give a query EXPRESSION, or --saved NAME")
            q = query_actions.SavedQuery(
                expression, tuple(timepoint or ()), tuple(participant or ()),
                tuple(parse_attributes(attribute) or ()), tuple(coder or ()), tuple(role or ()), context, turns_around,
            )  # fmt: skip
        with proj.read() as session:
            hits = run_query(
                session, q.expression, list(q.timepoints) or None, list(q.participants) or None,
                list(q.attributes) or None, list(q.coders) or None, list(q.roles) or None,
                q.context, q.turns_around,  # type: ignore[arg-type]
            )  # fmt: skip
        actor = actor_of(proj, as_coder)
        if save:
            query_actions.save_query(proj, actor, save, q)
        coded = query_actions.save_as_code(proj, actor, hits, save_as_code, actor) if save_as_code else 0
    if json_out:
        emit_json([h.as_dict() for h in hits])
        return
    emit_table(
        ["transcript", "span", "text", "context", "memos"],
        [
            [h.transcript, f"{h.start}:{h.end}", _one_line(h.text), _one_line(h.context), "; ".join(h.memos)]
            for h in hits
        ],
    )
    typer.echo(f"{len(hits)} segment(s) in {len({h.transcript_id for h in hits})} transcript(s)")
    if save:
        typer.echo(f"Saved the query as {save!r}: run it again with --saved {save!r}")
    if save_as_code:
        typer.echo(f"Coded {coded} segment(s) at {save_as_code!r} (one step: waveqda undo)")


def words(
    project: str = ProjectArg,
    code: str | None = CodeOpt,
    timepoint: list[str] | None = TimepointOpt,
    participant: list[str] | None = ParticipantOpt,
    attribute: list[str] | None = AttributeOpt,
    coder: list[str] | None = CoderFilterOpt,
    by: str = typer.Option("all", "--by", help="all, timepoint, or attribute:NAME (e.g. attribute:site)."),
    lemma: bool = typer.Option(False, "--lemma", help="Count each word's lemma (support, supported...)."),
    top: int = typer.Option(20, "--top", help="How many words per group.", metavar="N"),
    json_out: bool = JsonOpt,
) -> None:
    """Most frequent words (stop words left out) of a code's text, or of what participants said, per group."""
    from models.queries.word_frequency import word_frequencies

    group, _, name = by.partition(":")
    if group not in ("all", "timepoint", "attribute"):
        fail(f"--by {by!r}: use all, timepoint or attribute:NAME")
    with opened(project) as proj, proj.read() as session:
        groups = word_frequencies(
            session, code, timepoint, participant, parse_attributes(attribute), coder,
            group, name or None, lemma, top,  # type: ignore[arg-type]
        )  # fmt: skip
    if json_out:
        emit_json([g.as_dict() for g in groups])
        return
    for found in groups:
        typer.echo(f"{found.group}: {found.words_counted} words counted")
        widest = max((w.count for w in found.top), default=1)
        emit_table(
            ["word", "count", "share", ""],
            [[w.word, w.count, f"{w.share:.1%}", "█" * max(1, round(24 * w.count / widest))] for w in found.top],
        )
