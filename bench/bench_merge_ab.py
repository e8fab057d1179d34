"""A/B of the merge into a new file as whole processes (issue 20): ``waveqda merge NEW coder_a coder_b`` with
another tree's code (``--base``, e.g. ``git archive main | tar -x -C /tmp/base-tree``) and this one,
alternating, so neighbours' load falls on both alike. Uses the coder files ``bench.bench_merge`` builds.

    flock /work/notes/bench.lock .venv/bin/python -m bench.bench_merge_ab --base /tmp/base-tree --rounds 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_merge(tree: Path, out: Path, sources: list[Path]) -> tuple[float, int]:
    """CPU seconds (user + sys) and peak RSS (MB) of one merge into the new file ``out``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-c", "from app.cli import main; main()", "merge", str(out), *map(str, sources)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, cwd=tree, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return round(cpu, 2), after.ru_maxrss // 1024  # the children's largest so far (Linux: KB)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the other tree (the code before)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from bench.bench_merge import ensure_fixture

    fixture = ensure_fixture()
    coder_a, coder_b = fixture["coder_a"], fixture["coder_b"]
    trees = {"before": args.base.resolve(), "after": REPO}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for round_number in range(args.rounds):
            for name, tree in trees.items():
                out = Path(tmp) / f"{name}-{round_number}.wqda"
                seconds, peak = run_merge(tree, out, [coder_a, coder_b])
                cpu[name].append(seconds)
                print(f"round {round_number + 1} {name}: {seconds} s CPU (peak so far {peak} MB)", flush=True)
    for name, values in cpu.items():
        print(f"{name}: CPU median {statistics.median(values)} s, best {min(values)} s, runs {values}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
