"""One change that makes thousands of codings (issue 20: >= 5,000 codings/s): ``apply_code_to_spans`` on
random sentence spans of the benchmark project (96 transcripts, 50,000 codings), against applying the same
spans one by one with ``apply_code_in_session`` (what auto-coding did before).

Run: ``flock /work/notes/bench.lock .venv/bin/python -m bench.bench_batch_apply [--spans 3000] [--repeat 3]``.
CPU is ``time.process_time`` around the whole change (its commit included) in this process.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.corpus import cached_coded_project


def run(spans: int, one_by_one: bool) -> tuple[float, float]:
    from sqlalchemy import select

    from models.coding import apply_code_in_session, apply_code_to_spans
    from models.participants import get_or_create_coder
    from models.schema import Sentence
    from models.store import open_project

    work = Path(tempfile.mkdtemp()) / "study.wqda"
    shutil.copy(cached_coded_project(32, 3, 10_000), work)
    project = open_project(work)
    with project.read() as session:
        sentences = session.execute(select(Sentence.transcript_id, Sentence.start, Sentence.end)).all()
    targets: dict[int, list[tuple[int, int]]] = {}
    for tid, start, end in random.Random(1).sample(sentences, spans):
        targets.setdefault(tid, []).append((start, end))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with project.change("bench", "bench.apply") as session:
        coder = get_or_create_coder(session, "autocoder").id
        if one_by_one:
            for tid, found in targets.items():
                for start, end in found:
                    apply_code_in_session(session, tid, 1, coder, start, end)
        else:
            apply_code_to_spans(session, 1, coder, targets)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    project.close()
    shutil.rmtree(work.parent, ignore_errors=True)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_batch_apply", description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one-by-one", action="store_true", help="also time the span-by-span path")
    args = parser.parse_args()
    modes = [False, True] if args.one_by_one else [False]
    for one_by_one in modes:
        runs = [run(args.spans, one_by_one) for _ in range(args.repeat)]
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        name = "one by one (apply_code_in_session)" if one_by_one else "batch (apply_code_to_spans)"
        print(
            f"{name}: {args.spans} codings, CPU median {cpu:.2f} s ({args.spans / cpu:,.0f}/s), "
            f"wall median {wall:.2f} s ({args.spans / wall:,.0f}/s), "
            f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )


if __name__ == "__main__":
    main()
