"""Importing files: the one place that routes them by type, for ``waveqda import`` and the workspace alike.

Transcript files (``importers.formats``) are each routed to a participant and timepoint (explicit flags, a
manifest CSV with ``file, participant, timepoint`` plus attribute columns, or a filename pattern), parsed,
and handed to the domain layer (``models.imports``) to store in one transaction per file: a refused or
failing file leaves nothing behind and the others still import (the caller exits non-zero if any failed);
``strict`` makes the batch all-or-nothing. A REFI-QDA project or codebook goes, alone, to
``importers.refi_import``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from importers import DEFAULT_MAX_BYTES, parse_file
from importers.formats import REFI_SUFFIXES, TRANSCRIPT_SUFFIXES, is_refi
from models.errors import WaveqdaError
from models.imports import (
    AttributeTypes,
    BatchResult,
    FileOutcome,
    PreparedFile,
    Progress,
    column_types,
    import_settings,
    store_all,
    store_attribute_table,
    store_file,
)
from models.store import Project, open_project

DEFAULT_PATTERN = "{participant}_{timepoint}"
PARTICIPANT_COLUMNS = ("participant", "participant_id", "study_id", "id")
MANIFEST_FILE_COLUMNS = ("file", "filename", "path", "source")


@dataclass
class Route:
    participant: str
    timepoint: str


@dataclass(frozen=True)
class RefiOptions:
    """How to place a REFI-QDA project's sources (see ``importers.refi_import.import_refi``); ``--timepoint``
    comes from the import's own ``timepoint``."""

    participant_variable: str | None = None
    timepoint_variable: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    participant_from_name: bool = False


def collect_files(paths: list[Path]) -> list[Path]:
    """Files named directly, plus the transcript files inside named folders (not recursive), sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in TRANSCRIPT_SUFFIXES))
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
    types: AttributeTypes = field(default_factory=dict)

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


def _read_xlsx(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    """The first sheet of a workbook as ``_read_csv`` gives a CSV: typed cells back as the text a CSV would
    hold (34.0 -> "34", a date -> "2026-03-01"), so both files of the same sheet import alike."""
    from datetime import date, datetime

    from openpyxl import load_workbook

    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    try:
        sheet = load_workbook(path, read_only=True, data_only=True).active
        table = [[text(v) for v in row] for row in sheet.iter_rows(values_only=True)] if sheet is not None else []
    except (OSError, ValueError, KeyError) as exc:
        raise WaveqdaError(f"{path.name}: cannot read it as a workbook ({exc})") from exc
    except Exception as exc:  # openpyxl raises zipfile and XML errors of its own for a damaged file
        raise WaveqdaError(f"{path.name}: cannot read it as a workbook ({exc.__class__.__name__})") from exc
    if not table:
        raise WaveqdaError(f"{path.name}: the workbook is empty")
    columns = [c.strip() for c in table[0]]
    rows = [dict(zip(columns, row + [""] * (len(columns) - len(row)), strict=False)) for row in table[1:]]
    return [r for r in rows if any(v.strip() for v in r.values())], columns


def read_attribute_table(path: Path) -> dict[str, dict[str, str]]:
    """``{participant: {attribute: value}}`` from a CSV or XLSX sheet with a participant column (the layout
    ``export_attributes`` writes), every value as text; one line naming the file when it cannot be read."""
    if not path.is_file():
        raise WaveqdaError(f"{path}: no such file")
    rows, columns = _read_xlsx(path) if path.suffix.lower() == ".xlsx" else _read_csv(path)
    part_col = _pick_column(columns, PARTICIPANT_COLUMNS, path, "participant")
    table: dict[str, dict[str, str]] = {}
    for row in rows:
        participant = row[part_col].strip()
        if participant:
            table[participant] = {c: (row.get(c) or "").strip() for c in columns if c and c != part_col}
    return table


def import_attributes(project: Project, csv_path: Path, actor: str) -> list[tuple[str, str, list]]:
    """``waveqda attributes`` and the case sheet's import: participant attributes from a CSV or XLSX sheet
    with a participant column, in one undoable change."""
    table = read_attribute_table(csv_path)
    try:
        return store_attribute_table(project, table, actor, csv_path.name)
    except WaveqdaError as exc:  # a value of the wrong type: say which file (nothing was stored)
        if str(exc).startswith(csv_path.name):
            raise
        raise WaveqdaError(f"{csv_path.name}: {exc}") from exc


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


def import_paths(
    project: Project | Path,
    paths: list[Path],
    participant: str | None = None,
    timepoint: str | None = None,
    manifest_path: Path | None = None,
    pattern: str | None = None,
    replace: bool = False,
    strict: bool = False,
    actor: str | None = None,
    progress: Progress | None = None,
    refi: RefiOptions | None = None,
) -> BatchResult:
    """Import files and folders: transcripts (non-strict: one transaction per file; strict: one for the whole
    batch), or one REFI-QDA file. ``project`` may be a path: a REFI-QDA project creates it when it does not
    exist yet."""
    refi_files = [p for p in paths if is_refi(p)]
    if refi_files:
        _check_refi_request(paths, refi_files, participant, manifest_path, pattern, replace)
        return _import_refi(project, refi_files[0], timepoint, actor, refi or RefiOptions())
    if not isinstance(project, Project):
        with open_project(project) as opened:
            return import_paths(opened, paths, participant, timepoint, manifest_path, pattern, replace, strict,
                                actor, progress)  # fmt: skip
    manifest = Manifest.read(manifest_path) if manifest_path else None
    regex = pattern_regex(pattern or DEFAULT_PATTERN)
    files = collect_files(paths)
    settings = import_settings(project, actor)
    max_bytes = settings.max_bytes if settings.max_bytes is not None else DEFAULT_MAX_BYTES

    def prepare(path: Path) -> PreparedFile:
        route = route_for(path, participant, timepoint, manifest, regex)
        if route.timepoint not in settings.timepoint_keys:
            raise WaveqdaError(
                f"{path.name}: unknown timepoint {route.timepoint!r}; "
                f"this project's timepoints are: {', '.join(settings.timepoint_keys)}"
            )
        parsed = parse_file(path, settings.rules, max_bytes)
        attributes = manifest.attributes.get(route.participant) if manifest is not None else None
        types = manifest.types if manifest is not None else None
        return PreparedFile(path, route.participant, route.timepoint, parsed, attributes, types)

    result = BatchResult()
    if strict:
        prepared = []
        for path in files:
            try:
                prepared.append(prepare(path))
            except Exception as exc:
                result.outcomes.append(FileOutcome.failed_by(path, exc))
        if result.failed:
            result.outcomes.append(FileOutcome(Path("--strict"), "failed", "nothing imported (--strict)"))
        else:
            result.outcomes.extend(store_all(project, prepared, replace, settings.actor, progress))
        return result
    # Participants whose manifest attributes this batch has already set (in a committed transaction): a
    # participant's attributes are applied with its first stored file only.
    attributes_set: set[str] = set()
    for n, path in enumerate(files, start=1):
        try:
            outcome = store_file(project, prepare(path), replace, settings.actor, attributes_set)
        except Exception as exc:  # this file's transaction was rolled back; the others go on
            outcome = FileOutcome.failed_by(path, exc)
        result.outcomes.append(outcome)
        if progress:
            progress(n, len(files), path.name)
    return result


def _check_refi_request(
    paths: list[Path],
    refi_files: list[Path],
    participant: str | None,
    manifest_path: Path | None,
    pattern: str | None,
    replace: bool,
) -> None:
    """A REFI-QDA file comes alone, and without the flags that place transcript files."""
    if len(refi_files) != 1 or len(paths) != 1:
        kinds = " or ".join(REFI_SUFFIXES)
        raise WaveqdaError(f"import one REFI-QDA file ({kinds}) at a time, not mixed with transcripts")
    given = (("--participant", participant), ("--manifest", manifest_path), ("--pattern", pattern),
             ("--replace", replace))  # fmt: skip
    ignored = [flag for flag, value in given if value]
    if ignored:
        from importers.refi_parse import read_package
        from importers.refi_place import placement_hint

        doc = read_package(refi_files[0])  # an unsafe or broken file is refused as such, whatever the flags
        sources = doc.text_sources()
        hint = placement_hint(doc, sources[0]) if sources else "a codebook needs no placing flags"
        raise WaveqdaError(f"{refi_files[0].name}: {ignored[0]} applies to transcript files; {hint}")


def _import_refi(
    project: Project | Path, file: Path, timepoint: str | None, actor: str | None, options: RefiOptions
) -> BatchResult:
    from importers.refi_import import import_refi

    report = import_refi(
        project,
        file,
        participant_variable=options.participant_variable,
        timepoint_variable=options.timepoint_variable,
        mapping=options.mapping,
        timepoint=timepoint or None,
        participant_from_name=options.participant_from_name,
        actor=actor,
    )
    return BatchResult([FileOutcome(file, "imported", report.lines()[0], report=report)])
