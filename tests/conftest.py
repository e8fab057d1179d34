"""Shared fixtures: real project files in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from importers.base import ParsedTranscript, ParsedTurn
from models.store import Project, create_project
from models.transcripts import store_transcript

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_transcripts"


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


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """An empty project with the default timepoints T1-T3."""
    proj = create_project(tmp_path / "study.wqda", name="Test study")
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
    """Every row of every table except the event log, order-independent: what undo must restore exactly."""
    from sqlalchemy import text

    with project.engine.connect() as conn:
        names = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        ).scalars()
        tables = sorted(n for n in names if n != "events")
        return {n: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{n}"'))), key=repr) for n in tables}


@pytest.fixture
def db_state():
    """``db_state(project)`` -> a comparable dump of all tables except ``events``."""
    return database_state


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample study imported once per test session (copy it with ``sample_project``)."""
    from models.demo import build_demo

    path = tmp_path_factory.mktemp("sample-template") / "samples.wqda"
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
