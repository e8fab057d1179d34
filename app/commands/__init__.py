"""The command registry: every ``waveqda`` command, the module that defines it, and its one-line help.

Why a table rather than importing every module: ``waveqda --help`` (and shell completion) must start in a
blink, and the command modules bring SQLAlchemy and the domain layer with them. ``app/cli.py`` lists and
describes commands from this table and imports a command's module only when that command runs. Each
module still has ``register(app: typer.Typer)``; a test checks that this table and the modules agree, so
a new command is added in two places that cannot drift: its module and a row here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandEntry:
    name: str
    module: str  # under app.commands
    help: str  # the command's first docstring line, shortened as click shortens it


COMMANDS: tuple[CommandEntry, ...] = (
    CommandEntry("init", "project", "Create a new project file."),
    CommandEntry("import", "project", "Import transcripts, or a REFI-QDA project or codebook, into the project."),
    CommandEntry("transcripts", "project", "List transcripts with their participant, timepoint, size and codings."),
    CommandEntry("show", "project", "Show one transcript: its fields, full text and turns."),
    CommandEntry("participants", "project", "List participants with their attributes and transcripts."),
    CommandEntry(
        "attributes", "project", "Set participant attributes from a CSV or XLSX; each column's type is inferred..."
    ),
    CommandEntry("demo", "project", "Build a project from the bundled fictional sample study and open it."),
    CommandEntry("backup", "project", "Write a complete, consistent copy of the project, even while others are..."),
    CommandEntry(
        "check", "project", "Check the project file thoroughly (SQLite's integrity check, every reference,..."
    ),
    CommandEntry("copy", "project", "Copy a whole project to a new file or database (SQLite <-> PostgreSQL),..."),
    CommandEntry("blind", "blind", "Blind coding: coders see only their own codings in chosen transcripts."),
    CommandEntry("role", "project", "Team projects: list who may read, code or own the project, or (as its owner)..."),
    CommandEntry("codes", "codebook", "Show the codebook tree with Files, Participants and References (sub-codes..."),
    CommandEntry("apply", "codebook", "Apply codes to a span of a transcript; prints the coding ids."),
    CommandEntry("uncode", "codebook", "Remove one coding."),
    CommandEntry("key", "codebook", "Mark a coding as a key quote (or unmark it with --off)."),
    CommandEntry("memo", "codebook", "Write the memo on a coding, a transcript or a code (it replaces the one there)."),
    CommandEntry(
        "memos", "codebook", "Every memo in one list (journal, transcripts, codes, codings), with what each..."
    ),
    CommandEntry("journal", "codebook", "Add a dated entry to the project journal (listed by `waveqda memos --kind..."),
    CommandEntry("undo", "codebook", "Undo your last change (one whole operation); a colleague's later steps stay."),
    CommandEntry("redo", "codebook", "Redo your last undone change."),
    CommandEntry("history", "codebook", "Show who changed what and when, oldest first (undone steps are marked)."),
    CommandEntry("coder", "codebook", "Set the project's default coder."),
    CommandEntry(
        "code", "codebook", "Create and refine codes: add, rename, describe, recolour, move, merge, split,..."
    ),
    CommandEntry(
        "codings", "analysis", "List coded segments with their text, in codebook, timepoint and participant..."
    ),
    CommandEntry(
        "matrix", "analysis", "Code x timepoint matrix: segments / participants / words per cell, rolled up..."
    ),
    CommandEntry(
        "trajectories", "analysis", "For each participant, where a code (with its sub-codes) is present wave by wave."
    ),
    CommandEntry("cooccurrence", "analysis", "Pairs of codes that overlap in the text or meet in the same turn."),
    CommandEntry(
        "progress", "analysis", "Per transcript and coder: the share of participant turns that carry at least..."
    ),
    CommandEntry("search", "analysis", "Full-text search of every transcript; each hit with its sentence."),
    CommandEntry(
        "autocode", "analysis", "Apply a code to every search hit (as the hit, its sentence or its turn) in..."
    ),
    CommandEntry("query", "analysis", "Coding query: codes combined with AND, OR, NOT, NEAR/N, NEAR/sentence,..."),
    CommandEntry("words", "analysis", "Most frequent words (stop words left out) of a code's text, or of what..."),
    CommandEntry(
        "agreement", "agreement", "Intercoder agreement per code × transcript, per code, per transcript and..."
    ),
    CommandEntry(
        "disagreements", "agreement", "Every stretch of text coded by some of the coders and not others, in order..."
    ),
    CommandEntry(
        "consensus", "agreement", "Settle one disagreement: record the agreed coding under the coder `consensus`..."
    ),
    CommandEntry(
        "consensus-agreed",
        "agreement",
        "Copy every stretch that all the coders coded into the coder `consensus` (one...",
    ),
    CommandEntry("refi", "exchange", "Exchange with NVivo, ATLAS.ti, MAXQDA, QualCoder..."),
    CommandEntry("export", "export", "Export Word reports, CSV/XLSX tables or REFI-QDA files, with shared filters."),
    CommandEntry("merge", "merge", "Merge coders' project files: exact, idempotent, one undoable step; nothing is..."),
    CommandEntry("names", "names", "The register of identifying names: scan for candidates, list, add, accept or..."),
    CommandEntry("redact", "names", "Replace register terms in the stored transcripts, keeping every coding on the..."),
    CommandEntry("measure", "scores", "Describe questionnaire measures (range, direction, norms, reliability)."),
    CommandEntry("scores", "scores", "Questionnaire scores: import them, compare timepoints."),
    CommandEntry("joint", "scores", "Joint display: each participant's scores, reliable change and theme courses;..."),
    CommandEntry("tui", "workspace", "Open the terminal coding workspace."),
    CommandEntry("users", "web", "Browser accounts: who may log in to `waveqda serve` and `waveqda site`."),
    CommandEntry("serve", "web", "Serve the workspace in a browser: every visitor logs in and codes as their..."),
)

BY_NAME: dict[str, CommandEntry] = {entry.name: entry for entry in COMMANDS}
MODULES: tuple[str, ...] = tuple(dict.fromkeys(entry.module for entry in COMMANDS))
