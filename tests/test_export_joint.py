"""Issue 17: the joint display as files. The Word report rendered by LibreOffice and read back as text, the
CSV and XLSX read back, each checked against the domain's own joint display and summary; the anonymised
report holds no participant's or staff member's name from the register."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import docx
import pytest

from exporters.dispatch import ExportOptions, run_export
from exporters.filters import ExportFilters
from models.score_summary import summarise
from models.scores import joint_display
from models.store import open_project
from tests.conftest import require_tool

THEMES = ["Support", "Feeling valued"]


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path):
    path = tmp_path / "demo.wqda"
    shutil.copyfile(demo_template, path)
    project = open_project(path)
    yield project
    project.close()


def pdf_text(path: Path, tmp_path: Path) -> str:
    soffice = require_tool("soffice")
    require_tool("pdftotext")
    profile = f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}"
    subprocess.run([soffice, profile, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    pdf = path.with_suffix(".pdf")
    assert pdf.is_file(), "LibreOffice did not convert the joint report"
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True)
    return " ".join(out.stdout.split())


def test_the_word_joint_report_shows_the_domains_numbers_and_both_charts(demo, tmp_path: Path) -> None:
    out = tmp_path / "joint.docx"
    run_export(demo, out, "joint", ExportFilters(codes=THEMES), ExportOptions(measures=["wemwbs"]))
    with demo.read() as session:
        [summary] = summarise(session, ["wemwbs"])
        display = joint_display(session, "wemwbs", THEMES, "T1", "T3")
    text = pdf_text(out, tmp_path)
    for heading in ("Scores at each timepoint", "Participants: change and themes", "Themes by change group",
                    "Mean score beside the themes", "Each participant"):  # fmt: skip
        assert heading in text, heading
    for wave in summary.waves:
        assert f"{wave.mean:.1f}" in text and f"{wave.ci_low:.1f} to {wave.ci_high:.1f}" in text
    omnibus = summary.omnibus
    assert f"F({omnibus.anova_df1}, {omnibus.anova_df2}) = {omnibus.anova_f:.2f}" in text
    assert "Mixed model." in text and f"{summary.mixed_model.n_observations} scores" in text
    table = next(t for t in docx.Document(str(out)).tables if t.rows[0].cells[0].text == "Participant")
    shown = {r.cells[0].text: [c.text for c in r.cells] for r in table.rows[1:]}
    assert set(shown) == {row.participant for row in display.participants}
    for row in display.participants:
        assert row.participant in text
        assert shown[row.participant][5] == (row.change.category if row.change else "not computed")
        assert shown[row.participant][6:] == [course.pattern for course in row.themes]
    changed = [(r, c) for r in display.participants for c in r.themes
               if c.quote and r.change and r.change.category != "no reliable change"]  # fmt: skip
    assert changed, "the demo should have someone who changed reliably and said something then"
    for _row, course in changed:
        assert " ".join(course.quote.split())[:40] in text
    pictures = [s for s in docx.Document(str(out)).inline_shapes]
    alts = [shape._inline.docPr.get("descr") for shape in pictures]
    assert len(alts) == 2 and alts[0].startswith("Line chart of wemwbs") and alts[1].startswith("Small multiples")


def test_joint_csv_and_xlsx_hold_one_row_per_measure_and_participant(demo, tmp_path: Path) -> None:
    import openpyxl

    run_export(demo, tmp_path / "joint.csv", "joint", ExportFilters(codes=THEMES), ExportOptions())
    run_export(demo, tmp_path / "joint.xlsx", "joint", ExportFilters(codes=THEMES), ExportOptions())
    with demo.read() as session:
        expected = {
            (m, row.participant): row
            for m in ("burnout", "satisfaction", "wemwbs")
            for row in joint_display(session, m, THEMES, "T1", "T3").participants
        }
    with open(tmp_path / "joint.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(expected)
    for row in rows:
        want = expected[(row["measure"], row["participant"])]
        assert row["Support course"] == want.themes[0].pattern
        assert row["category"] == (want.change.category if want.change else "not computed")
        assert (float(row["score T1"]) if row["score T1"] else None) == want.scores["T1"]
    sheet = openpyxl.load_workbook(tmp_path / "joint.xlsx", read_only=True)["Joint display"]
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == len(expected) + 1 and values[0][0] == "measure"
    assert isinstance(values[1][2], float)  # scores are number cells


def test_the_anonymised_joint_report_names_nobody_from_the_register(demo, tmp_path: Path) -> None:
    """The CSV carries every participant's quote at the last timepoint (the Word report only those of people
    who changed reliably), so it is where a leak would show; both pass the check before writing."""
    import re

    from models.names import anonymiser

    themes = [*THEMES, "Barriers to the role"]  # P02 names a colleague there
    plain, anonymised = tmp_path / "plain.csv", tmp_path / "anon.csv"
    run_export(demo, plain, "joint", ExportFilters(codes=themes), ExportOptions())
    run_export(demo, anonymised, "joint", ExportFilters(codes=themes, anonymise=True), ExportOptions())
    plain_text = plain.read_text(encoding="utf-8-sig")
    text = anonymised.read_text(encoding="utf-8-sig")
    with demo.read() as session:
        found = {plain_text[start:end] for start, end, _new in anonymiser(session).find(plain_text)}
    assert found, "the plain table should quote someone's name for this test to mean anything"
    leaked = [name for name in found if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text)]
    assert not leaked, leaked
    report = tmp_path / "anon.docx"
    options = ExportOptions(measures=["wemwbs"])
    run_export(demo, report, "joint", ExportFilters(codes=themes, anonymise=True), options)
    words = "\n".join(p.text for p in docx.Document(str(report)).paragraphs)
    assert "rank test for repeated measures" in words and "Friedman" not in words
