"""A deterministic generator of longitudinal interview corpora, and of coded projects, for the benchmarks.

Corpus: N participants x T timepoints, one speaker-labelled interview each of about W words: short
interviewer questions (sometimes with a preamble, sometimes a back-channel "Mm-hm." mid-answer) and longer
participant answers of log-normally distributed sentence and turn lengths, some split over two paragraphs.
Words are drawn from ``bench/vocab.txt`` (a few thousand real English forms, inflections included, with
their real Zipf-like frequencies) plus contractions, commas, questions and trailing-off; a few non-ASCII
characters (curly apostrophes and quotes, en dashes, é/ï/ë in words and names, an occasional 🙂) and
occasional misspellings ("supervison") appear as in real transcripts. Each interview depends only on
``(seed, participant, timepoint, words)``, so P01/T1 is the same text in a 12- and a 384-transcript corpus.

Written as ``OUT/txt/P01_T1.txt`` (``Name: speech`` lines, paragraphs separated by blank lines) and
``OUT/docx/P01_T1.docx`` (a heading, then paragraphs whose label is a bold run ``Name:``), with
``OUT/manifest.csv`` (``file, participant, timepoint`` and participant attributes) routing both::

    .venv/bin/python -m bench.corpus OUT_DIR --participants 32 --timepoints 3 --words 10000 \\
        --formats txt,docx --seed 1

Benchmarks call ``ensure_corpus(...)`` (cached under ``bench/out/corpus/``) and ``build_coded_project(...)``
(a project with the corpus imported and a 3-level codebook with codings, cached under
``bench/out/projects/``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import os
import random
import shutil
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.vocab import load_vocab

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
# Bump when generated text or fixture layout changes, so cached corpora and projects are rebuilt.
GENERATOR_VERSION = 1
FORMATS = ("txt", "docx")
INTERVIEWER = "Interviewer"

FIRST_NAMES = [
    "Dana", "Marcus", "Priya", "Tom", "Aisha", "Kerry", "Zoë", "José", "Siân", "Femi", "Grace", "Liam", "Niamh",
    "Olu", "Hannah", "Ravi", "Chloé", "Dev", "Ellie", "Kwame", "Maria", "Sam", "Yusuf", "Beth", "Connor",
    "Imani", "Joel", "Leah", "Noor", "Owen", "Rosa", "Tariq", "Uma", "Wes", "Anaïs", "Bilal", "Cara", "Dylan",
]  # fmt: skip
SITES = ["North", "South", "East", "West"]
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55-64"]
GENDERS = ["Woman", "Man", "Non-binary"]
PREVIOUS_ROLES = ["None", "Healthcare assistant", "Administrator", "Volunteer", "Porter", "Student"]
TIMEPOINT_LABELS = {"T1": "After training", "T2": "4 months", "T3": "12 months"}

STARTERS = [
    "I think", "I mean,", "So", "And", "But", "Yeah,", "Well,", "It was", "We were", "They just", "You know,",
    "To be honest,", "I felt", "At first", "Now", "Honestly,", "The thing is", "I suppose", "Sometimes",
    "There was", "My manager", "The team", "I remember", "What I found was", "On the ward", "In supervision",
]  # fmt: skip
QUESTION_STARTS = [
    "Can you tell me about", "How did you feel about", "What was it like when", "Could you say a bit more about",
    "When you say", "How has", "Did you feel", "What do you think about", "How would you describe",
    "What happened with", "Has anything changed with", "Looking back, how do you see", "Why do you think",
    "Who helped you with", "Where does that leave",
]  # fmt: skip
BACKCHANNELS = ["Mm-hm.", "Okay.", "Right.", "Yeah.", "I see.", "Go on.", "Mm.", "Sure."]
CONTRACTIONS = ["don't", "I'm", "it's", "can't", "won't", "didn't", "that's", "I've", "wasn't", "they're",
                "we'd", "you'd", "isn't", "there's", "I'd", "couldn't"]  # fmt: skip
MISSPELLINGS = {
    "supervision": "supervison", "receive": "recieve", "definitely": "definately", "separate": "seperate",
    "management": "managment", "really": "realy", "because": "becuase", "believe": "beleive",
    "different": "diffrent", "experience": "experiance", "colleagues": "collegues", "would": "woud",
}  # fmt: skip
QUOTE_VERBS = ["she said", "he said", "they said", "my manager said", "I said", "someone said"]


# --- one interview ------------------------------------------------------------------------------------


@dataclass
class Turn:
    speaker: str
    role: str  # "interviewer" or "participant"
    paragraphs: list[str]


@dataclass
class Interview:
    participant: str
    timepoint: str
    speaker: str
    title: str
    turns: list[Turn] = field(default_factory=list)
    words: int = 0


class _Speech:
    """Sentences for one interview from its own seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        words, weights = load_vocab()
        self.words = words
        self.cum_weights = list(_accumulate(weights))
        self.curly = rng.random() < 0.5  # transcriber's apostrophe style (Word autocorrect or not)
        self.count = 0

    def _draw(self, n: int) -> list[str]:
        out = self.rng.choices(self.words, cum_weights=self.cum_weights, k=n)
        for i, word in enumerate(out):
            if word == "i":
                out[i] = "I"
            elif word in MISSPELLINGS and self.rng.random() < 0.03:
                out[i] = MISSPELLINGS[word]
            elif len(word) >= 6 and self.rng.random() < 0.003:
                out[i] = _typo(word, self.rng)
            elif self.rng.random() < 0.035:
                out[i] = self._apostrophes(self.rng.choice(CONTRACTIONS))
        return out

    def _apostrophes(self, text: str) -> str:
        return text.replace("'", "\u2019") if self.curly else text

    def sentence(self, question: bool = False) -> str:
        rng = self.rng
        if question:
            head = rng.choice(QUESTION_STARTS)
            body = self._draw(max(2, int(rng.lognormvariate(math.log(6), 0.4))))
            self.count += len(head.split()) + len(body)
            return f"{head} {' '.join(body)}?"
        length = min(45, max(3, int(rng.lognormvariate(math.log(12), 0.55))))
        head = rng.choice(STARTERS) if rng.random() < 0.45 else ""
        body = self._draw(length)
        self.count += len(head.split()) + len(body)
        for i in range(2, len(body) - 2):
            if rng.random() < 0.06:
                body[i] += ","
        if rng.random() < 0.012 and len(body) > 8:
            at = rng.randrange(3, len(body) - 4)
            verb = rng.choice(QUOTE_VERBS)
            body[at] = f"{verb}, \u201c{body[at].capitalize()}"
            body[at + 3] += ".\u201d" if at + 3 == len(body) - 1 else "\u201d"
            self.count += len(verb.split())
        if rng.random() < 0.01 and len(body) > 6:
            body.insert(rng.randrange(2, len(body) - 2), "\u2013")
        words = ([head] if head else []) + body
        text = " ".join(words)
        text = text[0].upper() + text[1:]
        if text.endswith((".\u201d", "\u201d")):
            return text if text.endswith(".\u201d") else text + "."
        end = rng.random()
        if end < 0.86:
            text += "."
        elif end < 0.91:
            text += "..."
        elif end < 0.95:
            text += "?"
        else:
            text += "!"
        if rng.random() < 0.003:
            text += " \U0001f642"
        return text

    def sentences(self, n: int) -> str:
        return " ".join(self.sentence() for _ in range(n))


def _accumulate(values: Sequence[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1 :]  # dropped letter
    if kind == 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swapped letters
    return word[:i] + word[i] + word[i:]  # doubled letter


def participant_ids(participants: int) -> list[str]:
    width = max(2, len(str(participants)))
    return [f"P{n:0{width}d}" for n in range(1, participants + 1)]


def timepoint_keys(timepoints: int) -> list[str]:
    return [f"T{n}" for n in range(1, timepoints + 1)]


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random("/".join(map(str, (seed, *parts))))


def speaker_name(participant: str, seed: int = 1) -> str:
    return _rng(seed, participant, "name").choice(FIRST_NAMES)


def generate_interview(participant: str, timepoint: str, words: int, seed: int = 1) -> Interview:
    """One interview of about ``words`` words (it stops after the turn that reaches the count)."""
    rng = _rng(seed, participant, timepoint, words)
    speech = _Speech(rng)
    name = speaker_name(participant, seed)
    title = f"Interview {participant} {timepoint} (generated, fictional)"
    interview = Interview(participant, timepoint, name, title)
    turns = interview.turns

    def say(speaker: str, role: str, *paragraphs: str) -> None:
        turns.append(Turn(speaker, role, list(paragraphs)))

    opening = f"Thanks for talking with me again. This is the {timepoint} interview."
    speech.count += 10
    while speech.count < words - 40:
        question = speech.sentence(question=True)
        if opening:
            question, opening = f"{opening} {question}", ""
        elif rng.random() < 0.25:
            question = f"{speech.sentence()} {question}"
        say(INTERVIEWER, "interviewer", question)
        n = min(30, max(1, round(rng.lognormvariate(math.log(5), 0.6))))
        if n >= 4 and rng.random() < 0.08:
            first = rng.randrange(1, n)
            say(name, "participant", speech.sentences(first))
            say(INTERVIEWER, "interviewer", rng.choice(BACKCHANNELS))
            say(name, "participant", speech.sentences(n - first))
        elif n >= 6 and rng.random() < 0.3:
            first = rng.randrange(2, n - 1)
            say(name, "participant", speech.sentences(first), speech.sentences(n - first))
        else:
            say(name, "participant", speech.sentences(n))
    say(INTERVIEWER, "interviewer", "That's everything I wanted to ask. Thank you.")
    say(name, "participant", "Thanks, it was good to talk.")
    interview.words = speech.count + 14
    return interview


# --- rendering ----------------------------------------------------------------------------------------


def render_txt(interview: Interview) -> str:
    """``Name: speech`` lines; a turn's further paragraphs follow unlabelled; blank lines between."""
    parts = [interview.title, ""]
    for turn in interview.turns:
        parts.append(f"{turn.speaker}: {turn.paragraphs[0]}")
        parts.append("")
        for paragraph in turn.paragraphs[1:]:
            parts.extend([paragraph, ""])
    return "\n".join(parts)


def write_docx(interview: Interview, path: Path) -> None:
    """A heading, then one paragraph per turn paragraph; the first starts with a bold ``Name:`` run."""
    import docx

    document = docx.Document()
    document.core_properties.title = interview.title
    document.core_properties.author = "waveqda bench generator"
    document.add_heading(interview.title, level=1)
    for turn in interview.turns:
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{turn.speaker}:").bold = True
        paragraph.add_run(f" {turn.paragraphs[0]}")
        for more in turn.paragraphs[1:]:
            document.add_paragraph(more)
    document.save(str(path))


def participant_attributes(participant: str, seed: int = 1) -> dict[str, str]:
    rng = _rng(seed, participant, "attributes")
    return {
        "site": rng.choice(SITES),
        "age_band": rng.choice(AGE_BANDS),
        "gender": rng.choice(GENDERS),
        "previous_role": rng.choice(PREVIOUS_ROLES),
    }


def write_corpus(
    out_dir: Path,
    participants: int,
    timepoints: int,
    words: int,
    formats: Sequence[str] = FORMATS,
    seed: int = 1,
    progress: bool = False,
) -> dict[str, list[Path]]:
    """Write the corpus under ``out_dir`` (``txt/``, ``docx/``, ``manifest.csv``); return files by format."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s): {', '.join(sorted(unknown))}; choose from {', '.join(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {fmt: [] for fmt in formats}
    manifest_rows = []
    pids, tps = participant_ids(participants), timepoint_keys(timepoints)
    total = len(pids) * len(tps)
    for fmt in formats:
        (out_dir / fmt).mkdir(exist_ok=True)
    n = 0
    for pid in pids:
        attributes = participant_attributes(pid, seed)
        for tp in tps:
            interview = generate_interview(pid, tp, words, seed)
            for fmt in formats:
                path = out_dir / fmt / f"{pid}_{tp}.{fmt}"
                if fmt == "txt":
                    path.write_text(render_txt(interview), encoding="utf-8", newline="\n")
                else:
                    write_docx(interview, path)
                written[fmt].append(path)
                manifest_rows.append({"file": path.name, "participant": pid, "timepoint": tp, **attributes})
            n += 1
            if progress:
                print(f"\r{n}/{total} interviews", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    columns = ["file", "participant", "timepoint", *participant_attributes("P01", seed)]
    with (out_dir / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(manifest_rows)
    return written


@contextlib.contextmanager
def _locked(root: Path, name: str) -> Iterator[None]:
    """A file lock under ``root`` so that parallel benchmark runs build each cached item once."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def corpus_key(participants: int, timepoints: int, words: int, seed: int) -> str:
    return f"p{participants}-t{timepoints}-w{words}-s{seed}-v{GENERATOR_VERSION}"


def ensure_corpus(
    participants: int,
    timepoints: int,
    words: int,
    formats: Sequence[str] = ("txt",),
    seed: int = 1,
    out_dir: Path | None = None,
) -> Path:
    """The cached corpus folder ``<out_dir>/corpus/<key>/`` (default ``bench/out``) with at least
    ``formats``, built if missing."""
    root = out_dir or OUT_DIR
    key = corpus_key(participants, timepoints, words, seed)
    folder = root / "corpus" / key
    with _locked(root, f"corpus-{key}"):
        missing = [fmt for fmt in formats if not (folder / f".complete-{fmt}").exists()]
        if missing:
            have = [fmt for fmt in FORMATS if (folder / f".complete-{fmt}").exists()]
            for fmt in missing:
                shutil.rmtree(folder / fmt, ignore_errors=True)
            # Rewrite every format wanted so far, so manifest.csv lists them all.
            write_corpus(
                folder,
                participants,
                timepoints,
                words,
                sorted(set(have) | set(missing)),
                seed,
                progress=sys.stderr.isatty(),
            )
            for fmt in missing:
                (folder / f".complete-{fmt}").touch()
    return folder


# --- coded projects -----------------------------------------------------------------------------------

THEMES = [
    "Early optimism", "Feeling valued", "Empowerment", "Connection", "Adjusting to demands", "Supervision",
    "Standalone peer team", "Communication with clinical teams", "Job insecurity", "Training needs",
]  # fmt: skip
CODER_NAMES = ["coder_a", "coder_b", "coder_c", "coder_d", "coder_e", "coder_f"]
FIXTURE_EPOCH = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


def codebook_shape(codes: int) -> tuple[int, int, int]:
    """(themes, subthemes per theme, codes per subtheme) with themes*subs*leaves == codes; 300 -> 10x5x6."""
    if codes == 300:
        return 10, 5, 6
    for themes in (10, 8, 6, 5, 4, 3, 2, 1):
        if codes % themes == 0:
            rest = codes // themes
            for subs in (5, 4, 3, 2, 1):
                if rest % subs == 0:
                    return themes, subs, rest // subs
    return 1, 1, codes


def coded_project_key(
    participants: int, timepoints: int, words: int, codes: int, codings: int, coders: int, seed: int
) -> str:
    from models.store import HEAD_REVISION

    return f"coded-{corpus_key(participants, timepoints, words, seed)}-c{codes}-n{codings}-k{coders}-{HEAD_REVISION}"


def cached_coded_project(
    participants: int,
    timepoints: int,
    words: int,
    codes: int = 300,
    codings: int = 50_000,
    coders: int = 3,
    seed: int = 1,
    out_dir: Path | None = None,
) -> Path:
    """The cached project file under ``<out_dir>/projects/`` (default ``bench/out``), built if missing.
    Treat it as read-only: use ``build_coded_project`` for a copy that a benchmark may change."""
    root = out_dir or OUT_DIR
    key = coded_project_key(participants, timepoints, words, codes, codings, coders, seed)
    target = root / "projects" / f"{key}.wqda"
    with _locked(root, key):
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            building = target.with_name(f"{key}.building-{os.getpid()}.wqda")
            _remove_project_files(building)
            try:
                _build_coded_project(building, participants, timepoints, words, codes, codings, coders, seed, root)
                os.replace(building, target)
            finally:
                _remove_project_files(building)
    return target


def build_coded_project(
    path: Path | str,
    participants: int,
    timepoints: int,
    words: int,
    codes: int = 300,
    codings: int = 50_000,
    coders: int = 3,
    seed: int = 1,
    out_dir: Path | None = None,
) -> Path:
    """A project at ``path`` with the generated .txt corpus imported and a coded codebook: a fixture builder.

    The corpus (``participants x timepoints`` interviews of about ``words`` words) is imported through the
    real import path (``importers.batch.import_paths`` with the corpus manifest, so participants get
    attributes). Then a 3-level codebook of ``codes`` leaf codes (300 = 10 themes x 5 subthemes x 6 codes;
    themes are named after the study's themes, subthemes ``"<Theme> 2"``, codes ``"<Theme> 2.3"``), ``coders``
    coders (``coder_a``, ``coder_b``...) and ``codings`` codings are inserted directly with SQLAlchemy Core
    bulk inserts (executemany), **bypassing the journal**: this is a benchmark fixture, not a user operation,
    so there is no undo record per coding, only one non-undoable ``bench.fixture`` event in the history.

    Codings are sentence-aligned (1-3 consecutive sentences of one turn, 70%) or whole turns (30%), mostly of
    participant turns (90%); codes are used with Zipf-like frequencies (the busiest few codes hold thousands
    of codings, the rarest a handful). Coders code overlapping material: each generated span is coded by
    each coder with some probability and sometimes with a boundary moved by a sentence, so intercoder
    agreement is high but not perfect. A coder never has two codings of one code that overlap or touch in
    a transcript (the coding engine would have merged them). Everything is seeded: the same arguments give
    the same database content (ids, uuids, spans, timestamps).

    The result is built once per argument set and cached under ``bench/out/projects/`` (or ``out_dir``);
    each call copies the cached file to ``path`` (which must not exist), so callers may change their copy
    freely. Returns ``path``. About 15 s for the full 96 x 10,000-word, 50,000-coding project the first time,
    a file copy after that.
    """
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    cached = cached_coded_project(participants, timepoints, words, codes, codings, coders, seed, out_dir)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out, cached.open("rb") as src:
        shutil.copyfileobj(src, out, 1 << 20)
    return path


def _remove_project_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _build_coded_project(
    path: Path,
    participants: int,
    timepoints: int,
    words: int,
    codes: int,
    codings: int,
    coders: int,
    seed: int,
    root: Path,
) -> None:
    from importers.batch import import_paths
    from models.store import create_project

    if not 1 <= coders <= len(CODER_NAMES):
        raise ValueError(f"coders must be 1..{len(CODER_NAMES)}")
    corpus = ensure_corpus(participants, timepoints, words, ("txt",), seed, root)
    tps = [(key, TIMEPOINT_LABELS.get(key, key)) for key in timepoint_keys(timepoints)]
    project = create_project(path, timepoints=tps, name=f"Benchmark study ({participants}x{timepoints}x{words})")
    try:
        result = import_paths(project, [corpus / "txt"], manifest_path=corpus / "manifest.csv", actor="bench")
        if result.failed:
            raise RuntimeError(f"corpus import failed: {result.failed[0].message}")
        summary = f"Benchmark fixture: {codes} codes, {codings} codings by {coders} coders (bulk insert)"
        with project.change("bench", "bench.fixture", summary, undoable=False) as session:
            _insert_codebook_and_codings(session, codes, codings, coders, seed)
    finally:
        project.close()


def _insert_codebook_and_codings(session, codes: int, codings: int, coders: int, seed: int) -> None:
    from sqlalchemy import insert, select

    from models.codebook import palette_colours
    from models.schema import Code, Coder, Coding, Sentence, Transcript, Turn

    rng = _rng(seed, "codings", codes, codings, coders)

    def new_uuid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    # Codebook: ids assigned here so parents are known without round trips.
    colours = palette_colours()
    n_themes, n_subs, n_leaves = codebook_shape(codes)
    code_rows: list[dict] = []
    leaves: list[int] = []
    next_id = (session.scalar(select(Code.id).order_by(Code.id.desc()).limit(1)) or 0) + 1

    def add_code(name: str, parent: int | None, position: int, kind: str) -> int:
        nonlocal next_id
        code_id = next_id
        next_id += 1
        code_rows.append(
            {
                "id": code_id,
                "uuid": new_uuid(),
                "parent_id": parent,
                "name": name,
                "definition": f"Generated {kind} for benchmarks: {name}.",
                "inclusion": "",
                "exclusion": "",
                "example": "",
                "memo": "",
                "colour": colours[(code_id - 1) % len(colours)],
                "position": position,
                "archived": False,
                "merged_into_id": None,
                "created_at": FIXTURE_EPOCH,
            }
        )
        return code_id

    for t in range(n_themes):
        theme_name = THEMES[t] if t < len(THEMES) else f"Theme {t + 1}"
        theme = add_code(theme_name, None, t, "theme")
        for s in range(n_subs):
            sub = add_code(f"{theme_name} {s + 1}", theme, s, "subtheme")
            for c in range(n_leaves):
                leaves.append(add_code(f"{theme_name} {s + 1}.{c + 1}", sub, c, "code"))
    session.execute(insert(Code.__table__), code_rows)

    coder_rows = [{"uuid": new_uuid(), "name": CODER_NAMES[k], "created_at": FIXTURE_EPOCH} for k in range(coders)]
    session.execute(insert(Coder.__table__), coder_rows)
    coder_ids = list(session.scalars(select(Coder.id).where(Coder.name.in_(CODER_NAMES[:coders])).order_by(Coder.name)))

    # Units to code: per transcript its turns (role, span) and each turn's sentence spans.
    transcript_ids = list(session.scalars(select(Transcript.id).order_by(Transcript.id)))
    turns: dict[int, list[tuple[str, int, int]]] = {tid: [] for tid in transcript_ids}
    for tid, role, start, end in session.execute(
        select(Turn.transcript_id, Turn.role, Turn.start, Turn.end).order_by(Turn.transcript_id, Turn.index)
    ):
        turns[tid].append((role, start, end))
    sentences: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for tid, index, start, end in session.execute(
        select(Sentence.transcript_id, Sentence.turn_index, Sentence.start, Sentence.end).order_by(
            Sentence.transcript_id, Sentence.start
        )
    ):
        sentences.setdefault((tid, index), []).append((start, end))
    units = {
        tid: [
            (index, start, end)
            for index, (role, start, end) in enumerate(rows)
            if end > start and (tid, index) in sentences
        ]
        for tid, rows in turns.items()
    }
    participant_units = {tid: [u for u in us if turns[tid][u[0]][0] == "participant"] for tid, us in units.items()}
    transcript_ids = [tid for tid in transcript_ids if units[tid]]
    if not transcript_ids:
        raise RuntimeError("no turns with sentences to code")

    # Zipf-like code popularity over a shuffled order of the leaves.
    popularity = leaves[:]
    rng.shuffle(popularity)
    code_cum = list(_accumulate([1.0 / (rank + 1) ** 0.85 for rank in range(len(popularity))]))
    coder_share = [0.85, 0.75, 0.65, 0.6, 0.55, 0.5][:coders]

    taken: dict[tuple[int, int, int], list[tuple[int, int]]] = {}
    coding_rows: list[dict] = []
    clock = 0

    def free(key: tuple[int, int, int], start: int, end: int) -> bool:
        # Half-open spans that overlap or touch would be one coding in the engine.
        return all(end < s or start > e for s, e in taken.get(key, ()))

    attempts = 0
    while len(coding_rows) < codings:
        attempts += 1
        if attempts > codings * 50:
            raise RuntimeError("cannot place that many codings without overlaps; use a larger corpus")
        tid = rng.choice(transcript_ids)
        pool = participant_units[tid] if participant_units[tid] and rng.random() < 0.9 else units[tid]
        index, turn_start, turn_end = rng.choice(pool)
        turn_sentences = sentences[(tid, index)]
        whole_turn = rng.random() < 0.3
        if whole_turn:
            first, last = 0, len(turn_sentences) - 1
        else:
            first = rng.randrange(len(turn_sentences))
            last = min(len(turn_sentences) - 1, first + rng.choice((0, 0, 0, 1, 1, 2)))
        code_id = popularity[rng.choices(range(len(popularity)), cum_weights=code_cum)[0]]
        coded_by = [k for k in range(coders) if rng.random() < coder_share[k]] or [rng.randrange(coders)]
        for k in coded_by:
            a, b = first, last
            if rng.random() < 0.2:  # this coder drew the boundary a sentence differently
                if rng.random() < 0.5:
                    a = max(0, a - 1) if rng.random() < 0.5 else min(b, a + 1)
                else:
                    b = min(len(turn_sentences) - 1, b + 1) if rng.random() < 0.5 else max(a, b - 1)
            start = turn_start if whole_turn and (a, b) == (first, last) else turn_sentences[a][0]
            end = turn_end if whole_turn and (a, b) == (first, last) else turn_sentences[b][1]
            key = (tid, code_id, coder_ids[k])
            if end <= start or not free(key, start, end):
                continue
            taken.setdefault(key, []).append((start, end))
            clock += rng.randrange(5, 120)
            when = FIXTURE_EPOCH + timedelta(seconds=clock)
            coding_rows.append(
                {
                    "uuid": new_uuid(),
                    "transcript_id": tid,
                    "code_id": code_id,
                    "coder_id": coder_ids[k],
                    "start": start,
                    "end": end,
                    "memo": "Generated memo on this segment." if rng.random() < 0.02 else "",
                    "key_quote": rng.random() < 0.03,
                    "status": "ok",
                    "created_at": when,
                    "updated_at": when,
                }
            )
            if len(coding_rows) >= codings:
                break
    session.execute(insert(Coding.__table__), coding_rows)


# --- command line -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder to write txt/, docx/ and manifest.csv into")
    parser.add_argument("--participants", type=int, default=32)
    parser.add_argument("--timepoints", type=int, default=3)
    parser.add_argument("--words", type=int, default=10_000, help="words per transcript (about)")
    parser.add_argument("--formats", default="txt,docx", help="comma-separated: txt, docx")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--coded-project",
        type=Path,
        metavar="PATH",
        help="also build a coded project here (txt corpus imported, 300 codes, 50,000 codings)",
    )
    parser.add_argument("--codes", type=int, default=300)
    parser.add_argument("--codings", type=int, default=50_000)
    parser.add_argument("--coders", type=int, default=3)
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    started = time.perf_counter()
    try:
        written = write_corpus(
            args.out_dir,
            args.participants,
            args.timepoints,
            args.words,
            formats,
            args.seed,
            progress=sys.stderr.isatty(),
        )
    except ValueError as exc:
        parser.error(str(exc))
    counts = ", ".join(f"{len(files)} .{fmt}" for fmt, files in written.items())
    print(f"wrote {counts} and manifest.csv to {args.out_dir} in {time.perf_counter() - started:.1f} s")
    if args.coded_project:
        started = time.perf_counter()
        build_coded_project(
            args.coded_project,
            args.participants,
            args.timepoints,
            args.words,
            args.codes,
            args.codings,
            args.coders,
            args.seed,
        )
        print(f"built {args.coded_project} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
