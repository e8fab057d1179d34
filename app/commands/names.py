"""Pseudonymisation commands: ``names PROJECT scan|list|add|accept|reject|check`` and ``redact``."""

from __future__ import annotations

from pathlib import Path

import typer

from app.commands.common import ActorOpt, JsonOpt, ProjectArg, actor_of, emit_json, emit_table, fail, open_existing
from models import names as name_register
from models.store import display_name


def register(app: typer.Typer) -> None:
    app.command("names")(names)
    app.command("redact")(redact)


def names(
    project: str = ProjectArg,
    action: str = typer.Argument(..., help="scan | list | add | accept | reject | check", metavar="ACTION"),
    args: list[str] = typer.Argument(
        None, help="TERM for add; candidate IDs for accept/reject; FILE for check.", metavar="[ARGS]..."
    ),
    variants: str | None = typer.Option(None, "--variants", help="add: other spellings, comma-separated."),
    category: str | None = typer.Option(None, "--category", help="person, place, organisation, ward or other."),
    replacement: str | None = typer.Option(None, "--replacement", help='What replaces it, e.g. "[Colleague A]".'),
    all_pending: bool = typer.Option(False, "--all", help="accept: every pending candidate."),
    as_entry: int | None = typer.Option(None, "--as", help="accept: add as a variant of this register entry id."),
    anonymise_coders: bool = typer.Option(
        False, "--anonymise-coders", help="check: the file was exported with --anonymise-coders (coders' names count)."
    ),
    json_out: bool = JsonOpt,
    coder_name: str | None = ActorOpt,
) -> None:
    """The register of identifying names: scan for candidates, list, add, accept or reject them; check an
    exported file (.docx, .csv, .xlsx, .qdpx) for registered names and new candidates (exit 1 if any)."""
    args = args or []
    with open_existing(project) as proj:
        actor = actor_of(proj, coder_name)
        if action == "scan":
            _print_candidates(name_register.scan(proj, actor), json_out)
        elif action == "list":
            with proj.read() as session:
                entries = name_register.entry_rows(session)
            _print_entries(entries, json_out)
        elif action == "add":
            if len(args) != 1:
                fail("names add takes one TERM (quote it if it has spaces)")
            variant_list = [v.strip() for v in (variants or "").split(",") if v.strip()]
            entry_id = name_register.add_entry(proj, actor, args[0], variant_list, category or "person", replacement)
            typer.echo(f"Added register entry {entry_id}: {args[0]}")
        elif action == "accept":
            ids = _ids(args)
            entry_ids = name_register.accept(proj, actor, ids, all_pending, as_entry, category, replacement)
            typer.echo(f"Accepted {len(entry_ids)} candidate(s)")
        elif action == "reject":
            name_register.reject(proj, actor, _ids(args))
            typer.echo(f"Rejected {len(args)} candidate(s)")
        elif action == "check":
            if len(args) != 1:
                fail("names check takes one FILE: an exported .docx, .csv, .xlsx or .qdpx")
            _check(proj, Path(args[0]), project, anonymise_coders, json_out)
        else:
            fail(f"unknown action {action!r}: use scan, list, add, accept, reject or check")


def _check(proj: object, path: Path, project: str, anonymise_coders: bool, json_out: bool) -> None:
    """Print what identifies someone in an exported file; exit 1 when anything does (a data manager's check)."""
    from models.name_check import check_file

    findings = check_file(proj, path, coders=anonymise_coders)  # type: ignore[arg-type]
    if json_out:
        emit_json({"file": str(path), "clean": not findings, "findings": [f.as_dict() for f in findings]})
    else:
        for finding in findings:
            typer.echo(finding.line())
        registered = sum(1 for f in findings if f.kind == "registered")
        if findings:
            typer.echo(
                f"{path}: {registered} registered name(s) and {len(findings) - registered} unreviewed candidate(s) "
                "found. Not safe to share: review with "
                f"`waveqda names {display_name(project)} scan`, export again with --anonymise."
            )
        else:
            typer.echo(f"{path}: no registered names and no new candidates found.")
    if findings:
        raise typer.Exit(1)


def _ids(args: list[str]) -> list[int]:
    bad = [a for a in args if not a.isdigit()]
    if bad:
        fail(f"not a candidate id: {bad[0]!r}")
    return [int(a) for a in args]


def _print_candidates(rows: list[name_register.CandidateRow], json_out: bool) -> None:
    if json_out:
        emit_json([r.as_dict() for r in rows])
        return

    def context(row: name_register.CandidateRow) -> str:
        if row.speaker_replacement:
            return f"speaker label → {row.speaker_replacement}: {row.context}"
        return row.context

    emit_table(
        ["id", "text", "category", "found by", "times", "variant of", "context"],
        [[r.id, r.text, r.category, r.source, r.occurrences, r.variant_of or "", context(r)] for r in rows],
    )
    typer.echo(
        f"{len(rows)} candidates. Accept with: waveqda names PROJECT accept ID... (or --all); "
        "reject with: waveqda names PROJECT reject ID..."
    )


def _print_entries(rows: list[name_register.EntryRow], json_out: bool) -> None:
    if json_out:
        emit_json([r.as_dict() for r in rows])
        return
    emit_table(
        ["id", "term", "variants", "category", "replacement"],
        [[r.id, r.term, ", ".join(r.variants), r.category, r.replacement] for r in rows],
    )


def redact(
    project: str = ProjectArg,
    apply: bool = typer.Option(False, "--apply", help="Change the stored transcripts (a backup is written first)."),
    json_out: bool = JsonOpt,
    coder_name: str | None = ActorOpt,
) -> None:
    """Replace register terms in the stored transcripts, keeping every coding on the same words. Undoable."""
    with open_existing(project) as proj:
        plan = name_register.redact(proj, actor_of(proj, coder_name), apply=apply)
    if json_out:
        emit_json(
            {
                "applied": apply,
                "replacements": plan.per_transcript,
                "total": plan.total,
                "codings_moved": plan.codings_moved,
                "backup": plan.backup,
            }
        )
        return
    for ref, n in plan.per_transcript.items():
        typer.echo(f"{ref}: {n} replacements")
    if apply:
        typer.echo(f"Redacted {plan.total} names; {plan.codings_moved} codings re-anchored; backup: {plan.backup}")
    else:
        typer.echo(f"{plan.total} replacements would be made. Run again with --apply to redact (undoable).")
