"""REFI-QDA import: a ``.qdpx`` project or ``.qdc`` codebook from NVivo, ATLAS.ti, MAXQDA, QualCoder, Taguette
or waveqda, into a new or an existing project.

The import runs in three stages so that a hostile or broken file never changes the project:

1. parse (``importers.refi_parse``): safety checks, the XML into a plain ``RefiDocument``, every source
   text and note loaded, every GUID reference checked. Anything broken refuses the whole file.
2. place (``importers.refi_place``): each text source gets its participant and timepoint and its offset
   convention (``importers.refi_offsets``); its selections are converted to our offsets. A source that
   cannot be placed stops the import with the flag to add.
3. write (``models.refi_store``): everything in one ``Project.change`` transaction (logged, not undoable,
   like every import), matching what the project already has.

This module only runs the three in order, creating the project first when asked to.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from importers.refi_offsets import Detection
from importers.refi_parse import read_package
from importers.refi_place import PlacementOptions, Placer, detect_offsets, new_project_timepoints, plan_import
from models.errors import WaveqdaError
from models.imports import import_settings
from models.refi_document import RefiDocument
from models.refi_report import ImportReport
from models.refi_store import store_refi
from models.sentence_worker import SentenceWorker, worth_a_worker
from models.store import Project, create_project, open_project, project_exists, remove_database_files

__all__ = ["ImportReport", "PlacementOptions", "import_refi"]


def import_refi(
    project_path_or_project: Project | Path | str,
    file: Path | str,
    participant_variable: str | None = None,
    timepoint_variable: str | None = None,
    mapping: dict[str, str] | None = None,
    create: bool = True,
    *,
    timepoint: str | None = None,
    participant_from_name: bool = False,
    actor: str | None = None,
) -> ImportReport:
    """Import a ``.qdpx`` or ``.qdc`` into a project (created when ``create`` and the path does not exist).

    Each text source needs a participant and a timepoint: ``mapping`` (source name or GUID -> ``"P01/T1"``),
    ``participant_variable`` / ``timepoint_variable`` (on the source or its case), our own ``Participant`` /
    ``Timepoint`` variables and timepoint sets, a single case holding the source, or ``timepoint`` for all
    sources with ``participant_from_name``. The project is unchanged unless everything succeeds.
    """
    file = Path(file)
    options = PlacementOptions(
        participant_variable, timepoint_variable, dict(mapping or {}), timepoint, participant_from_name
    )
    try:
        with _no_cycle_collection(), _sentence_splitter(file) as split:
            return _import_refi(project_path_or_project, file, options, create, actor, split)
    except KeyboardInterrupt:
        raise WaveqdaError(f"{file.name}: import interrupted; nothing was imported") from None


@contextmanager
def _sentence_splitter(file: Path) -> Iterator[SentenceWorker | None]:
    """A worker process splitting sentences beside this one (``models.sentence_worker``),
    started before the parse so that spaCy loads meanwhile; None (split in this process) when it would not
    pay."""
    if not worth_a_worker(file):
        yield None
        return
    with SentenceWorker(file.name) as worker:
        yield worker


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while an import runs. Why: a large file becomes millions of objects
    that live until the import ends; each full collection walks them all again, about 6% of a
    50,000-coding import. Reference counting still frees everything else; cycles wait until the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import_refi(
    project_path_or_project: Project | Path | str,
    file: Path,
    options: PlacementOptions,
    create: bool,
    actor: str | None,
    split: SentenceWorker | None,
) -> ImportReport:
    doc = read_package(file)
    detections = detect_offsets(doc)
    report = ImportReport(file.name, origin=doc.origin)
    if isinstance(project_path_or_project, Project):
        _import_into(project_path_or_project, doc, options, detections, report, actor, file, split)
        return report
    target = project_path_or_project  # a file path or a database URL
    if project_exists(target):
        with open_project(target) as project:
            report.project = project.label
            _import_into(project, doc, options, detections, report, actor, file, split)
        return report
    if not create:
        raise WaveqdaError(f"{target}: no such project")
    placements = Placer(doc, options, None).place_all()
    is_file = "://" not in str(target)
    name = doc.name or (Path(target).stem if is_file else None)
    project = create_project(target, new_project_timepoints(doc, placements), name)
    report.project, report.created = project.label, True
    try:
        _import_into(project, doc, options, detections, report, actor, file, split)
    except BaseException:
        project.close()
        if is_file:
            remove_database_files(Path(target))
        raise
    project.close()
    return report


def _import_into(
    project: Project,
    doc: RefiDocument,
    options: PlacementOptions,
    detections: dict[str, Detection],
    report: ImportReport,
    actor: str | None,
    file: Path,
    split: SentenceWorker | None,
) -> None:

    report.project = report.project or str(project.path or project.url)
    settings = import_settings(project, actor)
    plan = plan_import(doc, options, settings.timepoints, detections, settings.rules, file)
    store_refi(project, doc, plan, report, settings.actor, file.name, split)
