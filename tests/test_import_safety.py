"""Bad input is refused before its payload is read, with the file name in the message, never as a raw exception.

Each hostile file here is real: a zip bomb that would unpack to 300 MB, a billion-laughs document, a
path-traversal entry. "Quickly" is checked as work, not seconds (a wall-clock bound is flaky on a shared
machine): a refusal may unpack at most ``MAX_UNPACKED`` bytes from an archive, and a DTD is refused before
any entity is expanded. How long refusals take is measured in ``bench/``.
"""

from __future__ import annotations

import codecs
import os
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import docx
import pytest

from importers import parse_file, safety
from importers.docx_reader import parse_docx
from models.errors import ImportRefused
from models.parsed import LabelRules

MAX_UNPACKED = 1024 * 1024  # bytes a refusal may unpack (the XML prologs it checks are a few hundred)
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>
"""


@contextmanager
def unpacked() -> Iterator[list[int]]:
    """Counts the bytes read from archive members (``[total]``) while the block runs."""
    total = [0]
    read = zipfile.ZipExtFile.read

    def counting(self: zipfile.ZipExtFile, n: int | None = -1) -> bytes:
        data = read(self, n)
        total[0] += len(data)
        return data

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zipfile.ZipExtFile, "read", counting)
        yield total


def refused(path: Path, max_bytes: int = 50 * 1024 * 1024) -> str:
    """The refusal message for ``path``, checked to name the file and to come before a payload is unpacked."""
    with unpacked() as total, pytest.raises(ImportRefused) as caught:
        parse_file(path, max_bytes=max_bytes)
    assert total[0] <= MAX_UNPACKED
    message = str(caught.value)
    assert message.startswith(f"{path.name}: ")
    return message


def real_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_paragraph("Interviewer: Hello?")
    document.add_paragraph("Tom: Hi.")
    document.save(str(path))
    return path


def rebuilt_docx(tmp_path: Path, name: str, change: Callable[[zipfile.ZipFile], None], drop: str = "") -> Path:
    """A real .docx copied member by member (except ``drop``), then altered by ``change``."""
    source = real_docx(tmp_path / "source.docx")
    target = tmp_path / name
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != drop:
                new.writestr(info, old.read(info))
        change(new)
    return target


def test_valid_docx_passes(tmp_path: Path) -> None:
    parsed = parse_file(real_docx(tmp_path / "fine.docx"))
    assert [turn.speaker for turn in parsed.turns] == ["Interviewer", "Tom"]


def test_docx_archive_is_checked_once_before_python_docx_opens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = real_docx(tmp_path / "fine.docx")
    calls: list[str] = []
    check, open_document = safety.check_docx_archive, docx.Document
    monkeypatch.setattr(safety, "check_docx_archive", lambda p: (calls.append("check"), check(p))[1])
    monkeypatch.setattr(docx, "Document", lambda *a: (calls.append("open"), open_document(*a))[1])
    parse_file(path)
    assert calls == ["check", "open"]
    calls.clear()
    parse_docx(path, LabelRules())
    assert calls == ["check", "open"]


def test_missing_file(tmp_path: Path) -> None:
    assert "not found" in refused(tmp_path / "gone.txt")


def test_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert "not a regular file" in refused(folder)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("Tom: hi\n")

    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", denied)  # chmod 0 would not stop a test run as root
    assert "cannot read the file (Permission denied)" in refused(path)


@pytest.mark.parametrize("name", ["empty.txt", "empty.docx", "empty.vtt", "empty.srt", "empty.md"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    assert "empty" in refused(path)


def test_whitespace_only_text(tmp_path: Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text("\n\n   \n")
    assert "no transcript text" in refused(path)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_bytes(b"%PDF-1.7")
    assert "unsupported file type .pdf" in refused(path)


def test_oversized_file(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("Tom: " + "word " * 100)
    assert "too large" in refused(path, max_bytes=100)


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, bytes(range(1, 32)) * 40],
    ids=["nul-bytes", "control-chars"],
)
def test_binary_text_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "picture.txt"
    path.write_bytes(data)
    assert "binary" in refused(path)


@pytest.mark.parametrize(
    "bom, codec", [(b"", "latin-1"), (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")]
)
def test_control_characters_up_to_a_tenth_are_text(tmp_path: Path, bom: bytes, codec: str) -> None:
    """Tab, LF, VT, FF and CR are text; other C0 controls and DEL are counted, and more than a tenth of the
    sample is binary (counted on the bytes without a BOM, on the decoded characters with one)."""
    path = tmp_path / "controls.txt"
    for counted, is_text in ((20, True), (21, False)):
        controls = ("\x01\x08\x0e\x1f\x7f" * 5)[:counted]
        body = "\t\n\v\f\r" * 10 + controls + "é" * (150 - counted)  # 200 characters
        path.write_bytes(bom + body.encode(codec))
        if is_text:
            safety.check_file(path, "txt", 10_000)
        else:
            assert "too many control characters" in refused(path)


def test_utf16_with_bom_is_not_binary(tmp_path: Path) -> None:
    path = tmp_path / "utf16.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "Tom: hello\n".encode("utf-16-le"))
    safety.check_file(path, "txt", 1_000)


def test_undecodable_text(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_bytes(b"Tom: \x81\x8d\x8f\x90\x9d\n")  # invalid UTF-8 and undefined in Windows-1252
    assert "cannot be decoded" in refused(path)


def test_vtt_without_header(tmp_path: Path) -> None:
    path = tmp_path / "captions.vtt"
    path.write_text("00:00:01.000 --> 00:00:02.000\nhello\n")
    assert "WEBVTT" in refused(path)


@pytest.mark.parametrize("data", [os.urandom(4096), b"PK\x03\x04" + bytes(100)], ids=["random", "fake-zip"])
def test_docx_that_is_not_a_zip(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "corrupt.docx"
    path.write_bytes(data)
    assert "not a valid .docx" in refused(path)


def test_truncated_docx(tmp_path: Path) -> None:
    source = real_docx(tmp_path / "whole.docx").read_bytes()
    path = tmp_path / "truncated.docx"
    path.write_bytes(source[: len(source) // 2])
    assert "not a valid .docx" in refused(path)


def test_zip_that_is_not_a_word_document(tmp_path: Path) -> None:
    path = rebuilt_docx(tmp_path, "sheet.docx", lambda new: None, drop="word/document.xml")
    assert "no word/document.xml" in refused(path)


def test_docx_with_malformed_document_xml(tmp_path: Path) -> None:
    broken = b'<?xml version="1.0"?><w:document xmlns:w="urn:x"><w:body><w:p>'
    path = rebuilt_docx(
        tmp_path, "broken.docx", lambda new: new.writestr("word/document.xml", broken), "word/document.xml"
    )
    assert "not a readable Word document" in refused(path)


def test_docx_with_invalid_attribute_value(tmp_path: Path) -> None:
    """python-docx only fails when the value is read: the reader must still refuse, not raise."""
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    run = '<w:r><w:rPr><w:b w:val="maybe"/></w:rPr><w:t>Tom: hi</w:t></w:r>'
    body = f"<w:document {ns}><w:body><w:p>{run}</w:p></w:body></w:document>"
    path = rebuilt_docx(
        tmp_path, "badval.docx", lambda new: new.writestr("word/document.xml", body), "word/document.xml"
    )
    with unpacked() as total, pytest.raises(ImportRefused, match=r"^badval\.docx: "):
        parse_docx(path, LabelRules())
    assert total[0] <= MAX_UNPACKED


def test_zip_bomb_of_300_mb(tmp_path: Path) -> None:
    def add_bomb(new: zipfile.ZipFile) -> None:
        with new.open("word/document.xml", "w") as member:
            chunk = bytes(1024 * 1024)
            for _ in range(300):
                member.write(chunk)

    path = rebuilt_docx(tmp_path, "bomb.docx", add_bomb, drop="word/document.xml")
    assert path.stat().st_size < 2 * 1024 * 1024
    message = refused(path)
    assert "zip bomb" in message
    assert "unpack to" in message


def test_zip_bomb_by_compression_ratio(tmp_path: Path) -> None:
    path = rebuilt_docx(tmp_path, "ratio.docx", lambda new: new.writestr("word/media/blank.bin", bytes(8 << 20)))
    assert "compressed" in refused(path)


def test_zip_bomb_by_total_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety, "MAX_DOCX_UNCOMPRESSED", 256 * 1024)
    path = rebuilt_docx(tmp_path, "total.docx", lambda new: new.writestr("word/media/noise.bin", os.urandom(300_000)))
    assert "unpack to" in refused(path)


def test_zip_with_too_many_entries(tmp_path: Path) -> None:
    def add_entries(new: zipfile.ZipFile) -> None:
        for index in range(safety.MAX_DOCX_ENTRIES + 1):
            new.writestr(f"word/media/{index}.txt", b"")

    path = rebuilt_docx(tmp_path, "many.docx", add_entries)
    assert "entries" in refused(path)


def test_billion_laughs(tmp_path: Path) -> None:
    path = rebuilt_docx(
        tmp_path, "laughs.docx", lambda new: new.writestr("word/document.xml", BILLION_LAUGHS), "word/document.xml"
    )
    message = refused(path)
    assert "word/document.xml declares a DTD or entities" in message


@pytest.mark.parametrize("entry", ["../../evil.sh", "/etc/cron.d/evil", "word/../../evil", "C:\\evil.bat"])
def test_path_traversal_entry(tmp_path: Path, entry: str) -> None:
    def add_evil(new: zipfile.ZipFile) -> None:
        info = zipfile.ZipInfo("placeholder")
        info.filename = entry  # ZipInfo would otherwise strip the leading slash or drive
        new.writestr(info, b"echo pwned")

    path = rebuilt_docx(tmp_path, "traversal.docx", add_evil)
    assert "unsafe path" in refused(path)
