"""The codebook: creating and refining codes (rename, describe, recolour, reorder, move, merge, split,
archive, delete), the colour palette, and the codebook listing with counts per timepoint.

Every operation is one ``Project.change`` step, so it is one event in the history and one undo. Rows are
changed through the ORM only (the journal captures row images from flushes). Validation happens before the
first write so that bad input changes nothing; anything raised rolls the whole step back anyway.
"""

from __future__ import annotations

import colorsys
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import journal
from models.codes import CodeTree, split_path
from models.coding import attached_memos, combine, join_memos, move_coding_memos, transcript_label
from models.errors import NotFoundError, WaveqdaError
from models.naming import check_name_text
from models.schema import Code, Coding, Memo, Timepoint, Transcript, is_row_id
from models.store import Project, get_setting, timepoints
from models.transcripts import find_timepoint, find_transcript

# 20 qualitative colours (Tableau 10, then D3 category10): neighbouring codes differ in hue.
PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
    "#bab0ac", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
]  # fmt: skip
# Lightness shifts applied on each further pass through the palette, so colours stay distinct past 20.
LIGHTNESS_STEPS = [0.0, -0.15, 0.15, -0.25, 0.25]
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_NAME_LENGTH = 300
DEFINITION_FIELDS = ("definition", "inclusion", "exclusion", "example")


# --- palette -----------------------------------------------------------------------------------------


def shift_lightness(colour: str, delta: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    lightness = min(0.92, max(0.12, lightness + delta))
    return "#" + "".join(f"{round(v * 255):02x}" for v in colorsys.hls_to_rgb(h, lightness, s))


def palette_colours(base: list[str] | None = None) -> list[str]:
    """Every automatic colour in order: the base palette, then lighter/darker passes of it."""
    base = base or PALETTE
    shifted = (shift_lightness(c, step) if step else c.lower() for step in LIGHTNESS_STEPS for c in base)
    return list(dict.fromkeys(shifted))  # a shift clamped at the extremes can repeat a colour


def project_palette(session: Session) -> list[str]:
    """The project's palette: the ``code_palette`` setting (a list of ``#RRGGBB``) or the default."""
    custom = get_setting(session, "code_palette")
    if isinstance(custom, list):
        valid = [c for c in custom if isinstance(c, str) and COLOUR_RE.match(c)]
        if valid:
            return palette_colours(valid)
    return palette_colours()


def next_colour(session: Session, taken: Iterable[str] = ()) -> str:
    """The first palette colour no live code uses; when all are used, cycle by the number of codes."""
    colours = project_palette(session)
    used = {c.lower() for c in session.scalars(select(Code.colour).where(Code.archived.is_(False)))}
    used |= {c.lower() for c in taken}
    for colour in colours:
        if colour not in used:
            return colour
    return colours[len(used) % len(colours)]


def check_colour(colour: str) -> str:
    colour = colour.strip()
    if not COLOUR_RE.match(colour):
        raise WaveqdaError(f"invalid colour {colour!r}: use #RRGGBB, e.g. #4e79a7")
    return colour.lower()


# --- names and the tree ------------------------------------------------------------------------------


def check_name(name: str) -> str:
    """A usable code name: not empty, no ``/`` (the path separator), not only digits (those are ids), no
    control characters (``models.naming``)."""
    name = check_name_text(name, "code name")
    if not name:
        raise WaveqdaError("code name is empty")
    if "/" in name:
        raise WaveqdaError(f"code name {name!r} contains '/', which separates levels of a path")
    if name.isdigit():
        raise WaveqdaError(f"code name {name!r} is only digits, which would read as a code id")
    if len(name) > MAX_NAME_LENGTH:
        raise WaveqdaError(f"code name is longer than {MAX_NAME_LENGTH} characters")
    return name


def check_free_name(tree: CodeTree, parent_id: int | None, name: str, ignore: int | None = None) -> None:
    """Refuse a name a sibling already has (case-insensitively), archived siblings included."""
    clash = tree.child_named(parent_id, name)
    if clash is not None and clash.id != ignore:
        where = f"under {tree.path(parent_id)!r}" if parent_id is not None else "at the top level"
        hint = " (archived; unarchive or rename it)" if clash.archived else ""
        raise WaveqdaError(f"a code named {clash.name!r} already exists {where}{hint}")


def _siblings(tree: CodeTree, parent_id: int | None) -> list[Code]:
    return [tree.codes[cid] for cid in tree.children.get(parent_id, [])]


def _renumber(codes: list[Code]) -> None:
    for position, code in enumerate(codes):
        if code.position != position:
            code.position = position


def _attach(tree: CodeTree, code: Code, parent_id: int | None) -> None:
    """Put ``code`` last among ``parent_id``'s children, in the database and in the loaded tree."""
    siblings = tree.children.setdefault(parent_id, [])
    code.parent_id = parent_id
    code.position = len(siblings)
    siblings.append(code.id)


def _detach(tree: CodeTree, code: Code) -> None:
    siblings = tree.children.get(code.parent_id, [])
    siblings.remove(code.id)
    _renumber([tree.codes[cid] for cid in siblings])


def _create_path(session: Session, tree: CodeTree, path: str) -> tuple[Code, list[Code]]:
    """Create the code at ``path`` and any missing parents. Returns (the code, everything created)."""
    parts = [check_name(part) for part in split_path(path)]
    if not parts:
        raise WaveqdaError("code path is empty")
    parent_id: int | None = None
    created: list[Code] = []
    for depth, part in enumerate(parts):
        existing = tree.child_named(parent_id, part)
        if existing is not None and depth < len(parts) - 1:
            parent_id = existing.id
            continue
        check_free_name(tree, parent_id, part)
        code = Code(name=part, parent_id=parent_id, colour=next_colour(session, (c.colour for c in created)))
        code.position = len(tree.children.get(parent_id, []))
        session.add(code)
        session.flush()
        tree.codes[code.id] = code
        tree.children.setdefault(parent_id, []).append(code.id)
        created.append(code)
        parent_id = code.id
    return created[-1], created


def code_at(session: Session, tree: CodeTree, path: str) -> Code:
    """The code at ``path``, created (with any missing parents) when there is none: "save as code" targets."""
    try:
        return tree.find(path)
    except WaveqdaError:
        return _create_path(session, tree, path)[0]


# --- operations --------------------------------------------------------------------------------------


def add_code(
    project: Project,
    actor: str,
    path: str,
    definition: str = "",
    inclusion: str = "",
    exclusion: str = "",
    example: str = "",
    colour: str | None = None,
) -> int:
    """Create ``Theme/Subtheme/Code`` (and any missing parents); returns the new code's id."""
    chosen = check_colour(colour) if colour else None
    with project.change(actor, "code.add") as session:
        tree = CodeTree.load(session)
        code, created = _create_path(session, tree, path)
        code.definition, code.inclusion = definition.strip(), inclusion.strip()
        code.exclusion, code.example = exclusion.strip(), example.strip()
        if chosen:
            code.colour = chosen
        parents = f" (with {', '.join(tree.path(c.id) for c in created[:-1])})" if len(created) > 1 else ""
        session.info["summary"] = f"Added code {tree.path(code.id)!r}{parents}"
        return code.id


def rename_code(project: Project, actor: str, ref: str | int, new_name: str) -> None:
    """Rename a code; its codings, children and history follow (they hold its id, not its name)."""
    new_name = check_name(new_name)
    with project.change(actor, "code.rename") as session:
        tree = CodeTree.load(session)
        code = tree.find(ref)
        old_path = tree.path(code.id)
        check_free_name(tree, code.parent_id, new_name, ignore=code.id)
        code.name = new_name
        session.info["summary"] = f"Renamed code {old_path!r} to {new_name!r}"


def describe_code(
    project: Project,
    actor: str,
    ref: str | int,
    definition: str | None = None,
    inclusion: str | None = None,
    exclusion: str | None = None,
    example: str | None = None,
) -> None:
    """Edit a code's definition fields; only the fields given change (``""`` clears one)."""
    given = {
        name: value.strip()
        for name, value in zip(DEFINITION_FIELDS, (definition, inclusion, exclusion, example), strict=True)
        if value is not None
    }
    if not given:
        raise WaveqdaError("nothing to change: give --definition, --include, --exclude or --example")
    with project.change(actor, "code.describe") as session:
        tree = CodeTree.load(session)
        code = tree.find(ref)
        for name, value in given.items():
            setattr(code, name, value)
        session.info["summary"] = f"Edited {', '.join(given)} of code {tree.path(code.id)!r}"


def set_code_memo(project: Project, actor: str, ref: str | int, memo: str) -> None:
    """Replace a code's memo (the researcher's running notes on it); empty text clears it."""
    with project.change(actor, "code.memo") as session:
        tree = CodeTree.load(session)
        code = tree.find(ref)
        code.memo = memo.strip()
        action = "Edited memo on" if code.memo else "Cleared memo on"
        session.info["summary"] = f"{action} code {tree.path(code.id)!r}"


def recolour_code(project: Project, actor: str, ref: str | int, colour: str) -> None:
    colour = check_colour(colour)
    with project.change(actor, "code.recolour") as session:
        tree = CodeTree.load(session)
        code = tree.find(ref)
        old = code.colour
        code.colour = colour
        session.info["summary"] = f"Recoloured code {tree.path(code.id)!r} from {old} to {colour}"


def reorder_code(project: Project, actor: str, ref: str | int, new_position: int) -> None:
    """Move a code to ``new_position`` (from 0) among its siblings; the siblings are renumbered."""
    with project.change(actor, "code.reorder") as session:
        tree = CodeTree.load(session)
        code = tree.find(ref)
        siblings = _siblings(tree, code.parent_id)
        if not 0 <= new_position < len(siblings):
            raise WaveqdaError(f"position {new_position} is out of range: use 0 to {len(siblings) - 1}")
        siblings.remove(code)
        siblings.insert(new_position, code)
        _renumber(siblings)
        session.info["summary"] = f"Moved code {tree.path(code.id)!r} to position {new_position}"


def move_code(project: Project, actor: str, ref: str | int, new_parent_ref: str | int | None) -> None:
    """Move a code (with its subtree) under another code, or to the top level with ``None``."""
    with project.change(actor, "code.move") as session:
        tree = CodeTree.load(session)
        code = tree.find(ref)
        old_path = tree.path(code.id)
        parent = tree.find(new_parent_ref) if new_parent_ref not in (None, "", "/") else None
        parent_id = parent.id if parent is not None else None
        if parent is not None and (parent.id == code.id or parent.id in tree.descendants(code.id)):
            raise WaveqdaError(f"cannot move {old_path!r} under {tree.path(parent.id)!r}: it is inside it")
        if parent_id == code.parent_id:
            raise WaveqdaError(f"{old_path!r} is already there")
        check_free_name(tree, parent_id, code.name, ignore=code.id)
        _detach(tree, code)
        _attach(tree, code, parent_id)
        where = tree.path(parent_id) if parent_id is not None else "the top level"
        session.info["summary"] = f"Moved code {old_path!r} to {where!r}"


def archive_code(project: Project, actor: str, ref: str | int) -> None:
    """Hide a code from coding; its codings and history stay."""
    with project.change(actor, "code.archive") as session:
        tree = CodeTree.load(session)
        code = tree.find(ref)
        if code.archived:
            raise WaveqdaError(f"code {tree.path(code.id)!r} is already archived")
        code.archived = True
        session.info["summary"] = f"Archived code {tree.path(code.id)!r}"


def unarchive_code(project: Project, actor: str, ref: str | int) -> None:
    with project.change(actor, "code.unarchive") as session:
        tree = CodeTree.load(session)
        code = tree.find(ref)
        path = tree.path(code.id)
        if not code.archived:
            raise WaveqdaError(f"code {path!r} is not archived")
        if code.merged_into_id is not None:
            raise WaveqdaError(
                f"code {path!r} was merged into {tree.path(code.merged_into_id)!r}; undo the merge instead"
            )
        code.archived = False
        session.info["summary"] = f"Unarchived code {path!r}"


# --- merge -------------------------------------------------------------------------------------------


def _clusters(codings: list[Any]) -> list[list[Any]]:
    """Group one transcript's codings (or span rows) by one coder into runs that overlap or touch."""
    runs: list[list[Any]] = []
    end = -1
    for coding in sorted(codings, key=lambda c: (c.start, c.end, c.id)):
        if runs and coding.start <= end:
            runs[-1].append(coding)
            end = max(end, coding.end)
        else:
            runs.append([coding])
            end = coding.end
    return runs


SPAN_COLUMNS = (Coding.id, Coding.transcript_id, Coding.coder_id, Coding.code_id, Coding.start, Coding.end)


def _merge_codings(session: Session, source_id: int, target_id: int) -> tuple[int, int]:
    """Move the source code's codings to the target, combining same-coder overlaps into their union.

    Spans are read as plain rows and only the codings that actually combine are loaded as objects; the rest
    are repointed with one set-based update, so a merge of thousands of codings stays fast. Only the
    target's codings in transcripts the source touches are read.
    Returns (the source's codings, codings absorbed into an overlapping one).
    """
    moving = session.execute(select(*SPAN_COLUMNS).where(Coding.code_id == source_id)).all()
    if not moving:
        return 0, 0
    touched = select(Coding.transcript_id).where(Coding.code_id == source_id)
    staying = session.execute(
        select(*SPAN_COLUMNS).where(Coding.code_id == target_id, Coding.transcript_id.in_(touched))
    ).all()
    groups: dict[tuple[int, int], list] = defaultdict(list)
    for row in (*moving, *staying):
        groups[(row.transcript_id, row.coder_id)].append(row)
    runs = [run for group in groups.values() for run in _clusters(group) if any(r.code_id == source_id for r in run)]
    alone = [run[0].id for run in runs if len(run) == 1]
    journal.set_column(session, Coding, alone, "code_id", source_id, target_id)
    objects = _load_codings(session, [row.id for run in runs if len(run) > 1 for row in run])
    absorbed_into: dict[int, int] = {}
    for run in (r for r in runs if len(r) > 1):
        keep = min(run, key=lambda r: (r.code_id != target_id, r.id))
        others = [objects[r.id] for r in run if r.id != keep.id]
        objects[keep.id].code_id = target_id
        combine(session, objects[keep.id], others, keep.start, keep.end, move_memos=False)
        absorbed_into.update((other.id, keep.id) for other in others)
    move_coding_memos(session, absorbed_into)
    return len(moving), len(absorbed_into)


def _load_codings(session: Session, ids: list[int]) -> dict[int, Coding]:
    found: dict[int, Coding] = {}
    for chunk in journal.chunks(ids):
        found.update((c.id, c) for c in session.scalars(select(Coding).where(Coding.id.in_(chunk))))
    return found


def _definition_note(source: Code, path: str) -> str:
    """The merged code's definition fields as a memo section, so no wording is lost from the codebook.

    Plain sentences (no Markdown, no ids): the memo is printed as it is in the codebook and themes reports."""
    lines = [f"Merged from “{path}”:"]
    for name in (*DEFINITION_FIELDS, "memo"):
        value = getattr(source, name).strip()
        if value:
            lines.append(f"{name.capitalize()}: {value}")
    return "\n".join(lines)


def merge_codes(project: Project, actor: str, from_ref: str | int, into_ref: str | int) -> None:
    """Merge code A into B: A's codings become B's (same-coder overlaps combined), A's definition goes to
    B's memo, A's children move under B, and A is archived pointing at B."""
    with project.change(actor, "code.merge") as session:
        tree = CodeTree.load(session)
        source, target = tree.find(from_ref), tree.find(into_ref)
        source_path, target_path = tree.path(source.id), tree.path(target.id)
        total, combined = merge_code_in_session(session, tree, source, target)
        session.info["summary"] = (
            f"Merged code {source_path!r} into {target_path!r} "
            f"({total} codings; {combined} combined with an overlapping coding by the same coder)"
        )
        session.info["detail"] = {"from": source.id, "into": target.id, "codings": total, "combined": combined}


def merge_code_in_session(session: Session, tree: CodeTree, source: Code, target: Code) -> tuple[int, int]:
    """``merge_codes`` inside the caller's transaction (a project merge accepting a proposal uses it too).
    Returns (the source's codings, codings combined with an overlapping one)."""
    _check_merge(tree, source, target)
    total, combined = _merge_codings(session, source.id, target.id)
    target.memo = join_memos([target.memo, _definition_note(source, tree.path(source.id))])
    for child in _siblings(tree, source.id):
        _detach(tree, child)
        _attach(tree, child, target.id)
    source.archived = True
    source.merged_into_id = target.id
    return total, combined


def _check_merge(tree: CodeTree, source: Code, target: Code) -> None:
    source_path, target_path = tree.path(source.id), tree.path(target.id)
    if source.id == target.id:
        raise WaveqdaError(f"cannot merge {source_path!r} into itself")
    if source.merged_into_id is not None:
        raise WaveqdaError(f"{source_path!r} was already merged into {tree.path(source.merged_into_id)!r}")
    if target.archived:
        raise WaveqdaError(f"cannot merge into {target_path!r}: it is archived")
    if target.id in tree.descendants(source.id):
        raise WaveqdaError(f"cannot merge {source_path!r} into {target_path!r}, which is inside it")
    for child in _siblings(tree, source.id):
        clash = tree.child_named(target.id, child.name)
        if clash is not None:
            raise WaveqdaError(
                f"cannot merge: both {source_path!r} and {target_path!r} have a sub-code named "
                f"{child.name!r}; merge or rename those first"
            )


# --- split -------------------------------------------------------------------------------------------


def _split_candidates(
    session: Session,
    code: Code,
    coding_ids: list[int] | None,
    transcript_refs: list[str | int] | None,
    timepoint: str | None,
) -> Sequence[Any]:
    """The code's codings (as span rows) narrowed by id, transcript and timepoint; all given filters apply."""
    stmt = select(*SPAN_COLUMNS).where(Coding.code_id == code.id)
    if transcript_refs is not None:
        ids = [find_transcript(session, ref).id for ref in transcript_refs]
        stmt = stmt.where(Coding.transcript_id.in_(ids))
    if timepoint is not None:
        wave = find_timepoint(session, timepoint)
        stmt = stmt.where(Coding.transcript_id.in_(select(Transcript.id).where(Transcript.timepoint_id == wave.id)))
    rows = session.execute(stmt.order_by(Coding.id)).all()
    if coding_ids is None:
        return rows
    _check_codings_of(session, code, coding_ids)
    wanted = set(coding_ids)
    return [row for row in rows if row.id in wanted]


def _check_codings_of(session: Session, code: Code, coding_ids: list[int]) -> None:
    owners: dict[int, int] = {}
    for chunk in journal.chunks([i for i in coding_ids if is_row_id(i)]):
        owners.update(session.execute(select(Coding.id, Coding.code_id).where(Coding.id.in_(chunk))).tuples().all())
    for coding_id in coding_ids:
        if coding_id not in owners:
            raise NotFoundError(f"no coding with id {coding_id}")
        if owners[coding_id] != code.id:
            raise WaveqdaError(f"coding #{coding_id} is not a coding of this code")


def _containing(session: Session, rows: Sequence[Any], query: str) -> list[Any]:
    """The codings whose coded text contains ``query``, ignoring case."""
    needle = query.casefold()
    texts: dict[int, str] = {}
    out = []
    for row in rows:
        if row.transcript_id not in texts:
            texts[row.transcript_id] = session.get_one(Transcript, row.transcript_id).text
        if needle in texts[row.transcript_id][row.start : row.end].casefold():
            out.append(row)
    return out


def split_code(
    project: Project,
    actor: str,
    ref: str | int,
    new_path: str,
    coding_ids: list[int] | None = None,
    transcript_refs: list[str | int] | None = None,
    timepoint: str | None = None,
    match: str | None = None,
) -> tuple[int, int]:
    """Create the code ``new_path`` and move to it the chosen codings of ``ref``.

    Choose by coding ids, transcripts, timepoint key, or coded text containing ``match`` (case-insensitive);
    several choices narrow together. Returns (new code id, codings moved). Moving nothing is refused, so a
    typo in a query does not leave an empty code behind.
    """
    if coding_ids is None and transcript_refs is None and timepoint is None and not match:
        raise WaveqdaError("choose the codings to split off: --codings, --transcript, --timepoint or --match")
    with project.change(actor, "code.split") as session:
        tree = CodeTree.load(session)
        code = tree.find(ref)
        path = tree.path(code.id)
        chosen = _split_candidates(session, code, coding_ids, transcript_refs, timepoint)
        if match:
            chosen = _containing(session, chosen, match)
        if not chosen:
            raise WaveqdaError(f"no codings of {path!r} match; nothing was split")
        new_code, _ = _create_path(session, tree, new_path)
        new_code.definition = f"Split from {path!r}."
        journal.set_column(session, Coding, [row.id for row in chosen], "code_id", code.id, new_code.id)
        session.info["summary"] = f"Split {len(chosen)} codings of {path!r} into new code {tree.path(new_code.id)!r}"
        session.info["detail"] = {"from": code.id, "into": new_code.id, "codings": [c.id for c in chosen]}
        return new_code.id, len(chosen)


# --- delete ------------------------------------------------------------------------------------------


def _attached_memos(session: Session, code_ids: list[int], coding_ids: list[int]) -> list[Memo]:
    found = attached_memos(session, coding_ids)
    for chunk in journal.chunks(code_ids):
        found.extend(session.scalars(select(Memo).where(Memo.target_type == "code", Memo.target_id.in_(chunk))))
    return found


def delete_code(project: Project, actor: str, ref: str | int, force: bool = False) -> None:
    """Delete a code and its sub-codes. Refused while they hold codings or memos, unless ``force``:
    then those are deleted too and listed in the event detail (and undo brings them back)."""
    with project.change(actor, "code.delete") as session:
        tree = CodeTree.load(session)
        code = tree.find(ref)
        path = tree.path(code.id)
        doomed = [code.id, *tree.descendants(code.id)]
        codings = list(session.scalars(select(Coding).where(Coding.code_id.in_(doomed)).order_by(Coding.id)))
        memos = _attached_memos(session, doomed, [c.id for c in codings])
        if (codings or memos) and not force:
            raise WaveqdaError(
                f"code {path!r} (with its sub-codes) has {len(codings)} codings and {len(memos)} memos; "
                "use --force to delete them too"
            )
        removed = [_coding_record(session, tree, c) for c in codings]
        for row in (*codings, *memos):
            session.delete(row)
        # Pointers into the doomed subtree go first, the doomed codes' own included: one of them may have
        # been merged into a sibling that is deleted before it.
        for merged in session.scalars(select(Code).where(Code.merged_into_id.in_(doomed))):
            merged.merged_into_id = None
        paths = [tree.path(cid) for cid in doomed]
        _detach(tree, code)
        for cid in doomed:  # parent links inside the subtree go first, so no order of deletes can break a
            tree.codes[cid].parent_id = None  # foreign key (a damaged file may even hold a cycle); undo restores
        session.flush()
        for cid in reversed(doomed):
            session.delete(tree.codes[cid])
            session.flush()
        extra = f" and {len(doomed) - 1} sub-codes" if len(doomed) > 1 else ""
        lost = f", removing {len(codings)} codings and {len(memos)} memos" if codings or memos else ""
        session.info["summary"] = f"Deleted code {path!r}{extra}{lost}"
        session.info["detail"] = {"codes": paths, "codings": removed, "memos": [m.text for m in memos]}


def _coding_record(session: Session, tree: CodeTree, coding: Coding) -> dict:
    transcript = session.get_one(Transcript, coding.transcript_id)
    return {
        "id": coding.id,
        "code": tree.path(coding.code_id),
        "transcript": transcript_label(transcript),
        "coder_id": coding.coder_id,
        "start": coding.start,
        "end": coding.end,
        "text": transcript.text[coding.start : coding.end],
        "memo": coding.memo,
    }


# --- listing -----------------------------------------------------------------------------------------


def segment_counts(session: Session) -> dict[int, dict[str, int]]:
    """Codings per code per timepoint key (one grouped query over the coding index)."""
    rows = session.execute(
        select(Coding.code_id, Timepoint.key, func.count())
        .join(Transcript, Transcript.id == Coding.transcript_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .group_by(Coding.code_id, Timepoint.key)
    )
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for code_id, key, n in rows:
        out[code_id][key] = n
    return out


@dataclass
class _Reach:
    """What a code (with its sub-codes) reaches: transcripts ("Files"), participants and codings ("References")."""

    files: set[int] = field(default_factory=set)
    participants: set[int] = field(default_factory=set)
    references: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"files": len(self.files), "participants": len(self.participants), "references": self.references}


def aggregated_reach(session: Session, tree: CodeTree) -> dict[int, dict[str, _Reach]]:
    """Per code and per timepoint key (and ``"*"`` for all), counted as NVivo does: each coding counts for its
    code and every ancestor, each transcript and participant once per code. One query over the codings."""
    rows = session.execute(
        select(Coding.code_id, Coding.transcript_id, Transcript.participant_id, Timepoint.key)
        .join(Transcript, Transcript.id == Coding.transcript_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
    )
    reach: dict[int, dict[str, _Reach]] = defaultdict(lambda: defaultdict(_Reach))
    lineage: dict[int, list[int]] = {}
    for code_id, transcript_id, participant_id, key in rows:
        if code_id not in lineage:
            lineage[code_id] = tree.ancestors_and_self(code_id)
        for holder in lineage[code_id]:
            for bucket in (reach[holder][key], reach[holder]["*"]):
                bucket.files.add(transcript_id)
                bucket.participants.add(participant_id)
                bucket.references += 1
    return reach


@dataclass(frozen=True)
class CodeRow:
    """One code as the codebook lists it (``waveqda codes``, the workspace's Codebook); ``as_dict`` is the
    ``--json`` form, whose keys are a contract."""

    id: int
    uuid: str
    path: str
    name: str
    depth: int
    parent_id: int | None
    position: int
    definition: str
    inclusion: str
    exclusion: str
    example: str
    memo: str
    colour: str
    archived: bool
    merged_into: str | None  # the path of the code an archived code was merged into
    counts: dict[str, int]  # its own segments per timepoint key
    files: int  # with its sub-codes, as NVivo counts: transcripts
    participants: int
    references: int  # codings
    by_timepoint: dict[str, dict[str, int]]  # files, participants, references per timepoint key

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def codebook_rows(session: Session) -> list[CodeRow]:
    """The codebook in tree order, one row per code, with its own segments counted per timepoint
    (``counts``) and, as NVivo shows them, Files, Participants and References including its sub-codes, in all
    (``files``, ``participants``, ``references``) and per timepoint (``by_timepoint``)."""
    tree = CodeTree.load(session)
    keys = [t.key for t in timepoints(session)]
    counts = segment_counts(session)
    reach = aggregated_reach(session, tree)
    rows = []
    for code_id, depth in tree.walk():
        code = tree.codes[code_id]
        own = counts.get(code_id, {})
        mine = reach.get(code_id, {})
        total = mine["*"].as_dict() if "*" in mine else _Reach().as_dict()
        rows.append(
            CodeRow(
                id=code.id,
                uuid=code.uuid,
                path=tree.path(code.id),
                name=code.name,
                depth=depth,
                parent_id=code.parent_id,
                position=code.position,
                definition=code.definition,
                inclusion=code.inclusion,
                exclusion=code.exclusion,
                example=code.example,
                memo=code.memo,
                colour=code.colour,
                archived=code.archived,
                merged_into=tree.path(code.merged_into_id) if code.merged_into_id else None,
                counts={key: own.get(key, 0) for key in keys},
                files=total["files"],
                participants=total["participants"],
                references=total["references"],
                by_timepoint={key: (mine[key].as_dict() if key in mine else _Reach().as_dict()) for key in keys},
            )
        )
    return rows
