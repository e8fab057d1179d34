"""Interoperability: every ``--for`` variant read back by a reader following that client's convention.

The readers below are written from the published format description (REFI-QDA 1.5: ``project.qde`` in a zip,
sources referenced as ``internal://``, positions ``[start, end)``) and each client's observed convention
(``shared/refi-qda/NOTES.md``, and QualCoder's documented reading: text read as UTF-8 without stripping a
BOM, ``Note``s need a ``creationDateTime``), not from any client's code and not through our importer:

- standard / MAXQDA: code points of the text as written, BOM not counted;
- NVivo: UTF-16 code units of the text as written (CRLF counts 2), BOM not counted;
- ATLAS.ti: code points with every line break counted as 1 (even where the file holds CRLF);
- QualCoder: code points of the file read as it is (a BOM would count), and a CRLF file gets its ``\\n``
  padded to two characters, as QualCoder does; every ``Note`` must carry ``creationDateTime``.

Then round trips waveqda -> ``.qdpx --for X`` -> waveqda, and the real NVivo samples re-exported for NVivo.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from exporters.refi_clients import CLIENTS, CLIENTS_BY_KEY
from exporters.refi_export import export_qdpx
from importers.batch import import_paths
from importers.refi_import import import_refi
from models.codes import CodeTree
from models.participants import define_attribute, find_participant, set_attribute
from models.schema import (
    AttributeDefinition,
    Code,
    Coder,
    Coding,
    Memo,
    Participant,
    ParticipantAttribute,
    Transcript,
)
from models.store import Project, open_project
from models.transcripts import find_transcript
from tests import test_refi_export
from tests.conftest import require_shared
from tests.test_refi_export import build_rich_project, check_qdpx

NS = "{urn:QDA-XML:project:1.0}"
schemas = test_refi_export.schemas

# A CRLF interview with an emoji, combining characters (e + U+0301, n + U+0303) and a flag (two code points).
CRLF_INTERVIEW = (
    "Interviewer: How was the first month?\r\n"
    "Sam: Honestly 😀 it was hard. The cafe\u0301 team helped.\r\n"
    "Interviewer: And now?\r\n"
    "Sam: Better 🇬🇧 now, the man\u0303ana rota works.\r\n"
    "Sam: My supervisor listens.\r\n"
)


# --- the project ---------------------------------------------------------------------------------------------


def build_interop_project(project: Project, tmp_path: Path) -> Project:
    """The rich export project, plus a CRLF transcript (real import path) coded after emoji, across a line
    break and over combining characters, with memos in every place and a questionnaire score."""
    build_rich_project(project)
    source = tmp_path / "P03_T1.txt"
    source.write_bytes(CRLF_INTERVIEW.encode("utf-8"))
    import_paths(project, [source], participant="P03", timepoint="T1")
    with project.change("tester", "setup", "interop codings") as s:
        transcript = find_transcript(s, "P03/T1")
        assert "\r" not in transcript.text
        alice = s.scalar(select(Coder).where(Coder.name == "alice"))
        support = s.scalar(select(Code).where(Code.name == "Support"))
        peers = s.scalar(select(Code).where(Code.name == "Peers"))
        text = transcript.text

        def code(phrase: str, code: Code, memo: str = "") -> Coding:
            start = text.index(phrase)
            row = Coding(
                transcript_id=transcript.id,
                code_id=code.id,
                coder_id=alice.id,
                start=start,
                end=start + len(phrase),
                memo=memo,
            )
            s.add(row)
            s.flush()
            return row

        code("it was hard.", support, memo="Early difficulty 😀 noted.")
        code("The cafe\u0301 team helped.", peers)
        code("Better 🇬🇧 now, the man\u0303ana rota works.\nSam: My supervisor listens.", support)
        helped = code("helped", peers)
        s.add(
            Memo(target_type="coding", target_id=helped.id, title="Which team?", text="The café team.", author="alice")
        )
        s.add(Memo(target_type="transcript", target_id=transcript.id, title="CRLF file", text="Came from Windows."))
        score = define_attribute(s, "WEMWBS T1", "number", None)
        set_attribute(s, find_participant(s, "P01"), score, "48")
        set_attribute(s, find_participant(s, "P03"), score, "52.5")
    return project


@pytest.fixture
def interop_project(small_project: Project, tmp_path: Path) -> Project:
    return build_interop_project(small_project, tmp_path)


# --- the readers ---------------------------------------------------------------------------------------------


def _qde(path: Path) -> tuple[etree._Element, dict[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        qde = next(n for n in archive.namelist() if n.lower().endswith(".qde"))
        files = {n.split("/", 1)[-1]: archive.read(n) for n in archive.namelist() if "/" in n}
        return etree.fromstring(archive.read(qde)), files


def _required(root: etree._Element, client: str) -> None:
    """The attributes each client needs to read the file at all."""
    for selection in root.iter(f"{NS}PlainTextSelection"):
        assert selection.get("startPosition") and selection.get("endPosition")
        assert selection.get("creatingUser"), "every selection names its coder (NVivo reads the coder there)"
    for note in root.iter(f"{NS}Note"):
        assert note.get("creationDateTime"), f"{client}: a Note without creationDateTime (QualCoder fails on it)"
    for coding in root.iter(f"{NS}Coding"):
        assert coding.get("creationDateTime") and coding.get("creatingUser")
    for source in root.iter(f"{NS}TextSource"):
        assert source.get("creationDateTime")


def _source_text(client: str, data: bytes) -> str:
    """The text a client holds for a source file, in the characters its offsets count."""
    if client == "qualcoder":
        crlf = b"\r\n" in data
        text = data.decode("utf-8").replace("\r\n", "\n")  # Python's universal newlines, as QualCoder opens it
        return text.replace("\n", "\n ") if crlf else text  # its CRLF padding
    text = data.decode("utf-8")
    text = text.removeprefix("\ufeff")
    if client == "atlas":
        return text.replace("\r\n", "\n")  # a line break counts 1
    return text


def _slice(client: str, text: str, start: int, end: int) -> str:
    if client == "nvivo":
        units = text.encode("utf-16-le")
        return units[2 * start : 2 * end].decode("utf-16-le")
    return text[start:end]


def read_selections(path: Path, client: str) -> dict[str, str]:
    """Coding GUID -> the selected text as ``client`` reads it (line ends as LF, for comparing)."""
    root, files = _qde(path)
    _required(root, client)
    found: dict[str, str] = {}
    for source in root.iter(f"{NS}TextSource"):
        entry = source.get("plainTextPath").split("://", 1)[1]
        text = _source_text(client, files[entry])
        for selection in source.iter(f"{NS}PlainTextSelection"):
            selected = _slice(client, text, int(selection.get("startPosition")), int(selection.get("endPosition")))
            selected = selected.replace("\r\n", "\n").replace("\n ", "\n") if client == "qualcoder" else selected
            for coding in selection.iter(f"{NS}Coding"):
                found[coding.get("guid")] = selected.replace("\r\n", "\n")
    return found


def coded_texts(project: Project) -> dict[str, str]:
    with project.read() as s:
        texts = {t.id: t.text for t in s.scalars(select(Transcript))}
        return {c.uuid: texts[c.transcript_id][c.start : c.end] for c in s.scalars(select(Coding))}


# --- every client's reader finds every selection's text ---------------------------------------------------------


@pytest.mark.parametrize("client", [c.key for c in CLIENTS])
def test_each_clients_reader_recovers_every_selection(
    interop_project: Project, schemas: Path, tmp_path: Path, client: str
) -> None:
    out = tmp_path / f"{client}.qdpx"
    report = export_qdpx(interop_project, out, for_client=client)
    assert report.client == client
    root = check_qdpx(out, schemas, client=client)
    expected = coded_texts(interop_project)
    assert any("😀" in t or "🇬🇧" in t for t in expected.values()) and any("\u0301" in t for t in expected.values())
    assert read_selections(out, client) == expected
    profile = CLIENTS_BY_KEY[client]
    _, files = _qde(out)
    source_files = [files[s.get("plainTextPath").split("://")[1]] for s in root.iter(f"{NS}TextSource")]
    assert all(f.startswith(b"\xef\xbb\xbf") == profile.bom for f in source_files)
    assert all((b"\r\n" in f) == (profile.newline == "\r\n") for f in source_files if b"\n" in f)


def test_the_standard_reading_misplaces_an_nvivo_export(interop_project: Project, tmp_path: Path) -> None:
    """The check can fail: code points over the NVivo file do not find the selections after an emoji."""
    out = tmp_path / "nvivo.qdpx"
    export_qdpx(interop_project, out, for_client="nvivo")
    wrong = read_selections(out, "standard")
    expected = coded_texts(interop_project)
    assert sum(1 for guid, text in expected.items() if wrong[guid] != text) >= 3


def test_qualcoder_reads_memos_where_it_looks(interop_project: Project, tmp_path: Path) -> None:
    """QualCoder's places: a code's memo in its Description, a coding's in its selection's Description,
    journals as Notes with a plainTextPath file."""
    out = tmp_path / "qc.qdpx"
    export_qdpx(interop_project, out, for_client="qualcoder")
    root, files = _qde(out)
    support = next(c for c in root.iter(f"{NS}Code") if c.get("name") == "Support")
    assert "Memo: Central theme." in support.findtext(f"{NS}Description")
    descriptions = {s.findtext(f"{NS}Description") for s in root.iter(f"{NS}PlainTextSelection")}
    assert {"Job insecurity.", "Early difficulty 😀 noted."} <= descriptions
    journals = [n for n in root.iter(f"{NS}Note") if n.get("plainTextPath")]
    assert journals and all(files[n.get("plainTextPath").split("://")[1]].decode() for n in journals)
    assert {"Method", "Scope"} <= {n.get("name") for n in journals}


# --- round trips ---------------------------------------------------------------------------------------------


def snapshot(project: Project) -> dict[str, object]:
    """What a round trip must keep: codings on their text, memos, hierarchy, colours, definitions, attributes."""
    with project.read() as s:
        tree = CodeTree.load(s)
        texts = {t.id: (f"{t.participant.study_id}/{t.timepoint.key}", t.text) for t in s.scalars(select(Transcript))}
        coders = {c.id: c.name for c in s.scalars(select(Coder))}
        codings = Counter(
            (
                texts[c.transcript_id][0],
                texts[c.transcript_id][1][c.start : c.end],
                tree.path(c.code_id),
                coders[c.coder_id],
            )
            for c in s.scalars(select(Coding))
        )
        memo_texts = {m.text for m in s.scalars(select(Memo))}
        memo_texts |= {c.memo for c in s.scalars(select(Coding)) if c.memo}
        memo_texts |= {c.memo for c in tree.codes.values() if c.memo}
        codes = {
            tree.path(cid): (c.colour, c.definition, c.inclusion, c.exclusion, c.example)
            for cid, c in tree.codes.items()
        }
        names = {d.id: d.name for d in s.scalars(select(AttributeDefinition))}
        people = {p.id: p.study_id for p in s.scalars(select(Participant))}
        attributes = {
            (people[v.participant_id], names[v.attribute_id], v.value)
            for v in s.scalars(select(ParticipantAttribute))
            if v.value
        }
    return {"codings": codings, "memos": memo_texts, "codes": codes, "attributes": attributes}


def _number(value: str) -> str:
    try:
        return format(float(value), "g")
    except ValueError:
        return value


def _numeric(attributes: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Numbers compare by value ("48" and "48.0" are one score)."""
    out = set()
    for who, name, value in attributes:
        out.add((who, name, _number(value)))
    return out


@pytest.mark.parametrize("client", [c.key for c in CLIENTS])
def test_round_trip_keeps_everything(interop_project: Project, tmp_path: Path, client: str) -> None:
    out = tmp_path / f"{client}.qdpx"
    export_qdpx(interop_project, out, for_client=client)
    report = import_refi(tmp_path / "back.wqda", out)
    assert not report.unfit and not report.review
    before = snapshot(interop_project)
    with open_project(tmp_path / "back.wqda") as back:
        after = snapshot(back)
    assert after["codings"] == before["codings"]
    assert after["codes"] == before["codes"]
    assert before["memos"] <= after["memos"], before["memos"] - after["memos"]  # type: ignore[operator]
    assert _numeric(before["attributes"]) <= _numeric(after["attributes"])  # type: ignore[arg-type]


# --- the real NVivo samples, back to NVivo ----------------------------------------------------------------------


NVIVO_SAMPLES = {
    "nvivo-win-12.6_oltas.qdpx": {"mapping": {"videos_selection": "P01/T1"}},
    "nvivo-mac-12.7_oltas-17june.qdpx": {"timepoint": "T1", "participant_from_name": True},
}


def _squeezed(texts: object) -> Counter[str]:
    return Counter(" ".join(t.split()) for t in texts)  # type: ignore[attr-defined]


def _boundary(text: str, index: int) -> bool:
    return index <= 0 or index >= len(text) or not (text[index - 1].isalnum() and text[index].isalnum())


@pytest.mark.parametrize("name", sorted(NVIVO_SAMPLES))
def test_nvivo_samples_go_back_to_nvivo_on_the_same_words(name: str, tmp_path: Path) -> None:
    sample = require_shared("refi-qda", "samples", name)
    import_refi(tmp_path / "s.wqda", sample, **NVIVO_SAMPLES[name])
    original = read_selections_loose(sample)
    with open_project(tmp_path / "s.wqda") as project:
        with project.read() as s:
            texts = {t.id: t.text for t in s.scalars(select(Transcript))}
            rows = list(s.scalars(select(Coding)))
        on_words = sum(
            1 for c in rows if _boundary(texts[c.transcript_id], c.start) and _boundary(texts[c.transcript_id], c.end)
        )
        assert on_words / len(rows) >= 0.97
        export_qdpx(project, tmp_path / "back.qdpx", for_client="nvivo")
    again = read_selections(tmp_path / "back.qdpx", "nvivo")
    assert len(again) == len(rows)
    assert _squeezed(again.values()) == _squeezed(original)


def read_selections_loose(path: Path) -> list[str]:
    """The NVivo reading of a sample as NVivo wrote it (each range once per code, as it repeats them)."""
    root, files = _qde(path)
    out = []
    for source in root.iter(f"{NS}TextSource"):
        entry = source.get("plainTextPath").split("://", 1)[1]
        text = _source_text("nvivo", files[entry])
        for selection in source.iter(f"{NS}PlainTextSelection"):
            piece = _slice("nvivo", text, int(selection.get("startPosition")), int(selection.get("endPosition")))
            out.extend(piece.replace("\r\n", "\n") for _ in selection.iter(f"{NS}Coding"))
    return out
