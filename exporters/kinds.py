"""The export kinds: one registry that ``waveqda export`` (its checks and ``--kind`` help), the workspace's
export dialog and the kinds table in the README are built from.

A kind is a ``--kind`` value written as one file type; the file's suffix and the kind choose the writer in
``exporters.dispatch``. The first kind listed for a suffix is what that suffix gets without ``--kind``.
Adding a kind is one entry here, its writer, and one line in ``exporters.dispatch._writer`` (see "How to
add ..." in ``docs/architecture.md``). Nothing here imports a writer, so the registry is cheap to load.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExportKind:
    """One kind as one file type, and which of the shared options apply to it."""

    key: str  # unique: the workspace's choice id
    label: str  # for people: the dialog's list and the README table
    kind: str  # the ``--kind`` value
    suffix: str
    quotes: bool = True  # key quotes only / at most N quotes choose what is written
    layout: bool = False  # large print (Word documents)
    scope: bool = True  # codes, timepoints and the other filters (REFI-QDA exports the whole project)
    workspace: bool = True  # offered in the workspace's export dialog
    notes: str = ""  # what the README table says


EXPORT_KINDS: tuple[ExportKind, ...] = (
    ExportKind("themes", "Themes report (Word)", "themes", ".docx", layout=True,
               notes="summary (heat map, who spoke, how themes changed), then quotes per theme and timepoint"),
    ExportKind("framework", "Framework matrix (Word)", "framework", ".docx", layout=True,
               notes="Framework method charting matrix: participants × timepoints per theme"),
    ExportKind("codebook", "Codebook (Word)", "codebook", ".docx", quotes=False, layout=True,
               notes="codes with definitions, inclusion, exclusion, examples and counts"),
    ExportKind("transcript", "One coded transcript (Word)", "transcript", ".docx", quotes=False, layout=True,
               notes="needs `--transcript P07/T2`; codings tinted and numbered"),
    ExportKind("disagreements", "Disagreements between coders (Word)", "disagreements", ".docx", layout=True,
               workspace=False, notes="needs `--coders A B`; agreement per code, then each disputed stretch"),
    ExportKind("cards", "Quote cards for sorting (Word)", "cards", ".docx", layout=True,
               notes="one passage per card, eight to an A4 page"),
    ExportKind("joint", "Scores beside themes (Word)", "joint", ".docx", quotes=False, layout=True,
               notes="per measure: each timepoint against the norm, change tests, reliable change and theme courses "
                     "per participant, themes by change group, charts; `--measure`, `--codes` choose"),
    ExportKind("matrix-coding-docx", "Matrix coding: any rows × columns (Word)", "matrix-coding", ".docx",
               quotes=False, layout=True,
               notes="`--rows`, `--columns` (codes, timepoints, participants, coders, attribute:NAME) and `--measure` "
                     "(segments, participants, words, coverage) choose; a captioned table, landscape when wide"),
    ExportKind("memos-docx", "Every memo: journal, transcripts, codes, codings (Word)", "memos", ".docx",
               quotes=False, layout=True, scope=False,
               notes="each memo with its author, date and what it annotates; `waveqda memos --output` filters"),
    ExportKind("codings-csv", "Codings table (CSV)", "codings", ".csv", notes="one row per coding"),
    ExportKind("codings-xlsx", "Codings table (Excel)", "codings", ".xlsx", notes="one row per coding"),
    ExportKind("matrix-csv", "Codes × timepoints (CSV)", "matrix", ".csv", quotes=False,
               notes="segments, passages, participants and words per code and timepoint"),
    ExportKind("matrix-xlsx", "Codes × timepoints (Excel)", "matrix", ".xlsx", quotes=False,
               notes="segments, passages, participants and words per code and timepoint"),
    ExportKind("matrix-coding-csv", "Matrix coding: any rows × columns (CSV)", "matrix-coding", ".csv",
               quotes=False, notes="one row per row label, one number per cell; `--rows`, `--columns`, `--measure`"),
    ExportKind("matrix-coding-xlsx", "Matrix coding: any rows × columns (Excel)", "matrix-coding", ".xlsx",
               quotes=False, notes="one row per row label, one number per cell; `--rows`, `--columns`, `--measure`"),
    ExportKind("memos-csv", "Every memo (CSV)", "memos", ".csv", quotes=False, scope=False,
               notes="one row per memo: kind, what it annotates, author, date, title, text"),
    ExportKind("memos-xlsx", "Every memo (Excel)", "memos", ".xlsx", quotes=False, scope=False,
               notes="one row per memo: kind, what it annotates, author, date, title, text"),
    ExportKind("cases-csv", "Case sheet: participants × attributes (CSV)", "attributes", ".csv", quotes=False,
               scope=False, notes="one row per participant; `waveqda attributes` reads it back"),
    ExportKind("cases-xlsx", "Case sheet: participants × attributes (Excel)", "attributes", ".xlsx",
               quotes=False, scope=False, notes="numbers and dates as typed cells; `waveqda attributes` reads it back"),
    ExportKind("disagreements-csv", "Disagreements between coders (CSV)", "disagreements", ".csv",
               workspace=False, notes="needs `--coders A B`"),
    ExportKind("disagreements-xlsx", "Disagreements between coders (Excel)", "disagreements", ".xlsx",
               workspace=False, notes="needs `--coders A B`"),
    ExportKind("joint-csv", "Scores beside themes (CSV)", "joint", ".csv", quotes=False,
               notes="one row per measure and participant: scores, reliable change, theme courses and quotes"),
    ExportKind("joint-xlsx", "Scores beside themes (Excel)", "joint", ".xlsx", quotes=False,
               notes="one row per measure and participant: scores, reliable change, theme courses and quotes"),
    ExportKind("qdpx", "Whole project (REFI-QDA)", "project", ".qdpx", quotes=False, scope=False,
               notes="for NVivo, ATLAS.ti, MAXQDA, QualCoder; `--for CLIENT` and `--anonymise` apply"),
    ExportKind("qdc", "Codebook (REFI-QDA)", "codebook", ".qdc", quotes=False, scope=False, workspace=False,
               notes="the codes alone, for another tool's codebook"),
)  # fmt: skip

BY_KEY = {k.key: k for k in EXPORT_KINDS}
WORKSPACE_KINDS = [k for k in EXPORT_KINDS if k.workspace]
# Suffix -> the kinds it can hold, in registry order (the first is the default).
KINDS_BY_SUFFIX: dict[str, tuple[str, ...]] = {}
for _entry in EXPORT_KINDS:
    KINDS_BY_SUFFIX[_entry.suffix] = (*KINDS_BY_SUFFIX.get(_entry.suffix, ()), _entry.kind)
DEFAULT_KIND = {suffix: kinds[0] for suffix, kinds in KINDS_BY_SUFFIX.items()}


def kind_help() -> str:
    """``--kind``'s help: the kinds each suffix can hold."""
    return "; ".join(f"{suffix}: {'|'.join(kinds)}" for suffix, kinds in KINDS_BY_SUFFIX.items()) + "."


def kinds_table() -> str:
    """The Markdown table of export kinds in the README (``tests/test_registries.py`` keeps it in step)."""
    rows = ["| `--kind` | file | what | in the workspace |", "| --- | --- | --- | --- |"]
    for k in EXPORT_KINDS:
        shown = "yes" if k.workspace else "no (command line)"
        rows.append(f"| `{k.kind}` | `{k.suffix}` | {k.label}: {k.notes} | {shown} |")
    return "\n".join(rows)
