"""Fixtures for the workspace tests: a small fixed project built through the real import path."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest

from app.tui.app import WaveqdaApp
from models.codebook import add_code
from models.coding import apply_codes
from models.store import Project, create_project
from models.transcripts import store_transcript
from tests.conftest import SMALL_STUDY, make_parsed


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop (no asyncio plugin needed for Pilot tests)."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None


ACCENTS = [
    ("Interviewer", "Tell me about the café."),
    ("Zoë", "The cafe\u0301 was warm 🙂 and I felt at home. 日本 friends came too. Then it closed."),
]


def build_study(path: Path) -> Project:
    """Four interviews (P01, P02 at T1 and T2), one with emoji and combining accents (P03/T1), a codebook."""
    project = create_project(path, name="Peer support study")
    study = dict(SMALL_STUDY)
    study[("P03", "T1")] = ACCENTS
    for (participant, timepoint), turns in study.items():
        with project.change("tester", "import", "import", undoable=False) as session:
            store_transcript(
                session, make_parsed(turns, f"{participant}_{timepoint}.txt"), participant, timepoint, "tester"
            )
    add_code(project, "tester", "Support/Peer support", definition="Help from other peer workers.")
    add_code(project, "tester", "Support/Supervision", definition="Formal supervision sessions.")
    add_code(project, "tester", "Barriers/Money worries", definition="Pay, contracts and funding.")
    add_code(project, "tester", "Barriers/Being ignored", definition="Clinical staff not listening.")
    add_code(project, "tester", "Feelings/Hope", definition="Looking forward with optimism.")
    return project


def code_span(project: Project, ref: str, code: str, needle: str, coder: str = "Ben") -> list[int]:
    """Code the first occurrence of ``needle`` in transcript ``ref`` (fixture data only)."""
    from models.transcripts import find_transcript

    with project.read() as session:
        text = find_transcript(session, ref).text
    start = text.index(needle)
    return apply_codes(project, "tester", ref, [code], coder, start, start + len(needle))


@pytest.fixture
def study(tmp_path: Path) -> Project:
    """The study with six codings by Ben and Ann (other test modules rely on exactly these: keep them)."""
    project = build_study(tmp_path / "study.wqda")
    code_span(project, "P01/T1", "Support/Supervision", "The supervision was good.")
    code_span(project, "P01/T1", "Barriers/Money worries", "I worry about the contract though. Funding might end.")
    code_span(project, "P01/T1", "Support/Peer support", "I felt supported by everyone.", coder="Ann")
    code_span(project, "P01/T2", "Support/Supervision", "There is no supervision at all.")
    code_span(project, "P02/T2", "Barriers/Being ignored", "The clinical team ignores us.")
    code_span(project, "P02/T1", "Feelings/Hope", "Hopeful, really hopeful.")
    yield project
    project.close()


@pytest.fixture
def make_app(tmp_path: Path, study: Project):
    """A factory for the app on the study, as coder Ann, with config kept in the test's folder."""

    def factory(**kwargs) -> WaveqdaApp:
        kwargs.setdefault("coder", "Ann")
        return WaveqdaApp(study, config_dir=tmp_path / "config", remember=False, **kwargs)

    return factory
