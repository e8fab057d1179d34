"""Importing many files: routing each to a participant and timepoint, one transaction per file.

A refused or failing file leaves nothing behind and the others still import (the caller exits non-zero if
any failed); ``strict`` makes the batch all-or-nothing. Participant and timepoint come from explicit flags,
a manifest CSV (``file, participant, timepoint`` plus attribute columns) or a filename pattern.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from importers import DEFAULT_MAX_BYTES, SUPPORTED_SUFFIXES, parse_file
from models.errors import WaveqdaError
from models.parsed import ParsedTranscript
from models.participants import define_attribute, get_or_create_participant, infer_type, set_attribute
from models.store import Project, get_setting
from models.transcripts import label_rules, store_transcript

DEFAULT_PATTERN = "{participant}_{timepoint}"
PARTICIPANT_COLUMNS = ("participant", "participant_id", "study_id", "id")
MANIFEST_FILE_COLUMNS = ("file", "filename", "path", "source")

Progress = Callable[[int, int, str], None]


@dataclass
class FileOutcome:
    path: Path
    status: str  # imported, replaced, skipped, failed
    message: str
    transcript_id: int | None = None
    warnings: list[str] = field(default_factory=list)  # what the reader left out (a subtitle block...)


@dataclass
class BatchResult:
    outcomes: list[FileOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("imported", "replaced", "skipped", "failed") if self.count(s)]
        return ", ".join(parts) or "nothing to import"


@dataclass
class Route:
    participant: str
    timepoint: str


def collect_files(paths: list[Path]) -> list[Path]:
    """Files named directly, plus the supported files inside named folders (not recursive), sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES))
        else:
            files.append(path)
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """``"{participant}_{timepoint}"`` as a regex over the file stem; ``_``, ``-`` and space interchangeable."""
    if "{participant}" not in pattern or "{timepoint}" not in pattern:
        raise WaveqdaError(f"pattern {pattern!r} must contain {{participant}} and {{timepoint}}")
    out = ""
    for piece in re.split(r"(\{participant\}|\{timepoint\}|[_\- ])", pattern):
        if piece == "{participant}":
            out += r"(?P<participant>[A-Za-z0-9.]+?)"
        elif piece == "{timepoint}":
            out += r"(?P<timepoint>[A-Za-z0-9]+?)"
        elif piece in ("_", "-", " "):
            out += r"[_\- ]"
        else:
            out += re.escape(piece)
    return re.compile(rf"^{out}(?:[_\- .].*)?$")


@dataclass
class Manifest:
    routes: dict[str, Route]
    attributes: dict[str, dict[str, str]]  # participant -> {attribute: value}
    # Each attribute's type, inferred from the whole column: a file imported alone must not decide that
    # "age" is a number because its own row says 34 and then refuse the next file's "35-44".
    types: dict[str, tuple[str, list[str] | None]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        rows, columns = _read_csv(path)
        file_col = _pick_column(columns, MANIFEST_FILE_COLUMNS, path, "file")
        part_col = _pick_column(columns, PARTICIPANT_COLUMNS, path, "participant")
        time_col = _pick_column(columns, ("timepoint", "wave", "time"), path, "timepoint")
        attribute_cols = [c for c in columns if c and c not in (file_col, part_col, time_col)]
        routes: dict[str, Route] = {}
        attributes: dict[str, dict[str, str]] = {}
        for n, row in enumerate(rows, start=2):
            name, participant, timepoint = row[file_col].strip(), row[part_col].strip(), row[time_col].strip()
            if not (name and participant and timepoint):
                raise WaveqdaError(f"{path.name}: line {n}: file, participant and timepoint are required")
            routes[Path(name).name.casefold()] = Route(participant, timepoint)
            values = {c: (row[c] or "").strip() for c in attribute_cols}
            attributes.setdefault(participant, {}).update({k: v for k, v in values.items() if v})
        return cls(routes, attributes, column_types(attributes))


def _read_csv(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = [c.strip() for c in (reader.fieldnames or [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise WaveqdaError(f"{path.name}: cannot read CSV ({exc})") from exc
    rows = [{(k or "").strip(): (v or "") for k, v in row.items()} for row in rows]
    return rows, columns


def _pick_column(columns: list[str], names: tuple[str, ...], path: Path, what: str) -> str:
    for column in columns:
        if column.strip().lower() in names:
            return column
    raise WaveqdaError(f"{path.name}: no {what} column (expected one of: {', '.join(names)})")


def column_types(table: dict[str, dict[str, str]]) -> dict[str, tuple[str, list[str] | None]]:
    """Each attribute's inferred type (and choices) over every participant's value in ``table``."""
    names = sorted({name for values in table.values() for name in values})
    return {name: infer_type([values.get(name, "") for values in table.values()]) for name in names}


def apply_attribute_table(
    session: Session,
    table: dict[str, dict[str, str]],
    types: dict[str, tuple[str, list[str] | None]] | None = None,
) -> list[tuple[str, str, list]]:
    """Set participants' attributes from ``{participant: {name: value}}``, each column's type inferred from
    ``table`` unless ``types`` (from a larger table) says it. Returns (name, type, choices) per attribute."""
    types = {**column_types(table), **(types or {})}
    report = []
    for name in sorted({name for values in table.values() for name in values}):
        type_, choices = types[name]
        attribute = define_attribute(session, name, type_, choices)
        present = {participant: values[name] for participant, values in table.items() if values.get(name, "")}
        if attribute.type == "choice":  # an existing choice attribute learns this table's values
            choices = sorted({*(attribute.choices or []), *present.values()})
            if choices != attribute.choices:
                attribute.choices = choices
        for participant_id, value in present.items():
            set_attribute(session, get_or_create_participant(session, participant_id), attribute, value)
        report.append((name, attribute.type, attribute.choices or []))
    return report


def import_attributes(project: Project, csv_path: Path, actor: str) -> list[tuple[str, str, list]]:
    """``waveqda attributes``: participant attributes from a CSV with a participant column."""
    rows, columns = _read_csv(csv_path)
    part_col = _pick_column(columns, PARTICIPANT_COLUMNS, csv_path, "participant")
    table: dict[str, dict[str, str]] = {}
    for row in rows:
        participant = row[part_col].strip()
        if participant:
            table[participant] = {c: row[c].strip() for c in columns if c and c != part_col}
    with project.change(actor, "participants.attributes", f"Set attributes from {csv_path.name}") as session:
        return apply_attribute_table(session, table)


def route_for(
    path: Path,
    participant: str | None,
    timepoint: str | None,
    manifest: Manifest | None,
    pattern: re.Pattern[str],
) -> Route:
    if participant and timepoint:
        return Route(participant, timepoint)
    if manifest is not None and path.name.casefold() in manifest.routes:
        return manifest.routes[path.name.casefold()]
    match = pattern.match(path.stem)
    if match:
        return Route(participant or match["participant"], timepoint or match["timepoint"])
    raise WaveqdaError(
        f"{path.name}: cannot tell participant and timepoint: name it like P07_T2{path.suffix}, "
        "list it in --manifest, or give --participant and --timepoint"
    )


def default_actor(session: Session) -> str:
    """Who imports are recorded as: the project's default coder, else the OS user."""
    from models.coding import actor_name

    return actor_name(session)


def import_paths(
    project: Project,
    paths: list[Path],
    participant: str | None = None,
    timepoint: str | None = None,
    manifest_path: Path | None = None,
    pattern: str | None = None,
    replace: bool = False,
    strict: bool = False,
    actor: str | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Import files and folders. Non-strict: one transaction per file. Strict: one for the whole batch."""
    manifest = Manifest.read(manifest_path) if manifest_path else None
    regex = pattern_regex(pattern or DEFAULT_PATTERN)
    files = collect_files(paths)
    with project.read() as session:
        rules = label_rules(session)
        max_bytes = int(get_setting(session, "max_file_bytes", DEFAULT_MAX_BYTES))
        actor = actor or default_actor(session)
        valid_timepoints = _timepoint_keys(session)
    result = BatchResult()

    def prepare(path: Path) -> tuple[Route, ParsedTranscript]:
        route = route_for(path, participant, timepoint, manifest, regex)
        if route.timepoint not in valid_timepoints:
            raise WaveqdaError(
                f"{path.name}: unknown timepoint {route.timepoint!r}; "
                f"this project's timepoints are: {', '.join(valid_timepoints)}"
            )
        return route, parse_file(path, rules, max_bytes)

    # Participants whose manifest attributes this batch has already set (in a committed transaction, or in
    # the strict batch's one): a participant's attributes are applied with its first stored file only.
    attributes_set: set[str] = set()
    if strict:
        _import_strict(project, files, prepare, manifest, replace, actor, result, progress, attributes_set)
    else:
        for n, path in enumerate(files, start=1):
            result.outcomes.append(_import_one(project, path, prepare, manifest, replace, actor, attributes_set))
            if progress:
                progress(n, len(files), path.name)
    return result


def _timepoint_keys(session: Session) -> list[str]:
    from models.store import timepoints

    return [t.key for t in timepoints(session)]


def _store(
    session: Session,
    path: Path,
    route: Route,
    parsed: ParsedTranscript,
    manifest: Manifest | None,
    replace: bool,
    actor: str,
    attributes_set: set[str],
) -> FileOutcome:
    """Store one parsed file; the participant's manifest attributes too, unless ``attributes_set`` says this
    batch has set them already (setting them again changes nothing: same values, same choices)."""
    stored = store_transcript(session, parsed, route.participant, route.timepoint, actor, replace=replace)
    if (
        manifest is not None
        and route.participant in manifest.attributes
        and stored.transcript is not None
        and route.participant not in attributes_set
    ):
        apply_attribute_table(session, {route.participant: manifest.attributes[route.participant]}, manifest.types)
        attributes_set.add(route.participant)
    if stored.transcript is None:
        return FileOutcome(path, stored.status, stored.message)
    return FileOutcome(path, stored.status, stored.message, stored.transcript.id, list(parsed.warnings))


def _import_one(
    project: Project,
    path: Path,
    prepare,
    manifest: Manifest | None,
    replace: bool,
    actor: str,
    attributes_set: set[str],
) -> FileOutcome:
    try:
        route, parsed = prepare(path)
        summary = f"Imported {path.name} as {route.participant}/{route.timepoint}"
        pending = set(attributes_set)  # counts only once this file's transaction has committed
        with project.change(actor, "transcript.import", summary, undoable=False) as session:
            outcome = _store(session, path, route, parsed, manifest, replace, actor, pending)
            if outcome.status == "skipped":
                session.info["summary"] = outcome.message
        attributes_set.update(pending)
        return outcome
    except Exception as exc:  # this file's transaction was rolled back; the others go on
        return FileOutcome(path, "failed", _reason(path, exc))


def _reason(path: Path, exc: Exception) -> str:
    """One line for a failed file: a ``WaveqdaError``'s own message, else what went wrong (a bug or a
    database error, which must not stop the rest of the batch or print a traceback)."""
    if isinstance(exc, WaveqdaError):
        return str(exc)
    first_line = next(iter(str(exc).splitlines()), "")
    return f"{path.name}: not imported ({exc.__class__.__name__}: {first_line})"


def _import_strict(
    project: Project,
    files: list[Path],
    prepare,
    manifest: Manifest | None,
    replace: bool,
    actor: str,
    result: BatchResult,
    progress: Progress | None,
    attributes_set: set[str],
) -> None:
    prepared = []
    for path in files:
        try:
            prepared.append((path, *prepare(path)))
        except Exception as exc:
            result.outcomes.append(FileOutcome(path, "failed", _reason(path, exc)))
    if result.failed:
        result.outcomes.append(FileOutcome(Path("--strict"), "failed", "nothing imported (--strict)"))
        return
    outcomes: list[FileOutcome] = []
    path = Path("--strict")
    try:
        with project.change(actor, "transcript.import", f"Imported {len(files)} files", undoable=False) as s:
            for n, (path, route, parsed) in enumerate(prepared, start=1):
                outcome = _store(s, path, route, parsed, manifest, replace, actor, attributes_set)
                outcomes.append(outcome)
                if progress:
                    progress(n, len(prepared), path.name)
    except Exception as exc:
        reason = _reason(path, exc)
        result.outcomes.append(FileOutcome(Path("--strict"), "failed", f"{reason}; nothing imported (--strict)"))
        return
    result.outcomes.extend(outcomes)
