"""Codebook and coding engine benchmark (issue 3), plus the measuring helpers the other ``bench_*`` scripts share.

On the generated 96-transcript, ~1M-word project (32 participants x 3 timepoints x 10,000 words) with 50,000
codings over 300 codes by 3 coders (``bench.corpus.build_coded_project``), it times, in this process:

* retrieve every segment of a top-level theme with its descendants and sentence context (the biggest theme,
  and the theme of median size), budget 100 ms; the same with turn context;
* the code x timepoint matrix (segments, participants, words per cell, rolled up), 200 ms;
* full-text search (FTS5) for words of different frequency, a phrase and a prefix, 50 ms;
  fuzzy search ("supervison" finds "supervision"), 500 ms; lemma search (no budget);
* apply one coding (a new one, and one that extends an existing coding) and undo it, 20 ms each;
* merge the busiest code (~4,900 codings) into the second busiest (~2,800), and undo that merge, 500 ms each.

Each read query is called once to warm the per-process caches (word offsets, the search vocabulary, lazily
imported modules), then ``--repeat`` times; the median is reported. The first call in a fresh process (what
every ``waveqda`` CLI command pays) is measured separately in child processes (``--cold-repeat``). Writes are
real ``Project.change`` transactions (one commit, ``synchronous=FULL``) on a private copy of the project.

The machine is shared: CPU time (``time.process_time``) is reported next to wall time, with the share of the
machine other processes used during each row (from ``/proc/stat`` minus this process's own CPU time). The
verdict is on CPU time; wall time is shown and flagged when load pushed it over.

Growth: the same measurements on 3, 10 and 32 participants (about 90k, 300k and 1M words) with codings
proportional to the corpus (4,688, 15,625 and 50,000).

    .venv/bin/python -m bench.bench_engine                 # ~3 minutes on 2 busy cores
    .venv/bin/python -m bench.bench_engine --sizes 32      # the 1M-word project only

Writes ``bench/out/bench_engine.{md,json}`` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
FULL = (32, 3, 10_000, 50_000)  # participants, timepoints, words per transcript, codings
BUDGETS_MS = {
    "retrieve": 100.0,
    "matrix": 200.0,
    "fts": 50.0,
    "fuzzy": 500.0,
    "apply": 20.0,
    "undo": 20.0,
    "merge": 500.0,
    "merge_undo": 500.0,
}


# --- measuring -------------------------------------------------------------------------------------------


def _proc_stat() -> tuple[int, int]:
    """(all jiffies, idle jiffies) summed over CPUs."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    return sum(values), values[3] + (values[4] if len(values) > 4 else 0)


class LoadMeter:
    """How busy the machine was with *other* work over a stretch: CPU time all processes used (``/proc/stat``)
    minus this process's own, as a share of all cores (0..1). Also the 1-minute load average at the end."""

    def __init__(self) -> None:
        self.others = 0.0
        self.loadavg = 0.0

    def __enter__(self) -> LoadMeter:
        self._stat = _proc_stat()
        self._own = _own_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        total, idle = _proc_stat()
        jiffies = total - self._stat[0]
        busy = jiffies - (idle - self._stat[1])
        hz = os.sysconf("SC_CLK_TCK")
        own = (_own_cpu() - self._own) * hz
        self.others = max(0.0, (busy - own) / jiffies) if jiffies > 0 else 0.0
        self.loadavg = os.getloadavg()[0]


def _own_cpu() -> float:
    """This process's and its reaped children's CPU seconds."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of all CPUs busy (by anything) over ``seconds``, 0..1."""
    total0, idle0 = _proc_stat()
    time.sleep(seconds)
    total1, idle1 = _proc_stat()
    return 0.0 if total1 == total0 else 1 - (idle1 - idle0) / (total1 - total0)


QUIET = {"max_wait": 0.0, "threshold": 0.3}  # set from --wait-quiet by each script's main()


def wait_quiet() -> float:
    """Before a group of timed runs: wait (up to ``QUIET["max_wait"]`` s) until the CPUs are mostly idle."""
    deadline = time.monotonic() + QUIET["max_wait"]
    busy = cpu_busy(0.5)
    while busy > QUIET["threshold"] and time.monotonic() < deadline:
        busy = cpu_busy(2.0)
    return busy


def add_quiet_option(parser: argparse.ArgumentParser, default: float = 60.0) -> None:
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=default,
        metavar="SECONDS",
        help="before each group of timed runs, wait up to this long for the CPUs to be mostly idle "
        f"(default {default:g}; 0: never wait)",
    )


def apply_quiet_option(args: argparse.Namespace) -> None:
    QUIET["max_wait"] = args.wait_quiet


@dataclass
class Sample:
    wall_ms: float
    cpu_ms: float


@dataclass
class Row:
    """One measured operation: samples, the machine's other load meanwhile, and what it did."""

    key: str
    label: str
    budget_ms: float | None
    samples: list[Sample] = field(default_factory=list)
    others: float = 0.0  # share of the machine used by other processes while this row ran
    loadavg: float = 0.0
    detail: str = ""

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu_ms for s in self.samples)

    @property
    def cpu_min(self) -> float:
        return min(s.cpu_ms for s in self.samples)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall_ms for s in self.samples)

    @property
    def wall_min(self) -> float:
        return min(s.wall_ms for s in self.samples)

    def verdict(self) -> str:
        if self.budget_ms is None:
            return "(no budget)"
        if self.cpu_min > self.budget_ms:
            return "**FAIL**"
        if self.cpu > self.budget_ms:
            return "**borderline**: median over, best run within"
        if self.wall > self.budget_ms:
            return "pass on CPU; wall over (load)" if self.wall_min <= self.budget_ms else "pass on CPU; **wall over**"
        return "pass"

    def as_dict(self) -> dict[str, Any]:
        if not self.samples:
            return {"key": self.key, "label": self.label, "detail": self.detail}
        return {
            "key": self.key,
            "label": self.label,
            "budget_ms": self.budget_ms,
            "cpu_ms_median": self.cpu,
            "cpu_ms_min": self.cpu_min,
            "wall_ms_median": self.wall,
            "wall_ms_min": self.wall_min,
            "runs": len(self.samples),
            "others_busy": self.others,
            "loadavg_1m": self.loadavg,
            "verdict": self.verdict(),
            "detail": self.detail,
            "samples": [asdict(s) for s in self.samples],
        }


def timed(fn: Callable[[], Any]) -> tuple[Sample, Any]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = fn()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Sample(wall * 1000, cpu * 1000), result


def measure(row: Row, fn: Callable[[], Any], repeat: int, warmup: int = 1) -> Any:
    """Call ``fn`` ``warmup`` times untimed, then ``repeat`` times timed into ``row``; returns the last result."""
    result = None
    for _ in range(warmup):
        result = fn()
    wait_quiet()
    with LoadMeter() as load:
        for _ in range(repeat):
            sample, result = timed(fn)
            row.samples.append(sample)
    row.others, row.loadavg = load.others, load.loadavg
    return result


@contextmanager
def metered(row: Row) -> Iterator[None]:
    """Record the machine's other load into ``row`` while the body takes its samples (after waiting for quiet)."""
    wait_quiet()
    with LoadMeter() as load:
        yield
    row.others, row.loadavg = load.others, load.loadavg


# --- reporting --------------------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(
            (line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), ""
        )
    except OSError:
        pass

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "-"

    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": version("sqlalchemy"),
        "spacy": version("spacy"),
        "rapidfuzz": version("rapidfuzz"),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def machine_line(info: dict[str, str]) -> str:
    return (
        f"Measured {info['date']} on {info['cores']} cores ({info['cpu']}), Python {info['python']}, "
        f"SQLite {info['sqlite']}, SQLAlchemy {info['sqlalchemy']}, spaCy {info['spacy']}, "
        f"RapidFuzz {info['rapidfuzz']}."
    )


def fmt_ms(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def fmt_budget(ms: float | None) -> str:
    if ms is None:
        return "-"
    return f"≤ {ms / 1000:g} s" if ms >= 1000 else f"≤ {ms:g} ms"


def rows_table(rows: list[Row], unit: str = "ms") -> list[str]:
    """The Markdown table of measured rows (``unit`` ``s`` shows seconds)."""
    scale = 1000.0 if unit == "s" else 1.0
    show = (lambda v: f"{v / scale:.2f}") if unit == "s" else fmt_ms
    lines = [
        f"| operation | budget | CPU {unit} (median) | CPU {unit} (best) | wall {unit} (median) | wall {unit} (best) "
        "| runs | others' load | verdict | what it did |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        if not r.samples:  # a note row (e.g. a breakdown of the row above)
            lines.append(f"| {r.label} | | | | | | | | | {r.detail} |")
            continue
        lines.append(
            f"| {r.label} | {fmt_budget(r.budget_ms)} | {show(r.cpu)} | {show(r.cpu_min)} | {show(r.wall)} | "
            f"{show(r.wall_min)} | "
            f"{len(r.samples)} | {100 * r.others:.0f}% (load {r.loadavg:.1f}) | {r.verdict()} | {r.detail} |"
        )
    return lines


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def command_line(module: str, argv: list[str] | None) -> str:
    args = shlex.join(argv if argv is not None else sys.argv[1:])
    return f".venv/bin/python -m {module} {args}".strip()


def remove_project(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def sqlite_copy(source: Path, dest: Path) -> Path:
    """A consistent copy with SQLite's online backup API (safe while the source is open in WAL mode)."""
    fd = os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    return dest


# --- the engine measurements --------------------------------------------------------------------------------


def _project_facts(session) -> dict[str, Any]:
    from sqlalchemy import func, select

    from models.codes import CodeTree
    from models.schema import Coding, Sentence, Transcript, Turn

    tree = CodeTree.load(session)
    per_code = dict(session.execute(select(Coding.code_id, func.count()).group_by(Coding.code_id)).tuples().all())
    themes = []
    for root in tree.children.get(None, []):
        ids = [root, *tree.descendants(root)]
        themes.append((sum(per_code.get(cid, 0) for cid in ids), tree.path(root)))
    themes.sort(reverse=True)
    busiest = sorted(per_code.items(), key=lambda kv: -kv[1])
    return {
        "transcripts": session.scalar(select(func.count()).select_from(Transcript)),
        "words": session.scalar(select(func.sum(Transcript.word_count))),
        "turns": session.scalar(select(func.count()).select_from(Turn)),
        "sentences": session.scalar(select(func.count()).select_from(Sentence)),
        "codings": session.scalar(select(func.count()).select_from(Coding)),
        "codes": len(tree.codes),
        "themes": themes,  # (codings with descendants, path), biggest first
        "busiest": [(tree.path(cid), cid, n) for cid, n in busiest[:2]],
    }


SEARCHES = [  # (row key suffix, label, query, fuzzy, lemma, budget key)
    ("fts_rare", 'FTS word, rare: "supervision"', "supervision", False, False, "fts"),
    ("fts_mid", 'FTS word, mid-frequency: "supported"', "supported", False, False, "fts"),
    ("fts_common", 'FTS word, common: "support"', "support", False, False, "fts"),
    ("fts_phrase", 'FTS phrase: "my manager"', '"my manager"', False, False, "fts"),
    ("fts_and", "FTS two words (AND): supervision manager", "supervision manager", False, False, "fts"),
    ("fts_prefix", "FTS prefix: supervis*", "supervis*", False, False, "fts"),
    ("fuzzy", 'fuzzy: "supervison" (finds supervision)', "supervison", True, False, "fuzzy"),
    ("fuzzy_common", 'fuzzy: "suport" (finds support, sport...)', "suport", True, False, "fuzzy"),
    ("lemma", 'lemma: "support" (supports, supported...)', "support", False, True, None),
]


def read_rows(path: Path, repeat: int, facts: dict[str, Any]) -> list[Row]:
    from models import queries, search
    from models.store import open_project

    rows: list[Row] = []
    project = open_project(path)
    try:
        with project.read() as session:
            themes = facts["themes"]
            big_n, big = themes[0]
            mid_n, mid = themes[len(themes) // 2]
            for key, label, theme, n, context in (
                ("retrieve_big", "retrieve the biggest theme + descendants, sentence context", big, big_n, "sentence"),
                ("retrieve_mid", "retrieve the median theme + descendants, sentence context", mid, mid_n, "sentence"),
                ("retrieve_big_turn", "retrieve the biggest theme + descendants, turn context", big, big_n, "turn"),
            ):
                row = Row(key, label, BUDGETS_MS["retrieve"])
                found = measure(row, lambda t=theme, c=context: queries.retrieve(session, t, True, context=c), repeat)
                row.detail = f"{len(found):,} segments ({theme!r})"
                assert len(found) == n, (len(found), n)
                rows.append(row)
            row = Row("matrix", "code × timepoint matrix (all codes, rolled up)", BUDGETS_MS["matrix"])
            matrix = measure(row, lambda: queries.code_timepoint_matrix(session), repeat)
            row.detail = (
                f"{len(matrix.rows)} rows × {len(matrix.timepoints)} timepoints, {matrix.total.segments:,} segments"
            )
            rows.append(row)
            for key, label, query, fuzzy, lemma, budget in SEARCHES:
                row = Row(key, label, BUDGETS_MS[budget] if budget else None)
                hits = measure(
                    row, lambda q=query, f=fuzzy, m=lemma: search.search(session, q, fuzzy=f, lemma=m), repeat
                )
                expression = search.build_expression(session, query, fuzzy, lemma)
                shown = expression if len(expression) < 60 else expression[:57] + "..."
                row.detail = f"{len(hits):,} hits; MATCH `{shown}`"
                rows.append(row)
    finally:
        project.close()
    return rows


def write_rows(path: Path, repeat: int, facts: dict[str, Any], seed: int = 7) -> list[Row]:
    from sqlalchemy import func, select

    from models import codebook, coding, history
    from models.codes import CodeTree
    from models.schema import Coder, Coding, Sentence, Transcript
    from models.store import open_project

    rng = random.Random(seed)
    rows: list[Row] = []
    project = open_project(path)
    try:
        with project.read() as session:
            tree = CodeTree.load(session)
            leaves = sorted(cid for cid in tree.codes if not tree.children.get(cid))
            coder_a = session.scalar(select(Coder.id).where(Coder.name == "coder_a"))
            sentences = session.execute(select(Sentence.transcript_id, Sentence.start, Sentence.end)).all()
            existing = session.execute(
                select(Coding.transcript_id, Coding.code_id, Coding.end)
                .join(Transcript, Transcript.id == Coding.transcript_id)
                .where(Coding.coder_id == coder_a, Coding.end + 80 <= func.length(Transcript.text))
            ).all()
        apply_new = Row("apply_new", "apply one coding (a random sentence)", BUDGETS_MS["apply"])
        undo_new = Row("undo_new", "undo that apply", BUDGETS_MS["undo"])
        apply_ext = Row("apply_extend", "apply one coding that extends an existing one", BUDGETS_MS["apply"])
        undo_ext = Row("undo_extend", "undo that apply", BUDGETS_MS["undo"])
        # One untimed apply + undo first, so lazily imported modules and first-use caches do not count.
        tid, start, end = rng.choice(sentences)
        coding.apply_codes(project, "bench", tid, [leaves[0]], "coder_a", start, end)
        history.undo(project, "bench")
        wait_quiet()
        with LoadMeter() as load:
            for _ in range(repeat):
                tid, start, end = rng.choice(sentences)
                code = rng.choice(leaves)
                sample, _ = timed(
                    lambda t=tid, c=code, s=start, e=end: coding.apply_codes(project, "bench", t, [c], "coder_a", s, e)
                )
                apply_new.samples.append(sample)
                sample, ev = timed(lambda: history.undo(project, "bench"))
                undo_new.samples.append(sample)
                assert ev is not None and ev.operation == "coding.apply"
                tid, code, end = rng.choice(existing)
                sample, _ = timed(
                    lambda t=tid, c=code, e=end: coding.apply_codes(project, "bench", t, [c], "coder_a", e, e + 80)
                )
                apply_ext.samples.append(sample)
                sample, _ = timed(lambda: history.undo(project, "bench"))
                undo_ext.samples.append(sample)
        for r in (apply_new, undo_new, apply_ext, undo_ext):
            r.others, r.loadavg = load.others, load.loadavg
            r.detail = "1 commit (WAL, synchronous=FULL); random sentence, code and transcript each run"
        apply_ext.detail = "extends a random existing coding by 80 characters; 1 commit"
        rows += [apply_new, undo_new, apply_ext, undo_ext]

        (src_path, src_id, src_n), (dst_path, dst_id, dst_n) = facts["busiest"]
        merge = Row("merge", f"merge code ({src_n:,} codings) into another ({dst_n:,})", BUDGETS_MS["merge"])
        merge_undo = Row("merge_undo", "undo that merge", BUDGETS_MS["merge_undo"])
        details = None
        wait_quiet()
        with LoadMeter() as load:
            for _ in range(max(3, min(repeat, 7))):
                sample, _ = timed(lambda: codebook.merge_codes(project, "bench", src_id, dst_id))
                merge.samples.append(sample)
                with project.read() as session:
                    details = history.history(session, limit=1)[0].summary
                sample, ev = timed(lambda: history.undo(project, "bench"))
                merge_undo.samples.append(sample)
                assert ev is not None and ev.operation == "code.merge"
        for r in (merge, merge_undo):
            r.others, r.loadavg = load.others, load.loadavg
        merge.detail = f"{src_path} into {dst_path}: {details.split('(', 1)[-1].rstrip(')') if details else ''}"
        merge_undo.detail = "replays the merge's row images; 1 commit"
        rows += [merge, merge_undo]
    finally:
        project.close()
    return rows


# --- cold: the first call in a fresh process -------------------------------------------------------------

COLD_OPS = ("retrieve_big", "matrix", "fts_rare", "fuzzy")


def cold_child(path: Path, op: str, theme: str) -> dict[str, float]:
    """Child mode: open the project, time one call of ``op``; imports and opening are not timed."""
    from models import queries, search
    from models.store import open_project

    project = open_project(path)
    with project.read() as session:
        calls = {
            "retrieve_big": lambda: queries.retrieve(session, theme, True),
            "matrix": lambda: queries.code_timepoint_matrix(session),
            "fts_rare": lambda: search.search(session, "supervision"),
            "fuzzy": lambda: search.search(session, "supervison", fuzzy=True),
        }
        sample, _ = timed(calls[op])
    project.close()
    return asdict(sample)


def cold_rows(path: Path, repeat: int, facts: dict[str, Any], warm: dict[str, Row]) -> list[Row]:
    rows = []
    theme = facts["themes"][0][1]
    for op in COLD_OPS:
        base = warm[op]
        row = Row(f"{op}_cold", f"{base.label}: first call in a fresh process", base.budget_ms)
        with metered(row):
            for _ in range(repeat):
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.bench_engine",
                        "--cold-child",
                        op,
                        "--project",
                        str(path),
                        "--theme",
                        theme,
                    ],
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                row.samples.append(Sample(**json.loads(out.stdout.strip().splitlines()[-1])))
        row.detail = "opens the project, then times one call (process start and imports not counted)"
        rows.append(row)
    return rows


# --- main -----------------------------------------------------------------------------------------------------


def measure_size(
    participants: int, timepoints: int, words: int, codings: int, repeat: int, cold_repeat: int, work: Path
) -> dict[str, Any]:
    from bench.corpus import build_coded_project
    from models.store import open_project

    path = work / f"engine-p{participants}.wqda"
    remove_project(path)
    started = time.perf_counter()
    build_coded_project(path, participants, timepoints, words, codings=codings)
    print(f"p{participants}: fixture ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    project = open_project(path)
    with project.read() as session:
        facts = _project_facts(session)
    project.close()
    rows = read_rows(path, repeat, facts)
    print(f"p{participants}: reads done", file=sys.stderr)
    if cold_repeat:
        rows += cold_rows(path, cold_repeat, facts, {r.key: r for r in rows})
        print(f"p{participants}: cold reads done", file=sys.stderr)
    rows += write_rows(path, max(repeat, 10), facts)
    print(f"p{participants}: writes done", file=sys.stderr)
    remove_project(path)
    return {
        "participants": participants,
        "timepoints": timepoints,
        "words_per_transcript": words,
        "codings": codings,
        "facts": facts,
        "rows": rows,
    }


GROWTH_KEYS = [
    "retrieve_big",
    "retrieve_mid",
    "matrix",
    "fts_rare",
    "fts_common",
    "fts_prefix",
    "fuzzy",
    "apply_new",
    "undo_new",
    "merge",
    "merge_undo",
]


def markdown(results: dict[str, Any], command: str) -> str:
    main = results["sizes"][-1]
    f = main["facts"]
    lines = [
        machine_line(results["machine"]),
        "",
        f"Command: `{command}`",
        "",
        f"Load: `{results['uptime_before']}` before, `{results['uptime_after']}` after. "
        "\"others' load\" is the share of the machine's 2 cores that other processes used while a row ran.",
        "",
        f"Project: {f['transcripts']} transcripts ({main['participants']} participants × {main['timepoints']} "
        f"timepoints), {f['words']:,} words, {f['turns']:,} turns, {f['sentences']:,} sentences; "
        f"{f['codings']:,} codings over 300 leaf codes (360 codes with 10 themes and 50 subthemes) by 3 coders "
        "(`bench.corpus.build_coded_project`). Medians of the runs shown after one untimed warm-up call. Verdict on "
        "CPU time: pass when the median is within budget, borderline when only the best run is, FAIL when no run "
        "is (on this shared VM even CPU time varies by up to 2x with other load, so the best run is the closest "
        "to the code's own cost).",
        "",
        *rows_table(main["rows"]),
    ]
    if len(results["sizes"]) > 1:
        sizes = results["sizes"]
        lines += [
            "",
            "Growth (CPU ms: median, and best run in brackets; codings proportional to the corpus; the "
            "busiest code merged into the second busiest at each size):",
            "",
        ]
        header = (
            "| operation | "
            + " | ".join(f"{s['facts']['words'] / 1000:,.0f}k words, {s['facts']['codings']:,} codings" for s in sizes)
            + " | growth (best / best) |"
        )
        lines += [header, "| --- |" + " ---: |" * (len(sizes) + 1)]
        for key in GROWTH_KEYS:
            cells = []
            for s in sizes:
                row = next((r for r in s["rows"] if r.key == key), None)
                cells.append(row)
            if not all(cells):
                continue
            label = cells[-1].label
            if key.startswith("retrieve"):
                label += " (" + " / ".join(c.detail.split(" (")[0] for c in cells) + ")"
            elif key == "merge":
                label = "merge the busiest code into the second busiest (see below)"
            values = " | ".join(f"{fmt_ms(c.cpu)} (best {fmt_ms(c.cpu_min)})" for c in cells)
            words_ratio = sizes[-1]["facts"]["words"] / sizes[0]["facts"]["words"]
            lines.append(
                f"| {label} | {values} | {cells[-1].cpu_min / cells[0].cpu_min:.1f}× (corpus {words_ratio:.1f}×) |"
            )
        merges = [next(r for r in s["rows"] if r.key == "merge") for s in sizes]
        lines += ["", "Merged at each size: " + "; ".join(f"{m.label.removeprefix('merge ')}" for m in merges) + "."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_engine", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="3,10,32",
        help="participant counts (x3 timepoints x10,000 words); the last one gets the main table",
    )
    parser.add_argument("--timepoints", type=int, default=3)
    parser.add_argument("--words", type=int, default=10_000, help="words per transcript")
    parser.add_argument("--codings-per-participant", type=float, default=FULL[3] / FULL[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per read query (writes: at least 10)")
    parser.add_argument(
        "--cold-repeat", type=int, default=5, help="fresh processes per cold row (0: none); only for the largest size"
    )
    add_quiet_option(parser)
    parser.add_argument("--cold-child", help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--theme", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold_child:
        print(json.dumps(cold_child(args.project, args.cold_child, args.theme)))
        return 0
    apply_quiet_option(args)
    sys.path.insert(0, str(REPO))
    command = command_line("bench.bench_engine", argv)
    sizes = [int(p) for p in args.sizes.split(",") if p]
    results: dict[str, Any] = {"machine": machine_info(), "command": command, "uptime_before": uptime(), "sizes": []}
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-engine-", dir=OUT) as tmp:
        for i, participants in enumerate(sizes):
            codings = round(participants * args.codings_per_participant)
            cold = args.cold_repeat if i == len(sizes) - 1 else 0
            results["sizes"].append(
                measure_size(participants, args.timepoints, args.words, codings, args.repeat, cold, Path(tmp))
            )
    results["uptime_after"] = uptime()
    text = markdown(results, command)
    print(text)
    (OUT / "bench_engine.md").write_text(text + "\n", encoding="utf-8")
    serial = {**results, "sizes": [{**s, "rows": [r.as_dict() for r in s["rows"]]} for s in results["sizes"]]}
    (OUT / "bench_engine.json").write_text(json.dumps(serial, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
