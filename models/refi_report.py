"""What a REFI-QDA import reports: what it brought in, what it matched, and what it could not carry over.

Made by ``importers.refi_import`` and filled by the writer (``models.refi_store``), which also carries over
what the placement found (selections that do not fit, names that disagree); printed by the CLI as lines
or, with ``--json``, as ``as_dict()`` (its keys are a contract).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

EXAMPLES_SHOWN = 10


@dataclass
class SourceReport:
    name: str
    placed_as: str
    placed_by: str
    text_from: str
    convention: str
    selections: int
    on_boundaries: int
    codings: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ImportReport:
    """What an import brought in, what it matched, and what it could not carry over."""

    file: str
    project: str = ""
    origin: str = ""
    created: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    sources: list[SourceReport] = field(default_factory=list)
    unfit: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)
    mapped: list[str] = field(default_factory=list)  # variables and sets, and what they became

    def lines(self) -> list[str]:
        c = self.counts
        where = f"new project {self.project}" if self.created else self.project
        out = [
            f"Imported {self.file} ({self.origin or 'unknown producer'}) into {where}",
            f"  coders: {c['coders_added']} added, {c['coders_matched']} matched",
            f"  codes: {c['codes_added']} added, {c['codes_matched']} matched",
            f"  transcripts: {c['transcripts_added']} added, {c['transcripts_reused']} already present",
            f"  codings: {c['codings_added']} added, {c['codings_duplicate']} duplicates in the file, "
            f"{c['codings_present']} already present, {len(self.unfit)} do not fit, "
            f"{len(self.review)} marked needs-review",
            f"  participants: {c['participants']}, attribute values: {c['attribute_values']}, "
            f"memos: {c['memos_added']}",
        ]
        for s in self.sources:
            out.append(
                f"  source {s.name!r} -> {s.placed_as} ({s.placed_by}; {s.text_from}); offsets: "
                f"{s.convention}; {s.codings} codings"
            )
        out += [f"  mapped: {item}" for item in self.mapped]
        out += _examples("does not fit", self.unfit) + _examples("needs review", self.review)
        out += [f"  not carried over: {item}" for item in self.not_carried]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "project": self.project,
            "origin": self.origin,
            "created": self.created,
            "counts": dict(self.counts),
            "sources": [s.as_dict() for s in self.sources],
            "unfit": list(self.unfit),
            "needs_review": list(self.review),
            "not_carried": list(self.not_carried),
            "mapped": list(self.mapped),
        }


def _examples(label: str, items: list[str]) -> list[str]:
    shown = [f"  {label}: {item}" for item in items[:EXAMPLES_SHOWN]]
    if len(items) > EXAMPLES_SHOWN:
        shown.append(f"  ... and {len(items) - EXAMPLES_SHOWN} more ({label}; see --json)")
    return shown
