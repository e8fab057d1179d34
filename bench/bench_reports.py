"""Report benchmark (issues 12 and 20): themes report, codebook .docx and codings XLSX on the benchmark project.

The project is ``bench.corpus``'s standard fixture (96 transcripts of ~10,000 words, 300 codes in 3 levels,
i.e. 360 code sections with themes and sub-themes, 50,000 codings by 3 coders). Each case is measured

- as a process: ``waveqda export ...`` as a child, timed from outside (wall, CPU = user + sys, peak RSS from
  ``wait4``), so interpreter start-up and imports count as they do for a user;
- in-process: a child that first imports what the CLI imports for ``export`` (``app.cli`` and the export
  command), then times ``exporters.dispatch.run_export`` twice with ``time.process_time``: the first call
  includes the lazy imports (python-docx, Pillow), the second is warm;
- start-up alone: ``waveqda --help`` and ``python -c "import app.cli"`` as processes.

The process figure minus the first in-process call is what start-up and argument parsing cost.
Budgets: themes report with ~1,000 quotes <= 1.5 s (issue 12; as a process, issue 20), codebook .docx
<= 0.3 s (issue 12, in-process) and <= 0.5 s as a process (issue 20), codings XLSX of 50,000 rows <= 3 s.

Run: ``flock /work/notes/bench.lock .venv/bin/python -m bench.bench_reports`` (``--help`` for options).
Results go to stdout as Markdown and to ``bench/out/bench_reports.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.bench_import import Run, run_measured, wait_quiet, waveqda_command
from bench.corpus import OUT_DIR, cached_coded_project

THREE_THEMES = ["Early optimism", "Feeling valued", "Empowerment"]


@dataclass
class Case:
    name: str
    out: str
    kind: str
    codes: list[str] | None = None
    max_quotes: int | None = None
    budget_s: float | None = None
    rows: int = 0
    process: Run | None = None
    in_process: dict[str, float] = field(default_factory=dict)

    @property
    def args(self) -> list[str]:
        args = ["--kind", self.kind]
        if self.codes:
            args += ["--codes", *self.codes]
        if self.max_quotes:
            args += ["--max-quotes", str(self.max_quotes)]
        return args


def cases() -> list[Case]:
    return [
        Case("themes report, 3 themes (108 code sections), ~1,000 quotes", "themes.docx", "themes", THREE_THEMES, 4,
             budget_s=1.5),
        Case("codebook .docx, 360 codes", "codebook.docx", "codebook", budget_s=0.3),
        Case("codings XLSX, 50,000 rows", "codings.xlsx", "codings", budget_s=3.0),
        Case("codings CSV, 50,000 rows (for comparison)", "codings.csv", "codings"),
    ]  # fmt: skip


IN_PROCESS = r"""
import json, resource, sys, time
from pathlib import Path
import app.cli, app.commands.export  # what the CLI has imported before the export command runs
from exporters.dispatch import run_export
from exporters.filters import ExportFilters
from models.store import open_project

project, out, kind, codes, max_quotes = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
filters = ExportFilters(codes=codes.split("|") if codes else None, max_quotes=int(max_quotes) if max_quotes else None)
times = []
for _ in range(2):
    proj = open_project(project)
    started = time.process_time()
    run_export(proj, out, kind, filters)
    times.append(time.process_time() - started)
    proj.close()
print(json.dumps({"first": times[0], "warm": times[1],
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


COUNT = r"""
import sys
from exporters.data import load_export_data
from exporters.filters import ExportFilters
from models.store import open_project

project = open_project(sys.argv[1])
with project.read() as session:
    filters = ExportFilters(codes=sys.argv[2].split("|") if sys.argv[2] else None, max_quotes=int(sys.argv[3]))
    print(len(load_export_data(session, filters).quotes))
"""


def count_rows(project: Path, case: Case) -> int:
    """How many quotes a themes report holds (counted in a child, so this process stays small: a child
    starts with its parent's peak memory, which would inflate every measured peak)."""
    if case.kind != "themes":
        return 360 if case.kind == "codebook" else 50_000
    args = [str(project), "|".join(case.codes or []), str(case.max_quotes or 0)]
    done = subprocess.run([sys.executable, "-c", COUNT, *args], check=True, capture_output=True, text=True)
    return int(done.stdout)


def measure(case: Case, project: Path, work: Path, wait: float, repeat: int) -> None:
    runs = []
    for _ in range(repeat):
        busy = wait_quiet(wait, 0.25)
        runs.append(run_measured([*waveqda_command(), "export", str(project), str(work / case.out), *case.args],
                                 busy_before=busy))  # fmt: skip
    case.process = min(runs, key=lambda r: r.cpu)
    found = []
    for _ in range(repeat):
        wait_quiet(wait, 0.25)
        args = [str(project), str(work / case.out), case.kind, "|".join(case.codes or []), str(case.max_quotes or "")]
        done = subprocess.run([sys.executable, "-c", IN_PROCESS, *args], check=True, capture_output=True, text=True)
        found.append(json.loads(done.stdout))
    case.in_process = min(found, key=lambda r: r["first"])


def startup(wait: float, repeat: int) -> dict[str, Run]:
    out = {}
    for name, cmd in (("waveqda --help", [*waveqda_command(), "--help"]),
                      ("python -c 'import app.cli'", [sys.executable, "-c", "import app.cli"])):  # fmt: skip
        runs = []
        for _ in range(repeat):
            runs.append(run_measured(cmd, busy_before=wait_quiet(wait, 0.25)))
        out[name] = min(runs, key=lambda r: r.cpu)
    return out


WRITERS = r"""
import json, sys, time
from pathlib import Path
from exporters.data import load_export_data, participant_attributes, transcript_sources
from exporters.filters import ExportFilters
from exporters.tabular import coding_headers, coding_rows
from models.store import open_project

project = open_project(sys.argv[1])
with project.read() as session:
    data = load_export_data(session, ExportFilters(), with_matrix=False, one_per_coding=True)
    names, values = participant_attributes(session, typed=True)
    sources = transcript_sources(session, {s.transcript_id for s in data.codings})
headers = coding_headers(names)
rows = list(coding_rows(data, names, values, sources))
out = {}

def openpyxl_write_only(path):
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Codings")
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    book.save(path)

def xlsxwriter_constant_memory(path):
    import xlsxwriter
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                      "strings_to_urls": False, "strings_to_numbers": False})
    sheet = book.add_worksheet("Codings")
    sheet.write_row(0, 0, headers)
    for i, row in enumerate(rows, 1):
        sheet.write_row(i, 0, row)
    book.close()

def waveqda_stream(path):
    from exporters.xlsx_stream import Sheet, write_workbook
    write_workbook(Path(path), [Sheet("Codings", headers, rows)])

for name, write in (("openpyxl write-only", openpyxl_write_only),
                    ("XlsxWriter constant_memory", xlsxwriter_constant_memory),
                    ("exporters.xlsx_stream", waveqda_stream)):
    try:
        started = time.process_time()
        write(sys.argv[2])
        out[name] = time.process_time() - started
    except ImportError:
        out[name] = None
print(json.dumps({"rows": len(rows), "cells": len(rows) * len(headers), "cpu": out}))
"""


def writers(project: Path, work: Path, wait: float) -> dict:
    """The same 50,000 codings rows written by each candidate XLSX writer (rows built beforehand)."""
    wait_quiet(wait, 0.25)
    done = subprocess.run([sys.executable, "-c", WRITERS, str(project), str(work / "w.xlsx")], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout)


def markdown(found: list[Case], starts: dict[str, Run]) -> str:
    lines = [
        "| work | rows | process wall s | process CPU s | process peak MB | in-process CPU s (first / warm) "
        "| start-up share of process CPU | budget |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for case in found:
        run, inner = case.process, case.in_process
        assert run is not None
        start_share = max(0.0, run.cpu - inner["first"])
        budget = f"≤ {case.budget_s:g} s" if case.budget_s else ""
        lines.append(
            f"| {case.name} | {case.rows:,} | {run.wall:.2f} | {run.cpu:.2f} | {run.max_rss_mb:.0f} | "
            f"{inner['first']:.2f} / {inner['warm']:.2f} | {start_share:.2f} | {budget} |"
        )
    for name, run in starts.items():
        lines.append(f"| `{name}` | | {run.wall:.2f} | {run.cpu:.2f} | {run.max_rss_mb:.0f} | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--wait-quiet", type=float, default=30.0, help="seconds to wait for idle CPUs per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the lowest CPU time is reported")
    parser.add_argument("--only", nargs="*", help="case names containing any of these words")
    parser.add_argument("--writers", action="store_true", help="also time XLSX writers on the same rows")
    args = parser.parse_args(argv)
    project = cached_coded_project(32, 3, 10_000)
    chosen = [c for c in cases() if not args.only or any(w in c.name for w in args.only)]
    with tempfile.TemporaryDirectory() as tmp:
        for case in chosen:
            case.rows = count_rows(project, case)
            measure(case, project, Path(tmp), args.wait_quiet, args.repeat)
            print(f"{case.name}: process {case.process.cpu:.2f} s CPU, in-process {case.in_process}", flush=True)
        compared = writers(project, Path(tmp), args.wait_quiet) if args.writers else None
    starts = startup(args.wait_quiet, args.repeat)
    table = markdown(chosen, starts)
    if compared:
        table += "\n\nXLSX writers, the same {rows:,} rows ({cells:,} cells), CPU s: ".format(**compared) + ", ".join(
            f"{name} {'not installed' if cpu is None else f'{cpu:.2f}'}" for name, cpu in compared["cpu"].items()
        )
    print(table)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "bench_reports.md").write_text(table + "\n", encoding="utf-8")
    payload = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cases": [
            {**{k: v for k, v in asdict(c).items() if k != "process"}, "process": asdict(c.process)} for c in chosen
        ],  # fmt: skip
        "startup": {name: asdict(run) for name, run in starts.items()},
    }
    (OUT_DIR / "bench_reports.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
