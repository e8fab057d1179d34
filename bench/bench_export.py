"""Export benchmark (issue 5): Word themes reports of ~1,000 and ~10,000 quotes, CSV of 50,000 codings.

The project is ``bench.corpus.build_coded_project``'s standard fixture: 96 transcripts of ~10,000 words
(32 participants x 3 timepoints, ~1M words), 300 codes in 3 levels (360 code sections with their themes and
sub-themes), 50,000 codings by 3 coders. Each measured export is ``waveqda export ...`` run as a child
process, so start-up and imports count as they do for a user; wall time, CPU time (user + sys, much less
sensitive to other load on this shared 2-core machine) and the child's peak resident memory (``wait4``
rusage) are reported. Quote counts are set with ``--max-quotes`` (and ``--codes``) and counted beforehand
with the exporters' own selection, so the table states exactly how many quotes each report holds.

Budgets: themes report with 1,000 quotes <= 5 s; 10,000 quotes <= 30 s and <= 500 MB; CSV of 50,000
codings <= 5 s. Results go to stdout as Markdown and to ``bench/out/bench_export.{json,md}``.

Run: ``.venv/bin/python -m bench.bench_export`` (about 3 minutes; ``--help`` for options).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.bench_import import Run, run_measured, wait_quiet, waveqda_command
from bench.corpus import OUT_DIR, build_coded_project


@dataclass
class Case:
    name: str
    out: str
    kind: str
    codes: list[str] | None = None
    max_quotes: int | None = None
    budget_s: float | None = None
    budget_mb: float | None = None
    rows: int = 0  # quotes or table rows written

    @property
    def args(self) -> list[str]:
        args = ["--kind", self.kind]
        if self.codes:
            args += ["--codes", *self.codes]
        if self.max_quotes:
            args += ["--max-quotes", str(self.max_quotes)]
        return args


def count_quotes(project_path: Path, case: Case) -> int:
    """How many quotes a report with the case's filters holds (the exporters' own selection)."""
    from exporters.data import load_export_data
    from exporters.filters import ExportFilters
    from models.store import open_project

    project = open_project(project_path)
    try:
        with project.read() as session:
            filters = ExportFilters(codes=case.codes, max_quotes=case.max_quotes)
            return len(load_export_data(session, filters, with_matrix=False).quotes)
    finally:
        project.close()


def cases(project_path: Path) -> list[Case]:
    three_themes = ["Early optimism", "Feeling valued", "Empowerment"]
    found = [
        Case("themes report, 3 themes (108 code sections), ~1,000 quotes", "themes-1k.docx", "themes",
             three_themes, 4, budget_s=5.0),
        Case("themes report, whole codebook (360 code sections), ~900 quotes", "themes-900.docx", "themes",
             max_quotes=1),
        Case("themes report, whole codebook, ~10,000 quotes", "themes-10k.docx", "themes", max_quotes=12,
             budget_s=30.0, budget_mb=500.0),
        Case("CSV of 50,000 codings", "codings.csv", "codings", budget_s=5.0),
        Case("XLSX of 50,000 codings", "codings.xlsx", "codings"),
        Case("framework matrix, whole codebook, ~10,000 quotes", "framework.docx", "framework", max_quotes=12),
        Case("code x timepoint matrix (CSV)", "matrix.csv", "matrix"),
    ]  # fmt: skip
    for case in found:
        if case.out.endswith(".docx"):
            case.rows = count_quotes(project_path, case)
        else:
            case.rows = 50_000 if case.kind == "codings" else 360  # codings, or the matrix's code rows
    return found


def measure(case: Case, project: Path, work: Path, wait: float) -> Run:
    busy = wait_quiet(wait, 0.25)
    cmd = [*waveqda_command(), "export", str(project), str(work / case.out), *case.args]
    return run_measured(cmd, busy_before=busy)


def verdict(case: Case, run: Run) -> str:
    checks = []
    if case.budget_s is not None:
        checks.append(f"{'ok' if run.wall <= case.budget_s else 'OVER'} ≤ {case.budget_s:g} s")
    if case.budget_mb is not None:
        checks.append(f"{'ok' if run.max_rss_mb <= case.budget_mb else 'OVER'} ≤ {case.budget_mb:g} MB")
    return ", ".join(checks) or "(no budget)"


def markdown(results: list[tuple[Case, Run]]) -> str:
    lines = [
        "| export | quotes / rows | wall s | CPU s | peak MB | other load before | budget |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for case, run in results:
        lines.append(
            f"| {case.name} | {case.rows:,} | {run.wall:.2f} | {run.cpu:.2f} | {run.max_rss_mb:.0f} | "
            f"{run.busy_before:.0%} | {verdict(case, run)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_export", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60.0,
        help="seconds to wait for idle CPUs before each run (other engineers share the machine)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the fastest is reported")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = build_coded_project(work / "bench.wqda", 32, 3, 10_000, codes=300, codings=50_000, coders=3)
        results = []
        for case in cases(project):
            runs = [measure(case, project, work, args.wait_quiet) for _ in range(args.repeat)]
            results.append((case, min(runs, key=lambda r: r.wall)))
            print(f"{case.name}: {results[-1][1].wall:.2f} s", flush=True)
    table = markdown(results)
    print(table)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "bench_export.md").write_text(table + "\n", encoding="utf-8")
    payload = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "results": [{**asdict(case), **asdict(run), "cpu": run.cpu} for case, run in results],
    }
    (OUT_DIR / "bench_export.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
