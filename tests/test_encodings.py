"""Text files in the encodings researchers meet import with their own text, or are refused in one line.

Each file is written to disk in its encoding with Windows line ends, as Word's "Save as plain text" or an
older transcription tool leaves it, and imported through the real path (``waveqda import``): the stored
text must be the original exactly. Where the encoding cannot be told, the file is refused, never garbled.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from importers import parse_file
from importers.encoding import decode
from models.errors import ImportRefused
from models.store import Project

runner = CliRunner()

ENGLISH = (
    "Interviewer: How did the first month go?\n"
    "Sam: Honestly, it was “hard” — I felt I’d been thrown in at the deep end. The café downstairs helped…\n"
    "Interviewer: And the team?\n"
    "Sam: They were kind. Naïve of me to think it’d be easy; the €5 coffees didn’t help either.\n"
)
FRENCH = (
    "Intervieweur: Comment s'est passé le premier mois ?\n"
    "Renée: Honnêtement, c'était difficile. Le café en bas m'a aidée. J'étais naïve, à vrai dire.\n"
    "Intervieweur: Et l'équipe ?\n"
    "Renée: Très gentille. Ça m'a surprise, même après trois années à l'hôpital.\n"
)
GERMAN = (
    "Interviewer: Wie war der erste Monat?\n"
    "Jörg: Ehrlich gesagt, schwierig. Das Team war freundlich, aber ich fühlte mich überfordert.\n"
    "Interviewer: Und die Ärzte?\n"
    "Jörg: Größere Probleme gab es nicht. Die Übergabe am Morgen war das Schwierigste.\n"
)
POLISH = (
    "Ankieter: Jak minął pierwszy miesiąc?\n"
    "Ola: Szczerze mówiąc, było ciężko. Zespół był życzliwy, ale czułam się zagubiona.\n"
    "Ankieter: A współpraca z lekarzami?\n"
    "Ola: Różnie. Czasem nas nie słuchają, ale kierowniczka pomogła mi zrozumieć dyżury.\n"
)
CZECH = (
    "Tazatel: Jak jste se cítil první měsíc?\n"
    "Jan: Upřímně, bylo to těžké. Tým byl přátelský, ale byl jsem zmatený.\n"
    "Tazatel: A spolupráce s lékaři?\n"
    "Jan: Různá. Vedoucí mi pomohla pochopit služby a předávání pacientů.\n"
)
JAPANESE = (
    "Interviewer: 最初の一か月はどうでしたか？\n"
    "Sato: 正直に言うと、大変でした。チームは親切でしたが、戸惑いました。\n"
    "Interviewer: 医師との協力は？\n"
    "Sato: 時々、私たちの話を聞いてくれません。でも、上司が助けてくれました。\n"
)

CASES = {
    "windows-1252": (ENGLISH, "cp1252"),
    "latin-1 french": (FRENCH, "latin-1"),
    "latin-1 german": (GERMAN, "latin-1"),
    "windows-1250 polish": (POLISH, "cp1250"),
    "windows-1250 czech": (CZECH, "cp1250"),
    "shift-jis": (JAPANESE, "shift_jis"),
    "utf-16-le without bom": (ENGLISH, "utf-16-le"),
    "utf-16-be without bom": (FRENCH, "utf-16-be"),
}


def windows_file(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_each_encoding_imports_with_its_own_text(project: Project, tmp_path: Path, case: str) -> None:
    text, encoding = CASES[case]
    path = windows_file(tmp_path / "P01_T1.txt", text, encoding)
    data = path.read_bytes()
    assert not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if encoding.startswith("utf-16"):
        assert b"\x00" in data  # (ASCII letters in UTF-16 are valid UTF-8 too: zeros and letters)
    else:
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    out = runner.invoke(app, ["import", str(project.path), str(path), "--json"])
    assert out.exit_code == 0, out.output
    [row] = json.loads(out.output)
    assert row["status"] == "imported", row
    shown = json.loads(runner.invoke(app, ["show", str(project.path), "P01/T1", "--json"]).output)
    assert shown["text"] == text.rstrip("\n")
    assert [t["speaker"] for t in shown["turns"]] == [line.split(":")[0] for line in text.splitlines()]


def test_western_windows_text_is_read_as_windows_1252_as_before(tmp_path: Path) -> None:
    """Short Western text with Windows-1252 punctuation: the common case stays as it was."""
    path = windows_file(tmp_path / "short.txt", "Tom: It was “fine” — really… naïve of me.\n", "cp1252")
    assert parse_file(path).text == "Tom: It was “fine” — really… naïve of me."


def test_short_text_whose_encoding_cannot_be_told_is_refused_not_garbled(tmp_path: Path) -> None:
    # Windows-1250 bytes that Windows-1252 would read as "by³o ciê¿ko" and other code pages otherwise
    path = windows_file(tmp_path / "P02_T1.txt", "Ola: Tak, było ciężko.\n", "cp1250")
    with pytest.raises(ImportRefused) as refused:
        parse_file(path)
    message = str(refused.value)
    assert message.startswith("P02_T1.txt: its encoding cannot be told for certain")
    assert "UTF-8" in message and "\n" not in message


def test_bytes_the_detected_encoding_lacks_are_refused(tmp_path: Path) -> None:
    """Polish text (Windows-1250) with a byte that code page does not define: refused, naming the byte."""
    data = POLISH.replace("\n", "\r\n").encode("cp1250")
    at = data.index(b"Zesp")
    path = tmp_path / "P03_T1.txt"
    path.write_bytes(data[:at] + b"\x98" + data[at:])
    with pytest.raises(ImportRefused, match=rf"P03_T1\.txt: not valid Windows-1250 text: byte 0x98 at offset {at}"):
        parse_file(path)
    english = ENGLISH.encode("cp1252")
    english_at = english.index(b"kind")
    (tmp_path / "P04_T1.txt").write_bytes(english[:english_at] + b"\x81" + english[english_at:])
    with pytest.raises(ImportRefused, match=r"not valid Windows-1252 text: byte 0x81 at offset"):
        parse_file(tmp_path / "P04_T1.txt")


def test_a_refused_file_is_one_line_naming_it_and_nothing_is_stored(project: Project, tmp_path: Path) -> None:
    path = windows_file(tmp_path / "P05_T1.txt", "Ola: Tak, było ciężko.\n", "cp1250")
    out = runner.invoke(app, ["import", str(project.path), str(path)])
    assert out.exit_code == 1
    [error] = [line for line in out.stderr.splitlines() if "P05_T1.txt" in line]
    assert error.startswith("error: P05_T1.txt: its encoding cannot be told for certain")
    listing = json.loads(runner.invoke(app, ["transcripts", str(project.path), "--json"]).output)
    assert listing == []


@pytest.mark.parametrize("case", list(CASES))
def test_refi_qda_sources_are_decoded_the_same_way(case: str) -> None:
    """A REFI-QDA source's plain text goes through the same decoding (line ends kept for the offsets)."""
    text, encoding = CASES[case]
    data = text.replace("\n", "\r\n").encode(encoding)
    decoded, _codec = decode(data, "source")
    assert decoded == text.replace("\n", "\r\n")
