"""The pseudonymisation register: identifying terms, the scan that proposes them, decisions, redaction.

Researchers fill the register by scanning the project: candidates (found by ``models.name_detection`` in
transcripts, speaker labels, memos, the codebook, attribute values and titles: everything an export can
write) are shown in context to accept (a new entry, or a spelling of an existing one) or reject; decisions
are remembered by surface form so a later scan does not ask again. Exports with ``--anonymise`` use
``export_anonymiser``; ``models.name_check`` refuses an export whose text still holds an unreviewed name.
Stored transcripts change only through ``redact`` (backup first, one undoable step).

One person, one pseudonym: spellings of a term (variants, misspellings, the modifier of a place, a name
with or without its title, a possessive) share the entry's replacement; register entries whose spellings
name the same person ("Dr Okonkwo", "Okonkwo") share the oldest entry's replacement; a participant's own
name always becomes their study ID.
"""

from __future__ import annotations

import re
import string
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.anonymise import Anonymiser, Replacement
from models.errors import NotFoundError, WaveqdaError
from models.schema import (
    AttributeDefinition,
    Code,
    Coder,
    Memo,
    NameCandidate,
    NameEntry,
    Participant,
    ParticipantAttribute,
    Timepoint,
    Transcript,
    Turn,
    get_row,
)
from models.store import Project, get_setting

CATEGORIES = ("person", "place", "organisation", "ward", "email", "phone", "postcode", "birthdate", "other")
LABEL_PREFIX = {
    "person": "Person",
    "place": "Place",
    "organisation": "Organisation",
    "ward": "Ward",
    "email": "Email",
    "phone": "Phone",
    "postcode": "Postcode",
    "birthdate": "Date of birth",
    "other": "Name",
}
LETTER_CATEGORIES = {"person"}  # people get letters ([Person A]); places and others numbers ([Place 1])
CONTEXT_CHARS = 60
CONSENSUS_CODER = "consensus"
# Speaker labels that name nobody (a participant labelled so keeps the label).
GENERIC_LABELS = {"r", "a", "p", "participant", "respondent", "interviewee", "speaker", "client", "service user"}
SOURCE_PRIORITY = {"speaker-label": 7, "title": 6, "place": 5, "pattern": 4, "name": 3, "ner": 2, "fuzzy": 1}


# --- the register ----------------------------------------------------------------------------------


def entries(session: Session) -> list[NameEntry]:
    return list(session.scalars(select(NameEntry).order_by(NameEntry.id)))


@dataclass(frozen=True)
class EntryRow:
    """One register entry as the CLI and the workspace list it; ``as_dict`` is the ``--json`` form."""

    id: int
    term: str
    variants: tuple[str, ...]
    category: str
    replacement: str

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["variants"] = list(self.variants)
        return found


def entry_rows(session: Session) -> list[EntryRow]:
    return [EntryRow(e.id, e.term, tuple(e.variants or ()), e.category, e.replacement) for e in entries(session)]


def _spellings(entry: NameEntry) -> list[str]:
    return [entry.term, *(entry.variants or [])]


def _next_replacement(session: Session, category: str) -> str:
    prefix = LABEL_PREFIX[category]
    used = {e.replacement for e in entries(session)}
    n = 0
    while True:
        label = _letters(n) if category in LETTER_CATEGORIES else str(n + 1)
        candidate = f"[{prefix} {label}]"
        if candidate not in used:
            return candidate
        n += 1


def _letters(n: int) -> str:
    out = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = string.ascii_uppercase[rem] + out
    return out


def _check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise WaveqdaError(f"unknown category {category!r}; use one of: {', '.join(CATEGORIES)}")
    return category


def _find_entry_by_spelling(session: Session, spelling: str) -> NameEntry | None:
    """The entry holding ``spelling``, compared as a person's name (title and possessive ignored)."""
    from models.name_detection import person_key

    wanted = person_key(spelling)
    return next((e for e in entries(session) if wanted in {person_key(s) for s in _spellings(e)}), None)


def add_entry(
    project: Project,
    actor: str,
    term: str,
    variants: list[str] | None = None,
    category: str = "person",
    replacement: str | None = None,
) -> int:
    """Add a register entry (one undoable step). A term already registered is refused."""
    term = term.strip()
    if not term:
        raise WaveqdaError("the term is empty")
    _check_category(category)
    with project.change(actor, "names.add", f"Added {term!r} to the name register") as session:
        clash = next((s for s in [term, *(variants or [])] if _find_entry_by_spelling(session, s)), None)
        if clash:
            raise WaveqdaError(f"{clash!r} is already in the register")
        entry = NameEntry(
            term=term,
            variants=[v.strip() for v in variants or [] if v.strip()],
            category=category,
            replacement=replacement or _next_replacement(session, category),
        )
        session.add(entry)
        session.flush()
        return entry.id


# --- the replacer for exports ------------------------------------------------------------------------


def participant_labels(session: Session) -> dict[str, str]:
    """Participants' own names used as speaker labels -> their study ID ("[Participant]" if shared)."""
    rows = session.execute(
        select(Turn.speaker, Participant.study_id)
        .join(Transcript, Transcript.id == Turn.transcript_id)
        .join(Participant, Participant.id == Transcript.participant_id)
        .where(Turn.role == "participant")
        .distinct()
    ).all()
    owners: dict[str, set[str]] = defaultdict(set)
    spelt: dict[str, str] = {}
    for speaker, study_id in rows:
        label = speaker.strip()
        if not _names_someone(label, study_id):
            continue
        owners[label.casefold()].add(study_id)
        spelt.setdefault(label.casefold(), label)
    return {spelt[k]: (next(iter(ids)) if len(ids) == 1 else "[Participant]") for k, ids in owners.items()}


def _names_someone(label: str, study_id: str) -> bool:
    import re

    folded = label.casefold()
    if not label or folded == study_id.casefold() or folded in GENERIC_LABELS:
        return False
    return not re.fullmatch(r"(speaker|participant|respondent|interviewee|p)\s*\d*", folded)


def coder_pseudonyms(session: Session) -> dict[str, str]:
    """Every coder -> "Coder N" (numbered in the order coders joined the project; the same in every export)."""
    names = [n for n in session.scalars(select(Coder.name).order_by(Coder.id)) if n != CONSENSUS_CODER]
    return {name: f"Coder {i}" for i, name in enumerate(names, 1)}


def anonymiser(session: Session, coders: bool = False, register: bool = True) -> Anonymiser:
    """The replacer for exports: participants' own names -> study IDs, register entries (entries naming one
    person share a replacement; a titled spelling also covers the bare name), and with ``coders`` the coders'
    names -> "Coder N". One-word spellings that are everyday words match only when capitalised."""
    from models.name_detection import TITLES, person_key
    from models.name_lists import lexicon

    replacements: list[Replacement] = []
    labels = participant_labels(session)
    replacements += [Replacement((label,), study_id) for label, study_id in labels.items()]
    if coders:
        replacements += [Replacement((name,), alias) for name, alias in coder_pseudonyms(session).items()]
    if register:
        label_keys = {person_key(label): study_id for label, study_id in labels.items()}
        for spellings, replacement in _entry_groups(entries(session), person_key, TITLES):
            own = next((label_keys[person_key(s)] for s in spellings if person_key(s) in label_keys), None)
            replacements.append(Replacement(tuple(spellings), own or replacement))
    lex = lexicon()
    return Anonymiser(replacements, capitalised_only=lambda spelling: lex.everyday(spelling.casefold()))


def export_anonymiser(session: Session, anonymise: bool, anonymise_coders: bool = False) -> Anonymiser | None:
    """What an export writes text through: ``None`` when it changes nothing."""
    if not anonymise and not anonymise_coders:
        return None
    return anonymiser(session, coders=anonymise_coders, register=anonymise)


def _entry_groups(rows: list[NameEntry], person_key: Any, titles: set[str]) -> list[tuple[list[str], str]]:
    """Entries grouped when a spelling of one names the same person as a spelling of another; each group
    takes its oldest entry's replacement. Titled spellings ("Dr Okonkwo") add the bare name."""
    parent = {e.id: e.id for e in rows}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for entry in rows:
        for spelling in _spellings(entry):
            key = person_key(spelling)
            if key in owner:
                a, b = find(owner[key]), find(entry.id)
                parent[max(a, b)] = min(a, b)
            else:
                owner[key] = entry.id
    groups: dict[int, list[str]] = defaultdict(list)
    for entry in rows:
        spellings = groups[find(entry.id)]
        for spelling in _spellings(entry):
            spellings.append(spelling)
            words = spelling.split()
            if entry.category == "person" and len(words) > 1 and words[0].casefold().rstrip(".") in titles:
                spellings.append(" ".join(words[1:]))
    by_id = {e.id: e for e in rows}
    return [(spellings, by_id[root].replacement) for root, spellings in groups.items()]


# --- what the scan reads ------------------------------------------------------------------------------


def project_pieces(session: Session) -> list[Any]:
    """Every text an export can write, as pieces for ``models.name_detection``: transcripts (their turns),
    speaker labels that are not participants', transcript titles, memos, the codebook, attribute values,
    the project's name and timepoint labels."""
    from models.name_detection import Piece

    pieces: list[Piece] = []
    spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    labels: set[str] = set()
    for transcript_id, start, end, speaker, role in session.execute(
        select(Turn.transcript_id, Turn.start, Turn.end, Turn.speaker, Turn.role).order_by(
            Turn.transcript_id, Turn.start
        )
    ):
        spans[transcript_id].append((start, end))
        if role != "participant":
            labels.add(speaker)
    rows = session.execute(
        select(Transcript.id, Transcript.text, Transcript.title, Participant.study_id, Timepoint.key)
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .order_by(Transcript.id)
    )
    for transcript_id, text, title, study_id, timepoint in rows:
        where = f"{study_id}/{timepoint}"
        pieces.append(Piece(text, where, tuple(spans.get(transcript_id, ())), transcript_id))
        if title:
            pieces.append(Piece(title, f"{where} title"))
    pieces += [Piece(label, "speaker label") for label in sorted(labels)]
    for memo_id, title, text in session.execute(select(Memo.id, Memo.title, Memo.text)):
        pieces += [Piece(t, f"memo {memo_id}") for t in (title, text) if t]
    for code in session.scalars(select(Code)):
        fields = (code.name, code.definition, code.inclusion, code.exclusion, code.example, code.memo)
        pieces += [Piece(t, f"code {code.name}") for t in fields if t]
    values = session.execute(
        select(AttributeDefinition.name, ParticipantAttribute.value)
        .join(ParticipantAttribute, ParticipantAttribute.attribute_id == AttributeDefinition.id)
        .distinct()
    )
    pieces += [Piece(value, f"attribute {name}") for name, value in values if value]
    pieces += [
        Piece(label, f"timepoint {key}") for key, label in session.execute(select(Timepoint.key, Timepoint.label))
    ]
    name = get_setting(session, "name")
    if name:
        pieces.append(Piece(str(name), "project name"))
    return pieces


def _speaker_label_hits(session: Session, pieces: list[Any]) -> list[Any]:
    """Participants' own names used as speaker labels: pseudonym = their study ID."""
    from models.name_detection import Hit

    index = {p.transcript_id: i for i, p in enumerate(pieces) if p.transcript_id is not None}
    labels = participant_labels(session)
    first = session.execute(
        select(Turn.speaker, Turn.transcript_id, Turn.start)
        .where(Turn.role == "participant")
        .order_by(Turn.transcript_id, Turn.start)
    ).all()
    hits: list[Hit] = []
    done: set[str] = set()
    for speaker, transcript_id, start in first:
        label = speaker.strip()
        if label not in labels or label in done or transcript_id not in index:
            continue
        done.add(label)
        line_start = pieces[index[transcript_id]].text.rfind("\n", 0, start) + 1
        at = pieces[index[transcript_id]].text.find(label, line_start, start)
        begin = at if at >= 0 else start
        hits.append(
            Hit(label, "person", "speaker-label", index[transcript_id], begin, begin + len(label), None, labels[label])
        )
    return hits


def detect(session: Session, pieces: list[Any] | None = None) -> tuple[list[Any], list[Any]]:
    """``(pieces, hits)``: every candidate occurrence from all detectors (not yet filtered by decisions)."""
    from models.name_detection import Detector

    pieces = project_pieces(session) if pieces is None else pieces
    known = [s for e in entries(session) for s in _spellings(e)]
    hits = Detector(known=known).detect(pieces)
    hits += _speaker_label_hits(session, pieces)
    hits += statistical_hits(session, pieces)
    return pieces, hits


def statistical_hits(session: Session, pieces: list[Any]) -> list[Any]:
    """spaCy's statistical NER over the pieces, only when a trained pipeline is installed (never downloaded).
    Its finds are added to the rules' (never instead of them); everyday words and words that identify
    nobody are left out, as for the rules."""
    from models.name_detection import Hit, strip_possessive, term_key
    from models.name_lists import lexicon
    from models.nlp import ner_pipeline

    nlp = ner_pipeline(get_setting(session, "spacy_model"))
    if nlp is None:
        return []
    labels = {"PERSON": "person", "GPE": "place", "LOC": "place", "ORG": "organisation", "FAC": "place"}
    lex = lexicon()
    items = [(i, s, e) for i, p in enumerate(pieces) for s, e in p.regions()]
    hits: list[Hit] = []
    texts = (pieces[i].text[s:e] for i, s, e in items)
    for (i, s, _e), doc in zip(items, nlp.pipe(texts, batch_size=64), strict=True):
        for ent in doc.ents:
            category = labels.get(ent.label_)
            text = strip_possessive(ent.text.strip())
            key = term_key(text)
            if category is None or not text or key in lex.not_identifying or key in lex.phrases:
                continue
            if " " not in key and (lex.everyday(key) and key not in lex.given or not text[0].isupper()):
                continue
            start = s + ent.start_char
            hits.append(Hit(text, category, "ner", i, start, start + len(text)))
    return hits


def _context(text: str, start: int, end: int) -> str:
    left = text[max(0, start - CONTEXT_CHARS) : start].replace("\n", " ")
    right = text[end : end + CONTEXT_CHARS].replace("\n", " ")
    return f"…{left}[{text[start:end]}]{right}…"


def registered_keys(session: Session) -> set[str]:
    """Every registered spelling as a person key (so "Dr Okafor" registered covers "Okafor")."""
    from models.name_detection import person_key

    keys = {person_key(s) for e in entries(session) for s in _spellings(e)}
    keys |= {person_key(label) for label in participant_labels(session)} & keys
    return keys


def scan(project: Project, actor: str) -> list[CandidateRow]:
    """Detect candidates and remember them; returns the pending candidates (decided ones stay decided)."""
    from models.name_detection import person_key

    with project.change(actor, "names.scan", "Scanned the project for identifying names", undoable=False) as s:
        pieces, hits = detect(s)
        register = registered_keys(s)
        spelling_entry = {person_key(sp): e for e in entries(s) for sp in _spellings(e)}
        found = [h for h in hits if person_key(h.text) not in register and h.key not in register]
        counts = Counter(h.key for h in found)
        best: dict[str, Any] = {}
        variant: dict[str, str] = {}
        for h in found:
            current = best.get(h.key)
            if current is None or SOURCE_PRIORITY[h.source] > SOURCE_PRIORITY[current.source]:
                best[h.key] = h
            if h.variant_of and h.variant_of != h.key:
                variant.setdefault(h.key, h.variant_of)
        existing = {c.key: c for c in s.scalars(select(NameCandidate))}
        for key, stale in existing.items():  # undecided and no longer found: forget it
            if stale.status == "pending" and key not in best:
                s.delete(stale)
        for key, h in best.items():
            candidate = existing.get(key)
            if candidate is None:
                candidate = NameCandidate(key=key, text=h.text, status="pending")
                s.add(candidate)
            candidate.occurrences = counts[key]
            if candidate.status != "pending":
                continue
            parent = variant.get(key)
            entry = spelling_entry.get(person_key(parent)) if parent else None
            candidate.category, candidate.source = h.category, h.source
            candidate.entry_id = entry.id if entry is not None else None
            candidate.variant_key = parent if parent and entry is None and parent in best else None
            piece = pieces[h.piece]
            candidate.transcript_id = piece.transcript_id
            candidate.start, candidate.end = (h.start, h.end) if piece.transcript_id is not None else (None, None)
            candidate.context = _context(piece.text, h.start, h.end)
            if piece.transcript_id is None:
                candidate.context = f"{piece.where}: {candidate.context}"
        s.flush()
        s.info["summary"] = f"Scanned the project: {len(best)} candidate names"
    with project.read(viewer=(project.viewer or actor, project.viewer_is_owner)) as session:
        return candidate_rows(session)  # as the actor reads them (blind coding: see ``_hidden_memo_context``)


@dataclass(frozen=True)
class CandidateRow:
    """A name the scan proposed, for review; ``as_dict`` is the ``--json`` form."""

    id: int
    text: str
    category: str
    source: str
    occurrences: int
    status: str
    variant_of: str | None  # the register term (or candidate) it is likely a spelling of
    context: str
    transcript_id: int | None
    start: int | None
    end: int | None
    speaker_replacement: str | None  # a participant's name used as a speaker label: their study ID

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Scans before ``speaker_replacement`` existed wrote the replacement into the context.
_LEGACY_SPEAKER_PREFIX = re.compile(r"^speaker label → .+?: ")


def candidate_rows(session: Session, status: str | None = "pending") -> list[CandidateRow]:
    stmt = select(NameCandidate).order_by(NameCandidate.id)
    if status:
        stmt = stmt.where(NameCandidate.status == status)
    by_id = {e.id: e for e in entries(session)}
    candidates = list(session.scalars(stmt))
    texts = dict(session.execute(select(NameCandidate.key, NameCandidate.text)).tuples().all())
    labels = participant_labels(session) if any(c.source == "speaker-label" for c in candidates) else {}
    hidden = _hidden_memos(session, [c.context or "" for c in candidates])
    rows = []
    for c in candidates:
        suggestion = by_id[c.entry_id].term if c.entry_id in by_id else None
        if suggestion is None and c.variant_key:
            suggestion = texts.get(c.variant_key)
        rows.append(
            CandidateRow(
                id=c.id,
                text=c.text,
                category=c.category,
                source=c.source,
                occurrences=c.occurrences,
                status=c.status,
                variant_of=suggestion,
                context=_HIDDEN_MEMO
                if _memo_of(c.context or "") in hidden
                else _LEGACY_SPEAKER_PREFIX.sub("", c.context or ""),
                transcript_id=c.transcript_id,
                start=c.start,
                end=c.end,
                speaker_replacement=labels.get(c.text) if c.source == "speaker-label" else None,
            )
        )
    return rows


_MEMO_CONTEXT = re.compile(r"^memo (\d+): ")
_HIDDEN_MEMO = "in a memo on a coding being coded blind (shown when the owner reveals it)"


def _memo_of(context: str) -> int | None:
    found = _MEMO_CONTEXT.match(context)
    return int(found.group(1)) if found else None


def _hidden_memos(session: Session, contexts: list[str]) -> set[int]:
    """The memos quoted in these contexts that this session's viewer may not read (a comment on another coder's
    coding in a blind transcript, ``models.blind``): the scan still finds every name there, as it must, but a
    coder is not shown the words around it. A session on nobody's behalf reads every memo."""
    wanted = {memo_id for memo_id in map(_memo_of, contexts) if memo_id is not None}
    if not wanted:
        return set()
    return wanted - set(session.scalars(select(Memo.id).where(Memo.id.in_(sorted(wanted)))))


def pending_count(session: Session) -> int:
    from sqlalchemy import func

    stmt = select(func.count()).select_from(NameCandidate).where(NameCandidate.status == "pending")
    return session.scalar(stmt) or 0


def _candidate(session: Session, candidate_id: int) -> NameCandidate:
    candidate = get_row(session, NameCandidate, candidate_id)
    if candidate is None:
        raise NotFoundError(f"no name candidate {candidate_id} (see: waveqda names PROJECT scan)")
    return candidate


def accept(
    project: Project,
    actor: str,
    candidate_ids: list[int] | None = None,
    all_pending: bool = False,
    as_entry: int | None = None,
    category: str | None = None,
    replacement: str | None = None,
) -> list[int]:
    """Accept candidates: a spelling of their suggested (or given) entry or candidate, else a new entry.
    A spelling accepted before its term also accepts the term. One undoable step."""
    if not candidate_ids and not all_pending:
        raise WaveqdaError("give candidate IDs or --all")
    with project.change(actor, "names.accept", "Accepted name candidates") as session:
        if all_pending:
            chosen = list(session.scalars(select(NameCandidate).where(NameCandidate.status == "pending")))
        else:
            chosen = [_candidate(session, i) for i in candidate_ids or []]
        chosen.sort(key=lambda c: (c.variant_key is not None, c.id))  # terms before their spellings
        entry_ids = [_accept_one(session, actor, c, as_entry, category, replacement) for c in chosen]
        session.info["summary"] = f"Accepted {len(chosen)} name candidate(s): " + ", ".join(c.text for c in chosen[:5])
        return entry_ids


def _accept_one(
    session: Session,
    actor: str,
    candidate: NameCandidate,
    as_entry: int | None,
    category: str | None,
    replacement: str | None,
) -> int:
    # An explicit category or replacement means "its own entry", even where a scan suggested a spelling.
    own = bool(category or replacement)
    target_id = as_entry or (None if own else candidate.entry_id)
    if target_id is None and not own and candidate.variant_key:
        target_id = _term_entry(session, actor, candidate.variant_key)
    if target_id is not None:
        entry = get_row(session, NameEntry, target_id)
        if entry is None:
            raise NotFoundError(f"no register entry {target_id}")
        _add_spelling(entry, candidate.text)
    else:
        entry = _find_entry_by_spelling(session, candidate.text)
        if entry is None:
            cat = _check_category(category or candidate.category)
            label_replacement = _speaker_replacement(session, candidate)
            entry = NameEntry(
                term=candidate.text,
                variants=[],
                category=cat,
                replacement=replacement or label_replacement or _next_replacement(session, cat),
            )
            session.add(entry)
            session.flush()
    candidate.status, candidate.entry_id = "accepted", entry.id
    candidate.decided_by, candidate.decided_at = actor, datetime.now(UTC)
    return entry.id


def _add_spelling(entry: NameEntry, spelling: str) -> None:
    from models.name_detection import person_key

    if person_key(spelling) not in {person_key(s) for s in _spellings(entry)}:
        entry.variants = [*(entry.variants or []), spelling]


def _term_entry(session: Session, actor: str, key: str) -> int | None:
    """The entry of the candidate ``key`` (accepting it first if it is still pending); None if rejected."""
    term = session.scalars(select(NameCandidate).where(NameCandidate.key == key)).first()
    if term is None:
        return None
    if term.status == "pending":
        return _accept_one(session, actor, term, None, None, None)
    return term.entry_id if term.status == "accepted" else None


def _speaker_replacement(session: Session, candidate: NameCandidate) -> str | None:
    if candidate.source != "speaker-label":
        return None
    return participant_labels(session).get(candidate.text)


def reject(project: Project, actor: str, candidate_ids: list[int]) -> int:
    """Reject candidates (remembered: later scans do not ask again). Returns how many."""
    if not candidate_ids:
        raise WaveqdaError("give candidate IDs to reject")
    with project.change(actor, "names.reject", "Rejected name candidates") as session:
        chosen = [_candidate(session, i) for i in candidate_ids]
        for candidate in chosen:
            candidate.status, candidate.decided_by, candidate.decided_at = "rejected", actor, datetime.now(UTC)
        session.info["summary"] = "Rejected name candidate(s): " + ", ".join(c.text for c in chosen[:5])
        return len(chosen)


def rejected_keys(session: Session) -> set[str]:
    return set(session.scalars(select(NameCandidate.key).where(NameCandidate.status == "rejected")))


# --- redaction of stored transcripts ----------------------------------------------------------------


@dataclass
class RedactionPlan:
    """What redaction would change: replacements per transcript (``P01/T2`` -> count)."""

    per_transcript: dict[str, int]
    codings_moved: int = 0
    backup: str | None = None

    @property
    def total(self) -> int:
        return sum(self.per_transcript.values())


def redact(project: Project, actor: str, apply: bool = False) -> RedactionPlan:
    """Replace register terms in the stored transcripts, re-anchoring turns, sentences and codings.

    Without ``apply`` it only reports. With it: a backup copy first, then one undoable transaction. This
    is the one operation allowed to change a transcript's text after import (the researcher asked for it).
    Rows move in batches (one ``executemany`` per table and transcript), journalled by hand, because a
    project holds hundreds of thousands of sentence and coding rows.
    """
    from models import journal, search_index
    from models.schema import Coding, Sentence
    from models.store import backup_copy
    from models.transcripts import text_sha256

    with project.read() as session:
        replacer = anonymiser(session)
        plan, changed = _plan(session, replacer)
    if not apply or not plan.total:
        return plan
    if project.path is not None:
        plan.backup = str(backup_copy(project.engine, project.path, "before-redact"))
    summary = f"Redacted {plan.total} names in {len(plan.per_transcript)} transcripts"
    now = datetime.now(UTC)
    with project.change(actor, "names.redact", summary) as session:
        buffer: journal.ChangeBuffer = session.info[journal.BUFFER_KEY]
        for transcript_id, old_text, old_sha, old_words, (new_text, offsets) in changed:
            after = {"text": new_text, "sha256": text_sha256(new_text), "word_count": _words(new_text)}
            _bulk_update(session, buffer, Transcript, [transcript_id], [after],
                         [{"text": old_text, "sha256": old_sha, "word_count": old_words}])  # fmt: skip
            for model in (Turn, Sentence, Coding):
                columns: list[Any] = [model.id, model.start, model.end]
                columns += [Turn.speaker] if model is Turn else [Coding.updated_at] if model is Coding else []
                ids, before, new = [], [], []
                for row in session.execute(select(*columns).where(model.transcript_id == transcript_id)):
                    old = {"start": row.start, "end": row.end}
                    moved = dict(zip(("start", "end"), offsets.span(row.start, row.end), strict=True))
                    if model is Turn:  # a speaker label is a name too ("Sandra:")
                        old["speaker"], moved["speaker"] = row.speaker, replacer.replace(row.speaker)
                    delta = {k: v for k, v in moved.items() if v != old[k]}
                    if delta and model is Coding:  # an edited coding says when (a merge reads it as evidence)
                        old["updated_at"], delta["updated_at"] = row.updated_at, now
                    if delta:
                        ids.append(row.id)
                        before.append({k: old[k] for k in delta})
                        new.append(delta)
                if model is Coding:
                    plan.codings_moved += len(ids)
                _bulk_update(session, buffer, model, ids, new, before)
            search_index.reindex_transcript(session, transcript_id)
        session.expire_all()
    return plan


def _bulk_update(
    session: Session, buffer: Any, model: Any, ids: list[int], after: list[dict], before: list[dict]
) -> None:
    """``UPDATE ... WHERE id = ?`` for many rows in one executemany per set of columns, journalled."""
    from sqlalchemy import bindparam, update

    by_columns: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    table = model.__table__
    from models.journal import _to_json

    for row_id, new, old in zip(ids, after, before, strict=True):
        by_columns[tuple(sorted(new))].append({"_id": row_id, **{f"_{k}": v for k, v in new.items()}})
        buffer.add(
            table.name,
            {"id": row_id},
            {k: _to_json(v) for k, v in old.items()},
            {k: _to_json(v) for k, v in new.items()},
        )
    for columns, params in by_columns.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}") for c in columns})
            .execution_options(synchronize_session=False)
        )
        session.connection().execute(stmt, params)


def _words(text: str) -> int:
    from models.nlp import word_count

    return word_count(text)


def _plan(session: Session, replacer: Anonymiser) -> tuple[RedactionPlan, list[tuple[Any, ...]]]:
    """Per changed transcript: id, old text, hash and word count, and the replaced text with its offset map
    (computed once: applying uses them)."""
    per: dict[str, int] = {}
    changed = []
    rows = session.execute(
        select(
            Transcript.id,
            Transcript.text,
            Transcript.sha256,
            Transcript.word_count,
            Participant.study_id,
            Timepoint.key,
        )
        .join(Participant, Participant.id == Transcript.participant_id)
        .join(Timepoint, Timepoint.id == Transcript.timepoint_id)
        .order_by(Transcript.id)
    )
    for transcript_id, text, sha, words, study_id, timepoint in rows:
        mapped = replacer.replace_mapped(text)
        n = len(mapped[1].regions)
        if n:
            per[f"{study_id}/{timepoint}"] = n
            changed.append((transcript_id, text, sha, words, mapped))
    return RedactionPlan(per), changed
