"""A/B on one machine at one time: another tree (``--base``, e.g. main unpacked with ``git archive``) against
this one, alternating, so that the neighbours' load falls on both alike.

Measured per round and tree, as CPU time (user + sys) of a child process:

* ``waveqda import`` of the benchmark corpus's .txt and .docx folders into a new project (``init`` not timed);
* the first ``retrieve`` of the biggest theme and the first ``code_timepoint_matrix`` in a fresh process
  (``bench.bench_queries --cold-child``, on a copy of the standard coded project).

Each tree runs with its own code (``PYTHONPATH``) and this venv's packages. Prints a Markdown table of the best
and median of each. Run under the lock so no other benchmark runs meanwhile::

    git archive main | tar -x -C /tmp/main-tree
    flock /work/notes/bench.lock .venv/bin/python -m bench.bench_ab --base /tmp/main-tree --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "bench" / "out" / "corpus" / "p32-t3-w10000-s1-v1"


def child_cpu(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 3)


def one_round(tree: Path, project: Path, theme: str, out: dict[str, list[float]]) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cli = [sys.executable, "-c", "from app.cli import main; main()"]
    for fmt in ("txt", "docx"):
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "p.wqda"
            subprocess.run([*cli, "init", str(target)], env=env, cwd=tree, check=True, capture_output=True)
            out.setdefault(f"`waveqda import` {fmt} (CPU s)", []).append(
                child_cpu([*cli, "import", str(target), str(CORPUS / fmt)], env, tree)
            )
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "coded.wqda"
        shutil.copy(project, copy)
        for op, label in (("retrieve_big", "first retrieve, biggest theme"), ("matrix", "first matrix")):
            cmd = [sys.executable, "-m", "bench.bench_queries", "--cold-child", op, "--project", str(copy)]
            done = subprocess.run(
                [*cmd, "--theme", theme], env=env, cwd=tree, capture_output=True, text=True, check=True
            )
            sample = json.loads(done.stdout.strip().splitlines()[-1])
            out.setdefault(f"{label} (CPU ms)", []).append(round(sample["cpu_ms"], 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the other tree (with app/, models/, ...)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--theme", default="Job insecurity", help="the biggest theme of the coded project")
    args = parser.parse_args()
    from bench.bench_queries import PROJECT as P
    from bench.corpus import build_coded_project, ensure_corpus

    ensure_corpus(32, 3, 10_000, ("txt", "docx"))
    results: dict[str, dict[str, list[float]]] = {"base": {}, "this": {}}
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        project = Path(tmp) / "coded.wqda"
        build_coded_project(project, P["participants"], P["timepoints"], P["words"], codes=P["codes"],
                            codings=P["codings"], coders=P["coders"])  # fmt: skip
        for n in range(args.rounds):
            for name, tree in (("base", args.base.resolve()), ("this", REPO)):
                one_round(tree, project, args.theme, results[name])
                print(n, name, {k: v[-1] for k, v in results[name].items()}, flush=True)
    print("\n| what | base: best | base: median | this: best | this: median | change of the median |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for what in results["base"]:
        base, this = sorted(results["base"][what]), sorted(results["this"][what])
        mid_base, mid_this = base[len(base) // 2], this[len(this) // 2]
        change = 100 * (mid_this - mid_base) / mid_base
        print(f"| {what} | {base[0]} | {mid_base} | {this[0]} | {mid_this} | {change:+.0f}% |")


if __name__ == "__main__":
    main()
