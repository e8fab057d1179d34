"""One registry of import formats and one of export kinds: the CLI, the workspace and the README follow them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.tui.screens import export_dialog, import_dialog
from exporters.dispatch import check_request
from exporters.kinds import DEFAULT_KIND, EXPORT_KINDS, KINDS_BY_SUFFIX, WORKSPACE_KINDS
from importers import parse_file
from importers.batch import collect_files
from importers.formats import IMPORT_FORMATS, REFI, TRANSCRIPT, format_of
from models.errors import ImportRefused, WaveqdaError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))

from registry_tables import with_tables  # noqa: E402


def test_the_readme_tables_are_the_registries() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert with_tables(text) == text, "README.md is out of step: run .venv/bin/python docs/registry_tables.py"
    assert "| `.qdpx` | REFI-QDA project |" in text and "| `cards` | `.docx` |" in text


def test_every_export_kind_is_accepted_by_dispatch_and_defaults_follow_the_registry(tmp_path: Path) -> None:
    for entry in EXPORT_KINDS:
        assert check_request(tmp_path / f"out{entry.suffix}", entry.kind) == entry.kind
    for suffix, kind in DEFAULT_KIND.items():
        assert check_request(tmp_path / f"out{suffix}", None) == kind == KINDS_BY_SUFFIX[suffix][0]
    with pytest.raises(WaveqdaError, match=r"use one of \.docx, \.csv, \.xlsx, \.qdpx, \.qdc"):
        check_request(tmp_path / "out.pdf", None)


def test_the_export_dialog_offers_the_registry_s_workspace_kinds() -> None:
    assert export_dialog.KINDS == WORKSPACE_KINDS
    assert [k.key for k in WORKSPACE_KINDS] == [k.key for k in EXPORT_KINDS if k.workspace]
    assert len({k.key for k in EXPORT_KINDS}) == len(EXPORT_KINDS)


def test_import_formats_route_by_suffix(tmp_path: Path) -> None:
    assert {f.kind for f in IMPORT_FORMATS} == {TRANSCRIPT, REFI}
    for entry in IMPORT_FORMATS:
        assert format_of(Path(f"x{entry.suffix.upper()}")) is entry
        if entry.kind == TRANSCRIPT:
            assert callable(entry.load_reader())
    assert format_of(Path("notes.rtf")) is None
    (tmp_path / "a.txt").write_text("Sam: hello\n")
    (tmp_path / "b.qdpx").write_bytes(b"")
    (tmp_path / "c.rtf").write_text("{\\rtf1}")
    assert [p.name for p in collect_files([tmp_path])] == ["a.txt"]  # REFI-QDA files are named one at a time
    with pytest.raises(ImportRefused, match=r"c\.rtf: unsupported file type \.rtf; supported: \.docx, \.md"):
        parse_file(tmp_path / "c.rtf")


def test_the_import_dialog_lists_what_the_importer_reads() -> None:
    assert ", ".join(f.suffix for f in IMPORT_FORMATS) == import_dialog.SUFFIXES
    assert ".qdpx" in import_dialog.SUFFIXES
