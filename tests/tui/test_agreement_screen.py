"""The agreement screen: figures equal to the domain report, and settling disagreements as consensus."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from textual.widgets import DataTable, RadioButton

from app.tui.app import WaveqdaApp
from app.tui.screens.agreement import AgreementScreen
from app.tui.screens.dialogs import ChoiceDialog
from models import agreement_report as report
from models.schema import Code, Coder, Coding
from models.store import Project
from models.transcripts import find_transcript
from tests.tui.conftest import code_span

SIZE = (120, 36)


@pytest.fixture
def two_coders(study: Project) -> Project:
    """Ben's codings of the study (from the fixture) and Ann's of the same interviews, agreeing in part.

    P01/T1: both code Supervision alike; Ann codes only half of Ben's Money worries; only Ann codes Peer
    support. P01/T2: Ann codes Supervision a little shorter than Ben.
    """
    code_span(study, "P01/T1", "Support/Supervision", "The supervision was good.", coder="Ann")
    code_span(study, "P01/T1", "Barriers/Money worries", "I worry about the contract though.", coder="Ann")
    code_span(study, "P01/T2", "Support/Supervision", "There is no supervision", coder="Ann")
    return study


def consensus_spans(project: Project, code_path: str) -> list[str]:
    """The text of every consensus coding of a code (in any transcript)."""
    with project.read() as session:
        name = code_path.split("/")[-1]
        rows = session.execute(
            select(Coding.transcript_id, Coding.start, Coding.end)
            .join(Coder, Coder.id == Coding.coder_id)
            .join(Code, Code.id == Coding.code_id)
            .where(Coder.name == "consensus", Code.name == name)
            .order_by(Coding.start)
        ).all()
        return [find_transcript(session, tid).text[s:e] for tid, s, e in rows]


async def open_agreement(app: WaveqdaApp, pilot) -> AgreementScreen:
    app.push_screen(AgreementScreen())
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, AgreementScreen)
    return screen


def shown_kappas(screen: AgreementScreen) -> dict[str, str]:
    table = screen.query_one("#agr-table", DataTable)
    out = {}
    for row_key in table.rows:
        cells = table.get_row(row_key)
        out[str(cells[0])] = str(cells[4])
    return out


async def test_figures_equal_the_domain_report_and_disagreements_are_settled(two_coders: Project, make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_agreement(app, pilot)
        assert screen.selected_coders() == ["Ann", "Ben"]
        expected = report.agreement_report(two_coders, ["Ann", "Ben"])
        kappas = shown_kappas(screen)
        for rollup in expected.per_code:
            pooled = next(f for f in rollup.figures if f.method == report.POOLED)
            value = pooled.values["kappa"].value
            assert value is not None
            assert kappas[rollup.label].startswith(f"{value:.3f}"), (rollup.label, kappas[rollup.label], value)
        overall = next(f for f in expected.overall if f.method == report.POOLED).values["kappa"].value
        assert kappas["All codes"].startswith(f"{overall:.3f}")

        # p switches the roll-up: the mean row equals the domain's mean
        await pilot.press("p")
        await pilot.pause()
        assert screen.rollup == report.MEAN
        mean = next(f for f in expected.per_code[0].figures if f.method == report.MEAN).values["kappa"].value
        assert shown_kappas(screen)[expected.per_code[0].label].startswith(f"{mean:.3f}")

        # sentences as units: recomputed in the worker, equal to the domain report with unit="sentence"
        sentences = next(b for b in screen.query(RadioButton) if b.name == "sentence")
        sentences.value = True
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.report is not None and screen.report.unit == "sentence"
        by_sentence = report.agreement_report(two_coders, ["Ann", "Ben"], unit="sentence")
        assert [r.label for r in screen.report.per_code] == [r.label for r in by_sentence.per_code]
        for mine, theirs in zip(screen.report.per_code, by_sentence.per_code, strict=True):
            assert mine.figures[0].values["kappa"] == theirs.figures[0].values["kappa"]

        # the disagreement list, in meeting order
        await pilot.press("t")
        await pilot.pause()
        found = report.disagreements(two_coders, ["Ann", "Ben"])
        assert [d.key for d in screen.shown] == [d.key for d in found]
        first = screen.current()
        assert first is not None and first.text == "I felt supported by everyone." and first.coded_by == ["Ann"]
        assert "I felt supported by everyone." in str(screen.query_one("#agr-detail-text").render())

        # k: keep Ann's coding (the first choice) -> consensus codes the stretch
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert consensus_spans(two_coders, "Support/Peer support") == ["I felt supported by everyone."]
        assert screen.shown[0].settled == "keep Ann"

        # the cursor moved on to the next stretch to settle: Ben's extra words on Money worries; n = none
        second = screen.current()
        assert second is not None and second.code == "Barriers/Money worries" and second.coded_by == ["Ben"]
        await pilot.press("n")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert consensus_spans(two_coders, "Barriers/Money worries") == []
        assert next(d for d in screen.shown if d.key == second.key).settled == "none"

        # b = both (union) on the last one
        third = screen.current()
        assert third is not None and third.transcript == "P01/T2"
        await pilot.press("b")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert consensus_spans(two_coders, "Support/Supervision") == [third.text]
        assert all(d.settled for d in screen.shown)

        # ctrl+z takes the last settlement back
        await pilot.press("ctrl+z")
        await pilot.app.workers.wait_for_complete()  # undo and redo run in a worker
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert consensus_spans(two_coders, "Support/Supervision") == []
        # the consensus coder appeared in the coder list but is not compared
        assert "consensus" in screen.coders and screen.selected_coders() == ["Ann", "Ben"]


async def test_fewer_than_two_coders_says_what_to_do(study: Project, make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_agreement(app, pilot)
        screen.query_one("#agr-coders").deselect("Ben")
        await pilot.pause()
        assert screen.report is None and "two or more coders" in (screen.error or "")
        assert screen.figures_table.row_count == 0


@pytest.mark.parametrize("tab", ["figures", "disagreements"])
def test_agreement_snapshot(two_coders: Project, tmp_path: Path, snap_compare, tab: str) -> None:
    async def open_screen(pilot) -> None:
        screen = await open_agreement(pilot.app, pilot)
        if tab == "disagreements":
            await pilot.press("t")
            await pilot.pause()
        screen.query_one(DataTable if tab == "figures" else "#agr-list").focus()
        await pilot.pause()

    app = WaveqdaApp(two_coders, coder="Ann", config_dir=tmp_path / "config", remember=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_screen)
