"""REFI-QDA exchange against the budgets of issues 14 and 20.

    flock /work/notes/bench.lock .venv/bin/python -m bench.bench_refi [--codes 100000]

Measures, on the cached 50,000-coding benchmark project (96 transcripts of 10,000 words, 300 codes):

- ``waveqda export P out.qdpx`` (``--for standard`` and ``--for nvivo``) as whole processes: CPU and peak RSS
  from the kernel's rusage for the child (budget ≤ 4 s CPU, ≤ 200 MB);
- ``waveqda import new.wqda out.qdpx`` of that file as a whole process (budget ≤ 10 s);
- a generated ``.qdpx`` holding ``--codes`` codes (100,000 by default; a 10-level tree, one source, one
  coding per 100 codes) imported as a whole process (budget ≤ 30 s);
- the export in-process (``export_qdpx``), CPU by ``time.process_time`` and the rise in peak RSS.

Prints a Markdown table; writes ``bench/out/bench_refi.json``.

With ``--base TREE`` it only A/B-tests the import of the 50,000-coding ``.qdpx``: another tree (e.g. main,
unpacked with ``git archive``) against this one, alternating ``--rounds`` times so that the neighbours' load
falls on both alike; each run is a whole process with its tree's code (``PYTHONPATH``), its CPU time (with its
worker process's, from ``wait4``), wall-clock time and peak RSS::

    git archive main | tar -x -C /tmp/main-tree
    flock /work/notes/bench.lock .venv/bin/python -m bench.bench_refi --base /tmp/main-tree --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.bench_import import OUT_DIR, cpu_busy, run_measured, waveqda_command
from bench.corpus import cached_coded_project

G = "{:08x}-0000-4000-8000-000000000000".format


def many_codes_package(path: Path, count: int) -> Path:
    """A .qdpx with ``count`` codes in a tree ten children wide, one source, a coding on every 100th code."""
    parts = ['<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="big" ',
             'origin="bench"><CodeBook><Codes>']  # fmt: skip
    # a breadth-first tree written depth-first: code i's children are 10i+1..10i+10
    stack: list[int | str] = [i for i in range(min(10, count), 0, -1)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        children = [c for c in range(10 * item + 1, 10 * item + 11) if c <= count]
        parts.append(f'<Code guid="{G(item)}" name="Code {item}" isCodable="true"')
        if not children:
            parts.append("/>")
            continue
        parts.append(">")
        stack.append("</Code>")
        stack.extend(reversed(children))
    text = " ".join(f"word{i}" for i in range(count // 100 + 10))
    selections = []
    for n, i in enumerate(range(1, count + 1, 100)):
        start = text.index(f"word{n} ")
        selections.append(
            f'<PlainTextSelection guid="{G(10_000_000 + n)}" startPosition="{start}" '
            f'endPosition="{start + len(f"word{n}")}"><Coding guid="{G(20_000_000 + n)}">'
            f'<CodeRef targetGUID="{G(i)}"/></Coding></PlainTextSelection>'
        )
    source = G(30_000_000)
    parts.append(
        f'</Codes></CodeBook><Sources><TextSource guid="{source}" name="P01_T1" '
        f'plainTextPath="internal://{source}.txt">{"".join(selections)}</TextSource></Sources></Project>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", "".join(parts))
        archive.writestr(f"sources/{source}.txt", text)
    return path


def in_process_export(project_path: Path, out: Path, client: str) -> dict[str, float]:
    from exporters.refi_export import export_qdpx
    from models.store import open_project

    before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open_project(project_path) as project:
        started = time.process_time()
        export_qdpx(project, out, for_client=client)
        cpu = time.process_time() - started
    after_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"cpu": cpu, "peak_rss_mb": after_rss, "rss_rise_mb": after_rss - before_rss}


REPO = Path(__file__).resolve().parent.parent


def import_ab(project: Path, base: Path, rounds: int) -> None:
    """``waveqda import new.wqda out.qdpx`` with ``base``'s code and with this tree's, alternating."""
    trees = {"base": base.resolve(), "this": REPO}
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in trees}  # CPU s, wall s, MB
    with tempfile.TemporaryDirectory(prefix="bench-refi-ab-", dir=OUT_DIR) as tmp:
        work = Path(tmp)
        qdpx = work / "study.qdpx"
        run_measured([*waveqda_command(), "export", str(project), str(qdpx)])
        for n in range(rounds):
            for name, tree in trees.items():
                target = work / f"{name}-{n}.wqda"
                env = {**os.environ, "PYTHONPATH": str(tree)}
                started = time.perf_counter()
                proc = subprocess.Popen([*waveqda_command(), "import", str(target), str(qdpx)], env=env, cwd=tree,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                _pid, status, usage = os.wait4(proc.pid, 0)  # the rusage counts the process's reaped children
                wall = time.perf_counter() - started
                if os.waitstatus_to_exitcode(status) != 0:
                    raise RuntimeError(f"import with {tree} failed")
                runs[name].append((usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024))
                cpu, wall, rss = runs[name][-1]
                print(f"round {n} {name}: {cpu:.2f} s CPU, {wall:.2f} s wall, {rss:.0f} MB", flush=True)
    print("| tree | CPU s best | CPU s median | wall s best | wall s median | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, measured in runs.items():
        cpus = [cpu for cpu, _wall, _rss in measured]
        walls = [wall for _cpu, wall, _rss in measured]
        print(f"| {name} | {min(cpus):.2f} | {statistics.median(cpus):.2f} | {min(walls):.2f} | "
              f"{statistics.median(walls):.2f} | {max(r for _c, _w, r in measured):.0f} |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codes", type=int, default=100_000)
    parser.add_argument("--base", type=Path, help="A/B the import against this tree (app/, models/, ...)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    project = cached_coded_project(32, 3, 10_000)
    if args.base is not None:
        import_ab(project, args.base, args.rounds)
        return 0
    cmd = waveqda_command()
    rows: list[tuple[str, str, float, float, str]] = []
    print("| work | budget | CPU s | peak RSS MB | note |\n| --- | --- | --- | --- | --- |", flush=True)

    class Rows(list):
        def append(self, row: tuple[str, str, float, float, str]) -> None:
            super().append(row)
            print("| {} | {} | {:.2f} | {:.0f} | {} |".format(*row), flush=True)

    rows = Rows()
    with tempfile.TemporaryDirectory(prefix="bench-refi-", dir=OUT_DIR) as tmp:
        work = Path(tmp)
        copy = work / "study.wqda"
        shutil.copy(project, copy)
        for client in ("standard", "nvivo"):
            out = work / f"{client}.qdpx"
            run = run_measured([*cmd, "export", str(copy), str(out), "--for", client], busy_before=cpu_busy())
            rows.append((f"export .qdpx --for {client} (process)", "≤ 4 s, ≤ 200 MB", run.cpu, run.max_rss_mb,
                         f"{out.stat().st_size / 1e6:.1f} MB file"))  # fmt: skip
        run = run_measured([*cmd, "import", str(work / "back.wqda"), str(work / "standard.qdpx")])
        rows.append(("import that .qdpx into a new project (process)", "≤ 10 s", run.cpu, run.max_rss_mb, ""))
        big = many_codes_package(work / "codes.qdpx", args.codes)
        run = run_measured([*cmd, "import", str(work / "codes.wqda"), str(big), "--map-source", "P01_T1=P01/T1"])
        rows.append((f"import a .qdpx of {args.codes:,} codes (process)", "≤ 30 s", run.cpu, run.max_rss_mb, ""))
        measured = in_process_export(copy, work / "inproc.qdpx", "standard")
        rows.append(("export .qdpx (in-process, after opening)", "", measured["cpu"], measured["rss_rise_mb"],
                     "RSS column: rise in peak RSS"))  # fmt: skip
    (OUT_DIR / "bench_refi.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
