"""Storing what the importers parsed: transcripts one transaction per file (or one for a strict batch), with
the participant attributes of a manifest or an attribute table.

The importers (``importers.batch``) find the files, route each to a participant and timepoint and parse
it into a ``PreparedFile``; everything that writes the project is here, so a refused or failing file
leaves nothing behind and the other files still import. ``import_settings`` hands the importers what they
need to know of the project (label rules, size limit, timepoints, who imports) as plain data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from models.errors import WaveqdaError
from models.parsed import LabelRules, ParsedTranscript
from models.participants import define_attribute, get_or_create_participant, infer_type, set_attribute
from models.refi_report import ImportReport
from models.store import Project, get_setting, timepoints
from models.transcripts import label_rules, store_transcript

Progress = Callable[[int, int, str], None]
AttributeTypes = dict[str, tuple[str, list[str] | None]]


@dataclass(frozen=True)
class ImportSettings:
    """What an import needs to know of the project before it parses anything."""

    rules: LabelRules
    max_bytes: int | None  # the project's ``max_file_bytes`` setting, None when not set
    actor: str
    timepoints: list[tuple[str, str]]  # (key, label) in order

    @property
    def timepoint_keys(self) -> list[str]:
        return [key for key, _label in self.timepoints]


def import_settings(project: Project, actor: str | None = None) -> ImportSettings:
    """The project's label rules, file size limit and timepoints, and who the import is recorded as: ``actor``
    when given, else the project's default coder, else the OS user."""
    from models.coding import actor_name

    with project.read() as session:
        limit = get_setting(session, "max_file_bytes")
        return ImportSettings(
            label_rules(session),
            int(limit) if limit is not None else None,
            actor_name(session, actor),
            [(t.key, t.label) for t in timepoints(session)],
        )


@dataclass
class FileOutcome:
    path: Path
    status: str  # imported, replaced, skipped, failed
    message: str
    transcript_id: int | None = None
    warnings: list[str] = field(default_factory=list)  # what the reader left out (a subtitle block...)
    report: ImportReport | None = None  # what a REFI-QDA file brought in

    @classmethod
    def failed_by(cls, path: Path, exc: Exception) -> FileOutcome:
        """One line for a failed file: a ``WaveqdaError``'s own message, else what went wrong (a bug or a
        database error, which must not stop the rest of the batch or print a traceback)."""
        if isinstance(exc, WaveqdaError):
            return cls(path, "failed", str(exc))
        first_line = next(iter(str(exc).splitlines()), "")
        return cls(path, "failed", f"{path.name}: not imported ({exc.__class__.__name__}: {first_line})")


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


@dataclass(frozen=True)
class PreparedFile:
    """One parsed file and where it goes; ``attributes``: the participant's manifest attributes (typed by
    ``attribute_types``, inferred over the whole manifest), set with the participant's first stored file."""

    path: Path
    participant: str
    timepoint: str
    parsed: ParsedTranscript
    attributes: dict[str, str] | None = None
    attribute_types: AttributeTypes | None = None


def store_file(
    project: Project, prepared: PreparedFile, replace: bool, actor: str, attributes_set: set[str]
) -> FileOutcome:
    """Store one parsed file in its own transaction (logged, not undoable, like every import).
    ``attributes_set``: participants whose attributes this batch has already set; updated only once this
    file's transaction has committed."""
    summary = f"Imported {prepared.path.name} as {prepared.participant}/{prepared.timepoint}"
    pending = set(attributes_set)
    with project.change(actor, "transcript.import", summary, undoable=False) as session:
        outcome = _store(session, prepared, replace, actor, pending)
        if outcome.status == "skipped":
            session.info["summary"] = outcome.message
    attributes_set.update(pending)
    return outcome


def store_all(
    project: Project,
    files: Sequence[PreparedFile],
    replace: bool,
    actor: str,
    progress: Progress | None = None,
) -> list[FileOutcome]:
    """Store every file in one transaction (``--strict``): all of them, or (on the first failure) a single
    failed outcome saying that nothing was imported."""
    outcomes: list[FileOutcome] = []
    attributes_set: set[str] = set()
    path = Path("--strict")
    try:
        with project.change(actor, "transcript.import", f"Imported {len(files)} files", undoable=False) as s:
            for n, prepared in enumerate(files, start=1):
                path = prepared.path
                outcomes.append(_store(s, prepared, replace, actor, attributes_set))
                if progress:
                    progress(n, len(files), path.name)
    except Exception as exc:
        reason = FileOutcome.failed_by(path, exc).message
        return [FileOutcome(Path("--strict"), "failed", f"{reason}; nothing imported (--strict)")]
    return outcomes


def _store(
    session: Session, prepared: PreparedFile, replace: bool, actor: str, attributes_set: set[str]
) -> FileOutcome:
    """Store one parsed file; the participant's manifest attributes too, unless ``attributes_set`` says this
    batch has set them already (setting them again changes nothing: same values, same choices)."""
    participant = prepared.participant
    stored = store_transcript(session, prepared.parsed, participant, prepared.timepoint, actor, replace=replace)
    if prepared.attributes is not None and stored.transcript is not None and participant not in attributes_set:
        apply_attribute_table(session, {participant: prepared.attributes}, prepared.attribute_types)
        attributes_set.add(participant)
    if stored.transcript is None:
        return FileOutcome(prepared.path, stored.status, stored.message)
    return FileOutcome(
        prepared.path, stored.status, stored.message, stored.transcript.id, list(prepared.parsed.warnings)
    )


def column_types(table: dict[str, dict[str, str]]) -> AttributeTypes:
    """Each attribute's inferred type (and choices) over every participant's value in ``table``."""
    names = sorted({name for values in table.values() for name in values})
    return {name: infer_type([values.get(name, "") for values in table.values()]) for name in names}


def apply_attribute_table(
    session: Session,
    table: dict[str, dict[str, str]],
    types: AttributeTypes | None = None,
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


def store_attribute_table(
    project: Project, table: dict[str, dict[str, str]], actor: str, source_name: str
) -> list[tuple[str, str, list]]:
    """``waveqda attributes``: one change setting every participant's attributes from a parsed table."""
    with project.change(actor, "participants.attributes", f"Set attributes from {source_name}") as session:
        return apply_attribute_table(session, table)
