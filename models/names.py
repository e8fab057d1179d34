"""The pseudonymisation register: identifying terms, detection of candidates, decisions, redaction.

Researchers fill the register by scanning transcripts: candidates are shown in context to accept (a new
entry, or a variant of an existing one), or reject; decisions are remembered by surface form so a later scan
does not ask again. Exports with ``--anonymise`` use ``anonymiser(session)``; stored transcripts change
only through ``redact`` (backup first, one undoable step).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.anonymise import Anonymiser, Replacement
from models.errors import NotFoundError, WaveqdaError
from models.schema import NameCandidate, NameEntry, Participant, Transcript, Turn, get_row
from models.store import Project, get_setting

CATEGORIES = ("person", "place", "organisation", "ward", "other")
LABEL_PREFIX = {"person": "Person", "place": "Place", "organisation": "Organisation", "ward": "Ward", "other": "Name"}
LETTER_CATEGORIES = {"person"}  # people get letters ([Person A]); places and others numbers ([Place 1])

TITLES = {"dr", "mr", "mrs", "ms", "miss", "nurse", "doctor", "prof", "professor", "sister"}
WARD_WORDS = {"ward", "unit", "wing"}
ORG_WORDS = {
    "hospital",
    "trust",
    "college",
    "centre",
    "center",
    "charity",
    "council",
    "clinic",
    "surgery",
    "foundation",
    "university",
    "school",
    "team",
    "service",
    "services",
    "café",
    "cafe",
}
PLACE_PREPOSITIONS = {"in", "at", "from", "to", "near", "around", "outside"}
FUZZY_THRESHOLD = 80.0
CONTEXT_CHARS = 60

_WORD = re.compile(r"[^\W\d_][\w'’\-]*")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?:;\"“”–—…\-]\s*$|^\s*$")
_CONTRACTION = re.compile(r"['’](t|re|ve|ll|d|m)$", re.IGNORECASE)


# --- the register ----------------------------------------------------------------------------------


def entries(session: Session) -> list[NameEntry]:
    return list(session.scalars(select(NameEntry).order_by(NameEntry.id)))


def entry_rows(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "term": e.term,
            "variants": list(e.variants or []),
            "category": e.category,
            "replacement": e.replacement,
        }
        for e in entries(session)
    ]


def anonymiser(session: Session) -> Anonymiser:
    """The replacer for exports: register entries plus participants' own IDs as their pseudonyms."""
    return Anonymiser(Replacement((e.term, *(e.variants or [])), e.replacement) for e in entries(session))


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
    folded = spelling.casefold()
    return next((e for e in entries(session) if folded in {s.casefold() for s in _spellings(e)}), None)


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


# --- detection -------------------------------------------------------------------------------------


@dataclass
class Found:
    text: str
    category: str
    source: str
    transcript_id: int
    start: int
    end: int
    entry_id: int | None = None
    replacement: str | None = None
    participant_id: int | None = None


def _context(text: str, start: int, end: int) -> str:
    left = text[max(0, start - CONTEXT_CHARS) : start].replace("\n", " ")
    right = text[end : end + CONTEXT_CHARS].replace("\n", " ")
    return f"…{left}[{text[start:end]}]{right}…"


def _strip_possessive(word: str) -> str:
    """``Sandra's`` -> ``Sandra``; ``I'm`` -> ``I`` (a contraction's base decides whether it is a name)."""
    word = _POSSESSIVE.sub("", word)
    return re.split(r"['’]", word, maxsplit=1)[0]


def _capitalised_names(transcript: Transcript, spans: list[tuple[int, int]], common: set[str]) -> list[Found]:
    """Capitalised words and runs not at a sentence start and not common words: likely names."""
    text = transcript.text
    found: list[Found] = []
    for span_start, span_end in spans:
        body = text[span_start:span_end]
        words = list(_WORD.finditer(body))
        i = 0
        while i < len(words):
            match = words[i]
            word = _strip_possessive(match.group(0))
            if _CONTRACTION.search(match.group(0)) or _all_common_parts(word, common):
                i += 1
                continue
            before = body[: match.start()]
            at_start = bool(_SENTENCE_END.search(before[-3:] if before else ""))
            if not _is_name_like(word, common) or at_start and word.casefold() in common:
                i += 1
                continue
            j = i
            while (
                j + 1 < len(words)
                and _is_title_word(words[j + 1].group(0))
                and _strip_possessive(words[j + 1].group(0)).casefold() not in common
                and body[words[j].end() : words[j + 1].start()] == " "
            ):
                j += 1
            start, end = match.start(), match.start() + len(_strip_possessive(body[match.start() : words[j].end()]))
            phrase = body[start:end]
            previous = words[i - 1].group(0).casefold() if i else ""
            if at_start and j == i and not _looks_unusual(word, common):
                i += 1
                continue
            found.append(
                Found(
                    phrase,
                    _guess_category(phrase, previous),
                    "heuristic",
                    transcript.id,
                    span_start + start,
                    span_start + end,
                )
            )
            i = j + 1
    return found


def _all_common_parts(word: str, common: set[str]) -> bool:
    """Hyphenated everyday words ("Forty-nine", "Twenty-four") are not names."""
    parts = word.casefold().split("-")
    return len(parts) > 1 and all(part in common for part in parts if part)


def _is_title_word(word: str) -> bool:
    return len(word) > 1 and word[0].isupper() and not word.isupper() and word == _strip_possessive(word)


def _is_name_like(word: str, common: set[str]) -> bool:
    if len(word) < 2 or not word[0].isupper() or word.isupper():
        return False
    return word.casefold() not in common


def _looks_unusual(word: str, common: set[str]) -> bool:
    return word.casefold() not in common and any(c.isupper() for c in word[1:])


def _guess_category(phrase: str, previous: str) -> str:
    words = phrase.casefold().split()
    if words and words[-1] in WARD_WORDS:
        return "ward"
    if words and words[-1] in ORG_WORDS or any(c.isupper() for c in phrase[1:].replace(" ", "")) and " " not in phrase:
        return "organisation"
    if previous in TITLES:
        return "person"
    if previous in PLACE_PREPOSITIONS:
        return "place"
    return "person"


def _entity_ruler_names(transcripts: list[Transcript], spans: dict[int, list[tuple[int, int]]]) -> list[Found]:
    """spaCy's rule-based entity ruler: titled people ("Dr Okafor"), wards, organisations."""
    from models.nlp import entity_ruler_pipeline

    nlp = entity_ruler_pipeline()
    found: list[Found] = []
    items = [(t, s, e) for t in transcripts for s, e in spans[t.id]]
    docs = nlp.pipe((t.text[s:e] for t, s, e in items), batch_size=256)
    for (transcript, s, _e), doc in zip(items, docs, strict=True):
        for ent in doc.ents:
            category = {"PERSON": "person", "WARD": "ward", "ORG": "organisation"}.get(ent.label_, "other")
            found.append(Found(ent.text, category, "entity-ruler", transcript.id, s + ent.start_char, s + ent.end_char))
    return found


def _statistical_names(
    session: Session, transcripts: list[Transcript], spans: dict[int, list[tuple[int, int]]]
) -> list[Found]:
    """spaCy's statistical NER, only when a trained English pipeline is installed (never downloaded)."""
    from models.nlp import ner_pipeline

    nlp = ner_pipeline(get_setting(session, "spacy_model"))
    if nlp is None:
        return []
    labels = {"PERSON": "person", "GPE": "place", "LOC": "place", "ORG": "organisation", "FAC": "place"}
    found: list[Found] = []
    items = [(t, s, e) for t in transcripts for s, e in spans[t.id]]
    for (transcript, s, _e), doc in zip(items, nlp.pipe(t.text[s:e] for t, s, e in items), strict=True):
        for ent in doc.ents:
            if ent.label_ in labels:
                found.append(
                    Found(ent.text, labels[ent.label_], "ner", transcript.id, s + ent.start_char, s + ent.end_char)
                )
    return found


def _fuzzy_register_matches(transcripts: list[Transcript], register: list[NameEntry], common: set[str]) -> list[Found]:
    """Capitalised, uncommon words within a small edit distance of a registered spelling (misspellings).

    Everyday words ("stand" near "Sandra") are skipped: a misspelt name is still written as a name.
    """
    from rapidfuzz import fuzz, process

    spelling_to_entry = {s.casefold(): e for e in register for s in _spellings(e) if " " not in s.strip()}
    if not spelling_to_entry:
        return []
    choices = list(spelling_to_entry)
    first_seen: dict[str, tuple[Transcript, int, int, str]] = {}
    for transcript in transcripts:
        for match in _WORD.finditer(transcript.text):
            word = _strip_possessive(match.group(0))
            key = word.casefold()
            if len(word) < 4 or key in spelling_to_entry or key in first_seen:
                continue
            if word[0].isupper() and key not in common:
                first_seen[key] = (transcript, match.start(), match.start() + len(word), word)
    found: list[Found] = []
    for key, (transcript, start, end, word) in first_seen.items():
        best = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD)
        if best is None or best[0][0] != key[0]:
            continue
        entry = spelling_to_entry[best[0]]
        found.append(Found(word, entry.category, "register-fuzzy", transcript.id, start, end, entry_id=entry.id))
    return found


def _speaker_labels(session: Session) -> list[Found]:
    """Participants' own names used as speaker labels: pseudonym = their study ID."""
    rows = session.execute(
        select(Turn.speaker, Turn.transcript_id, Turn.start, Participant.id, Participant.study_id)
        .join(Transcript, Transcript.id == Turn.transcript_id)
        .join(Participant, Participant.id == Transcript.participant_id)
        .where(Turn.role == "participant")
        .group_by(Turn.speaker, Participant.id)
    ).all()
    found = []
    for speaker, transcript_id, start, participant_id, study_id in rows:
        if speaker.casefold() in {study_id.casefold(), "r", "a", "p", "participant", "respondent"}:
            continue
        if re.fullmatch(r"(speaker|participant|respondent)\s*\d*", speaker, re.IGNORECASE):
            continue
        found.append(
            Found(
                speaker,
                "person",
                "speaker-label",
                transcript_id,
                start,
                start,
                replacement=study_id,
                participant_id=participant_id,
            )
        )
    return found


def common_words() -> set[str]:
    """Lower-case English words that are not names when capitalised (spaCy stop words + lookup lemmas)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    from models.nlp import lemma_table

    table = lemma_table()
    words = CommonWords(set(STOP_WORDS) | {v for v in table.values() if isinstance(v, str) and v.islower()}, table)
    # Days, months and everyday capitals are not identifying.
    words |= {
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "christmas",
        "english",
        "british",
        "nhs",
        "covid",
        "ok",
        "okay",
        "yeah",
        "um",
        "erm",
        "interviewer",
        *TITLES,
        "hi",
        "hello",
        "oh",
        "ah",
        "hmm",
        "yes",
        "no",
        "well",
        "right",
        "so",
        "mum",
        "dad",
    }
    return words


class CommonWords(set):
    """Known English words: a set, plus the lemma table's inflected forms (looked up by hash)."""

    def __init__(self, words: set[str], table: Any) -> None:
        super().__init__(words)
        self.table = table

    def __contains__(self, word: object) -> bool:
        return super().__contains__(word) or isinstance(word, str) and word in self.table


def detect(session: Session) -> list[Found]:
    """Every candidate occurrence from all detectors (not yet filtered by the register or decisions)."""
    transcripts = list(session.scalars(select(Transcript).order_by(Transcript.id)))
    spans: dict[int, list[tuple[int, int]]] = {t.id: [] for t in transcripts}
    for transcript_id, start, end in session.execute(select(Turn.transcript_id, Turn.start, Turn.end)):
        spans[transcript_id].append((start, end))
    common = common_words()
    found = _speaker_labels(session)
    for transcript in transcripts:
        found += _capitalised_names(transcript, spans[transcript.id], common)
    found += _entity_ruler_names(transcripts, spans)
    found += _statistical_names(session, transcripts, spans)
    found += _fuzzy_register_matches(transcripts, entries(session), common)
    return found


def scan(project: Project, actor: str) -> list[dict[str, Any]]:
    """Detect candidates and remember them; returns the pending candidates (decided ones stay decided)."""
    with project.change(actor, "names.scan", "Scanned transcripts for identifying names", undoable=False) as s:
        register = {sp.casefold() for e in entries(s) for sp in _spellings(e)}
        found = [f for f in detect(s) if f.text.casefold() not in register]
        counts = Counter(f.text.casefold() for f in found)
        best: dict[str, Found] = {}
        for f in found:
            key = f.text.casefold()
            current = best.get(key)
            if current is None or _priority(f) > _priority(current):
                best[key] = f
        texts = {t.id: t.text for t in s.scalars(select(Transcript))}
        existing = {c.key: c for c in s.scalars(select(NameCandidate))}
        for key, stale in existing.items():  # undecided and no longer found: forget it
            if stale.status == "pending" and key not in best:
                s.delete(stale)
        for key, f in best.items():
            candidate = existing.get(key)
            if candidate is None:
                candidate = NameCandidate(key=key, text=f.text, status="pending")
                s.add(candidate)
            candidate.occurrences = counts[key]
            if candidate.status == "pending":
                candidate.category, candidate.source, candidate.entry_id = f.category, f.source, f.entry_id
                candidate.transcript_id, candidate.start, candidate.end = f.transcript_id, f.start, f.end
                candidate.context = _context(texts[f.transcript_id], f.start, f.end)
                if f.replacement:
                    candidate.context = f"speaker label → {f.replacement}: {candidate.context}"
        s.flush()
        s.info["summary"] = f"Scanned transcripts: {len(best)} candidate names"
        return candidate_rows(s)


def _priority(f: Found) -> int:
    return {"speaker-label": 5, "register-fuzzy": 4, "ner": 3, "entity-ruler": 2, "heuristic": 1}[f.source]


def candidate_rows(session: Session, status: str | None = "pending") -> list[dict[str, Any]]:
    stmt = select(NameCandidate).order_by(NameCandidate.id)
    if status:
        stmt = stmt.where(NameCandidate.status == status)
    by_id = {e.id: e for e in entries(session)}
    rows = []
    for c in session.scalars(stmt):
        suggestion = by_id[c.entry_id].term if c.entry_id in by_id else None
        rows.append(
            {
                "id": c.id,
                "text": c.text,
                "category": c.category,
                "source": c.source,
                "occurrences": c.occurrences,
                "status": c.status,
                "variant_of": suggestion,
                "context": c.context,
                "transcript_id": c.transcript_id,
                "start": c.start,
                "end": c.end,
            }
        )
    return rows


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
    """Accept candidates: a variant of their suggested (or given) entry, else a new entry. One undoable step."""
    if not candidate_ids and not all_pending:
        raise WaveqdaError("give candidate IDs or --all")
    with project.change(actor, "names.accept", "Accepted name candidates") as session:
        if all_pending:
            chosen = list(session.scalars(select(NameCandidate).where(NameCandidate.status == "pending")))
        else:
            chosen = [_candidate(session, i) for i in candidate_ids or []]
        entry_ids = []
        for candidate in chosen:
            entry_ids.append(_accept_one(session, actor, candidate, as_entry, category, replacement))
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
    # An explicit category or replacement means "its own entry", even where a scan suggested a variant.
    target_id = as_entry or (None if category or replacement else candidate.entry_id)
    if target_id is not None:
        entry = get_row(session, NameEntry, target_id)
        if entry is None:
            raise NotFoundError(f"no register entry {target_id}")
        if candidate.text.casefold() not in {s.casefold() for s in _spellings(entry)}:
            entry.variants = [*(entry.variants or []), candidate.text]
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


def _speaker_replacement(session: Session, candidate: NameCandidate) -> str | None:
    if candidate.source != "speaker-label" or candidate.transcript_id is None:
        return None
    transcript = session.get(Transcript, candidate.transcript_id)
    return transcript.participant.study_id if transcript else None


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
    """
    from sqlalchemy import update

    from models import journal, search_index
    from models.schema import Coding, Sentence
    from models.store import backup_copy
    from models.transcripts import text_sha256

    with project.read() as session:
        plan = _plan(session)
    if not apply or not plan.total:
        return plan
    if project.path is not None:
        plan.backup = str(backup_copy(project.engine, project.path, "before-redact"))
    summary = f"Redacted {plan.total} names in {len(plan.per_transcript)} transcripts"
    with project.change(actor, "names.redact", summary) as session:
        buffer: journal.ChangeBuffer = session.info[journal.BUFFER_KEY]
        replacer = anonymiser(session)
        for transcript in session.scalars(select(Transcript).order_by(Transcript.id)):
            new_text, offsets = replacer.replace_mapped(transcript.text)
            if new_text == transcript.text:
                continue
            before = {"text": transcript.text, "sha256": transcript.sha256, "word_count": transcript.word_count}
            after = {"text": new_text, "sha256": text_sha256(new_text), "word_count": _words(new_text)}
            session.execute(update(Transcript).where(Transcript.id == transcript.id).values(**after))
            buffer.add("transcripts", {"id": transcript.id}, before, after)
            models: tuple[type[Any], ...] = (Turn, Sentence)
            for model in models:
                for row in session.scalars(select(model).where(model.transcript_id == transcript.id)):
                    old: dict[str, Any] = {"start": row.start, "end": row.end}
                    new: dict[str, Any] = dict(zip(("start", "end"), offsets.span(row.start, row.end), strict=True))
                    if model is Turn:  # a speaker label is a name too ("Sandra:")
                        old["speaker"], new["speaker"] = row.speaker, replacer.replace(row.speaker)
                    changed = {k: v for k, v in new.items() if v != old[k]}
                    if changed:
                        session.execute(update(model).where(model.id == row.id).values(**changed))
                        buffer.add(model.__tablename__, {"id": row.id}, {k: old[k] for k in changed}, changed)
            for coding in session.scalars(select(Coding).where(Coding.transcript_id == transcript.id)):
                start, end = offsets.span(coding.start, coding.end)
                if (start, end) != (coding.start, coding.end):
                    coding.start, coding.end = start, end
                    plan.codings_moved += 1
            search_index.reindex_transcript(session, transcript.id)
        session.flush()  # before expiring: pending coding moves must reach the database (and the journal)
        session.expire_all()
    return plan


def _words(text: str) -> int:
    from models.nlp import word_count

    return word_count(text)


def _plan(session: Session) -> RedactionPlan:
    replacer = anonymiser(session)
    per: dict[str, int] = {}
    for transcript in session.scalars(select(Transcript).order_by(Transcript.id)):
        n = len(replacer.find(transcript.text))
        if n:
            per[f"{transcript.participant.study_id}/{transcript.timepoint.key}"] = n
    return RedactionPlan(per)
