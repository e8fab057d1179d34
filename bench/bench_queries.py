"""Query benchmark (issue 3): retrieval of a theme and the code x timepoint matrix, warm and first call.

On the standard coded project (``bench.corpus.build_coded_project``: 96 transcripts of ~10,000 words, 32
participants x 3 timepoints, ~1M words; 300 codes in 3 levels; 50,000 codings by 3 coders) it times, in
this process after one untimed warm-up call:

* ``models.queries.retrieve(session, <theme>, with_descendants=True)`` with sentence context for the biggest
  and the median top-level theme, and with turn context for the biggest: budget 100 ms;
* ``models.queries.code_timepoint_matrix(session)`` (every code, rolled up): budget 200 ms;
* for the exports (no budget): every coding as full segments (``retrieve``, turn context) and as
  ``coded_spans`` (what counts and the choice of quotes read);

and, in fresh child processes (``--cold-repeat``), the first retrieval and the first matrix of a process:
the project is opened first and imports are not counted, but the per-process caches (word ranks, parsed
turns and sentences) are empty, as for every ``waveqda`` CLI command.

The machine is shared (2 cores): CPU time (``time.process_time``) is reported next to wall time, medians and
best runs, with the share of the machine other processes used meanwhile; the verdict is on CPU time (see
``bench.bench_engine``, whose measuring helpers this script uses).

    .venv/bin/python -m bench.bench_queries                          # ~1 minute, more if the CPUs are busy
    .venv/bin/python -m bench.bench_queries --repeat 15 --cold-repeat 7

Writes ``bench/out/bench_queries.{md,json}`` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.bench_engine import (
    OUT,
    REPO,
    Row,
    Sample,
    add_quiet_option,
    apply_quiet_option,
    command_line,
    machine_info,
    machine_line,
    measure,
    metered,
    remove_project,
    rows_table,
    timed,
    uptime,
)

PROJECT = {"participants": 32, "timepoints": 3, "words": 10_000, "codes": 300, "codings": 50_000, "coders": 3}
RETRIEVE_MS = 100.0
MATRIX_MS = 200.0


def project_facts(session: Any) -> dict[str, Any]:
    """Sizes, and the top-level themes by number of codings (with descendants), biggest first."""
    from sqlalchemy import func, select

    from models.codes import CodeTree
    from models.schema import Coding, Sentence, Transcript, Turn

    tree = CodeTree.load(session)
    per_code = dict(session.execute(select(Coding.code_id, func.count()).group_by(Coding.code_id)).tuples().all())
    themes = sorted(
        ((sum(per_code.get(cid, 0) for cid in (root, *tree.descendants(root))), tree.path(root))
         for root in tree.children.get(None, [])),
        reverse=True,
    )  # fmt: skip
    count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
    return {
        "transcripts": count(Transcript),
        "words": session.scalar(select(func.sum(Transcript.word_count))),
        "turns": count(Turn),
        "sentences": count(Sentence),
        "codings": count(Coding),
        "codes": len(tree.codes),
        "themes": themes,
    }


def warm_rows(path: Path, repeat: int, facts: dict[str, Any]) -> list[Row]:
    from models import queries
    from models.store import open_project

    big_n, big = facts["themes"][0]
    mid_n, mid = facts["themes"][len(facts["themes"]) // 2]
    rows: list[Row] = []
    project = open_project(path)
    try:
        with project.read() as session:
            for key, label, theme, n, context in (
                ("retrieve_big", "retrieve the biggest theme + descendants, sentence context", big, big_n, "sentence"),
                ("retrieve_mid", "retrieve the median theme + descendants, sentence context", mid, mid_n, "sentence"),
                ("retrieve_big_turn", "retrieve the biggest theme + descendants, turn context", big, big_n, "turn"),
            ):
                row = Row(key, label, RETRIEVE_MS)
                found = measure(row, lambda t=theme, c=context: queries.retrieve(session, t, True, context=c), repeat)
                assert len(found) == n, (len(found), n)
                row.detail = f"{n:,} segments ({theme!r})"
                rows.append(row)
            row = Row("matrix", "code × timepoint matrix (all codes, rolled up): repeat call", MATRIX_MS)
            matrix = measure(row, lambda: queries.code_timepoint_matrix(session), repeat)
            row.detail = (
                f"{len(matrix.rows)} rows × {len(matrix.timepoints)} timepoints, "
                f"{matrix.total.segments:,} segments, {matrix.total.words:,} words coded"
            )
            rows.append(row)
            row = Row("retrieve_all", "every coding as segments (`retrieve`, no code, turn context)", None)
            found = measure(row, lambda: queries.retrieve(session, None, context="turn"), max(3, repeat // 3))
            row.detail = f"{len(found):,} segments: what a report without `--max-quotes` builds"
            rows.append(row)
            row = Row("spans_all", "every coding as `coded_spans` (no text or context)", None)
            found = measure(row, lambda: queries.coded_spans(session), max(3, repeat // 3))
            row.detail = f"{len(found):,} spans: what a report's counts and choice of quotes read"
            rows.append(row)
    finally:
        project.close()
    return rows


COLD = {  # child op -> (row key, label, budget)
    "retrieve_big": ("retrieve_big_cold", "retrieve the biggest theme, sentence context: first call in a process",
                     RETRIEVE_MS),
    "matrix": ("matrix_cold", "code × timepoint matrix: first call in a process", MATRIX_MS),
}  # fmt: skip


def cold_child(path: Path, op: str, theme: str) -> dict[str, float]:
    """Child mode: open the project (imports and opening not timed), then time one call of ``op``."""
    from models import queries
    from models.store import open_project

    project = open_project(path)
    try:
        with project.read() as session:
            call = {
                "retrieve_big": lambda: queries.retrieve(session, theme, True),
                "matrix": lambda: queries.code_timepoint_matrix(session),
            }[op]
            sample, _ = timed(call)
    finally:
        project.close()
    return asdict(sample)


def cold_rows(path: Path, repeat: int, facts: dict[str, Any]) -> list[Row]:
    rows = []
    theme = facts["themes"][0][1]
    for op, (key, label, budget) in COLD.items():
        row = Row(key, label, budget)
        with metered(row):
            for _ in range(repeat):
                out = subprocess.run(
                    [sys.executable, "-m", "bench.bench_queries", "--cold-child", op, "--project", str(path),
                     "--theme", theme],
                    cwd=REPO, capture_output=True, text=True, check=True,
                )  # fmt: skip
                row.samples.append(Sample(**json.loads(out.stdout.strip().splitlines()[-1])))
        row.detail = "a fresh process opens the project, then times one call (start-up and imports not counted)"
        rows.append(row)
    return rows


def markdown(results: dict[str, Any], command: str) -> str:
    f = results["facts"]
    themes = ", ".join(f"{name} {n:,}" for n, name in f["themes"])
    return "\n".join([
        machine_line(results["machine"]),
        "",
        f"Command: `{command}`",
        "",
        f"Load: `{results['uptime_before']}` before, `{results['uptime_after']}` after. \"others' load\" is the "
        "share of the machine's 2 cores that other processes used while a row ran.",
        "",
        f"Project: {f['transcripts']} transcripts, {f['words']:,} words, {f['turns']:,} turns, "
        f"{f['sentences']:,} sentences; {f['codings']:,} codings over {f['codes']} codes by 3 coders "
        f"(`bench.corpus.build_coded_project`). Codings per theme with its descendants: {themes}. "
        "Warm rows: medians (and best runs) after one untimed call. Verdict on CPU time: pass when the median "
        "is within budget, borderline when only the best run is, FAIL when no run is.",
        "",
        *rows_table(results["rows"]),
    ])  # fmt: skip


def postgresql_rows(path: Path, repeat: int, facts: dict[str, Any], sqlite_rows: list[Row]) -> list[Row]:
    """The warm rows again on the same project copied into PostgreSQL; each budget is twice SQLite's wall."""
    from models.project_copy import copy_project
    from tests import pg_cluster

    cluster = pg_cluster.start(durable=True)
    try:
        url = cluster.create_database("queries")
        copy_project(path, url)
        found = warm_rows(url, repeat, facts)  # type: ignore[arg-type]
    finally:
        cluster.stop()
    by_key = {row.key: row for row in sqlite_rows}
    for row in found:
        row.budget_ms = 2 * by_key[row.key].wall if row.key in by_key else None
        row.key, row.label = f"{row.key}_pg", f"{row.label} — on PostgreSQL (budget: 2x SQLite's wall)"
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_queries", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per warm row (default 9)")
    parser.add_argument("--cold-repeat", type=int, default=5, help="fresh processes per first-call row (0: none)")
    parser.add_argument(
        "--postgresql",
        action="store_true",
        help="also run the warm rows on a copy in a throwaway durable PostgreSQL cluster (issue 16: within 2x of "
        "SQLite's wall time; the server's CPU is not in the client's CPU column)",
    )
    add_quiet_option(parser, default=30.0)
    parser.add_argument("--cold-child", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--theme", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold_child:
        print(json.dumps(cold_child(args.project, args.cold_child, args.theme)))
        return 0
    apply_quiet_option(args)
    from bench.corpus import build_coded_project
    from models.store import open_project

    command = command_line("bench.bench_queries", argv)
    results: dict[str, Any] = {"machine": machine_info(), "command": command, "uptime_before": uptime()}
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-queries-", dir=OUT) as tmp:
        path = Path(tmp) / "queries.wqda"
        p = PROJECT
        build_coded_project(path, p["participants"], p["timepoints"], p["words"], codes=p["codes"],
                            codings=p["codings"], coders=p["coders"])  # fmt: skip
        project = open_project(path)
        with project.read() as session:
            results["facts"] = project_facts(session)
        project.close()
        rows = warm_rows(path, args.repeat, results["facts"])
        if args.postgresql:
            rows += postgresql_rows(path, args.repeat, results["facts"], rows)
        if args.cold_repeat:
            rows += cold_rows(path, args.cold_repeat, results["facts"])
        remove_project(path)
    results["rows"] = rows
    results["uptime_after"] = uptime()
    text = markdown(results, command)
    print(text)
    (OUT / "bench_queries.md").write_text(text + "\n", encoding="utf-8")
    serial = {**results, "rows": [r.as_dict() for r in rows]}
    (OUT / "bench_queries.json").write_text(json.dumps(serial, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
