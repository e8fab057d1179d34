"""Codebook, coding and history commands: codes, code ..., apply, uncode, undo, redo, history, coder.

Handlers parse arguments, call ``models.codebook`` / ``models.coding`` / ``models.history`` and print. Events
are recorded as the coder given, else the project's default coder, else the OS user.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from app.commands.common import (
    AcceptRiskOpt,
    ActorOpt,
    AnonymiseCodersOpt,
    AnonymiseOpt,
    JsonOpt,
    OutputOpt,
    ProjectArg,
    actor_of,
    emit_json,
    emit_table,
    fail,
    open_existing,
    open_for_reading,
    write_export,
)
from models import codebook, coding, history
from models.errors import WaveqdaError
from models.participants import default_coder_name

code_app = typer.Typer(
    name="code",
    help="Create and refine codes: add, rename, describe, recolour, move, merge, split, archive, delete.",
    no_args_is_help=True,
)

PathArg = typer.Argument(..., help="A code path (Theme/Subtheme/Code) or id.", metavar="PATH")


def register(app: typer.Typer) -> None:
    app.command("memos")(memos)
    app.command("journal")(journal)
    app.command("codes")(codes)
    app.add_typer(code_app, name="code")
    for name, handler in (
        ("add", add),
        ("rename", rename),
        ("describe", describe),
        ("recolour", recolour),
        ("reorder", reorder),
        ("move", move),
        ("merge", merge),
        ("split", split),
        ("archive", archive),
        ("unarchive", unarchive),
        ("delete", delete),
    ):
        code_app.command(name)(handler)
    app.command("apply")(apply)
    app.command("uncode")(uncode)
    app.command("key")(key)
    app.command("memo")(memo_command)
    app.command("undo")(undo)
    app.command("redo")(redo)
    app.command("history")(history_command)
    app.command("coder")(coder)


# --- the codebook ------------------------------------------------------------------------------------


SORTS = ("tree", "files", "participants", "references", "name")


def codes(
    project: str = ProjectArg,
    sort: str = typer.Option("tree", "--sort", help="tree, files, participants, references or name."),
    json_out: bool = JsonOpt,
) -> None:
    """Show the codebook tree with Files, Participants and References (sub-codes included) and memos."""
    if sort not in SORTS:
        fail(f"--sort {sort!r}: use one of {', '.join(SORTS)}")
    with open_for_reading(project) as proj, proj.read() as session:
        rows = codebook.codebook_rows(session)
    if sort == "name":
        rows = sorted(rows, key=lambda r: r.path.casefold())
    elif sort != "tree":
        rows = sorted(rows, key=lambda r: (-getattr(r, sort), r.path.casefold()))
    if json_out:
        emit_json([r.as_dict() for r in rows])
        return
    keys = list(rows[0].counts) if rows else []
    indent = sort == "tree"
    emit_table(
        ["id", "code", "files", "participants", "references", *keys, "memo", "colour", "note"],
        [
            [
                r.id,
                ("  " * r.depth + r.name) if indent else r.path,
                r.files,
                r.participants,
                r.references,
                *(r.by_timepoint[k]["references"] for k in keys),
                "memo" if r.memo else "",
                r.colour,
                _note(r),
            ]  # fmt: skip
            for r in rows
        ],
    )
    typer.echo("Files, participants and references include each code's sub-codes (as NVivo counts them).")


def _note(row: codebook.CodeRow) -> str:
    if row.merged_into:
        return f"merged into {row.merged_into}"
    return "archived" if row.archived else ""


def add(
    project: str = ProjectArg,
    path: str = typer.Argument(..., help="Theme/Subtheme/Code; missing parents are created.", metavar="PATH"),
    definition: str = typer.Option("", "--definition", help="What the code means."),
    include: str = typer.Option("", "--include", help="Inclusion criteria."),
    exclude: str = typer.Option("", "--exclude", help="Exclusion criteria."),
    example: str = typer.Option("", "--example", help="An example quote."),
    colour: str | None = typer.Option(None, "--colour", help="#RRGGBB (default: the next palette colour)."),
    coder_name: str | None = ActorOpt,
) -> None:
    """Add a code (and any missing parent codes)."""
    with open_existing(project) as proj:
        code_id = codebook.add_code(
            proj, actor_of(proj, coder_name), path, definition, include, exclude, example, colour
        )
    typer.echo(f"Added code {path} (id {code_id})")


def rename(
    project: str = ProjectArg,
    path: str = PathArg,
    new_name: str = typer.Argument(..., help="The new name (not a path).", metavar="NEW_NAME"),
    coder_name: str | None = ActorOpt,
) -> None:
    """Rename a code; its codings and sub-codes follow."""
    with open_existing(project) as proj:
        codebook.rename_code(proj, actor_of(proj, coder_name), path, new_name)
    typer.echo(f"Renamed {path} to {new_name}")


def describe(
    project: str = ProjectArg,
    path: str = PathArg,
    definition: str | None = typer.Option(None, "--definition", help="What the code means."),
    include: str | None = typer.Option(None, "--include", help="Inclusion criteria."),
    exclude: str | None = typer.Option(None, "--exclude", help="Exclusion criteria."),
    example: str | None = typer.Option(None, "--example", help="An example quote."),
    coder_name: str | None = ActorOpt,
) -> None:
    """Edit a code's definition fields (only those given change; "" clears one)."""
    with open_existing(project) as proj:
        codebook.describe_code(proj, actor_of(proj, coder_name), path, definition, include, exclude, example)
    typer.echo(f"Updated {path}")


def recolour(
    project: str = ProjectArg,
    path: str = PathArg,
    colour: str = typer.Argument(..., help="#RRGGBB", metavar="HEX"),
    coder_name: str | None = ActorOpt,
) -> None:
    """Change a code's colour."""
    with open_existing(project) as proj:
        codebook.recolour_code(proj, actor_of(proj, coder_name), path, colour)
    typer.echo(f"Recoloured {path} to {colour}")


def reorder(
    project: str = ProjectArg,
    path: str = PathArg,
    position: int = typer.Argument(..., help="New position among its siblings, from 0.", metavar="POSITION"),
    coder_name: str | None = ActorOpt,
) -> None:
    """Move a code up or down among its siblings."""
    with open_existing(project) as proj:
        codebook.reorder_code(proj, actor_of(proj, coder_name), path, position)
    typer.echo(f"Moved {path} to position {position}")


def move(
    project: str = ProjectArg,
    path: str = PathArg,
    new_parent: str = typer.Argument(
        ..., help="The new parent's path, or / for the top level.", metavar="NEW_PARENT_PATH"
    ),
    coder_name: str | None = ActorOpt,
) -> None:
    """Move a code (with its sub-codes) under another code."""
    with open_existing(project) as proj:
        codebook.move_code(proj, actor_of(proj, coder_name), path, new_parent.strip() or None)
    typer.echo(f"Moved {path} under {new_parent.strip() or '/'}")


def merge(
    project: str = ProjectArg,
    from_path: str = typer.Argument(..., help="The code to merge away.", metavar="FROM_PATH"),
    into_path: str = typer.Argument(..., help="The code that receives its codings.", metavar="INTO_PATH"),
    coder_name: str | None = ActorOpt,
) -> None:
    """Merge one code into another (overlapping codings of the same coder become one)."""
    with open_existing(project) as proj:
        codebook.merge_codes(proj, actor_of(proj, coder_name), from_path, into_path)
    typer.echo(f"Merged {from_path} into {into_path}")


def split(
    project: str = ProjectArg,
    path: str = PathArg,
    new_path: str = typer.Argument(..., help="The new code's path.", metavar="NEW_PATH"),
    codings: str | None = typer.Option(None, "--codings", help="Coding ids, comma-separated.", metavar="IDS"),
    transcript: list[str] | None = typer.Option(None, "--transcript", help="Only codings in this transcript."),
    timepoint: str | None = typer.Option(None, "--timepoint", help="Only codings at this timepoint.", metavar="T"),
    match: str | None = typer.Option(None, "--match", help="Only codings whose text contains this."),
    coder_name: str | None = ActorOpt,
) -> None:
    """Move chosen codings of a code to a new code."""
    ids = _parse_ids(codings) if codings is not None else None
    with open_existing(project) as proj:
        new_id, moved = codebook.split_code(
            proj, actor_of(proj, coder_name), path, new_path, ids, transcript or None, timepoint, match
        )
    typer.echo(f"Moved {moved} codings from {path} to new code {new_path} (id {new_id})")


def _parse_ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise WaveqdaError(f"invalid --codings {text!r}: use ids separated by commas, e.g. 12,15,40") from None


def archive(
    project: str = ProjectArg,
    path: str = PathArg,
    coder_name: str | None = ActorOpt,
) -> None:
    """Hide a code from coding (its codings and history stay)."""
    with open_existing(project) as proj:
        codebook.archive_code(proj, actor_of(proj, coder_name), path)
    typer.echo(f"Archived {path}")


def unarchive(
    project: str = ProjectArg,
    path: str = PathArg,
    coder_name: str | None = ActorOpt,
) -> None:
    """Make an archived code available for coding again."""
    with open_existing(project) as proj:
        codebook.unarchive_code(proj, actor_of(proj, coder_name), path)
    typer.echo(f"Unarchived {path}")


def delete(
    project: str = ProjectArg,
    path: str = PathArg,
    force: bool = typer.Option(False, "--force", help="Also delete its codings and memos (recorded; undoable)."),
    coder_name: str | None = ActorOpt,
) -> None:
    """Delete a code and its sub-codes (refused while they hold codings, unless --force)."""
    with open_existing(project) as proj:
        codebook.delete_code(proj, actor_of(proj, coder_name), path, force)
    typer.echo(f"Deleted {path}")


# --- coding ------------------------------------------------------------------------------------------


def apply(
    project: str = ProjectArg,
    transcript: str = typer.Option(..., "--transcript", help="Transcript id or PARTICIPANT/TIMEPOINT.", metavar="T"),
    code: list[str] = typer.Option(..., "--code", help="Code path or id (repeat for several).", metavar="NAME"),
    coder_name: str | None = ActorOpt,
    span: str | None = typer.Option(None, "--span", help="Character offsets START:END.", metavar="START:END"),
    sentence: int | None = typer.Option(None, "--sentence", help="Sentence number, from 0.", metavar="N"),
    turn: int | None = typer.Option(None, "--turn", help="Turn number, from 1 as shown (speech only).", metavar="N"),
    match: str | None = typer.Option(None, "--match", help="The first occurrence of this text.", metavar="TEXT"),
    memo: str = typer.Option("", "--memo", help="A memo on the coding.", metavar="TEXT"),
) -> None:
    """Apply codes to a span of a transcript; prints the coding ids."""
    with open_existing(project) as proj:
        with proj.read() as session:
            chosen = coder_name or os.environ.get("WAVEQDA_CODER") or default_coder_name(session)
            transcript_id, start, end = coding.resolve_span(session, transcript, span, sentence, turn, match)
        if not chosen:
            fail("no coder: give --coder NAME, or set a default with: waveqda coder PROJECT NAME")
        ids = coding.apply_codes(proj, chosen, transcript_id, list(code), chosen, start, end, memo)
    for coding_id in ids:
        typer.echo(coding_id)


def uncode(
    project: str = ProjectArg,
    coding_id: int = typer.Argument(..., help="The coding's id.", metavar="CODING_ID"),
    coder_name: str | None = ActorOpt,
) -> None:
    """Remove one coding."""
    with open_existing(project) as proj:
        coding.remove_coding(proj, actor_of(proj, coder_name), coding_id)
    typer.echo(f"Removed coding {coding_id}")


def key(
    project: str = ProjectArg,
    coding_id: int = typer.Argument(..., help="The coding's id.", metavar="CODING_ID"),
    off: bool = typer.Option(False, "--off", help="Unmark it instead."),
    coder_name: str | None = ActorOpt,
) -> None:
    """Mark a coding as a key quote (or unmark it with --off)."""
    with open_existing(project) as proj:
        coding.set_key_quote(proj, actor_of(proj, coder_name), coding_id, not off)
    typer.echo(f"{'Unmarked' if off else 'Marked'} coding {coding_id} as a key quote")


def memo_command(
    project: str = ProjectArg,
    text: str = typer.Argument(..., help="The memo (empty text clears it).", metavar="TEXT"),
    coding_id: int | None = typer.Option(None, "--coding", help="A coding's id.", metavar="ID"),
    transcript: str | None = typer.Option(None, "--transcript", help="A transcript: id or P01/T2.", metavar="T"),
    code: str | None = typer.Option(None, "--code", help="A code's path or id.", metavar="PATH"),
    coder_name: str | None = ActorOpt,
) -> None:
    """Write the memo on a coding, a transcript or a code (it replaces the one there)."""
    given = [name for name, value in (("--coding", coding_id), ("--transcript", transcript), ("--code", code)) if value]
    if len(given) != 1:
        fail("give exactly one of --coding ID, --transcript P01/T2 or --code PATH")
    with open_existing(project) as proj:
        actor = actor_of(proj, coder_name)
        if coding_id is not None:
            coding.set_coding_memo(proj, actor, coding_id, text)
        elif transcript is not None:
            coding.set_transcript_memo(proj, actor, transcript, text)
        else:
            codebook.set_code_memo(proj, actor, code or "", text)
    typer.echo(
        f"{'Cleared' if not text.strip() else 'Wrote'} the memo on {given[0][2:]} {coding_id or transcript or code}"
    )


def coder(
    project: str = ProjectArg,
    name: str = typer.Argument(..., help="The coder to use when --coder is not given.", metavar="NAME"),
) -> None:
    """Set the project's default coder."""
    with open_existing(project) as proj:
        coding.set_default_coder(proj, name)
    typer.echo(f"Default coder: {name.strip()}")


# --- history -----------------------------------------------------------------------------------------


CoderOpt = typer.Option(None, "--coder", help="Whose step (default: the project's default coder).", metavar="C")
AnyoneOpt = typer.Option(False, "--anyone", help="The newest step of any coder, not only your own.")


def _step(project: str, coder_name: str | None, anyone: bool, backwards: bool) -> None:
    verb = "undo" if backwards else "redo"
    with open_existing(project) as proj:
        actor = actor_of(proj, coder_name)
        step = history.undo if backwards else history.redo
        event = step(proj, actor, anyone=anyone)
        if event is not None:
            typer.echo(f"{'Undid' if backwards else 'Redid'} #{event.id}: {event.summary}")
            return
        with proj.read() as session:
            other = history.newest_step_by_others(session, actor) if backwards and not anyone else None
    hint = (
        f" (the newest step is {other.actor}'s #{other.id}: use --coder {other.actor!r} or --anyone)" if other else ""
    )
    typer.echo(f"Nothing to {verb}{hint}")


def undo(project: str = ProjectArg, coder_name: str | None = CoderOpt, anyone: bool = AnyoneOpt) -> None:
    """Undo your last change (one whole operation); a colleague's later steps stay."""
    _step(project, coder_name, anyone, backwards=True)


def redo(project: str = ProjectArg, coder_name: str | None = CoderOpt, anyone: bool = AnyoneOpt) -> None:
    """Redo your last undone change."""
    _step(project, coder_name, anyone, backwards=False)


def history_command(
    project: str = ProjectArg,
    limit: int | None = typer.Option(None, "--limit", help="Only the newest N events."),
    json_out: bool = JsonOpt,
) -> None:
    """Show who changed what and when, oldest first (undone steps are marked)."""
    with open_for_reading(project) as proj, proj.read() as session:
        rows = history.history(session, limit)
    if json_out:
        emit_json([r.as_dict() for r in rows])
        return
    emit_table(["id", "at", "actor", "state", "summary"], [[r.id, r.at, r.actor, r.state, r.summary] for r in rows])


def memos(
    project: str = ProjectArg,
    search: str | None = typer.Option(None, "--search", help="Only memos holding all these words.", metavar="WORDS"),
    kind: list[str] | None = typer.Option(
        None, "--kind", help="journal, transcript, participant, code or coding (repeatable).", metavar="KIND"
    ),
    author: str | None = typer.Option(None, "--author", help="Only memos written by this coder.", metavar="C"),
    output: Path | None = OutputOpt,
    anonymise: bool = AnonymiseOpt,
    anonymise_coders: bool = AnonymiseCodersOpt,
    accept_risk: bool = AcceptRiskOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Every memo in one list (journal, transcripts, codes, codings), with what each annotates; --output
    writes the list as Word, CSV or XLSX."""
    from models.memo_list import all_memos

    if output is not None:
        from exporters.dispatch import ExportOptions
        from exporters.filters import ExportFilters

        if json_out:
            raise WaveqdaError("use either --json or --output, not both")
        filters = ExportFilters(anonymise=anonymise, anonymise_coders=anonymise_coders, accept_risk=accept_risk)
        options = ExportOptions(memo_search=search, memo_kinds=kind, memo_author=author)
        with open_for_reading(project) as proj:
            write_export(proj, output, "memos", filters, options)
        return

    with open_for_reading(project) as proj, proj.read() as session:
        found = all_memos(session, search, kind, author)
    if json_out:
        emit_json([m.as_dict() for m in found])
        return
    emit_table(
        ["kind", "about", "by", "when", "memo"],
        [[m.kind, m.target, m.author, m.updated, " ".join(f"{m.title} {m.text}".split())[:100]] for m in found],
    )


def journal(
    project: str = ProjectArg,
    text: str = typer.Argument(..., help="The entry.", metavar="TEXT"),
    title: str = typer.Option("", "--title", help="A short title."),
    coder_name: str | None = ActorOpt,
) -> None:
    """Add a dated entry to the project journal (listed by `waveqda memos --kind journal`)."""
    from models.memo_list import add_journal_entry

    with open_existing(project) as proj:
        actor = actor_of(proj, coder_name)
        entry = add_journal_entry(proj, actor, text, title)
    typer.echo(f"Journal entry {entry} by {actor}")
