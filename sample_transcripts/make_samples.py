"""Build the fictional sample study from ``source/*.script`` into the layouts transcribers deliver.

Run from the repository root: ``.venv/bin/python sample_transcripts/make_samples.py``. The outputs are
committed; this script documents how they were made and rebuilds them after the scripts change.

Layouts (one per participant, so every importer route is exercised on realistic text):
- P01: .docx, speaker label as a bold run ("**Dana:** text")
- P02: .docx, plain "Name: text" prefix
- P03: .docx, label alone on its own line with a timestamp ("Interviewer [00:03:15]")
- P04: .docx, transcription-service table (Speaker | Time | Text)
- P05: T1 .txt in I:/R: style, T2 .md with **Name:** labels, T3 .txt with UTF-8 BOM and CRLF line ends
- P06: T1 .vtt (WebVTT voice tags), T2 .srt (Name: prefixes), T3 .docx bold-run labels
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source"
WORDS_PER_SECOND = 2.5

PARTICIPANTS = [
    # study id, first name used in the scripts (not exported), site, team, age band, gender, previous NHS role
    ("P01", "Dana", "North", "Hartwell CMHT", "35-44", "Woman", "None (retail)"),
    ("P02", "Marcus", "South", "Brookfield Recovery College", "45-54", "Man", "Healthcare assistant"),
    ("P03", "Priya", "North", "Early Intervention in Psychosis", "25-34", "Woman", "None (student)"),
    ("P04", "Tom", "South", "Brookfield Home Treatment", "55-64", "Man", "Porter"),
    ("P05", "Aisha", "North", "Hartwell Crisis Cafe", "25-34", "Woman", "None (charity volunteer)"),
    ("P06", "Kerry", "South", "Cedar Ward (inpatient)", "35-44", "Non-binary", "Administrator"),
]

LAYOUT = {
    ("P01", "T1"): "docx-bold",
    ("P01", "T2"): "docx-bold",
    ("P01", "T3"): "docx-bold",
    ("P02", "T1"): "docx-prefix",
    ("P02", "T2"): "docx-prefix",
    ("P02", "T3"): "docx-prefix",
    ("P03", "T1"): "docx-label-line",
    ("P03", "T2"): "docx-label-line",
    ("P03", "T3"): "docx-label-line",
    ("P04", "T1"): "docx-table",
    ("P04", "T2"): "docx-table",
    ("P04", "T3"): "docx-table",
    ("P05", "T1"): "txt-ir",
    ("P05", "T2"): "md",
    ("P05", "T3"): "txt-crlf-bom",
    ("P06", "T1"): "vtt",
    ("P06", "T2"): "srt",
    ("P06", "T3"): "docx-bold",
}
SUFFIX = {
    "docx-bold": ".docx",
    "docx-prefix": ".docx",
    "docx-label-line": ".docx",
    "docx-table": ".docx",
    "txt-ir": ".txt",
    "md": ".md",
    "txt-crlf-bom": ".txt",
    "vtt": ".vtt",
    "srt": ".srt",
}


@dataclass
class Block:
    speaker: str
    text: str
    seconds: float  # when the block starts, from a steady speaking rate


@dataclass
class Script:
    title: str
    fictional: str
    blocks: list[Block]


def read_script(path: Path) -> Script:
    lines = path.read_text(encoding="utf-8").split("\n")
    title = lines[0].removeprefix("title:").strip()
    fictional = lines[1].removeprefix("fictional:").strip()
    body = "\n".join(lines[2:]).strip()
    blocks: list[Block] = []
    clock = 5.0
    speaker = ""
    for chunk in body.split("\n\n"):
        chunk = " ".join(chunk.split("\n")).strip()
        if not chunk:
            continue
        label, sep, rest = chunk.partition(": ")
        if sep and " " not in label and label[:1].isupper():
            speaker, text = label, rest.strip()
        else:
            text = chunk
        blocks.append(Block(speaker, text, clock))
        clock += len(text.split()) / WORDS_PER_SECOND + 1.5
    return Script(title, fictional, blocks)


def stamp(seconds: float, millis: bool = False, comma: bool = False) -> str:
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    out = f"{h:02d}:{m:02d}:{s:02d}"
    if millis:
        out += ("," if comma else ".") + f"{int((seconds % 1) * 1000):03d}"
    return out


def continues(blocks: list[Block], i: int) -> bool:
    return i > 0 and blocks[i - 1].speaker == blocks[i].speaker


def write_docx(script: Script, layout: str, out: Path) -> None:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.add_heading(script.title, level=1)
    note = doc.add_paragraph()
    note.add_run(script.fictional).italic = True
    if layout == "docx-table":
        table = doc.add_table(rows=1, cols=3)
        table.style = "Table Grid"
        for cell, name in zip(table.rows[0].cells, ("Speaker", "Time", "Text"), strict=True):
            cell.text = name
        for block in script.blocks:
            row = table.add_row().cells
            row[0].text, row[1].text, row[2].text = block.speaker, stamp(block.seconds), block.text
    else:
        for i, block in enumerate(script.blocks):
            if continues(script.blocks, i):
                doc.add_paragraph(block.text)
            elif layout == "docx-bold":
                para = doc.add_paragraph()
                para.add_run(f"{block.speaker}:").bold = True
                para.add_run(f" {block.text}")
            elif layout == "docx-prefix":
                doc.add_paragraph(f"{block.speaker}: {block.text}")
            else:  # docx-label-line
                doc.add_paragraph(f"{block.speaker} [{stamp(block.seconds)}]")
                doc.add_paragraph(block.text)
    for para in doc.paragraphs:
        for run in para.runs:
            run.font.size = Pt(11)
    doc.core_properties.author = "waveqda sample data (fictional)"
    doc.save(out)


def write_text(script: Script, layout: str, out: Path) -> None:
    lines: list[str] = []
    if layout == "md":
        lines += [f"# {script.title}", "", f"*{script.fictional}*", ""]
    else:
        lines += [script.fictional, ""]
    for i, block in enumerate(script.blocks):
        if continues(script.blocks, i):
            lines += [block.text, ""]
        elif layout == "txt-ir":
            label = "I" if block.speaker == "Interviewer" else "R"
            lines += [f"{label}: {block.text}", ""]
        elif layout == "md":
            lines += [f"**{block.speaker}:** {block.text}", ""]
        else:
            lines += [f"{block.speaker}: {block.text}", ""]
    text = "\n".join(lines)
    if layout == "txt-crlf-bom":
        out.write_bytes("\ufeff".encode() + text.replace("\n", "\r\n").encode("utf-8"))
    else:
        out.write_text(text, encoding="utf-8")


def cues(block: Block, size: int = 14) -> list[tuple[float, float, str]]:
    words = block.text.split()
    out = []
    t = block.seconds
    for i in range(0, len(words), size):
        chunk = words[i : i + size]
        duration = len(chunk) / WORDS_PER_SECOND
        out.append((t, t + duration, " ".join(chunk)))
        t += duration
    return out


def write_subtitles(script: Script, layout: str, out: Path) -> None:
    if layout == "vtt":
        lines = ["WEBVTT", "", f"NOTE {script.fictional}", ""]
        n = 0
        for block in script.blocks:
            for start, end, text in cues(block):
                n += 1
                lines += [f"{n}", f"{stamp(start, True)} --> {stamp(end, True)}", f"<v {block.speaker}>{text}</v>", ""]
    else:
        lines = []
        n = 0
        for block in script.blocks:
            for start, end, text in cues(block):
                n += 1
                timing = f"{stamp(start, True, True)} --> {stamp(end, True, True)}"
                lines += [str(n), timing, f"{block.speaker}: {text}", ""]
    out.write_text("\n".join(lines), encoding="utf-8")


def build() -> None:
    manifest_rows = []
    for (participant, timepoint), layout in sorted(LAYOUT.items()):
        source = SOURCE / f"{participant}_{timepoint}.script"
        if not source.exists():
            print(f"missing {source.name}, skipped")
            continue
        script = read_script(source)
        out = HERE / f"{participant}_{timepoint}{SUFFIX[layout]}"
        if layout.startswith("docx"):
            write_docx(script, layout, out)
        elif layout in ("vtt", "srt"):
            write_subtitles(script, layout, out)
        else:
            write_text(script, layout, out)
        manifest_rows.append((out.name, participant, timepoint))
        print(f"{out.name}: {layout}, {sum(len(b.text.split()) for b in script.blocks)} words")
    with (HERE / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "participant", "timepoint"])
        writer.writerows(manifest_rows)
    with (HERE / "participants.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["participant", "site", "team", "age_band", "gender", "previous_nhs_role"])
        writer.writerows((pid, *rest) for pid, _name, *rest in PARTICIPANTS)


if __name__ == "__main__":
    build()
