"""One entry point for every export, shared by ``waveqda export`` and the TUI.

The output file's suffix and ``kind`` (both registered in ``exporters.kinds``) choose the writer; anything
that does not fit (an unknown suffix, a kind that cannot be written in that format, a transcript report
without a transcript) is a one-line ``WaveqdaError`` before any work. Every file is written beside the target
under a temporary name and renamed into place, so a failed export never leaves a half-written file where the
old one was.

``--anonymise`` never writes silently: the temporary file is read back and checked (``models.name_check``:
registered names and the scan's detectors over the text actually written) before it is put in place. If
it holds names nobody has reviewed the export is refused with one line saying how many and how to review
them, and no file is written, unless ``--accept-risk`` is given; then the file is written again with that
stated on its first page (the title page's filters, or the XLSX "About" sheet).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from exporters.filters import ExportFilters
from exporters.kinds import DEFAULT_KIND, KINDS_BY_SUFFIX
from exporters.word_common import Progress
from models.errors import WaveqdaError
from models.store import Project


@dataclass
class ExportOptions:
    """Options of particular kinds: layout of Word reports and the transcript to print."""

    large_print: bool = False
    with_questions: bool = False
    transcript: str | None = None
    for_client: str | None = None  # ``--for``: the REFI-QDA client a .qdpx is written for
    measures: list[str] | None = None  # ``--measure``: the questionnaire measures of a joint display
    rows: str = "codes"  # matrix coding: the rows' dimension (``--rows``)
    columns: str = "timepoints"  # matrix coding: the columns' dimension (``--columns``)
    cell_measure: str = "segments"  # matrix coding: what a cell shows (``--measure``)
    memo_search: str | None = None  # the memo list: only memos holding all these words
    memo_kinds: list[str] | None = None  # the memo list: only these kinds (journal, transcript, ...)
    memo_author: str | None = None  # the memo list: only this author's memos


def check_request(out_path: Path, kind: str | None) -> str:
    """The kind to write (defaulted from the suffix), or a one-line error naming what would work."""
    suffix = out_path.suffix.lower()
    if suffix not in KINDS_BY_SUFFIX:
        known = ", ".join(KINDS_BY_SUFFIX)
        raise WaveqdaError(f"{out_path}: cannot export to {suffix or 'a file without a suffix'}; use one of {known}")
    kind = kind or DEFAULT_KIND[suffix]
    kinds = KINDS_BY_SUFFIX[suffix]
    if kind not in kinds:
        raise WaveqdaError(f"--kind {kind} cannot be written as {suffix}; for {suffix} use: {', '.join(kinds)}")
    if not out_path.parent.is_dir():
        raise WaveqdaError(f"{out_path}: folder {out_path.parent} does not exist")
    return kind


def run_export(
    project: Project,
    out_path: Path,
    kind: str | None,
    filters: ExportFilters,
    options: ExportOptions | None = None,
    progress: Progress | None = None,
) -> list[str]:
    """Write one export; returns lines describing what was written (for the CLI and the TUI)."""
    options = options or ExportOptions()
    kind = check_request(out_path, kind)
    suffix = out_path.suffix.lower()
    for_client = check_client(suffix, options.for_client)
    if suffix == ".qdc":
        return _refi(project, out_path, suffix, filters)
    if suffix == ".qdpx":
        _refi(project, out_path, suffix, filters, dry=True)  # the filter check, before any work
        lines: list[str] = []

        def write(tmp: Path, chosen: ExportFilters) -> None:
            written = _refi(project, tmp, suffix, chosen, for_client=for_client)
            lines[:] = [line.replace(str(tmp), str(out_path)) for line in written]

        notes = _atomic(out_path, lambda tmp: _written_checked(project, out_path, tmp, filters, write))
        return lines + notes
    writer = _writer(suffix, kind, options)
    notes = _atomic(
        out_path,
        lambda tmp: _written_checked(project, out_path, tmp, filters, lambda t, f: writer(project, t, f, progress)),
    )
    return [f"Wrote {out_path} ({kind})", *notes]


def check_client(suffix: str, for_client: str | None) -> str | None:
    """``--for`` applies to ``.qdpx`` projects and must name a known client (one line naming the choices)."""
    if for_client is None:
        return None
    from exporters.refi_clients import CLIENTS_BY_KEY, client

    if suffix != ".qdpx":
        raise WaveqdaError(f"--for applies to .qdpx projects (one of {'|'.join(CLIENTS_BY_KEY)}), not {suffix}")
    try:
        return client(for_client).key
    except ValueError as exc:
        raise WaveqdaError(str(exc)) from exc


def _written_checked(
    project: Project,
    out_path: Path,
    tmp: Path,
    filters: ExportFilters,
    write: Callable[[Path, ExportFilters], object],
) -> list[str]:
    """Write ``tmp``; when anonymising, check the written text and refuse (or, with ``--accept-risk``, write
    it again saying so). Returns lines for the user."""
    write(tmp, filters)
    if not filters.anonymise:
        return []
    from models.name_check import UnreviewedNamesError, check_file

    findings = check_file(project, tmp, coders=filters.anonymise_coders)
    names = sorted({f.text for f in findings}, key=str.casefold)
    if findings and not filters.accept_risk:
        raise UnreviewedNamesError(out_path.name, project.path.name if project.path else "PROJECT", names)
    if not filters.accept_risk:
        return []
    write(tmp, dataclasses.replace(filters, unreviewed=len(names)))
    if not names:
        return ["--accept-risk: the check before writing found no unreviewed names"]
    return [f"Written with --accept-risk: {len(names)} unreviewed name(s) may identify people "
            f"({', '.join(names[:5])}{', …' if len(names) > 5 else ''}); the first page says so"]  # fmt: skip


def _writer(suffix: str, kind: str, options: ExportOptions) -> Callable[..., Path]:
    """The function that writes ``kind`` as ``suffix``, with the kind's options bound."""
    if kind == "matrix-coding":
        from exporters import matrix_coding

        matrix_coding.check_measure(options.cell_measure)
        spec = (options.rows, options.columns, options.cell_measure)
        if suffix != ".docx":
            return lambda p, out, f, progress: matrix_coding.export_matrix_coding_table(p, out, f, *spec, progress)
        return lambda p, out, f, progress: matrix_coding.export_matrix_coding_docx(
            p, out, f, *spec, options.large_print, progress
        )
    if kind == "memos":
        from exporters import memo_export

        chosen = memo_export.MemoChoice(options.memo_search, options.memo_kinds, options.memo_author)
        if suffix != ".docx":
            return lambda p, out, f, progress: memo_export.export_memos_table(p, out, f, chosen, progress)
        return lambda p, out, f, progress: memo_export.export_memos_docx(
            p, out, f, chosen, options.large_print, progress
        )
    if kind == "joint":
        measures = options.measures
        if suffix != ".docx":
            from exporters.joint import export_joint_table

            return lambda p, out, f, progress: export_joint_table(p, out, f, measures, progress)
        from exporters.word_joint import export_joint

        return lambda p, out, f, progress: export_joint(p, out, f, measures, options.large_print, progress)
    if suffix != ".docx":
        from exporters import disagreements, tabular

        return {"codings": tabular.export_codings, "matrix": tabular.export_matrix,
                "attributes": tabular.export_attributes,
                "disagreements": disagreements.export_disagreements_table}[kind]  # fmt: skip
    large = options.large_print
    if kind == "themes":
        from exporters.word_themes import export_themes

        return lambda p, out, f, progress: export_themes(p, out, f, large, options.with_questions, progress)
    if kind == "framework":
        from exporters.word_framework import export_framework

        return lambda p, out, f, progress: export_framework(p, out, f, large, options.with_questions, progress)
    if kind == "codebook":
        from exporters.word_codebook import export_codebook

        return lambda p, out, f, progress: export_codebook(p, out, f, large, progress)
    if kind == "transcript":
        transcript = options.transcript
        if not transcript:
            raise WaveqdaError("--kind transcript needs --transcript, e.g. --transcript P07/T2")
        from exporters.word_transcript import export_transcript

        return lambda p, out, f, progress: export_transcript(p, out, f, transcript, large, progress)
    if kind == "cards":
        from exporters.word_cards import export_cards

        return lambda p, out, f, progress: export_cards(p, out, f, large, progress)
    from exporters.disagreements import export_disagreements_docx

    return lambda p, out, f, progress: export_disagreements_docx(p, out, f, large, progress)


def _atomic(out_path: Path, write: Callable[[Path], object]) -> list[str]:
    """Write owner-only through a temporary file beside ``out_path``, renamed into place only when complete;
    returns the lines ``write`` returned (a list) for the user."""
    from models.project_file import write_private

    notes: list[str] = []

    def fill(tmp: Path) -> None:
        result = write(tmp)
        if isinstance(result, list):
            notes[:] = result

    write_private(out_path, fill)
    return notes


def _refi(
    project: Project,
    out_path: Path,
    suffix: str,
    filters: ExportFilters,
    dry: bool = False,
    for_client: str | None = None,
) -> list[str]:
    """REFI-QDA files come whole from the exchange exporter: only the anonymising options apply (to .qdpx)."""
    if filters.narrows:
        raise WaveqdaError(f"{suffix} exports the whole project: of the filters only --anonymise applies")
    if suffix == ".qdc" and (filters.anonymise or filters.anonymise_coders):
        raise WaveqdaError("--anonymise applies to .qdpx projects (a codebook holds no participant data)")
    if dry:
        return []
    try:
        from exporters import refi_export
    except ModuleNotFoundError as exc:
        raise WaveqdaError(f"REFI-QDA export is not available in this installation ({exc.name})") from exc
    if suffix == ".qdc":
        return refi_export.export_qdc(project, out_path).lines()
    return refi_export.export_qdpx(
        project,
        out_path,
        anonymise=filters.anonymise,
        anonymise_coders=filters.anonymise_coders,
        for_client=for_client,
    ).lines()
