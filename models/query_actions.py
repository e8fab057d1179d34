"""What a researcher does with a coding query's result: code it ("save as code", one undoable step) and keep the
query under a name to run again (as NVivo's saved queries). The query itself is read-only and lives in
``models/queries/coding_query.py``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from models.codes import CodeTree
from models.errors import WaveqdaError
from models.naming import check_name_text
from models.participants import get_or_create_coder
from models.queries.coding_query import QueryHit, parse
from models.store import Project, get_setting, set_setting

SAVED_QUERIES = "saved_queries"


@dataclass(frozen=True)
class SavedQuery:
    """A query and its filters, as ``waveqda query`` takes them."""

    expression: str
    timepoints: tuple[str, ...] = ()
    participants: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    coders: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    context: str = "sentence"
    turns_around: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found.pop("extra")
        return found


def save_query(project: Project, actor: str, name: str, query: SavedQuery) -> None:
    """Keep ``query`` under ``name`` (replacing one of that name), after checking that it parses."""
    name = check_name_text(name, "query name")
    parse(query.expression)
    with project.change(actor, "query.save", f"Saved query {name!r}") as session:
        saved = dict(get_setting(session, SAVED_QUERIES, {}) or {})
        saved[name] = query.as_dict()
        set_setting(session, SAVED_QUERIES, saved)


def saved_queries(project: Project) -> dict[str, SavedQuery]:
    with project.read() as session:
        saved = get_setting(session, SAVED_QUERIES, {}) or {}
    return {name: _from_dict(value) for name, value in sorted(saved.items())}


def saved_query(project: Project, name: str) -> SavedQuery:
    found = saved_queries(project)
    if name not in found:
        known = ", ".join(found) or "none saved yet"
        raise WaveqdaError(f"no saved query named {name!r} (saved: {known})")
    return found[name]


def _from_dict(value: dict[str, Any]) -> SavedQuery:
    return SavedQuery(
        expression=value["expression"],
        timepoints=tuple(value.get("timepoints", ())),
        participants=tuple(value.get("participants", ())),
        attributes=tuple((a, b) for a, b in value.get("attributes", ())),
        coders=tuple(value.get("coders", ())),
        roles=tuple(value.get("roles", ())),
        context=value.get("context", "sentence"),
        turns_around=int(value.get("turns_around", 0)),
    )


def save_as_code(project: Project, actor: str, hits: list[QueryHit], code_path: str, coder: str) -> int:
    """Code every result segment at ``code_path`` (created if missing) as ``coder``: one undoable step.
    Returns the number of segments coded; nothing is written when there are none."""
    from models.codebook import code_at
    from models.coding import apply_code_to_spans

    if not hits:
        raise WaveqdaError("the query found nothing: no code was applied")
    with project.change(actor, "query.save_as_code") as session:
        tree = CodeTree.load(session)
        code = code_at(session, tree, code_path)
        coder_id = get_or_create_coder(session, coder).id
        spans: dict[int, list[tuple[int, int]]] = {}
        for hit in hits:
            spans.setdefault(hit.transcript_id, []).append((hit.start, hit.end))
        apply_code_to_spans(session, code.id, coder_id, spans)
        session.info["summary"] = f"Coded {len(hits)} query result(s) at {tree.path(code.id)!r}"
    return len(hits)
