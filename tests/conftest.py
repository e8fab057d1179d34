"""Shared fixtures: real project files in a temporary folder."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from models.parsed import ParsedTranscript, ParsedTurn
from models.store import Project, create_project
from models.transcripts import store_transcript

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_transcripts"
SHARED = REPO.parent / "shared"


def in_ci() -> bool:
    return os.environ.get("WAVEQDA_CI") == "1"


def require_tool(name: str) -> str:
    """The path of a system tool a test needs (soffice, pdftoppm, pg_ctl...): the test is skipped when it is
    missing, except in CI (``WAVEQDA_CI=1``), where a missing tool fails the test loudly."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed (CI installs it in .ci/run)"
    if in_ci():
        pytest.fail(f"WAVEQDA_CI=1 but {message}")
    pytest.skip(message)


def require_shared(*parts: str) -> Path:
    """``../shared`` beside the checkout, or a file or folder in it (``require_shared("refi-qda", "samples",
    "x.qdpx")``): skipped when missing outside CI, a failure in CI (CI lays ``shared/`` beside the clone)."""
    found = SHARED.joinpath(*parts)
    if found.exists():
        return found
    if in_ci():
        pytest.fail(f"WAVEQDA_CI=1 but {found} is missing (shared/ must sit beside the clone)")
    pytest.skip(f"{found} is missing (shared/ must sit beside the clone)")


def make_parsed(turns: list[tuple[str, str]], name: str = "synthetic.txt") -> ParsedTranscript:
    """A ParsedTranscript from (speaker, speech) pairs, laid out as 'Speaker: speech' lines."""
    text_parts: list[str] = []
    parsed_turns: list[ParsedTurn] = []
    pos = 0
    for speaker, speech in turns:
        label = f"{speaker}: "
        start = pos + len(label)
        line = label + speech
        text_parts.append(line)
        parsed_turns.append(ParsedTurn(speaker, start, start + len(speech)))
        pos += len(line) + 1
    return ParsedTranscript("\n".join(text_parts), parsed_turns, name, "txt", title=name)


SMALL_STUDY = {
    ("P01", "T1"): [
        ("Interviewer", "How did the training go?"),
        ("Dana", "It was brilliant. I felt supported by everyone. The supervision was good."),
        ("Interviewer", "What about the ward?"),
        ("Dana", "Sandra was kind. I worry about the contract though. Funding might end."),
    ],
    ("P01", "T2"): [
        ("Interviewer", "How are things now?"),
        ("Dana", "Harder. Nobody tells me about handovers. I am supporting people every day."),
        ("Interviewer", "And supervision?"),
        ("Dana", "There is no supervision at all. I feel valued by patients though."),
    ],
    ("P02", "T1"): [
        ("Interviewer", "Tell me about starting."),
        ("Marcus", "Hopeful, really hopeful. The team supports me. Café chats help 🙂 a lot."),
    ],
    ("P02", "T2"): [
        ("Interviewer", "Four months on?"),
        ("Marcus", "The clinical team ignores us. Supervison is missing. I might leave."),
    ],
}


# --- the two engines ---------------------------------------------------------------------------------
# Tests (or whole modules, with ``pytestmark = pytest.mark.both_engines``) marked ``both_engines`` run once on
# an SQLite file and once on a PostgreSQL database of a throwaway cluster (tests/pg_cluster.py). Without
# PostgreSQL the second run is skipped, except in CI (WAVEQDA_CI=1), where it fails.


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_engines"):
        metafunc.parametrize("engine", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def pg_cluster():
    from tests import pg_cluster as cluster_module

    if not cluster_module.available():
        message = "PostgreSQL is not installed (pg_ctl, initdb) and WAVEQDA_TEST_PG_URL is not set"
        if in_ci():
            pytest.fail(f"WAVEQDA_CI=1 but {message}")
        pytest.skip(message)
    cluster = cluster_module.start()
    yield cluster
    cluster.stop()


_databases = iter(range(1, 10**9))


def project_target(engine: str, tmp_path: Path, request: pytest.FixtureRequest, name: str = "study") -> str:
    """Where a new project goes on this engine: a file in ``tmp_path``, or a new database (dropped after)."""
    if engine == "sqlite":
        return str(tmp_path / f"{name}.wqda")
    cluster = request.getfixturevalue("pg_cluster")
    database = f"t{os.getpid()}_{next(_databases)}"
    url = cluster.create_database(database)
    request.addfinalizer(lambda: cluster.drop_database(database))
    return url


@pytest.fixture
def project(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Project:
    """An empty project with the default timepoints T1-T3 (a file; also a database for ``both_engines``)."""
    proj = create_project(project_target(engine, tmp_path, request), name="Test study")
    yield proj
    proj.close()


@pytest.fixture
def small_project(project: Project) -> Project:
    """Four short transcripts (P01 and P02 at T1 and T2) stored through the real import path."""
    for (participant, timepoint), turns in SMALL_STUDY.items():
        with project.change("tester", "import", "import", undoable=False) as session:
            store_transcript(
                session, make_parsed(turns, f"{participant}_{timepoint}.txt"), participant, timepoint, "tester"
            )
    return project


def database_state(project: Project) -> dict[str, list[tuple]]:
    """Every row of every table except the event log, order-independent: what undo must restore exactly.

    FTS5's segment storage (``<index>_data``, ``<index>_idx``) is left out: its physical layout legitimately
    differs after an insert and a delete. The indexed content (``<index>_content``, ``_docsize``) is compared.
    """
    import re

    from sqlalchemy import text

    if not project.is_sqlite:
        return _postgres_state(project)
    with project.engine.connect() as conn:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all()
        fts = [name for name, sql in rows if re.search(r"\busing\s+fts5\s*\(", sql or "", re.IGNORECASE)]
        # events and tombstones are history, kept outside the undo journal
        skipped = {"events", "tombstones", *(f"{name}_{part}" for name in fts for part in ("data", "idx"))}
        tables = sorted(name for name, _ in rows if name not in skipped and not name.startswith("sqlite_"))
        state = {n: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{n}"'))), key=repr) for n in tables}
    # The file's replica id (models.replica) names the copy on disk, not project data: a copy gets its own on
    # its first change, outside the undo journal by design.
    state["settings"] = [row for row in state.get("settings", []) if row[0] != "replica"]
    return state


def _postgres_state(project: Project) -> dict[str, list[tuple]]:
    from sqlalchemy import inspect, text

    with project.engine.connect() as conn:
        tables = sorted(
            t for t in inspect(conn).get_table_names() if t not in {"events", "tombstones", "alembic_version"}
        )
        state = {n: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{n}"'))), key=repr) for n in tables}
    state["settings"] = [row for row in state.get("settings", []) if row[0] != "replica"]
    return state


@pytest.fixture
def db_state():
    """``db_state(project)`` -> a comparable dump of all tables except ``events``."""
    return database_state


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample study imported once per test session (copy it with ``sample_project``)."""
    from app.demo import build_demo

    path = tmp_path_factory.mktemp("sample-template") / "samples.wqda"
    build_demo(path, SAMPLES, coded=False)
    return path


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo study as ``waveqda demo`` builds it: imported and partly coded by two coders (read only)."""
    from app.demo import build_demo

    path = tmp_path_factory.mktemp("demo-template") / "demo.wqda"
    build_demo(path, SAMPLES)
    return path


@pytest.fixture
def sample_project(sample_template: Path, tmp_path: Path) -> Project:
    """A fresh copy of the imported sample study (18 transcripts, 6 participants with attributes)."""
    import sqlite3

    from models.store import open_project

    target = tmp_path / "samples.wqda"
    source = sqlite3.connect(sample_template)
    dest = sqlite3.connect(target)
    source.backup(dest)
    dest.close()
    source.close()
    proj = open_project(target)
    yield proj
    proj.close()


# --- a coded version of the small study (queries, search and analysis commands) ---------------------

CODED_CODES = ["Support", "Support/Peer support", "Support/Supervision", "Worry", "Worry/Job insecurity", "Archived"]

# (label, participant, timepoint, code path, coder, first words, last words or None)
CODED_CODINGS = [
    (1, "P01", "T1", "Support/Peer support", "ana", "I felt supported by everyone.", None),
    (2, "P01", "T1", "Support/Supervision", "ana", "The supervision was good.", None),
    (3, "P01", "T1", "Support", "ana", "I felt supported", "The supervision was good."),
    (4, "P01", "T1", "Worry/Job insecurity", "ana", "I worry about the contract though. Funding might end.", None),
    (5, "P01", "T2", "Support/Supervision", "ana", "There is no supervision at all.", None),
    (6, "P01", "T2", "Support/Peer support", "ben", "I am supporting people every day.", None),
    (7, "P02", "T1", "Support/Peer support", "ana", "The team supports me.", None),
    (8, "P02", "T2", "Worry/Job insecurity", "ana", "might leave", None),
    (9, "P02", "T2", "Support/Supervision", "ben", "Supervison is missing.", None),
    (10, "P01", "T1", "Archived", "ana", "Sandra was kind.", None),
    (11, "P01", "T2", "Worry", "ana", "Harder.", "And supervision?"),
    (12, "P01", "T1", "Support/Supervision", "ben", "How did the training go?", None),
]


def phrase_span(text: str, first: str, last: str | None = None) -> tuple[int, int]:
    """``[start, end)`` from the first words to the end of the last words (both must occur once)."""
    assert text.count(first) == 1, first
    start = text.index(first)
    if last is None:
        return start, start + len(first)
    assert text.count(last) == 1, last
    return start, text.index(last) + len(last)


@dataclass
class CodedStudy:
    project: Project
    codes: dict[str, int]  # path -> code id
    codings: dict[int, int]  # label in CODED_CODINGS -> coding id
    transcripts: dict[str, int]  # "P01/T1" -> transcript id


@pytest.fixture
def coded_study(small_project: Project) -> CodedStudy:
    """The small study with a two-theme codebook (plus an archived code), coders ana and ben, twelve
    codings (overlapping, multi-turn, on an interviewer turn), a key quote and a site attribute."""
    from sqlalchemy import select

    from models.schema import AttributeDefinition, Code, Coder, Coding, Participant, ParticipantAttribute
    from models.transcripts import find_transcript

    with small_project.change("tester", "seed", "seed codings") as session:
        coders = {name: Coder(name=name) for name in ("ana", "ben")}
        session.add_all(coders.values())
        session.flush()
        codes: dict[str, Code] = {}
        for position, path in enumerate(CODED_CODES):
            parent, _, name = path.rpartition("/")
            code = Code(name=name, parent_id=codes[parent].id if parent else None, position=position)
            code.archived = name == "Archived"
            session.add(code)
            session.flush()
            codes[path] = code
        site = AttributeDefinition(name="site", type="choice", choices=["North", "South"])
        session.add(site)
        session.flush()
        for study_id, value in (("P01", "North"), ("P02", "South")):
            participant = session.scalar(select(Participant).where(Participant.study_id == study_id))
            session.add(ParticipantAttribute(participant_id=participant.id, attribute_id=site.id, value=value))
        codings: dict[int, Coding] = {}
        transcripts: dict[str, int] = {}
        for label, participant, timepoint, path, coder, first, last in CODED_CODINGS:
            transcript = find_transcript(session, f"{participant}/{timepoint}")
            transcripts[f"{participant}/{timepoint}"] = transcript.id
            start, end = phrase_span(transcript.text, first, last)
            codings[label] = Coding(
                transcript_id=transcript.id,
                code_id=codes[path].id,
                coder_id=coders[coder].id,
                start=start,
                end=end,
                key_quote=label == 7,
            )
            session.add(codings[label])
            session.flush()
    return CodedStudy(
        small_project,
        {path: code.id for path, code in codes.items()},
        {label: coding.id for label, coding in codings.items()},
        transcripts,
    )
