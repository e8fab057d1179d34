"""REFI-QDA files other tools write that used to stop an import, and hostile or absurd ones.

Sources without names or with shared names, ``--map-source`` by GUID, messages whose suggested flags work,
other tools' variables and sets as participant attributes, duplicate GUIDs, a codebook too deep for XML
readers, a file announced with transcript flags that is unsafe, and absurd sizes refused at once.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from exporters.refi_export import MAX_CODE_DEPTH, export_qdpx
from importers.refi_import import ImportReport, import_refi
from models.errors import WaveqdaError
from models.schema import AttributeDefinition, Code, Participant, ParticipantAttribute, Transcript
from models.store import Project, open_project

runner = CliRunner()
G = "00000000-0000-4000-8000-{:012d}".format
VARS = (
    f'<Variables><Variable guid="{G(901)}" name="Gender" typeOfVariable="Text"/>'
    f'<Variable guid="{G(902)}" name="Wellbeing" typeOfVariable="Integer"/>'
    f'<Variable guid="{G(903)}" name="Age" typeOfVariable="Integer"/></Variables>'
)


def qc_package(path: Path, names: list[str], values: bool = False, sets: bool = False, cases: bool = False) -> Path:
    """A qualitative-coding-like package: text sources with the given names ('' for none), one selection each."""
    sources, files = [], {}
    for i, name in enumerate(names, 1):
        text = f"Anna: I felt hopeful in week {i}.\nI: and then?\n"
        named = f' name="{name}"' if name else ""
        variable_values = ""
        if values:
            variable_values = (
                f'<VariableValue><VariableRef targetGUID="{G(901)}"/><TextValue>female</TextValue></VariableValue>'
                f'<VariableValue><VariableRef targetGUID="{G(902)}"/><IntegerValue>{40 + i}</IntegerValue>'
                "</VariableValue>"
            )
        sources.append(
            f'<TextSource guid="{G(i)}"{named} plainTextPath="internal://{G(i)}.txt">'
            f'<PlainTextSelection guid="{G(100 + i)}" startPosition="8" endPosition="15">'
            f'<Coding guid="{G(200 + i)}"><CodeRef targetGUID="{G(300)}"/></Coding></PlainTextSelection>'
            f"{variable_values}</TextSource>"
        )
        files[f"sources/{G(i)}.txt"] = text
    case_xml = ""
    if cases:
        case_xml = (
            f'<Cases><Case guid="{G(700)}" name="P07"><VariableValue><VariableRef targetGUID="{G(903)}"/>'
            f'<IntegerValue>34</IntegerValue></VariableValue><SourceRef targetGUID="{G(1)}"/></Case></Cases>'
        )
    set_xml = ""
    if sets:
        set_xml = (
            f'<Sets><Set guid="{G(800)}" name="Managers"><MemberSource targetGUID="{G(1)}"/></Set>'
            f'<Set guid="{G(801)}" name="Hope codes"><MemberCode targetGUID="{G(300)}"/></Set></Sets>'
        )
    qde = (
        '<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="qc" '
        f'origin="qualitative-coding 1.3.2"><CodeBook><Codes><Code guid="{G(300)}" name="Hope" isCodable="true"/>'
        f"</Codes></CodeBook>{VARS if values or cases else ''}{case_xml}<Sources>{''.join(sources)}</Sources>"
        f"{set_xml}</Project>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def _cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


# --- names, --map-source and the messages that suggest flags ---------------------------------------------------


def test_nameless_sources_import_and_the_suggested_flags_work(tmp_path: Path) -> None:
    package = qc_package(tmp_path / "qc.qdpx", ["", ""])
    code, out = _cli("import", str(tmp_path / "a.wqda"), str(package))
    assert code == 1 and f"--map-source '{G(1)}=P01/T1'" in out
    assert not (tmp_path / "a.wqda").exists()
    # every flag the message suggests works for this file
    code, out = _cli("import", str(tmp_path / "b.wqda"), str(package), "--timepoint", "T1", "--participant-from-name")
    assert code == 0, out
    code, out = _cli(
        "import", str(tmp_path / "c.wqda"), str(package), "--map-source", f"{G(1)}=P01/T1", "--map-source",
        f"{{{G(2).upper()}}}=P02/T1",
    )  # fmt: skip
    assert code == 0, out
    with open_project(tmp_path / "c.wqda") as project, project.read() as s:
        placed = {(t.participant.study_id, t.timepoint.key, t.title) for t in s.scalars(select(Transcript))}
    assert placed == {("P01", "T1", f"source {G(1)}"), ("P02", "T1", f"source {G(2)}")}


def test_duplicate_source_names_are_told_apart_by_guid(tmp_path: Path) -> None:
    package = qc_package(tmp_path / "dup.qdpx", ["Interview", "Interview"])
    with pytest.raises(WaveqdaError, match=rf"--map-source '{G(1)}=P01/T1'"):
        import_refi(tmp_path / "a.wqda", package)
    report = import_refi(tmp_path / "b.wqda", package, mapping={G(1): "P01/T1", G(2): "P01/T2"})
    assert report.counts["transcripts_added"] == 2 and report.counts["codings_added"] == 2
    with pytest.raises(WaveqdaError, match=r"no text source of that name or GUID"):
        import_refi(tmp_path / "c.wqda", package, mapping={"Nope": "P01/T1"})


def test_variables_and_sets_become_participant_attributes_and_are_reported(tmp_path: Path) -> None:
    package = qc_package(tmp_path / "v.qdpx", ["Anna T1", "Anna T2"], values=True, sets=True, cases=True)
    report = import_refi(tmp_path / "v.wqda", package, mapping={"Anna T1": "P07/T1", "Anna T2": "P07/T2"})
    with open_project(tmp_path / "v.wqda") as project, project.read() as s:
        names = {d.id: (d.name, d.type) for d in s.scalars(select(AttributeDefinition))}
        people = {p.id: p.study_id for p in s.scalars(select(Participant))}
        values = {
            (people[v.participant_id], *names[v.attribute_id], v.value) for v in s.scalars(select(ParticipantAttribute))
        }
    assert ("P07", "Gender", "text", "female") in values  # the same at both timepoints: one attribute
    assert {("P07", "Wellbeing (T1)", "number", "41"), ("P07", "Wellbeing (T2)", "number", "42")} <= values
    assert ("P07", "Age", "number", "34") in values  # a case variable
    assert ("P07", "Set: Managers", "choice", "true") in values  # a set naming no timepoint: a group
    mapped = "\n".join(report.mapped)
    assert "source variable 'Gender' (Text) -> participant attribute 'Gender' (text)" in mapped
    assert "'Wellbeing (T1)'" in mapped and "set 'Managers' -> participant group 'Set: Managers'" in mapped
    assert any("set 'Hope codes'" in line for line in report.not_carried)
    assert "mapped:" in "\n".join(report.lines()) and report.as_dict()["mapped"] == report.mapped


# --- hostile and absurd files ------------------------------------------------------------------------------------


def test_duplicate_guids_are_refused_naming_file_and_guid(tmp_path: Path) -> None:
    package = qc_package(tmp_path / "d.qdpx", ["A"])
    with zipfile.ZipFile(package) as archive:
        qde = archive.read("project.qde").decode()
        text = archive.read(f"sources/{G(1)}.txt")
    twice = qde.replace("</Codes>", f'<Code guid="{G(300).upper()}" name="Despair" isCodable="true"/></Codes>')
    bad = tmp_path / "twice.qdpx"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("project.qde", twice)
        archive.writestr(f"sources/{G(1)}.txt", text)
    with pytest.raises(WaveqdaError, match=rf"^twice\.qdpx: two Code elements share the GUID {G(300).upper()}"):
        import_refi(tmp_path / "x.wqda", bad, mapping={"A": "P01/T1"})
    assert not (tmp_path / "x.wqda").exists()


def test_unsafe_file_with_transcript_flags_is_refused_as_unsafe(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.qdpx"
    with zipfile.ZipFile(hostile, "w") as archive:
        archive.writestr("project.qde", '<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0"/>')
        archive.writestr("../../evil.txt", "x")
    code, out = _cli("import", str(tmp_path / "p.wqda"), str(hostile), "--participant", "P99", "--timepoint", "T1")
    assert code == 1 and out.startswith("waveqda: error: hostile.qdpx:") and "unsafe" in out
    assert "--participant applies" not in out and not (tmp_path / "p.wqda").exists()


def _chain(project: Project, depth: int) -> None:
    with project.change("tester", "setup", "deep codebook") as s:
        parent = None
        for level in range(depth):
            code = Code(name=f"Level {level}", parent_id=parent, position=0)
            s.add(code)
            s.flush()
            parent = code.id


def test_deepest_exportable_codebook_reimports(project: Project, tmp_path: Path) -> None:
    _chain(project, MAX_CODE_DEPTH)
    export_qdpx(project, tmp_path / "deep.qdpx")
    report = import_refi(tmp_path / "back.wqda", tmp_path / "deep.qdpx")
    assert report.counts["codes_added"] == MAX_CODE_DEPTH


def test_codebook_too_deep_is_refused_at_export_in_one_line(project: Project, tmp_path: Path) -> None:
    _chain(project, MAX_CODE_DEPTH + 30)
    with pytest.raises(WaveqdaError, match=rf"the codebook is {MAX_CODE_DEPTH + 30} levels deep; .* at most"):
        export_qdpx(project, tmp_path / "deep.qdpx")
    assert not (tmp_path / "deep.qdpx").exists()


def test_absurd_sizes_are_refused_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from importers import refi_parse

    package = qc_package(tmp_path / "many.qdpx", ["A", "B", "C"])
    monkeypatch.setitem(refi_parse.LIMITS, "PlainTextSelection", 2)
    with pytest.raises(WaveqdaError, match=r"^many\.qdpx: 3 PlainTextSelection elements \(limit 2\): refused"):
        import_refi(tmp_path / "x.wqda", package, mapping={"A": "P01/T1", "B": "P02/T1", "C": "P03/T1"})
    assert not (tmp_path / "x.wqda").exists()


def test_a_large_codebook_imports_in_batches(tmp_path: Path) -> None:
    """Work, not time: 5,000 codes in a tree four deep are written without a query per code (a SELECT per
    code, of its GUID and of every colour, made a 100,000-code import quadratic)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.bench_refi import many_codes_package
    from models.store import open_project as _open

    package = many_codes_package(tmp_path / "codes.qdpx", 5000)
    statements: list[str] = []
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and " codes" in statement.lower():
            statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        report = import_refi(tmp_path / "codes.wqda", package, mapping={"P01_T1": "P01/T1"})
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert report.counts["codes_added"] == 5000 and report.counts["codings_added"] == 50
    from collections import Counter

    assert len(statements) < 20, Counter(st[:60] for st in statements).most_common(3)
    with _open(tmp_path / "codes.wqda") as project, project.read() as s:
        parent_id = s.scalar(select(Code.parent_id).where(Code.name == "Code 4999"))
        assert s.scalar(select(Code.name).where(Code.id == parent_id)) == "Code 499"


def twice_package(tmp_path: Path) -> Path:
    """Two sources with one text: the same coding in both (the second with a note), another span in the second."""
    text = "Anna: I felt hopeful.\nI: and then?\n"
    coded = f'<Coding guid="{G(201)}"><CodeRef targetGUID="{G(300)}"/></Coding>'
    again = f'<Coding guid="{G(202)}"><CodeRef targetGUID="{G(300)}"/><NoteRef targetGUID="{G(600)}"/></Coding>'
    other = f'<Coding guid="{G(203)}"><CodeRef targetGUID="{G(300)}"/></Coding>'
    qde = (
        '<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="qc" '
        f'origin="qualitative-coding 1.3.2"><CodeBook><Codes><Code guid="{G(300)}" name="Hope" isCodable="true"/>'
        f'</Codes></CodeBook><Sources><TextSource guid="{G(1)}" name="a" plainTextPath="internal://a.txt">'
        f'<PlainTextSelection guid="{G(101)}" startPosition="8" endPosition="20">{coded}</PlainTextSelection>'
        f'</TextSource><TextSource guid="{G(2)}" name="b" plainTextPath="internal://b.txt">'
        f'<PlainTextSelection guid="{G(102)}" startPosition="8" endPosition="20">{again}</PlainTextSelection>'
        f'<PlainTextSelection guid="{G(103)}" startPosition="0" endPosition="4">{other}</PlainTextSelection>'
        f'</TextSource></Sources><Notes><Note guid="{G(600)}" name="twice"><PlainTextContent>Seen twice'
        "</PlainTextContent></Note></Notes></Project>"
    )
    package = tmp_path / "twice.qdpx"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("project.qde", qde)
        archive.writestr("sources/a.txt", text)
        archive.writestr("sources/b.txt", text)
    return package


def _check_twice(report: ImportReport, project: Project) -> None:
    from models.schema import Coding, Memo

    counts = report.counts
    assert (counts["transcripts_added"], counts["transcripts_reused"]) == (1, 1)
    assert (counts["codings_added"], counts["codings_present"], counts["codings_duplicate"]) == (2, 1, 0)
    with project.read() as s:
        rows = {(c.start, c.end): c for c in s.scalars(select(Coding))}
        assert sorted(rows) == [(0, 4), (8, 20)]
        assert rows[(8, 20)].uuid == G(201)
        memo = s.scalars(select(Memo).where(Memo.text == "Seen twice")).one()
        assert (memo.target_type, memo.target_id) == ("coding", rows[(8, 20)].id)


def test_two_sources_with_one_text_share_a_transcript_and_codings_are_not_doubled(tmp_path: Path) -> None:
    """The second source with the same text is stored as the first one's transcript: its coding of the same
    span, code and coder is found already there (its note goes to the coding added before), a coding of
    another span is added."""
    report = import_refi(tmp_path / "p.wqda", twice_package(tmp_path), mapping={"a": "P01/T1", "b": "P02/T1"})
    with open_project(tmp_path / "p.wqda") as project:
        _check_twice(report, project)


@pytest.mark.both_engines
def test_import_into_an_existing_project_on_both_engines(project: Project, tmp_path: Path) -> None:
    """Codings, turns, sentences and the full-text index are written with driver-level executemany: the same
    import into a project on SQLite and on PostgreSQL, then found by a search."""
    from models.search import search

    report = import_refi(project, twice_package(tmp_path), mapping={"a": "P01/T1", "b": "P02/T1"})
    _check_twice(report, project)
    with project.read() as s:
        assert search(s, "hopeful")
