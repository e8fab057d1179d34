"""Several writers on one project file (issue 19), and the cost of one change on the workspace's path (issue 20).

On a copy of the benchmark project (96 transcripts, ~1M words, 50,000 codings):

* ``writers``: 1 and 4 processes, started together, each applying ``--per-writer`` codings one change at a
  time (``models.coding.apply_codes``: a real ``Project.change`` with ``BEGIN IMMEDIATE``, ``synchronous=FULL``
  and the WAL checkpoint after each small change). Reported: codings per second over all writers (wall
  time from the common start to the last commit) and CPU milliseconds per coding. Budget: 4 writers
  >= 200 codings/s in total; one writer >= 500 codings/s (the workspace's path, issue 20).
* ``poll``: what the workspace's idle check for other writers costs: ``Project.change_mark()`` called
  ``--polls`` times; at one poll per second its share of one core is (CPU per poll) / 1 s. Budget < 1%.

    .venv/bin/python -m bench.bench_writers
    .venv/bin/python -m bench.bench_writers --per-writer 200 --writers 1,2,4,8

Writes ``bench/out/bench_writers.{md,json}`` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_engine import (
    FULL,
    OUT,
    LoadMeter,
    add_quiet_option,
    apply_quiet_option,
    command_line,
    machine_info,
    machine_line,
    remove_project,
    sqlite_copy,
    uptime,
    wait_quiet,
)

SPAN = 30


def _transcripts(target: str | Path) -> list[tuple[int, int]]:
    """(transcript id, text length) of every transcript."""
    from sqlalchemy import text

    from models.store import open_project

    with open_project(target) as project, project.read() as session:
        rows = session.execute(text("SELECT id, length(text) FROM transcripts ORDER BY id")).all()
    return [(row[0], row[1]) for row in rows]


def writer(
    path: str, number: int, count: int, targets: list[tuple[int, int]], ready, start_event, warm: bool = True
) -> dict[str, float]:
    """One process: ``count`` codings, each its own change, on transcripts of its own (no waiting on rows).

    ``warm``: the coder's first coding is made before the clock starts, as a coder's workspace has done long
    before their 200th: it creates the coder, and it is this process's first use of SQLAlchemy's ORM, whose
    one-off set-up (mapper configuration, ~50 ms of CPU) would otherwise be charged to these ``count``."""
    from models import coding
    from models.store import open_project

    project = open_project(path)
    mine = targets[number::8] or targets
    if warm:
        transcript_id, length = mine[-1]
        coding.apply_codes(project, f"bench{number}", transcript_id, ["1"], f"bench{number}", length - 5, length)
    ready.put(number)
    start_event.wait()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(count):
        transcript_id, length = mine[i % len(mine)]
        start = (i // len(mine)) * (SPAN * 3) + 10 + number
        start %= max(1, length - SPAN - 1)
        coding.apply_codes(project, f"bench{number}", transcript_id, ["1"], f"bench{number}", start, start + SPAN)
    result = {"cpu": time.process_time() - cpu0, "wall": time.perf_counter() - wall0, "end": time.time()}
    project.close()
    return result


def run_writers(path: str | Path, writers: int, per_writer: int, warm: bool = True) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    targets = _transcripts(path)
    with context.Manager() as manager:
        start, ready = manager.Event(), manager.Queue()
        with context.Pool(writers) as pool:
            jobs = [(str(path), n, per_writer, targets, ready, start, warm) for n in range(writers)]
            pending = pool.starmap_async(writer, jobs)
            for _ in range(writers):  # every worker opened the project (and made its first coding) and waits
                ready.get(timeout=600)
            wait_quiet()
            with LoadMeter() as load:
                begun = time.time()
                start.set()
                results = pending.get(timeout=3600)
    wall = max(r["end"] for r in results) - begun
    total = writers * per_writer
    return {
        "writers": writers,
        "codings": total,
        "wall_s": wall,
        "codings_per_s": total / wall,
        "cpu_ms_per_coding": 1000 * sum(r["cpu"] for r in results) / total,
        "warm": warm,
        "others_busy": load.others,
        "loadavg_1m": load.loadavg,
    }


def run_poll(path: str | Path, polls: int) -> dict[str, Any]:
    from models.store import open_project

    project = open_project(path)
    project.change_mark()
    samples = []
    for _ in range(polls):
        cpu0 = time.process_time()
        project.change_mark()
        samples.append(time.process_time() - cpu0)
    project.close()
    per_poll = statistics.median(samples)
    return {"polls": polls, "cpu_ms_per_poll": per_poll * 1000, "share_of_a_core_at_1_hz": per_poll / 1.0}


def markdown(results: dict[str, Any], command: str) -> str:
    lines = [
        "| writers | codings | wall | codings/s (all writers) | CPU per coding | others busy | budget | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    postgresql = results.get("engine") == "postgresql"
    for row in results["writers"]:
        budget = 500 if postgresql else (200 if row["writers"] > 1 else 500)
        verdict = "pass" if row["codings_per_s"] >= budget else "**FAIL**"
        lines.append(
            f"| {row['writers']} | {row['codings']} | {row['wall_s']:.2f} s | {row['codings_per_s']:.0f} | "
            f"{row['cpu_ms_per_coding']:.2f} ms | {row['others_busy']:.0%} | >= {budget}/s | {verdict} |"
        )
    poll = results["poll"]
    share = poll["share_of_a_core_at_1_hz"]
    lines += [
        "",
        f"Idle poll (`Project.change_mark()`): {poll['cpu_ms_per_poll']:.3f} ms CPU per poll, "
        f"{share:.3%} of one core at one poll per second (budget < 1%: {'pass' if share < 0.01 else '**FAIL**'}).",
        "",
        "Each writer's first coding (its coder's creation, its process's first use of the ORM) is made before the "
        "clock starts"
        if results["writers"] and results["writers"][0].get("warm")
        else "Every coding is counted (`--cold`)",
        f"Machine: {machine_line(results['machine'])}; {results['uptime']}",
        f"Command: `{command}`",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", default="1,4", help="comma-separated writer counts (default 1,4)")
    parser.add_argument("--per-writer", type=int, default=100, help="codings each writer makes (default 100)")
    parser.add_argument("--polls", type=int, default=500)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="count each writer's first coding (its coder's creation, the ORM's set-up) in its codings/s",
    )
    parser.add_argument(
        "--engine",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="postgresql: the project copied into a throwaway local cluster (issue 16: 8 coders >= 500/s)",
    )
    add_quiet_option(parser, default=30.0)
    args = parser.parse_args(argv)
    apply_quiet_option(args)
    from bench.corpus import cached_coded_project

    source = cached_coded_project(*FULL[:3], codings=FULL[3])
    results: dict[str, Any] = {"machine": machine_info(), "writers": [], "engine": args.engine}
    if args.engine == "postgresql":
        results.update(_on_postgresql(source, args))
    else:
        results.update(_on_sqlite(source, args))
    results["uptime"] = uptime()
    command = command_line("bench.bench_writers", argv)
    text = markdown(results, command)
    OUT.mkdir(exist_ok=True)
    name = "bench_writers" if args.engine == "sqlite" else "bench_writers_pg"
    (OUT / f"{name}.json").write_text(json.dumps(results, indent=2))
    (OUT / f"{name}.md").write_text(text + "\n")
    print(text)
    return 0


def _on_postgresql(source: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Each writer count on its own database of a throwaway cluster (tests/pg_cluster.py), filled by
    ``waveqda copy``'s function from the SQLite benchmark project."""
    from models.project_copy import copy_project
    from tests import pg_cluster

    cluster = pg_cluster.start(durable=True)
    found: dict[str, Any] = {"writers": []}
    try:
        for count in (int(v) for v in args.writers.split(",")):
            url = cluster.create_database(f"writers{count}")
            copy_project(source, url)
            found["writers"].append(run_writers(url, count, args.per_writer, warm=not args.cold))
            cluster.drop_database(f"writers{count}")
        url = cluster.create_database("poll")
        copy_project(source, url)
        found["poll"] = run_poll(url, args.polls)
    finally:
        cluster.stop()
    return found


def _on_sqlite(source: Path, args: argparse.Namespace) -> dict[str, Any]:
    found: dict[str, Any] = {"writers": []}
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        for count in (int(v) for v in args.writers.split(",")):
            path = sqlite_copy(source, Path(tmp) / f"writers-{count}.wqda")
            found["writers"].append(run_writers(path, count, args.per_writer, warm=not args.cold))
            remove_project(path)
        path = sqlite_copy(source, Path(tmp) / "poll.wqda")
        found["poll"] = run_poll(path, args.polls)
    return found


if __name__ == "__main__":
    sys.exit(main())
