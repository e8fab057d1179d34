"""Benchmark of the case sheet (issue 15): the sheet of 1,000 participants opens in <= 300 ms.

The whole workspace in-process (``App.run_test``, as ``bench_tui`` does): from pressing F10 on Home to the
table holding every participant's row, wall and CPU time. Each run starts a fresh app on the same project; the
first run also imports the screen's module (and is reported apart), the rest are the median. The domain's
read alone (``models.case_sheet.case_sheet``) is measured too.

    flock /work/notes/bench.lock .venv/bin/python -m bench.bench_cases            # 1,000 x 12, 7 runs
    flock /work/notes/bench.lock .venv/bin/python -m bench.bench_cases --participants 200 --runs 3

Writes ``bench/out/bench_cases.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
BUDGET_MS = 300.0
SITES = ["North", "South", "East", "West", "Central"]
CONTRACTS = ["permanent", "fixed-term", "bank", "volunteer"]


def build(path: Path, participants: int) -> None:
    """``participants`` people with 12 attributes of every type (text, number, date, choice)."""
    from models.imports import store_attribute_table
    from models.store import create_project

    project = create_project(path, name="case sheet benchmark")
    table: dict[str, dict[str, str]] = {}
    for n in range(participants):
        table[f"P{n + 1:04d}"] = {
            "site": SITES[n % len(SITES)],
            "contract": CONTRACTS[n % len(CONTRACTS)],
            "age": str(21 + n % 50),
            "years_in_service": str(n % 17),
            "joined": f"20{15 + n % 10}-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "prior_service_use": ["yes", "no", "unsure"][n % 3],
            "gender": ["woman", "man", "non-binary", "prefer not to say"][n % 4],
            "team": f"Team {n % 40}",
            "hours": str(15 + n % 25),
            "supervisor": f"S{n % 60:02d}",
            "training_cohort": f"C{n % 8}",
            "notes": f"free text note number {n} about this participant",
        }
    store_attribute_table(project, table, "bench", "bench.csv")
    project.close()


async def open_sheet_once(path: Path) -> dict[str, float]:
    from app.tui.app import WaveqdaApp
    from models.store import open_project

    project = open_project(path)
    app = WaveqdaApp(project, coder="bench", config_dir=Path(tempfile.mkdtemp()), remember=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        app.poll_timer.pause()
        wall, cpu = time.perf_counter(), time.process_time()
        await pilot.press("f10")
        while True:
            screen = app.screen
            sheet = getattr(screen, "sheet", None)
            if sheet is not None and len(screen.query_one("#cases-table").rows) == len(sheet.rows):
                break
            await pilot.pause()
        found = {
            "wall_ms": (time.perf_counter() - wall) * 1000,
            "cpu_ms": (time.process_time() - cpu) * 1000,
            "rows": len(sheet.rows),
            "columns": len(sheet.attributes),
        }
    project.close()
    return found


def domain_read(path: Path, runs: int) -> float:
    from models.case_sheet import case_sheet
    from models.store import open_project

    project = open_project(path)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        with project.read() as session:
            case_sheet(session)
        samples.append((time.perf_counter() - start) * 1000)
    project.close()
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "cases.wqda"
        build(path, args.participants)
        runs = [asyncio.run(open_sheet_once(path)) for _ in range(args.runs)]
        read_ms = domain_read(path, args.runs)
    first, rest = runs[0], runs[1:] or runs
    result = {
        "participants": first["rows"],
        "attributes": first["columns"],
        "first_open_wall_ms": first["wall_ms"],
        "first_open_cpu_ms": first["cpu_ms"],
        "open_wall_ms_median": statistics.median(r["wall_ms"] for r in rest),
        "open_wall_ms_best": min(r["wall_ms"] for r in rest),
        "open_cpu_ms_median": statistics.median(r["cpu_ms"] for r in rest),
        "domain_read_ms_median": read_ms,
        "budget_ms": BUDGET_MS,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_cases.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"| case sheet, {result['participants']} participants x {result['attributes']} attributes | ms |")
    print("|---|---|")
    for key, value in result.items():
        if key.endswith("_ms") or key.endswith("_median") or key.endswith("_best"):
            print(f"| {key} | {value:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
