"""``waveqda demo``: the sample study imported and partly coded, so a newcomer sees everything at once."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import app
from app.demo import CODINGS, NOT_CODED, build_demo
from models.queries import code_timepoint_matrix, theme_presence
from models.schema import Code, Coder, Coding, Memo
from models.store import open_project
from tests.conftest import SAMPLES


def test_the_demo_is_partly_coded_by_two_coders(demo_template: Path) -> None:
    project = open_project(demo_template)
    try:
        with project.read() as session:
            coders = set(session.scalars(select(Coder.name).join(Coding, Coding.coder_id == Coder.id).distinct()))
            codings = session.scalar(select(func.count()).select_from(Coding))
            keys = session.scalar(select(func.count()).select_from(Coding).where(Coding.key_quote.is_(True)))
            coding_memos = session.scalar(select(func.count()).select_from(Coding).where(Coding.memo != ""))
            transcript_memos = session.scalar(
                select(func.count()).select_from(Memo).where(Memo.target_type == "transcript")
            )
            code_memos = session.scalar(select(func.count()).select_from(Code).where(Code.memo != ""))
            matrix = code_timepoint_matrix(session)
            presence = theme_presence(session)
    finally:
        project.close()
    assert coders == {"Ann", "Ben"}
    assert 30 <= codings <= len(CODINGS)  # a few dozen (same-coder codings of a merged code combine)
    assert keys >= 5 and coding_memos >= 3 and transcript_memos == 2 and code_memos >= 1
    assert any(row.total.segments > row.total.passages for row in matrix.rows)  # passages coded by both coders
    assert all(i.coded < i.transcripts for key, i in matrix.interviews.items() if key in ("T2", "T3"))
    uncoded = {f"{t.participant}/{p.timepoint}" for t in presence[0].trajectories for p in t.points if not p.coded}
    assert uncoded == set(NOT_CODED)


def test_demo_command_builds_and_rerunning_adds_nothing(demo_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "demo.wqda"
    shutil.copyfile(demo_template, path)
    result = CliRunner().invoke(app, ["demo", str(path), "--samples", str(SAMPLES), "--no-tui"])
    assert result.exit_code == 0, result.output
    assert "codebook already present" in result.output
    project = open_project(path)
    try:
        with project.read() as session:
            assert session.scalar(select(func.count()).select_from(Coding)) >= 30
    finally:
        project.close()


def test_import_only_demo(tmp_path: Path) -> None:
    lines = build_demo(tmp_path / "plain.wqda", SAMPLES, coded=False)
    assert any("18 imported" in line for line in lines)
    project = open_project(tmp_path / "plain.wqda")
    try:
        with project.read() as session:
            assert session.scalar(select(func.count()).select_from(Coding)) == 0
    finally:
        project.close()
