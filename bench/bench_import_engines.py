"""Import of 96 x 10,000 words into SQLite and into PostgreSQL (issue 16: PostgreSQL <= 2x SQLite's time).

Each run is two whole processes, ``waveqda init TARGET`` and ``waveqda import TARGET CORPUS/txt --manifest``,
into a new file or a new database of a throwaway cluster with PostgreSQL's durable defaults
(``tests.pg_cluster.start(durable=True)``: fsync on, synchronous commit), as a team's server runs. Wall time is
the figure to compare: the client's CPU does not include the PostgreSQL server's work.

Run: ``flock /work/notes/bench.lock .venv/bin/python -m bench.bench_import_engines [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench.bench_import import run_measured, wait_quiet, waveqda_command
from bench.corpus import ensure_corpus


def import_once(target: str, corpus: Path) -> tuple[float, float]:
    waveqda = waveqda_command()
    run_measured([*waveqda, "init", target])
    done = run_measured([*waveqda, "import", target, str(corpus / "txt"), "--manifest", str(corpus / "manifest.csv")])
    return done.wall, done.cpu


def main() -> None:
    from tests import pg_cluster

    parser = argparse.ArgumentParser(prog="python -m bench.bench_import_engines", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wait-quiet", type=float, default=30.0)
    args = parser.parse_args()
    corpus = ensure_corpus(32, 3, 10_000, formats=("txt",))
    cluster = pg_cluster.start(durable=True)
    results: dict[str, list[tuple[float, float]]] = {"sqlite": [], "postgresql": []}
    try:
        for n in range(args.repeat):
            wait_quiet(args.wait_quiet, 0.25)
            with tempfile.TemporaryDirectory() as folder:
                results["sqlite"].append(import_once(str(Path(folder) / "study.wqda"), corpus))
            wait_quiet(args.wait_quiet, 0.25)
            url = cluster.create_database(f"bench_import_{n}")
            results["postgresql"].append(import_once(url, corpus))
            cluster.drop_database(f"bench_import_{n}")
    finally:
        cluster.stop()
    walls = {engine: statistics.median(w for w, _ in runs) for engine, runs in results.items()}
    print("| engine | wall median / best | client CPU median |")
    print("|---|---|---|")
    for engine, runs in results.items():
        best = min(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"| {engine} | {walls[engine]:.2f} / {best:.2f} s | {cpu:.2f} s |")
    ratio = walls["postgresql"] / walls["sqlite"]
    print(f"\nPostgreSQL / SQLite wall (medians): {ratio:.2f}x (budget <= 2x: {'met' if ratio <= 2 else 'not met'})")


if __name__ == "__main__":
    main()
