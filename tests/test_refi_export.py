"""REFI-QDA export: schema validity, what the schema cannot check, stable identity, and the CLI.

``check_qdpx`` / ``check_qdc`` are also used by the import tests on every export they make.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import typer
from lxml import etree
from sqlalchemy import select
from typer.testing import CliRunner

from app.commands import exchange
from exporters.refi_export import ExportReport, export_qdc, export_qdpx
from models.errors import WaveqdaError
from models.names import anonymiser
from models.participants import define_attribute, find_participant, get_or_create_coder, set_attribute
from models.refi_conventions import compose_description, parse_description
from models.schema import Code, Coding, Memo, Transcript
from models.store import Project
from models.transcripts import find_transcript
from tests.conftest import require_shared

SHARED = Path(__file__).resolve().parents[2] / "shared" / "refi-qda"
PROJECT_NS = "{urn:QDA-XML:project:1.0}"


# --- the project used by export and round-trip tests ----------------------------------------------------------


def build_rich_project(project: Project) -> Project:
    """``small_project`` plus a codebook with hierarchy and definitions, codings by two coders (one over an
    emoji), typed attributes and memos of every kind, all through the ORM."""
    with project.change("tester", "setup", "rich project") as s:
        alice, bob = get_or_create_coder(s, "alice"), get_or_create_coder(s, "bob")
        support = Code(
            name="Support",
            definition="Feeling helped by others.",
            inclusion="Any named helper.",
            exclusion="Help from family.",
            example="The team supports me.",
            colour="#4e79a7",
            memo="Central theme.",
            position=0,
        )
        worry = Code(name="Worry", definition="Concern about the future.", colour="#e15759", position=1)
        old = Code(name="Old code", archived=True, position=2)
        s.add_all([support, worry, old])
        s.flush()
        supervision = Code(name="Supervision", parent_id=support.id, colour="#59a14f", position=0)
        peers = Code(name="Peers", parent_id=support.id, position=1)
        contract = Code(name="Contract", parent_id=worry.id, position=0)
        s.add_all([supervision, peers, contract])
        s.flush()
        t1, t2 = find_transcript(s, "P01/T1"), find_transcript(s, "P02/T1")

        def code(transcript, phrase, code, coder, **extra):
            start = transcript.text.index(phrase)
            row = Coding(
                transcript_id=transcript.id,
                code_id=code.id,
                coder_id=coder.id,
                start=start,
                end=start + len(phrase),
                **extra,
            )
            s.add(row)
            s.flush()
            return row

        code(t1, "The supervision was good.", supervision, alice)
        code(t1, "The supervision was good.", supervision, bob)
        code(t1, "I felt supported by everyone.", support, alice)
        worried = code(
            t1, "I worry about the contract though.", contract, alice, memo="Job insecurity.", key_quote=True
        )
        code(t2, "Café chats help 🙂 a lot.", peers, bob)
        code(t2, "a lot.", peers, alice)  # after the emoji: code points, not UTF-16 units
        site = define_attribute(s, "Site", "choice", ["North", "South"])
        age = define_attribute(s, "Age", "number", None)
        started = define_attribute(s, "Started", "date", None)
        note = define_attribute(s, "Note", "text", None)
        consent = define_attribute(s, "Consent", "choice", ["false", "true"])
        p01, p02 = find_participant(s, "P01"), find_participant(s, "P02")
        for participant, values in (
            (p01, ("North", "34", "2024-01-15", "likes the café ☕", "true")),
            (p02, ("South", "41.5", "2023-11-02", "", "false")),
        ):
            for attribute, value in zip((site, age, started, note, consent), values, strict=True):
                if value:
                    set_attribute(s, participant, attribute, value)
        s.add_all(
            [
                Memo(
                    target_type="transcript",
                    target_id=t1.id,
                    title="Memo on P01/T1",
                    text="Dana sounded tired.",
                    author="alice",
                ),
                Memo(target_type="code", target_id=worry.id, title="Scope", text="Only paid work.", author="bob"),
                Memo(target_type="coding", target_id=worried.id, title="Follow up", text="Ask at T2."),
                Memo(target_type="project", title="Method", text="Thematic analysis, two coders."),
                Memo(target_type="participant", target_id=p02.id, title="Context", text="Joined late."),
            ]
        )
    return project


@pytest.fixture
def rich_project(small_project: Project) -> Project:
    return build_rich_project(small_project)


@pytest.fixture
def schemas() -> Path:
    return require_shared("refi-qda")


# --- checks the schema cannot make --------------------------------------------------------------------------


def _guids(root: etree._Element, local: str) -> set[str]:
    return {el.get("guid").strip("{}").lower() for el in root.iter(f"{PROJECT_NS}{local}")}


def _refs(root: etree._Element, local: str, attr: str = "targetGUID") -> set[str]:
    return {el.get(attr).strip("{}").lower() for el in root.iter(f"{PROJECT_NS}{local}") if el.get(attr)}


def check_qdpx(path: Path, schemas: Path, client: str = "standard") -> etree._Element:
    """Valid against the XSD; every reference resolves; every internal file exists; every offset lies within
    its text (in the client's units); UTF-8, without BOM except for NVivo. Returns the ``project.qde`` root."""
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        qde = archive.read("project.qde")
        files = {name: archive.read(name) for name in names if name.startswith("sources/")}
    assert not qde.startswith(b"\xef\xbb\xbf")
    root = etree.fromstring(qde)
    etree.XMLSchema(etree.parse(str(schemas / "Project-mrt2019.xsd"))).assertValid(root)
    codes, users, notes = _guids(root, "Code"), _guids(root, "User"), _guids(root, "Note")
    sources, variables = _guids(root, "TextSource"), _guids(root, "Variable")
    assert _refs(root, "CodeRef") <= codes
    assert _refs(root, "NoteRef") <= notes
    assert _refs(root, "SourceRef") | _refs(root, "MemberSource") <= sources
    assert _refs(root, "VariableRef") <= variables
    for attr in ("creatingUser", "modifyingUser"):
        for local in ("PlainTextSelection", "Coding", "Note", "TextSource"):
            assert _refs(root, local, attr) <= users
    for source in root.iter(f"{PROJECT_NS}TextSource"):
        entry = "sources/" + source.get("plainTextPath").removeprefix("internal://")
        assert entry in files, f"missing internal file {entry}"
        assert files[entry].startswith(b"\xef\xbb\xbf") == (client == "nvivo")
        text = files[entry].decode("utf-8").removeprefix("\ufeff")
        length = len(text.encode("utf-16-le")) // 2 if client == "nvivo" else len(text)
        for selection in source.iter(f"{PROJECT_NS}PlainTextSelection"):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            assert 0 <= start < end <= length, (source.get("name"), start, end, length)
    return root


def check_qdc(path: Path, schemas: Path) -> etree._Element:
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    root = etree.fromstring(data)
    etree.XMLSchema(etree.parse(str(schemas / "Codebook-mrt2019.xsd"))).assertValid(root)
    return root


def _source_text(path: Path, guid: str) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(f"sources/{guid}.txt").decode("utf-8")


# --- tests --------------------------------------------------------------------------------------------------


def test_project_export_is_valid_and_complete(rich_project: Project, schemas: Path, tmp_path: Path) -> None:
    out = tmp_path / "study.qdpx"
    report = export_qdpx(rich_project, out)
    root = check_qdpx(out, schemas)
    assert report.counts == {"coders": 2, "codes": 6, "sources": 4, "codings": 6, "cases": 2, "notes": 7, "sets": 3}
    assert len(list(root.iter(f"{PROJECT_NS}Case"))) == 2
    timepoint_sets = {s.get("name"): s.findtext(f"{PROJECT_NS}Description") for s in root.iter(f"{PROJECT_NS}Set")}
    assert timepoint_sets == {"T1": "After training", "T2": "4 months", "T3": "12 months"}
    types = {v.get("name"): v.get("typeOfVariable") for v in root.iter(f"{PROJECT_NS}Variable")}
    assert types == {
        "Site": "Text",
        "Age": "Float",
        "Started": "Date",
        "Note": "Text",
        "Consent": "Boolean",
        "Participant": "Text",
        "Timepoint": "Text",
    }


def test_selections_carry_code_point_offsets_and_their_text(
    rich_project: Project, schemas: Path, tmp_path: Path
) -> None:
    out = tmp_path / "study.qdpx"
    export_qdpx(rich_project, out)
    root = check_qdpx(out, schemas)
    with rich_project.read() as s:
        t2 = find_transcript(s, "P02/T1")
        stored, guid = t2.text, t2.uuid
    text = _source_text(out, guid)
    assert text == stored  # exactly the stored text, so offsets need no convention
    source = next(el for el in root.iter(f"{PROJECT_NS}TextSource") if el.get("guid") == guid)
    spans = {
        text[int(sel.get("startPosition")) : int(sel.get("endPosition"))]: sel.get("name")
        for sel in source.iter(f"{PROJECT_NS}PlainTextSelection")
    }
    assert spans == {"Café chats help 🙂 a lot.": "Café chats help 🙂 a lot.", "a lot.": "a lot."}


def test_two_exports_are_identical(rich_project: Project, tmp_path: Path) -> None:
    export_qdpx(rich_project, tmp_path / "a.qdpx")
    export_qdpx(rich_project, tmp_path / "b.qdpx")
    assert (tmp_path / "a.qdpx").read_bytes() == (tmp_path / "b.qdpx").read_bytes()


def test_guids_are_the_stored_uuids(rich_project: Project, schemas: Path, tmp_path: Path) -> None:
    out = tmp_path / "study.qdpx"
    export_qdpx(rich_project, out)
    root = check_qdpx(out, schemas)
    with rich_project.read() as s:
        from sqlalchemy import select

        from models.schema import Coder, Participant, Transcript

        assert _guids(root, "User") == set(s.scalars(select(Coder.uuid)))
        assert _guids(root, "Code") == set(s.scalars(select(Code.uuid)))
        assert _guids(root, "TextSource") == set(s.scalars(select(Transcript.uuid)))
        assert _guids(root, "Coding") == set(s.scalars(select(Coding.uuid)))
        assert _guids(root, "Case") == set(s.scalars(select(Participant.uuid)))


def test_codebook_export_is_valid(rich_project: Project, schemas: Path, tmp_path: Path) -> None:
    out = tmp_path / "codes.qdc"
    report = export_qdc(rich_project, out)
    root = check_qdc(out, schemas)
    ns = "{urn:QDA-XML:codebook:1.0}"
    support = next(c for c in root.iter(f"{ns}Code") if c.get("name") == "Support")
    assert parse_description(support.findtext(f"{ns}Description")) == {
        "definition": "Feeling helped by others.",
        "inclusion": "Any named helper.",
        "exclusion": "Help from family.",
        "example": "The team supports me.",
    }
    assert [c.get("name") for c in support.findall(f"{ns}Code")] == ["Supervision", "Peers"]
    assert report.counts == {"codes": 6}
    assert any("code memos" in line for line in report.not_carried)


def test_description_sections_round_trip() -> None:
    code = Code(name="x", definition="Def\nwith lines", inclusion="", exclusion="Not this.", example="Eg.")
    assert parse_description(compose_description(code)) == {
        "definition": "Def\nwith lines",
        "inclusion": "",
        "exclusion": "Not this.",
        "example": "Eg.",
    }
    assert parse_description("Plain description")["definition"] == "Plain description"


def test_empty_project_has_no_empty_containers(project: Project, schemas: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty.qdpx"
    export_qdpx(project, out)
    root = check_qdpx(out, schemas)
    assert [el.tag.removeprefix(PROJECT_NS) for el in root] == ["Sets"]
    with pytest.raises(WaveqdaError, match="codebook is empty"):
        export_qdc(project, tmp_path / "empty.qdc")
    assert not (tmp_path / "empty.qdc").exists()


def test_characters_illegal_in_xml_are_stripped(small_project: Project, schemas: Path, tmp_path: Path) -> None:
    with small_project.change("tester", "setup") as s:
        s.add(Code(name="Bad\x0bname", definition="Pasted\x01 from Word\x1f", colour="#123456"))
        s.add(Memo(target_type="project", title="Odd", text="null\x00byte"))
    out = tmp_path / "odd.qdpx"
    export_qdpx(small_project, out)
    root = check_qdpx(out, schemas)
    assert next(root.iter(f"{PROJECT_NS}Code")).get("name") == "Badname"
    assert next(root.iter(f"{PROJECT_NS}PlainTextContent")).text == "nullbyte"


def test_anonymised_export_applies_the_register(rich_project: Project, schemas: Path, tmp_path: Path) -> None:
    from models.names import add_entry

    add_entry(rich_project, "tester", "Sandra", replacement="[Colleague A]")
    out = tmp_path / "anon.qdpx"
    report = export_qdpx(rich_project, out, anonymise=True)
    root = check_qdpx(out, schemas)
    # Coders are named as in every other export: their names, unless --anonymise-coders (below).
    assert {u.get("name") for u in root.iter(f"{PROJECT_NS}User")} == {"alice", "bob"}
    export_qdpx(rich_project, tmp_path / "coders.qdpx", anonymise=True, anonymise_coders=True)
    users = check_qdpx(tmp_path / "coders.qdpx", schemas).iter(f"{PROJECT_NS}User")
    assert {u.get("name") for u in users} == {"Coder 1", "Coder 2"}
    assert all(sel.get("name") is None for sel in root.iter(f"{PROJECT_NS}PlainTextSelection"))
    with rich_project.read() as s:
        guid = find_transcript(s, "P01/T1").uuid
    text = _source_text(out, guid)
    assert "Sandra" not in text and "[Colleague A] was kind." in text
    source = next(el for el in root.iter(f"{PROJECT_NS}TextSource") if el.get("guid") == guid)
    assert source.get("name") == "P01_T1"
    spans = {
        text[int(s.get("startPosition")) : int(s.get("endPosition"))]
        for s in source.iter(f"{PROJECT_NS}PlainTextSelection")
    }
    assert "I worry about the contract though." in spans  # moved with the shorter replacement
    assert report.anonymised and any("anonymised" in line for line in report.lines())
    with rich_project.read() as s:  # every selection, in every source, covers its coding's replaced words
        replacer = anonymiser(s)
        expected = {
            c.uuid: replacer.replace(s.get(Transcript, c.transcript_id).text[c.start : c.end])
            for c in s.scalars(select(Coding))
        }
    checked = 0
    for source in root.iter(f"{PROJECT_NS}TextSource"):
        body = _source_text(out, source.get("guid"))
        assert "Sandra" not in body
        for selection in source.iter(f"{PROJECT_NS}PlainTextSelection"):
            coding = next(selection.iter(f"{PROJECT_NS}Coding"))
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            assert body[start:end] == expected[coding.get("guid")]
            checked += 1
    assert checked == len(expected) == 6


def test_report_names_what_is_not_carried(rich_project: Project, tmp_path: Path) -> None:
    report = export_qdpx(rich_project, tmp_path / "study.qdpx")
    text = "\n".join(report.lines())
    assert "1 key-quote marks" in text
    assert "1 codes are archived" in text
    assert "participant memos" in text
    assert report.as_dict()["counts"]["codings"] == 6
    assert isinstance(report, ExportReport)


def _cli() -> typer.Typer:
    app = typer.Typer()
    exchange.register(app)
    return app


def test_cli_export(rich_project: Project, schemas: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    project_path = str(rich_project.path)
    result = runner.invoke(_cli(), ["refi", "export", project_path, str(tmp_path / "s.qdpx"), "--json"])
    assert result.exit_code == 0, result.output
    assert '"codings": 6' in result.output
    check_qdpx(tmp_path / "s.qdpx", schemas)
    result = runner.invoke(_cli(), ["refi", "export", project_path, str(tmp_path / "c.qdc")])
    assert result.exit_code == 0 and "REFI-QDA codebook" in result.output
    check_qdc(tmp_path / "c.qdc", schemas)
    result = runner.invoke(_cli(), ["refi", "export", project_path, str(tmp_path / "c.qdpx"), "--kind", "codebook"])
    assert result.exit_code == 1 and "must end in .qdc" in result.output


def test_questionnaire_scores_are_case_variables(small_project: Project, schemas: Path, tmp_path: Path) -> None:
    """Issue 17: each measure at each timepoint is a Float case variable, valid against the XSD, and another
    reader finds every participant's score on it."""
    from models import scores

    scores.add_measure(small_project, "t", "wemwbs", 14, 70)
    data = tmp_path / "s.csv"
    data.write_text("participant,timepoint,wemwbs\nP01,T1,48\nP01,T2,51.5\nP02,T1,40\n", encoding="utf-8")
    scores.import_scores(small_project, "t", data)
    out = tmp_path / "scores.qdpx"
    export_qdpx(small_project, out)
    root = check_qdpx(out, schemas)
    variables = {v.get("guid"): v.get("name") for v in root.iter(f"{PROJECT_NS}Variable")}
    assert {"wemwbs T1", "wemwbs T2"} <= set(variables.values())
    found = {
        (case.get("name"), variables[value.find(f"{PROJECT_NS}VariableRef").get("targetGUID")]):
            float(value.findtext(f"{PROJECT_NS}FloatValue"))
        for case in root.iter(f"{PROJECT_NS}Case")
        for value in case.iter(f"{PROJECT_NS}VariableValue")
        if value.find(f"{PROJECT_NS}FloatValue") is not None
    }  # fmt: skip
    assert found == {("P01", "wemwbs T1"): 48.0, ("P01", "wemwbs T2"): 51.5, ("P02", "wemwbs T1"): 40.0}
