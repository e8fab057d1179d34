"""REFI-QDA import: round trip of our own exports, the two real NVivo exports, placement and the CLI."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from lxml import etree
from sqlalchemy import select
from typer.testing import CliRunner

from app.commands import exchange
from exporters.refi_export import export_qdc, export_qdpx
from importers.refi_import import ImportReport, import_refi
from importers.refi_offsets import Convention, OffsetMap, RawSelection, detect, normalise_text
from models.codes import CodeTree
from models.errors import WaveqdaError
from models.participants import attribute_definitions, attributes_of, list_participants
from models.schema import Coder, Coding, Memo, Timepoint, Transcript
from models.store import Project, create_project, open_project
from tests import test_refi_export
from tests.conftest import SHARED as SHARED_ROOT
from tests.conftest import require_shared
from tests.test_refi_export import PROJECT_NS, SHARED, check_qdc, check_qdpx

rich_project = test_refi_export.rich_project  # fixtures shared with the export tests
schemas = test_refi_export.schemas

SAMPLES = SHARED / "samples"
NVIVO_WIN = SAMPLES / "nvivo-win-12.6_oltas.qdpx"
NVIVO_MAC = SAMPLES / "nvivo-mac-12.7_oltas-17june.qdpx"


# --- snapshots of a project, to compare two projects --------------------------------------------------------


def codebook(project: Project) -> list[tuple]:
    with project.read() as s:
        tree = CodeTree.load(s)
        return [
            (tree.path(cid), c.uuid, c.definition, c.inclusion, c.exclusion, c.example, c.colour, c.memo)
            for cid, _ in tree.walk()
            for c in [tree.codes[cid]]
        ]


def transcripts(project: Project) -> dict[str, tuple[str, str]]:
    with project.read() as s:
        return {f"{t.participant.study_id}/{t.timepoint.key}": (t.uuid, t.text) for t in s.scalars(select(Transcript))}


def codings(project: Project) -> set[tuple]:
    with project.read() as s:
        tree = CodeTree.load(s)
        out = set()
        for c in s.scalars(select(Coding)):
            transcript, coder = s.get(Transcript, c.transcript_id), s.get(Coder, c.coder_id)
            where = f"{transcript.participant.study_id}/{transcript.timepoint.key}"
            out.add((where, c.start, c.end, tree.path(c.code_id), coder.name, c.uuid, c.memo))
        return out


def participants(project: Project) -> dict[str, dict]:
    with project.read() as s:
        return {p.study_id: attributes_of(s, p) for p in list_participants(s)}


def attribute_types(project: Project) -> list[tuple]:
    with project.read() as s:
        return [(d.name, d.type, d.choices) for d in attribute_definitions(s)]


def timepoint_rows(project: Project) -> list[tuple]:
    with project.read() as s:
        return [(t.key, t.label, t.position) for t in s.scalars(select(Timepoint).order_by(Timepoint.position))]


def memos(project: Project) -> set[tuple]:
    with project.read() as s:
        return {(m.target_type, m.title, m.text) for m in s.scalars(select(Memo))}


@pytest.fixture
def copy(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "copy.wqda"


# --- round trip ---------------------------------------------------------------------------------------------


def test_round_trip_keeps_codebook_transcripts_codings_and_participants(
    rich_project: Project, schemas: Path, tmp_path: Path, copy: Path
) -> None:
    out = tmp_path / "study.qdpx"
    export_qdpx(rich_project, out)
    report = import_refi(copy, out)  # placement from our Participant/Timepoint variables, no flags
    assert report.created and not report.unfit and not report.review and not report.not_carried
    with open_project(copy) as imported:
        assert codebook(imported) == codebook(rich_project)
        assert transcripts(imported) == transcripts(rich_project)
        assert codings(imported) == codings(rich_project)
        assert participants(imported) == participants(rich_project)
        assert attribute_types(imported) == attribute_types(rich_project)
        assert timepoint_rows(imported) == timepoint_rows(rich_project)
        original = memos(rich_project)
        # a REFI-QDA case cannot hold a note: the participant memo comes back as a project memo
        moved = {("project", "P02: Context", "Joined late.")}
        assert memos(imported) == (original - {("participant", "Context", "Joined late.")}) | moved
        again = tmp_path / "again.qdpx"
        export_qdpx(imported, again)
    first, second = check_qdpx(out, schemas), check_qdpx(again, schemas)
    assert {el.get("guid") for el in first.iter() if el.get("guid")} == {
        el.get("guid") for el in second.iter() if el.get("guid")
    }


def test_reimporting_the_same_file_adds_nothing(rich_project: Project, tmp_path: Path, copy: Path) -> None:
    out = tmp_path / "study.qdpx"
    export_qdpx(rich_project, out)
    import_refi(copy, out)
    with open_project(copy) as imported:
        before = (codebook(imported), codings(imported), memos(imported), participants(imported))
    report = import_refi(copy, out)
    assert report.counts["codings_added"] == 0 and report.counts["codings_present"] == 6
    assert report.counts["transcripts_reused"] == 4 and report.counts["codes_added"] == 0
    with open_project(copy) as imported:
        assert (codebook(imported), codings(imported), memos(imported), participants(imported)) == before


def test_reimport_brings_back_a_deleted_coding_and_lifts_its_tombstone(
    rich_project: Project, tmp_path: Path, copy: Path
) -> None:
    """New codings are written past the ORM (one executemany per transcript); they must still do what an ORM
    insert does: a coding deleted here (tombstoned, so a merge carries the deletion) that an import brings back
    loses its tombstone, and keeps its memo."""
    from models.coding import remove_coding
    from models.tombstones import buried

    out = tmp_path / "study.qdpx"
    export_qdpx(rich_project, out)
    import_refi(copy, out)
    with open_project(copy) as imported:
        everything = codings(imported)
        with imported.read() as s:
            gone = s.scalars(select(Coding).where(Coding.memo != "").order_by(Coding.id)).first()
            assert gone is not None
        remove_coding(imported, "tester", gone.id)
        with imported.read() as s:
            assert buried(s, [gone.uuid]) == {gone.uuid}
        assert len(codings(imported)) == len(everything) - 1
    report = import_refi(copy, out)
    assert report.counts["codings_added"] == 1 and report.counts["codings_present"] == len(everything) - 1
    with open_project(copy) as imported:
        assert codings(imported) == everything  # same span, code, coder, uuid and memo
        with imported.read() as s:
            assert buried(s, [gone.uuid]) == set()


def test_import_is_one_logged_step_that_undo_leaves_alone(rich_project: Project, tmp_path: Path, copy: Path) -> None:
    """An import is logged, not undoable (like every import): ``undo`` right after it finds nothing to take back
    and changes nothing."""
    from models.history import history, undo

    out = tmp_path / "study.qdpx"
    export_qdpx(rich_project, out)
    import_refi(copy, out)
    with open_project(copy) as imported:
        before = (codebook(imported), transcripts(imported), codings(imported), memos(imported))
        with imported.read() as s:
            steps = [e for e in history(s) if e.summary.startswith("Imported study.qdpx")]
        assert [e.state for e in steps] == ["logged"]
        assert undo(imported, "tester", anyone=True) is None
        assert (codebook(imported), transcripts(imported), codings(imported), memos(imported)) == before


def test_codebook_round_trip(rich_project: Project, schemas: Path, tmp_path: Path, copy: Path) -> None:
    out = tmp_path / "codes.qdc"
    export_qdc(rich_project, out)
    check_qdc(out, schemas)
    report = import_refi(copy, out)
    assert report.counts["codes_added"] == 6
    with open_project(copy) as imported:
        strip_memo = [row[:-1] for row in codebook(rich_project)]
        assert [row[:-1] for row in codebook(imported)] == strip_memo


def test_codebook_into_existing_project_matches_codes_by_path(rich_project: Project, tmp_path: Path) -> None:
    out = tmp_path / "codes.qdc"
    export_qdc(rich_project, out)
    tree = etree.fromstring(out.read_bytes())
    for n, code in enumerate(tree.iter("{urn:QDA-XML:codebook:1.0}Code")):  # producers re-mint GUIDs
        code.set("guid", f"{{00000000-0000-4000-8000-{n:012d}}}")
    remint = tmp_path / "reminted.qdc"
    remint.write_bytes(etree.tostring(tree))
    report = import_refi(rich_project, remint)
    assert report.counts["codes_matched"] == 6 and report.counts["codes_added"] == 0


# --- the real NVivo exports ---------------------------------------------------------------------------------


def _nvivo_xml(path: Path) -> etree._Element:
    with zipfile.ZipFile(path) as archive:
        return etree.fromstring(archive.read("project.qde"))


def xml_counts(path: Path) -> dict[str, int]:
    """What the XML holds, counted independently of the importer:

    - codes: every ``Code`` element;
    - sources: every ``TextSource`` element;
    - codings: distinct (source GUID, startPosition, endPosition, code GUID, coder GUID) over the ``Coding``
      elements inside ``PlainTextSelection``s, where the coder is the selection's ``creatingUser`` (NVivo puts
      the code's creator on ``Coding@creatingUser``) - the importer's dedupe rule.
    """
    root = _nvivo_xml(path)
    keys = set()
    for source in root.iter(f"{PROJECT_NS}TextSource"):
        for sel in source.iter(f"{PROJECT_NS}PlainTextSelection"):
            for coding in sel.iter(f"{PROJECT_NS}Coding"):
                code = coding.find(f"{PROJECT_NS}CodeRef").get("targetGUID")
                keys.add(
                    (
                        source.get("guid"),
                        sel.get("startPosition"),
                        sel.get("endPosition"),
                        code,
                        sel.get("creatingUser"),
                    )
                )
    return {
        "codes": len(list(root.iter(f"{PROJECT_NS}Code"))),
        "sources": len(list(root.iter(f"{PROJECT_NS}TextSource"))),
        "codings": len(keys),
    }


def on_boundary(text: str, index: int) -> bool:
    """Word or line boundary: not between two letters/digits (the test's own definition)."""
    if index <= 0 or index >= len(text):
        return True
    return not (text[index - 1].isalnum() and text[index].isalnum())


NVIVO_CASES = {
    "win": (NVIVO_WIN, {"mapping": {"videos_selection": "P01/T1"}}),
    "mac": (NVIVO_MAC, {"timepoint": "T1", "participant_from_name": True}),
}


@pytest.fixture(scope="module", params=sorted(NVIVO_CASES))
def nvivo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ImportReport]:
    """Each NVivo sample imported once into a new project (the import takes a few seconds)."""
    sample, options = NVIVO_CASES[request.param]
    require_shared(*sample.relative_to(SHARED_ROOT).parts)
    target = tmp_path_factory.mktemp(request.param) / "nvivo.wqda"
    return sample, target, import_refi(target, sample, **options)


def test_nvivo_counts_equal_the_xml(nvivo: tuple[Path, Path, ImportReport]) -> None:
    sample, target, report = nvivo
    expected = xml_counts(sample)
    with open_project(target) as project, project.read() as s:
        got = {
            "codes": len(CodeTree.load(s).codes),
            "sources": len(list(s.scalars(select(Transcript)))),
            "codings": len(list(s.scalars(select(Coding)))),
        }
    assert got == expected
    assert not report.unfit and report.counts["codings_duplicate"] == 0


def test_nvivo_codings_land_on_word_or_line_boundaries(nvivo: tuple[Path, Path, ImportReport]) -> None:
    """Each NVivo selection holds one coding, so this counts selections: both ends on a boundary."""
    _, target, report = nvivo
    with open_project(target) as project, project.read() as s:
        texts = {t.id: t.text for t in s.scalars(select(Transcript))}
        rows = list(s.scalars(select(Coding)))
    hits = sum(
        1 for c in rows if on_boundary(texts[c.transcript_id], c.start) and on_boundary(texts[c.transcript_id], c.end)
    )
    assert hits / len(rows) >= 0.97, f"{hits}/{len(rows)}"
    coded = [s for s in report.sources if s.selections]
    assert coded and all(s.convention.startswith("UTF-16 code units") for s in coded)
    assert all(s.on_boundaries / s.selections >= 0.97 for s in coded)


def test_nvivo_coder_is_the_selection_creator(nvivo: tuple[Path, Path, ImportReport]) -> None:
    sample, target, _ = nvivo
    root = _nvivo_xml(sample)
    users = {u.get("guid"): u.get("name") for u in root.iter(f"{PROJECT_NS}User")}
    expected = {users[sel.get("creatingUser")] for sel in root.iter(f"{PROJECT_NS}PlainTextSelection")}
    with open_project(target) as project:
        assert {row[4] for row in codings(project)} == expected


def test_nvivo_reexport_is_valid(nvivo: tuple[Path, Path, ImportReport], schemas: Path, tmp_path: Path) -> None:
    _, target, _ = nvivo
    with open_project(target) as project:
        export_qdpx(project, tmp_path / "again.qdpx")
    check_qdpx(tmp_path / "again.qdpx", schemas)


def test_nvivo_docx_only_gives_the_same_codings(tmp_path: Path) -> None:
    """Without the plain text, the Word document is read instead; NVivo's spans land on the same text."""
    require_shared(*NVIVO_WIN.relative_to(SHARED_ROOT).parts)
    stripped = tmp_path / "docx-only.qdpx"
    with zipfile.ZipFile(NVIVO_WIN) as src, zipfile.ZipFile(stripped, "w") as dst:
        for name in src.namelist():
            if name.endswith(".txt"):
                continue
            data = src.read(name)
            if name == "project.qde":
                root = etree.fromstring(data)
                for source in root.iter(f"{PROJECT_NS}TextSource"):
                    del source.attrib["plainTextPath"]
                data = etree.tostring(root, xml_declaration=True, encoding="utf-8")
            dst.writestr(name, data)
    from_docx = import_refi(tmp_path / "docx.wqda", stripped, mapping={"videos_selection": "P01/T1"})
    from_txt = import_refi(tmp_path / "txt.wqda", NVIVO_WIN, mapping={"videos_selection": "P01/T1"})
    assert from_docx.sources[0].text_from == "Word document"
    with open_project(tmp_path / "docx.wqda") as a, open_project(tmp_path / "txt.wqda") as b:
        assert codings(a) == codings(b)
    assert from_docx.counts["codings_added"] == from_txt.counts["codings_added"] == 97


# --- placement ----------------------------------------------------------------------------------------------


def _package(
    tmp_path: Path, sources: dict[str, str], extra: str = "", name: str = "other.qdpx", selections: str = ""
) -> Path:
    """A small foreign-looking .qdpx: text sources by name, optional extra project XML."""
    guids = {n: f"00000000-0000-4000-8000-{i:012d}" for i, n in enumerate(sources, 1)}
    body = "".join(
        f'<TextSource guid="{guids[n]}" name="{n}" plainTextPath="internal://{guids[n]}.txt">'
        f"{selections if i == 0 else ''}</TextSource>"
        for i, n in enumerate(sources)
    )
    qde = (
        f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="Other" '
        f'origin="QualCoder 3.5"><Users><User guid="10000000-0000-4000-8000-000000000001" name="Kim"/></Users>'
        f'<CodeBook><Codes><Code guid="20000000-0000-4000-8000-000000000001" name="Hope" isCodable="true"/>'
        f"</Codes></CodeBook>{extra.split('|')[0]}<Sources>{body}</Sources>{extra.partition('|')[2]}</Project>"
    )
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", qde)
        for n, text in sources.items():
            archive.writestr(f"sources/{guids[n]}.txt", text.encode("utf-8-sig"))
    return path


def test_unplaced_sources_fail_naming_the_flag(tmp_path: Path) -> None:
    package = _package(tmp_path, {"Interview Anna": "Anna: hello there.\n"})
    with pytest.raises(WaveqdaError, match=r"add --map-source 'Interview Anna=P01/T1'"):
        import_refi(tmp_path / "new.wqda", package)
    assert not (tmp_path / "new.wqda").exists()


def test_mapping_places_sources_and_checks_timepoints(small_project: Project, tmp_path: Path) -> None:
    package = _package(tmp_path, {"Interview Anna": "Anna: hello there.\nI: and?\n"})
    with pytest.raises(WaveqdaError, match="unknown timepoint 'T9'"):
        import_refi(small_project, package, mapping={"Interview Anna": "P03/T9"})
    with pytest.raises(WaveqdaError, match="no text source of that name"):
        import_refi(small_project, package, mapping={"Interview Ana": "P03/T1"})
    report = import_refi(small_project, package, mapping={"interview anna": "P03/T3"})
    assert report.sources[0].placed_as == "P03/T3"
    with small_project.read() as s:
        from models.transcripts import find_transcript, turns_of

        transcript = find_transcript(s, "P03/T3")
        assert transcript.text == "Anna: hello there.\nI: and?\n"  # BOM stripped
        assert [t.speaker for t in turns_of(s, transcript.id)] == ["Anna", "I"]


def test_placement_from_variables_and_sets(tmp_path: Path) -> None:
    variables = (
        '<Variables><Variable guid="30000000-0000-4000-8000-000000000001" name="Person" '
        'typeOfVariable="Text"/><Variable guid="30000000-0000-4000-8000-000000000002" name="Age" '
        'typeOfVariable="Integer"/></Variables>'
        '<Cases><Case guid="40000000-0000-4000-8000-000000000001" name="Anna K.">'
        '<VariableValue><VariableRef targetGUID="30000000-0000-4000-8000-000000000002"/>'
        "<IntegerValue>52</IntegerValue></VariableValue>"
        '<SourceRef targetGUID="00000000-0000-4000-8000-000000000001"/></Case></Cases>'
        '|<Sets><Set guid="50000000-0000-4000-8000-000000000001" name="Wave 2">'
        '<MemberSource targetGUID="00000000-0000-4000-8000-000000000001"/></Set></Sets>'
    )
    package = _package(tmp_path, {"first": "Some text here.\n"}, extra=variables)
    with pytest.raises(WaveqdaError, match="no variable 'Wave'"):
        import_refi(tmp_path / "a.wqda", package, timepoint_variable="Wave")
    report = import_refi(tmp_path / "a.wqda", package, timepoint="Wave 2")
    assert report.sources[0].placed_as == "Anna_K./Wave_2"
    assert "participant from its case" in report.sources[0].placed_by
    with open_project(tmp_path / "a.wqda") as project:
        assert participants(project) == {"Anna_K.": {"Age": "52"}}
        assert [t.speaker for t in _turns(project)] == ["Unknown"]


def _turns(project: Project) -> list:
    from models.transcripts import turns_of

    with project.read() as s:
        return turns_of(s, s.scalars(select(Transcript.id)).first())


def test_foreign_offsets_and_coders(tmp_path: Path) -> None:
    """QualCoder-style: a BOM it does not count, code points, the coder on the coding, a named selection."""
    text = "Hope 🙂 is what keeps me going.\nEnd."
    start = text.index("keeps")
    selection = (
        '<PlainTextSelection guid="60000000-0000-4000-8000-000000000001" name="keeps me going" '
        f'startPosition="{start}" endPosition="{start + 14}">'
        '<Coding guid="70000000-0000-4000-8000-000000000001" '
        'creatingUser="10000000-0000-4000-8000-000000000001">'
        '<CodeRef targetGUID="20000000-0000-4000-8000-000000000001"/></Coding></PlainTextSelection>'
    )
    package = _package(tmp_path, {"one": text}, selections=selection)
    report = import_refi(tmp_path / "q.wqda", package, mapping={"one": "P01/T1"})
    assert report.sources[0].convention.startswith("code points")
    assert "selection names match the text" in report.sources[0].convention
    with open_project(tmp_path / "q.wqda") as project:
        (row,) = codings(project)
    assert row[1:5] == (start, start + 14, "Hope", "Kim")
    assert row[5] == "70000000-0000-4000-8000-000000000001"


def test_selection_that_does_not_fit_is_reported(tmp_path: Path) -> None:
    selection = (
        '<PlainTextSelection guid="60000000-0000-4000-8000-000000000001" startPosition="5" '
        'endPosition="900"><Coding guid="70000000-0000-4000-8000-000000000001">'
        '<CodeRef targetGUID="20000000-0000-4000-8000-000000000001"/></Coding></PlainTextSelection>'
    )
    package = _package(tmp_path, {"one": "Short text.\n"}, selections=selection)
    report = import_refi(tmp_path / "q.wqda", package, mapping={"one": "P01/T1"})
    assert len(report.unfit) == 1 and "does not fit" in report.unfit[0]
    assert any("does not fit" in line for line in report.lines())
    assert report.as_dict()["unfit"] == report.unfit


# --- CLI ----------------------------------------------------------------------------------------------------


def _cli() -> typer.Typer:
    app = typer.Typer()
    exchange.register(app)
    return app


def test_cli_import_with_map_source(tmp_path: Path) -> None:
    package = _package(tmp_path, {"Interview A": "Text A.\n", "Interview=B": "Text B.\n"})
    target = tmp_path / "cli.wqda"
    result = CliRunner().invoke(
        _cli(),
        [
            "refi",
            "import",
            str(target),
            str(package),
            "--map-source",
            "Interview A=P01/T1",
            "--map-source",
            "Interview=B=P02/T1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"transcripts_added": 2' in result.output
    with open_project(target) as project:
        assert set(transcripts(project)) == {"P01/T1", "P02/T1"}
    result = CliRunner().invoke(_cli(), ["refi", "import", str(target), str(package), "--map-source", "nonsense"])
    assert result.exit_code == 1 and "SOURCE=PARTICIPANT/TIMEPOINT" in result.output


def test_import_into_existing_project_needs_existing_timepoints(tmp_path: Path) -> None:
    target = tmp_path / "waves.wqda"
    create_project(target, [("W1", "Wave one")]).close()
    package = _package(tmp_path, {"a": "Text.\n"})
    report = import_refi(target, package, mapping={"a": "P01/wave one"})  # a label names its timepoint too
    assert report.sources[0].placed_as == "P01/W1" and not report.created


def test_report_as_dict_is_json_ready(tmp_path: Path) -> None:
    import json

    package = _package(
        tmp_path, {"a": "Text.\n"}, extra='|<Links><Link guid="80000000-0000-4000-8000-000000000001"/></Links>'
    )
    report = import_refi(tmp_path / "r.wqda", package, mapping={"a": "P01/T1"})
    data = json.loads(json.dumps(report.as_dict()))
    assert data["counts"]["transcripts_added"] == 1
    assert any("1 links" in item for item in data["not_carried"])
    assert report.lines()[0].startswith("Imported other.qdpx (QualCoder 3.5) into new project")


# --- offset conventions --------------------------------------------------------------------------------------------


def _units(text: str, index: int, crlf: bool) -> int:
    """How NVivo counts up to ``index`` of LF text when its file held CRLF: UTF-16 units, CRLF as 2."""
    head = text[:index]
    return len(head.encode("utf-16-le")) // 2 + (head.count("\n") if crlf else 0)


def test_normalise_text_strips_bom_and_unifies_line_ends() -> None:
    text, crlf_at = normalise_text("\ufeffa\r\nb\rc\nd\x0ce")
    assert text == "a\nb\nc\nd\x0ce" and crlf_at == [1]


def test_offset_map_edges() -> None:
    text, crlf_at = normalise_text("a🙂b\r\nc")
    utf16 = OffsetMap.build(text, crlf_at, Convention("utf16", "as written"))
    assert [utf16.to_index(u) for u in range(8)] == [0, 1, None, 2, 3, 3, 4, 5]
    assert utf16.to_index(8) is None and utf16.producer_length == 7
    assert OffsetMap.build(text, crlf_at, Convention("codepoint", "1")).to_index(5) == 5


def test_detection_finds_nvivo_counting_without_help() -> None:
    text = "Első sor 🙂🙂 itt.\nMásodik 💉 sor: oltás és félelem.\nHarmadik sor, még egy 🙂 szó vége.\n" * 5
    raw = "\ufeff" + text.replace("\n", "\r\n")
    words = [m.span() for m in re.finditer(r"\w+(?: \w+)?", text)][::3]
    selections = [RawSelection(_units(text, s, True), _units(text, e, True)) for s, e in words]
    detection = detect(raw, selections, origin="")
    assert detection.convention == Convention("utf16", "as written")
    assert [detection.convert(sel.start, sel.end) for sel in selections] == words
    docx_like = detect(text, selections, origin="")  # the same offsets over LF text rebuilt from a .docx
    assert docx_like.convention == Convention("utf16", "2")


def test_detection_trusts_selection_names() -> None:
    text = "one two\r\nthree four\r\nfive six seven\r\n"
    flat = text.replace("\r\n", "\n")
    spans = [(flat.index(w), flat.index(w) + len(w)) for w in ("four", "five six", "seven")]
    selections = [RawSelection(s, e, flat[s:e]) for s, e in spans]  # ATLAS.ti: a line end counts 1
    detection = detect(text, selections, origin="ATLAS.ti 9")
    assert detection.convention == Convention("codepoint", "1")
    assert detection.reason == "selection names match the text" and detection.names_informative
