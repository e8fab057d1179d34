"""Benchmarks of the terminal workspace: launch, opening a long transcript, keystrokes, Retrieve scrolling.

Keystroke cost is CPU time (``time.process_time``) around Pilot ``press`` + ``pause``, minus the same for a
key that nothing binds (the cost of Pilot and the event loop themselves); wall time under Pilot is dominated
by its own sleeps. Each figure is the median of 30 presses (applying a code too: ten samples moved the median
by a few milliseconds on the shared machine). Page down repaints the whole view, so it is also measured at
80x24 and 160x50. Launch is wall time from starting a fresh Python process to an interactive home screen on
the sample project, and checks that spaCy was not imported.

    .venv/bin/python -m bench.bench_tui            # 30,000 words / 3,000 codings, then 120,000 / 10,000
    .venv/bin/python -m bench.bench_tui --quick    # the first size only
    .venv/bin/python -m bench.bench_tui --issue20 --runs 5   # issue 20's workspace rows (below)

Issue 20's rows (``--issue20``): on the 96-transcript benchmark project (32 participants x 3 timepoints x
10,000 words, 50,000 codings) Home's first paint, in-process (CPU from creating the app to the first frame
with Home on it) and as a whole process (``/usr/bin/time``: wall, user+system CPU and peak RSS of a fresh
Python that starts the workspace and exits on that frame); on the 30,000-word transcript with 3,000 codings
opening it from Home to its first painted frame (in-process, and as a whole process: launch, Home, open,
exit on the transcript's first frame), and to idle (the rest of the layout done), page down and undo per key
at 80x24 and 120x40. "First frame" is the first ``App._display`` of a compositor update showing the screen
(Pilot's terminal is headless, so the cost of writing escape codes to a real terminal is not in it).

Writes ``bench/out/bench_tui.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
BUDGETS_MS = {
    "launch_to_home_s": 0.6,
    "launch_cpu_s": 0.6,
    "open_transcript": 200.0,
    "cursor_step": 10.0,
    "selection_step": 10.0,
    "page_down": 10.0,
    "apply_code": 10.0,
    "retrieve_scroll": 10.0,
}
UNBOUND = "f12"


async def cpu_per_press(pilot, keys: list[str], repeat: int, between: list[str] | None = None) -> float:
    """Median CPU milliseconds of pressing ``keys`` (and letting the app settle), minus nothing."""
    samples = []
    for _ in range(repeat):
        if between:
            await pilot.press(*between)
            await pilot.pause()
        start = time.process_time()
        await pilot.press(*keys)
        await pilot.pause()
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


async def measure_coder(project_path: Path, repeat: int = 30, size: tuple[int, int] = (120, 40)) -> dict[str, float]:
    from sqlalchemy import func, select

    from app.tui.app import WaveqdaApp
    from app.tui.widgets.transcript_view import TranscriptView
    from models.schema import Code, Coding, Transcript
    from models.store import open_project

    project = open_project(project_path)
    with project.read() as session:
        tid, words = session.execute(
            select(Transcript.id, Transcript.word_count).order_by(Transcript.word_count.desc()).limit(1)
        ).one()
        n_codings = session.scalar(select(func.count()).select_from(Coding).where(Coding.transcript_id == tid))
        leaf = session.scalar(select(Code.id).where(Code.parent_id.is_not(None)).order_by(Code.id.desc()).limit(1))
    app = WaveqdaApp(project, coder="bench", config_dir=Path(tempfile.mkdtemp()), remember=False)
    out: dict[str, float] = {"words": words, "codings": n_codings, "terminal": f"{size[0]}x{size[1]}"}
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        baseline = await cpu_per_press(pilot, [UNBOUND], repeat)
        painted = first_frame(app, lambda: _coder_painted(app))
        start = time.process_time()
        app.open_transcript(tid)
        await pilot.pause()
        out["open_transcript"] = (time.process_time() - start) * 1000
        out["open_first_paint"] = (painted[0] - start) * 1000 if painted else float("nan")
        view = app.screen.query_one(TranscriptView)
        out["baseline_unbound_key"] = baseline
        out["cursor_step"] = await cpu_per_press(pilot, ["down"], repeat) - baseline
        out["word_step"] = await cpu_per_press(pilot, ["right"], repeat) - baseline
        out["selection_step"] = await cpu_per_press(pilot, ["shift+down"], repeat) - baseline
        await pilot.press("escape")
        out["page_down"] = await cpu_per_press(pilot, ["pagedown"], repeat) - baseline
        app.recent_codes = [leaf]
        # as many samples as the other keys: with 10 the median moved by +-2 ms on a shared machine
        out["apply_code"] = await cpu_per_press(pilot, ["1"], repeat, between=["down", "down"]) - baseline
        out["undo"] = await undo_per_press(pilot, repeat) - baseline
        start = time.process_time()
        view.set_codings(view.all_codings, view.codes)
        out["redraw_all_codings"] = (time.process_time() - start) * 1000
        # the domain's share of applying a code (models.coding.apply_codes alone, no UI)
        from models.coding import apply_codes

        samples = []
        for n in range(10):
            a = view.sentences.starts[(n * 7 + 3) % len(view.sentences)]
            start = time.process_time()
            apply_codes(project, "bench", tid, [leaf], "bench", a, a + 3)
            samples.append((time.process_time() - start) * 1000)
        out["apply_codes_domain_only"] = statistics.median(samples)
        start = time.process_time()
        await pilot.resize_terminal(size[0] - 20, size[1])
        await pilot.pause()
        out["rewrap_on_resize"] = (time.process_time() - start) * 1000
    project.close()
    return out


def first_frame(app, ready, then=None) -> list[float]:  # type: ignore[no-untyped-def]
    """Wrap ``app._display`` to note the CPU time of the first frame drawn once ``ready()`` is true (and
    call ``then()`` after it)."""
    noted: list[float] = []
    display = app._display

    def noting(screen, renderable):  # type: ignore[no-untyped-def]
        display(screen, renderable)
        if renderable is not None and not noted and ready():
            noted.append(time.process_time())
            if then is not None:
                then()

    app._display = noting
    return noted


def _coder_painted(app) -> bool:
    from app.tui.screens.coder import CoderScreen
    from app.tui.widgets.transcript_view import TranscriptView

    screen = app.screen
    return isinstance(screen, CoderScreen) and screen.query_one(TranscriptView).virtual_size.height > 0


async def undo_per_press(pilot, repeat: int) -> float:
    """Median CPU milliseconds of ctrl+z taking back one coding (applied, unmeasured, just before): the undo
    runs in a worker thread, so the press, the worker and the patched repaint are all waited for."""
    app = pilot.app
    samples = []
    for _ in range(repeat):
        await pilot.press("down", "down", "1")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        start = time.process_time()
        await pilot.press("ctrl+z")
        await app.workers.wait_for_complete()
        await pilot.pause()
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


async def measure_home(project_path: Path, size: tuple[int, int] = (120, 40)) -> dict[str, float]:
    """Home on a big project, in-process: CPU from creating the app to its first frame, and to the counts."""
    from app.tui.app import WaveqdaApp
    from app.tui.screens.home import HomeScreen
    from models.store import open_project

    start = time.process_time()
    project = open_project(project_path)
    app = WaveqdaApp(project, coder="bench", config_dir=Path(tempfile.mkdtemp()), remember=False)
    painted = first_frame(app, lambda: isinstance(app.screen, HomeScreen))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        counted = time.process_time()
    project.close()
    return {
        "home_first_paint_ms": (painted[0] - start) * 1000 if painted else float("nan"),
        "home_counts_shown_ms": (counted - start) * 1000,
    }


PROCESS_CHILD = r"""
import os, sys, time, asyncio, tempfile, pathlib
sys.path.insert(0, {repo!r})
from models.store import open_project
from app.tui.app import WaveqdaApp
from app.tui.screens.home import HomeScreen
from bench.bench_tui import first_frame, _coder_painted
async def main():
    project = open_project({path!r})
    app = WaveqdaApp(project, coder="bench", config_dir=pathlib.Path(tempfile.mkdtemp()), remember=False)
    home_shown, coder_shown = asyncio.Event(), asyncio.Event()
    home = first_frame(app, lambda: isinstance(app.screen, HomeScreen), home_shown.set)
    coder = first_frame(app, lambda: _coder_painted(app), coder_shown.set)
    async with app.run_test(size={size!r}) as pilot:
        await home_shown.wait()
        if {transcript!r} is None:
            print("READY", home[0], flush=True)
            os._exit(0)
        app.open_transcript({transcript!r})
        await coder_shown.wait()
        print("READY", home[0], coder[0], flush=True)
        os._exit(0)
asyncio.run(main())
"""


def measure_process(project_path: Path, transcript: int | None, runs: int, size=(120, 40)) -> dict[str, object]:
    """A fresh Python that starts the workspace and exits on the first frame of Home (``transcript`` None)
    or of the transcript opened from Home, under ``/usr/bin/time``: wall (to the frame), user+system CPU
    and peak RSS of the whole process. Median and best of ``runs``."""
    walls, cpus, rss, child_cpu = [], [], [], []
    code = PROCESS_CHILD.format(repo=str(REPO), path=str(project_path), size=size, transcript=transcript)
    for _ in range(runs):
        with tempfile.NamedTemporaryFile("r", suffix=".time") as timing:
            start = time.perf_counter()
            proc = subprocess.Popen(
                ["/usr/bin/time", "-o", timing.name, "-f", "%U %S %M", sys.executable, "-c", code],
                stdout=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
            assert proc.stdout is not None
            line = proc.stdout.readline()
            walls.append(time.perf_counter() - start)
            proc.wait()
            if not line.startswith("READY"):
                raise RuntimeError(f"process child failed: {line!r}")
            user, system, peak_kb = timing.read().split()[-3:]
        cpus.append(float(user) + float(system))
        rss.append(int(peak_kb) / 1024)
        child_cpu.append([float(x) for x in line.split()[1:]])
    return {
        "wall_s_median": statistics.median(walls),
        "wall_s_best": min(walls),
        "cpu_s_median": statistics.median(cpus),
        "cpu_s_best": min(cpus),
        "peak_rss_mb_median": statistics.median(rss),
        # the child's own process_time at Home's frame (and the transcript's), interpreter start included
        "child_cpu_at_frames_median": [statistics.median(c) for c in zip(*child_cpu, strict=True)],
    }


def issue20(runs: int) -> dict[str, object]:
    """Issue 20's workspace rows, ``runs`` times each (see the module docstring)."""
    from sqlalchemy import select

    from bench.corpus import build_coded_project
    from models.schema import Transcript
    from models.store import open_project

    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        big = build_coded_project(
            work / "big.wqda", participants=32, timepoints=3, words=10_000, codes=300, codings=50_000, coders=3
        )
        homes = [asyncio.run(measure_home(big)) for _ in range(runs)]
        results["home_96_in_process"] = _summary(homes)
        results["home_96_process"] = measure_process(big, None, runs)
        one = build_coded_project(
            work / "one.wqda", participants=1, timepoints=1, words=30_000, codes=300, codings=3_000, coders=3
        )
        project = open_project(one)
        with project.read() as session:
            tid = session.scalar(select(Transcript.id).order_by(Transcript.word_count.desc()).limit(1))
        project.close()
        for size in ((80, 24), (120, 40)):
            runs_here = []
            for n in range(runs):
                copy = work / f"one-{size[0]}-{n}.wqda"
                copy.write_bytes(one.read_bytes())
                runs_here.append(asyncio.run(measure_coder(copy, repeat=15, size=size)))
            results[f"transcript_30k_3k_{size[0]}x{size[1]}"] = _summary(runs_here)
        results["open_30k_3k_process"] = measure_process(one, tid, runs)
    return results


def _summary(samples: list[dict]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in samples[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values = [s[key] for s in samples]
            out[key] = {"median": statistics.median(values), "best": min(values), "runs": values}
        else:
            out[key] = value
    return out


async def measure_page_down(project_path: Path, size: tuple[int, int], repeat: int = 30) -> float:
    """Page down alone at another terminal size (it repaints the whole view, so it grows with the area)."""
    from sqlalchemy import select

    from app.tui.app import WaveqdaApp
    from models.schema import Transcript
    from models.store import open_project

    project = open_project(project_path)
    with project.read() as session:
        tid = session.scalar(select(Transcript.id).order_by(Transcript.word_count.desc()).limit(1))
    app = WaveqdaApp(project, coder="bench", config_dir=Path(tempfile.mkdtemp()), remember=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        baseline = await cpu_per_press(pilot, [UNBOUND], repeat)
        app.open_transcript(tid)
        await pilot.pause()
        result = await cpu_per_press(pilot, ["pagedown"], repeat) - baseline
    project.close()
    return result


async def measure_retrieve(project_path: Path, segments: int = 5000, repeat: int = 30) -> dict[str, float]:
    from app.tui.app import WaveqdaApp
    from app.tui.screens.retrieve import RetrieveScreen
    from models.queries import retrieve
    from models.store import open_project

    project = open_project(project_path)
    with project.read() as session:
        found = retrieve(session, None)[:segments]
    app = WaveqdaApp(project, coder="bench", config_dir=Path(tempfile.mkdtemp()), remember=False)
    out: dict[str, float] = {"segments": len(found)}
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RetrieveScreen)
        baseline = await cpu_per_press(pilot, [UNBOUND], repeat)
        from app.tui.screens.retrieve import segment_prompt

        start = time.process_time()
        prompts = {s.id: segment_prompt(s, True) for s in found}  # done in the retrieve worker thread
        out["prompts_in_worker"] = (time.process_time() - start) * 1000
        start = time.process_time()
        screen.code_id = found[0].code_id
        screen._show(found, prompts)
        await pilot.pause()
        out["show_first_page"] = (time.process_time() - start) * 1000
        out["retrieve_scroll"] = await cpu_per_press(pilot, ["down"], repeat) - baseline
        out["retrieve_page_down"] = await cpu_per_press(pilot, ["pagedown"], repeat) - baseline
        start = time.process_time()
        await pilot.press("right_square_bracket")
        await pilot.pause()
        out["retrieve_next_page"] = (time.process_time() - start) * 1000 - baseline
    project.close()
    return out


LAUNCH_CHILD = r"""
import sys, time, asyncio
sys.path.insert(0, {repo!r})
from models.store import open_project
from app.tui.app import WaveqdaApp
from app.tui.screens.home import HomeScreen
import tempfile, pathlib
async def main():
    project = open_project({path!r})
    app = WaveqdaApp(project, coder="bench", config_dir=pathlib.Path(tempfile.mkdtemp()), remember=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        print("READY", "spacy" in sys.modules, time.process_time(), flush=True)
asyncio.run(main())
"""


def measure_launch(project_path: Path, runs: int = 5) -> dict[str, float]:
    times = []
    cpu = []
    spacy = False
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH_CHILD.format(repo=str(REPO), path=str(project_path))],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        times.append(time.perf_counter() - start)
        proc.wait()
        if not line.startswith("READY"):
            raise RuntimeError(f"launch child failed: {line!r}")
        spacy = spacy or line.split()[1] == "True"
        cpu.append(float(line.split()[2]))
    # Wall time is what a person waits; CPU time (the child's, interpreter start included) is what the
    # machine spent, and stays meaningful when other work shares the CPUs.
    return {
        "launch_to_home_s": statistics.median(times),
        "launch_cpu_s": statistics.median(cpu),
        "spacy_loaded_at_start": spacy,
    }


def sample_project(work: Path) -> Path:
    from app.demo import build_demo

    path = work / "sample.wqda"
    build_demo(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the 30,000-word size")
    parser.add_argument("--issue20", action="store_true", help="only issue 20's workspace rows")
    parser.add_argument("--runs", type=int, default=5, help="runs of each --issue20 measure")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    if args.issue20:
        found = issue20(args.runs)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "bench_tui_issue20.json").write_text(json.dumps(found, indent=2))
        print(json.dumps(found, indent=2))
        return 0
    from bench.corpus import build_coded_project

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results["launch"] = measure_launch(sample_project(work))
        sizes = [(30_000, 3_000)] if args.quick else [(30_000, 3_000), (120_000, 10_000)]
        for words, codings in sizes:
            path = build_coded_project(
                work / f"p{words}.wqda", participants=1, timepoints=1, words=words, codes=300, codings=codings, coders=3
            )
            results[f"coder_{words}w_{codings}c"] = asyncio.run(measure_coder(path))
            for size in ((80, 24), (160, 50)):
                results[f"coder_{words}w_{codings}c"][f"page_down_{size[0]}x{size[1]}"] = asyncio.run(
                    measure_page_down(path, size)
                )
        path = build_coded_project(
            work / "retrieve.wqda", participants=12, timepoints=3, words=4000, codes=300, codings=8000, coders=3
        )
        results["retrieve_5000"] = asyncio.run(measure_retrieve(path))
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_tui.json").write_text(json.dumps(results, indent=2))
    print("| measure | value | budget |\n|---|---|---|")
    for group, values in results.items():
        for key, value in values.items():
            budget = BUDGETS_MS.get(key)
            unit = (
                ""
                if key in ("words", "codings", "segments", "cpus", "python") or isinstance(value, bool)
                else (" s" if key.endswith("_s") else " ms CPU")
            )
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            print(f"| {group}: {key} | {shown}{unit} | {'' if budget is None else budget} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
