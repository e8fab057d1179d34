"""Hostile and broken REFI-QDA files are refused with one clear line and leave the project unchanged."""

from __future__ import annotations

import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from exporters.refi_export import export_qdpx
from importers import refi_safety
from importers.refi_import import import_refi
from models.errors import ImportRefused, WaveqdaError
from models.store import Project

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE Project [
 <!ENTITY a "aaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
 <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&h;"><Description>&h;</Description></Project>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="x"><Description>&secret;</Description></Project>"""


def dump(project: Project) -> dict[str, list[str]]:
    """Every row of every table (search index included), read through a separate connection."""
    connection = sqlite3.connect(project.path)
    try:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: sorted(repr(row) for row in connection.execute(f'SELECT * FROM "{t}"')) for t in tables}
    finally:
        connection.close()


@pytest.fixture
def base(small_project: Project, tmp_path: Path) -> Path:
    """A valid export of ``small_project`` with one coding, to break in different ways."""
    from models.participants import get_or_create_coder
    from models.schema import Code, Coding
    from models.transcripts import find_transcript

    with small_project.change("tester", "setup") as s:
        code = Code(name="Support")
        s.add(code)
        s.flush()
        transcript = find_transcript(s, "P01/T1")
        s.add(
            Coding(
                transcript_id=transcript.id,
                code_id=code.id,
                coder_id=get_or_create_coder(s, "alice").id,
                start=0,
                end=11,
            )
        )
    path = tmp_path / "base.qdpx"
    export_qdpx(small_project, path)
    return path


def rebuild(
    base: Path,
    out: Path,
    edit_qde: Callable[[str], str] = lambda x: x,
    add: dict[str, bytes] | None = None,
    drop: Callable[[str], bool] = lambda name: False,
) -> Path:
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            if drop(name):
                continue
            data = src.read(name)
            dst.writestr(name, edit_qde(data.decode()).encode() if name == "project.qde" else data)
        for name, data in (add or {}).items():
            dst.writestr(name, data)
    return out


def assert_refused(project: Project, package: Path, match: str) -> None:
    before = dump(project)
    with pytest.raises(WaveqdaError, match=match):
        import_refi(project, package)
    assert dump(project) == before


def _replace_qde(text: str) -> Callable[[str], str]:
    return lambda _old: text


def test_entity_expansion_is_refused(small_project: Project, base: Path, tmp_path: Path) -> None:
    package = rebuild(base, tmp_path / "laughs.qdpx", _replace_qde(BILLION_LAUGHS))
    assert_refused(small_project, package, "DTD or entities")


def test_external_entities_are_refused(small_project: Project, base: Path, tmp_path: Path) -> None:
    package = rebuild(base, tmp_path / "xxe.qdpx", _replace_qde(EXTERNAL_ENTITY))
    assert_refused(small_project, package, "DTD or entities")


def test_zip_bomb_is_refused_before_inflating(small_project: Project, base: Path, tmp_path: Path) -> None:
    package = rebuild(base, tmp_path / "bomb.qdpx")
    with zipfile.ZipFile(package, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("sources/zeros.txt", "w") as f:
        chunk = bytes(1024 * 1024)
        for _ in range(refi_safety.MAX_ENTRY_BYTES // len(chunk) + 1):
            f.write(chunk)
    assert package.stat().st_size < 2 * 1024 * 1024
    assert_refused(small_project, package, "inflates to")


def test_bomb_inside_a_docx_is_refused_while_streaming(
    small_project: Project, base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(refi_safety, "MAX_ENTRY_BYTES", 4 * 1024 * 1024)
    docx = tmp_path / "inner.docx"
    with zipfile.ZipFile(docx, "w", zipfile.ZIP_DEFLATED) as inner:
        inner.writestr("word/document.xml", bytes(1024 * 1024))
        inner.writestr("word/padding.xml", bytes(5 * 1024 * 1024))
    package = rebuild(
        base,
        tmp_path / "docx-bomb.qdpx",
        lambda qde: qde.replace('plainTextPath="internal://', 'richTextPath="internal://bomb.docx" x="', 1),
        add={"sources/bomb.docx": docx.read_bytes()},
    )
    assert_refused(small_project, package, "beyond the size limit")


def test_too_many_entries_are_refused(
    small_project: Project, base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = rebuild(base, tmp_path / "many.qdpx", add={f"junk/{i}.txt": b"x" for i in range(20)})
    monkeypatch.setattr(refi_safety, "MAX_ENTRIES", 10)
    assert_refused(small_project, package, "entries")


@pytest.mark.parametrize(
    "name", ["../evil.txt", "/etc/evil.txt", "sources/../../evil.txt", "C:\\evil.txt", "sources\\..\\..\\evil.txt"]
)
def test_path_traversal_entries_are_refused(small_project: Project, base: Path, tmp_path: Path, name: str) -> None:
    package = rebuild(base, tmp_path / "traversal.qdpx", add={name: b"evil"})
    assert_refused(small_project, package, "unsafe entry name")


@pytest.mark.parametrize("path", ["internal://../../etc/passwd", "absolute:///etc/passwd", "relative://../x.txt"])
def test_unsafe_source_paths_are_refused(small_project: Project, base: Path, tmp_path: Path, path: str) -> None:
    package = rebuild(
        base,
        tmp_path / "paths.qdpx",
        lambda qde: qde.replace('plainTextPath="internal://', f'plainTextPath="{path}" x="', 1),
    )
    assert_refused(small_project, package, "unsafe path")


def test_missing_source_is_refused(small_project: Project, base: Path, tmp_path: Path) -> None:
    package = rebuild(base, tmp_path / "missing.qdpx", drop=lambda name: name.endswith(".txt"))
    assert_refused(small_project, package, "missing from the archive")


@pytest.mark.parametrize("element", ["CodeRef", "SourceRef", "VariableRef", "NoteRef"])
def test_dangling_references_are_refused(small_project: Project, base: Path, tmp_path: Path, element: str) -> None:
    def dangle(qde: str) -> str:
        if element == "NoteRef":  # add a reference to a note that is not there
            return qde.replace("</Project>", '<NoteRef targetGUID="99999999-9999-4999-8999-999999999999"/></Project>')
        head, sep, tail = qde.partition(f'<{element} targetGUID="')
        return head + sep + "99999999-9999-4999-8999-999999999999" + tail[36:]

    package = rebuild(base, tmp_path / "dangling.qdpx", dangle)
    assert_refused(small_project, package, "refers to a missing")


def test_duplicate_entries_are_refused(small_project: Project, base: Path, tmp_path: Path) -> None:
    package = rebuild(base, tmp_path / "dup.qdpx")
    with pytest.warns(UserWarning), zipfile.ZipFile(package, "a") as archive:
        archive.writestr("project.qde", b"<Project/>")
    assert_refused(small_project, package, "appears twice")


@pytest.mark.parametrize(
    "content, match",
    [
        (b"not a zip at all", "not a readable zip"),
        (None, "not well-formed XML"),
    ],
)
def test_broken_files_are_refused(
    small_project: Project, base: Path, tmp_path: Path, content: bytes | None, match: str
) -> None:
    package = tmp_path / "broken.qdpx"
    if content is None:
        rebuild(base, package, _replace_qde("<Project xmlns='urn:QDA-XML:project:1.0'><Users>"))
    else:
        package.write_bytes(content)
    assert_refused(small_project, package, match)


def test_wrong_kind_of_file_is_refused(small_project: Project, tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    assert_refused(small_project, other, "not a REFI-QDA file")
    xml = tmp_path / "other.qdc"
    xml.write_text("<html/>")
    assert_refused(small_project, xml, "not a REFI-QDA Project or CodeBook")


def test_refused_import_creates_no_project(base: Path, tmp_path: Path) -> None:
    package = rebuild(base, tmp_path / "laughs.qdpx", _replace_qde(BILLION_LAUGHS))
    with pytest.raises(ImportRefused):
        import_refi(tmp_path / "new.wqda", package)
    assert not (tmp_path / "new.wqda").exists()


def test_failure_while_writing_removes_the_new_project(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure inside the write transaction (here: simulated) leaves neither rows nor a half-made file."""
    from models import refi_store

    def boom(self: object) -> None:
        raise WaveqdaError("simulated failure")

    monkeypatch.setattr(refi_store.RefiWriter, "write_memos", boom)
    with pytest.raises(WaveqdaError, match="simulated failure"):
        import_refi(tmp_path / "new.wqda", base)
    assert not list(tmp_path.glob("new.wqda*"))


def test_unsafe_name_reasons() -> None:
    assert refi_safety.unsafe_name_reason("sources/abc.txt") is None
    assert refi_safety.unsafe_name_reason("a/../../b") == "'..' in path"
    assert refi_safety.unsafe_name_reason("\\\\server\\share") == "absolute path"
    assert refi_safety.unsafe_name_reason("") == "empty or NUL name"
