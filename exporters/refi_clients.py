"""The REFI-QDA clients ``waveqda export PROJECT out.qdpx --for CLIENT`` writes for, and what each gets.

One registry, cheap to import (nothing here loads lxml or the database): the exporter reads a client's
offset unit, line ends, byte-order mark and memo placement from it; the CLI's ``--for`` choices and the
README's exchange table (``docs/registry_tables.py``) are built from it.

The facts behind each entry (``shared/refi-qda/NOTES.md`` and the clients' observed behaviour):

- the standard counts Unicode code points; QualCoder does too, over LF text, and reads a file's text without
  stripping a BOM (so none is written for it);
- NVivo for Windows writes its sources UTF-8 with a BOM it does not count and CRLF line ends it counts as 2,
  and counts UTF-16 code units (an emoji is 2);
- ATLAS.ti counts a line break as 1 even where its ``.txt`` holds CRLF: LF text makes both readings agree;
- QualCoder reads a code's memo from the code's ``Description``, a coding's memo from its selection's
  ``Description``, journals from ``Note``s that have a ``plainTextPath`` file, and crashes on a ``Note``
  without ``creationDateTime``; ATLAS.ti shows ``Description``s as comments.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Client:
    """How one client reads a ``.qdpx``: what the export writes for it."""

    key: str  # the ``--for`` value
    label: str
    unit: str  # "codepoint" or "utf16": what startPosition/endPosition count
    newline: str  # line ends written in the source files ("\n" or "\r\n"), counted as written
    bom: bool  # a UTF-8 byte-order mark before each source text (never counted)
    memo_descriptions: bool  # code and coding memo fields also in the Description the client shows
    note_files: bool  # notes also as internal .txt files (clients that read journals from files)
    gets: str  # for the README table
    loses: str
    import_side: str


CLIENTS: tuple[Client, ...] = (
    Client("standard", "REFI-QDA 1.5 (any client)", "codepoint", "\n", False, False, False,
           gets="code-point offsets over LF text (UTF-8, no BOM); memos as notes attached by NoteRef, each "
                "dated and with its author; participants as cases with typed variables; timepoints as sets",
           loses="speaker turns and sentences; key-quote and needs-review marks; archived state of codes",
           import_side="producer read from `origin`; offsets checked per source against names and word "
                       "boundaries"),
    Client("nvivo", "NVivo", "utf16", "\r\n", True, False, False,
           gets="offsets in UTF-16 code units over CRLF text with a BOM (as NVivo for Windows writes it), "
                "memos as dated notes, coder on each selection",
           loses="as standard; code memos are notes (NVivo shows them as linked memos)",
           import_side="UTF-16 units and CRLF as 2 detected (names, word boundaries, `origin`); the coder "
                       "read from the selection, not the coding"),
    Client("atlas", "ATLAS.ti", "codepoint", "\n", False, True, False,
           gets="code points over LF text (so a line break is 1 however it is counted); code and coding "
                "memos also as comments (Description); other memos as notes",
           loses="as standard",
           import_side="a line break counted as 1 detected; descriptions read back as memos"),
    Client("maxqda", "MAXQDA", "codepoint", "\n", False, False, False,
           gets="code points over LF text; memos as dated notes attached by NoteRef; variables on cases",
           loses="as standard",
           import_side="read as the standard; cases without a name that hold one source give that "
                       "source's variables"),
    Client("qualcoder", "QualCoder", "codepoint", "\n", False, True, True,
           gets="code points over LF text without BOM; code memos in the code's Description, coding memos "
                "in the selection's Description, other memos as dated journals (note files)",
           loses="as standard; transcript and project memos arrive as journals, not as file memos",
           import_side="code points over LF text; a BOM is skipped; selection descriptions become coding "
                       "memos"),
)  # fmt: skip

CLIENTS_BY_KEY = {c.key: c for c in CLIENTS}
DEFAULT_CLIENT = "standard"


def client(key: str | None) -> Client:
    """The client ``--for`` names (the standard when none), or a ``ValueError`` naming the choices."""
    found = CLIENTS_BY_KEY.get((key or DEFAULT_CLIENT).strip().lower())
    if found is None:
        raise ValueError(f"--for {key}: unknown client; use one of {'|'.join(CLIENTS_BY_KEY)}")
    return found


def clients_table() -> str:
    """The README's table of what each client gets and loses (``tests/test_registries.py`` keeps it in step)."""
    rows = [
        "| `--for` | export writes | not carried over | import of that client's files |",
        "| --- | --- | --- | --- |",
    ]
    for c in CLIENTS:
        rows.append(f"| `{c.key}` ({c.label}) | {c.gets} | {c.loses} | {c.import_side} |")
    return "\n".join(rows)
