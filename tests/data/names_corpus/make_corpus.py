"""Rebuild the .docx transcripts of the pseudonymisation corpus from ``source/*.txt``.

    .venv/bin/python tests/data/names_corpus/make_corpus.py

Each paragraph ``Name: speech`` becomes a Word paragraph whose label is a bold run, as transcription services
deliver them. The .txt transcripts (P01-P03) are used as they are. ``planted.json`` lists every identifier
planted in the corpus (with each form it is written in) and the capitalised words that are not names.
"""

from __future__ import annotations

from pathlib import Path

import docx

HERE = Path(__file__).resolve().parent


def build(source: Path, target: Path) -> None:
    document = docx.Document()
    document.core_properties.author = "waveqda tests"
    for block in source.read_text(encoding="utf-8").split("\n\n"):
        label, _, speech = block.strip().partition(": ")
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{label}:").bold = True
        paragraph.add_run(f" {speech}")
    document.save(str(target))


if __name__ == "__main__":
    for path in sorted((HERE / "source").glob("*.txt")):
        build(path, HERE / f"{path.stem}.docx")
