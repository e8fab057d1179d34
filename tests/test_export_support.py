"""Fixtures and readers shared by the export tests: a coded study built through the domain functions.

The study: P01 and P02 at T1 and T2 (the small study), plus P03 at T1 and T2 whose speech holds commas,
quotes, a formula-like "=SUM(A1)", a character XML cannot hold and names from the register. Codes
Support/Peer, Support/Supervision, Worry and Worry/Money; two coders (ann, ben); key quotes, memos, an
attribute (site) and a name register (Sandra with the misspelling "Sandrah", "Maple Ward", and "Dana").
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from models import codebook
from models.coding import apply_codes, set_key_quote
from models.names import add_entry
from models.participants import define_attribute, find_participant, set_attribute
from models.queries import retrieve
from models.store import Project, create_project, open_project
from models.transcripts import find_transcript, store_transcript
from tests.conftest import SMALL_STUDY, make_parsed

P03_T1 = [
    ("Interviewer", "Anything else?"),
    ("Priya", 'Well, "honestly", it was hard, really hard.\x07 Sandrah helped, though.'),
    ("Interviewer", "And Maple Ward?"),
    ("Priya", "Maple Ward, oh, =SUM(A1) is what my pay felt like. Money worries, all the time."),
]
P03_T2 = [
    ("Interviewer", "Four months on?"),
    ("Priya", "Sandra left in spring. I miss Sandra's jokes on Maple Ward."),
]


def span_of(project: Project, ref: str, needle: str) -> tuple[int, int]:
    with project.read() as session:
        text = find_transcript(session, ref).text
    start = text.index(needle)
    return start, start + len(needle)


def code(project: Project, ref: str, needle: str, path: str, coder: str = "ann", memo: str = "") -> int:
    start, end = span_of(project, ref, needle)
    return apply_codes(project, coder, ref, [path], coder, start, end, memo)[0]


def build_study(project: Project) -> Project:
    """Codes, codings, key quotes, memos, attributes and a name register on the small study."""
    for timepoint, turns in (("T1", P03_T1), ("T2", P03_T2)):
        with project.change("tester", "import", "import", undoable=False) as session:
            store_transcript(session, make_parsed(turns, f"P03_{timepoint}.txt"), "P03", timepoint, "tester")
    codebook.add_code(
        project,
        "ann",
        "Support/Peer",
        definition='Support from peers, incl. "buddies"',
        inclusion="Any peer",
        exclusion="Line managers",
    )
    codebook.add_code(project, "ann", "Support/Supervision", definition="Supervision, formal or not")
    codebook.add_code(project, "ann", "Worry/Money", definition="Pay and funding")
    codebook.describe_code(project, "ann", "Worry", definition="Worries about the job")
    code(project, "P01/T1", "I felt supported by everyone.", "Support/Peer", memo="warm start")
    key = code(project, "P01/T1", "The supervision was good.", "Support/Supervision", memo="Sandra ran it")
    set_key_quote(project, "ann", key, True)
    code(project, "P01/T1", "What about the ward?\nDana: Sandra was kind.", "Support/Peer")
    code(project, "P01/T1", "I worry about the contract though. Funding might end.", "Worry/Money")
    code(project, "P01/T2", "There is no supervision at all.", "Support/Supervision")
    key2 = code(project, "P01/T2", "Harder.", "Support/Supervision")
    set_key_quote(project, "ann", key2, True)
    code(project, "P01/T2", "I feel valued by patients though.", "Support/Peer", coder="ben")
    code(project, "P02/T1", "The team supports me.", "Support/Peer", coder="ben")
    code(project, "P02/T1", "Hopeful, really hopeful.", "Support")
    code(project, "P02/T2", "I might leave.", "Worry", coder="ben")
    code(project, "P02/T2", "Supervison is missing.", "Support/Supervision")
    code(project, "P03/T1", 'Well, "honestly", it was hard, really hard.\x07 Sandrah helped, though.', "Support/Peer")
    code(project, "P03/T1", "Maple Ward, oh, =SUM(A1) is what my pay felt like.", "Worry/Money")
    code(project, "P03/T2", "Sandra left in spring. I miss Sandra's jokes on Maple Ward.", "Support/Peer")
    with project.change("tester", "attributes") as session:
        site = define_attribute(session, "site", "choice", ["North", "South"])
        for study_id, value in (("P01", "North"), ("P02", "South"), ("P03", "North")):
            set_attribute(session, find_participant(session, study_id), site, value)
    add_entry(project, "tester", "Sandra", variants=["Sandrah"], category="person")
    add_entry(project, "tester", "Maple Ward", category="ward")
    add_entry(project, "tester", "Dana", category="person", replacement="Dee")
    return project


@pytest.fixture(scope="session")
def study_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The coded study built once per test session (building it codes through ~30 transactions)."""
    path = tmp_path_factory.mktemp("template") / "study.wqda"
    project = create_project(path, name="Test study")
    try:
        for (participant, timepoint), turns in SMALL_STUDY.items():
            with project.change("tester", "import", "import", undoable=False) as session:
                parsed = make_parsed(turns, f"{participant}_{timepoint}.txt")
                store_transcript(session, parsed, participant, timepoint, "tester")
        build_study(project)
    finally:
        project.close()
    return path


@pytest.fixture
def study(study_file: Path, tmp_path: Path) -> Iterator[Project]:
    """A private copy of the coded study (tests may change it)."""
    copy = tmp_path / "study.wqda"
    shutil.copyfile(study_file, copy)
    project = open_project(copy)
    yield project
    project.close()


REGISTER_TERMS = ["Sandra", "Sandrah", "Maple Ward", "Dana"]


# --- reading exports back ----------------------------------------------------------------------------------


def docx_xml_text(path: Path) -> str:
    """Every XML part's text content (document, comments, footers, properties), tags stripped."""
    with zipfile.ZipFile(path) as archive:
        parts = [archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml")]
    return re.sub(r"<[^>]+>", " ", "\n".join(parts))


def contains_term(text: str, term: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE) is not None


def slices(project: Project, **filters) -> dict[int, str]:
    """Coding id -> its transcript slice, for every coding the filters keep."""
    with project.read() as session:
        return {s.id: s.text for s in retrieve(session, **filters)}


MARGIN_STYLES = ("Turn Number", "Coding Mark")


def printed_text(paragraph) -> str:
    """A transcript paragraph's text without the margin marks (turn numbers, coding numbers)."""
    return "".join(run.text for run in paragraph.runs if run.style is None or run.style.name not in MARGIN_STYLES)


def visible(text: str) -> str:
    """Text as Word and XLSX hold it: characters XML cannot hold shown as visible marks."""
    from exporters.word_common import clean_text

    return clean_text(text)


def heading_text(paragraph) -> str:
    """A heading without the code's colour swatch."""
    return paragraph.text.removeprefix("\u25a0 ")


def transcript_body(document) -> list:
    """The paragraphs of a coded transcript's text (after "Transcript", before "Codings by code")."""
    paragraphs = list(document.paragraphs)
    texts = [p.text for p in paragraphs]
    return paragraphs[texts.index("Transcript") + 1 : texts.index("Codings by code")]
