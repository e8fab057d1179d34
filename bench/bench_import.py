"""Import benchmark (issue 2): 96 transcripts of 10,000 words (32 participants x 3 timepoints, ~1M words).

Measures, each as a separate child process timed from outside (so interpreter start-up, imports and loading
spaCy count, as they do for a user):

* ``waveqda import PROJECT CORPUS/txt`` (participant and timepoint from the file names, the default route):
  turns parsed, sentences segmented, search-indexed (budget 6 s), and the same for ``.docx`` (budget 10 s);
  also once each with ``--manifest CORPUS/manifest.csv`` (routing plus four participant attributes);
  peak memory is the child's maximum resident set size from ``os.wait4`` (the kernel's per-child
  ``rusage``, what ``resource.getrusage(RUSAGE_CHILDREN)`` reports once that child is reaped; budget
  600 MB);
* python-docx alone opening the same ``.docx`` files and iterating their paragraphs and tables (the floor
  for any python-docx importer), in-process time and whole-process time;
* the peer tool ``qualitative-coding`` (``qc corpus import -r -i verbatim CORPUS/txt`` in a fresh ``qc init``
  project), installed into its own venv ``bench/out/qc-venv`` on first use;
* scaling: the same import for 12, 96 and 384 transcripts (4, 32 and 128 participants x 3 timepoints).

Other engineers share this 2-core machine, so before each timed run the script waits (up to
``--wait-quiet`` seconds) until the CPUs are mostly idle, records how busy they were, and reports CPU time
(user + sys) next to wall time; CPU time is much less sensitive to other load than wall time. Results go to
stdout as Markdown and to ``bench/out/bench_import.{json,md}``.

Run: ``.venv/bin/python -m bench.bench_import`` (5-30 minutes, most of it waiting for idle CPUs; ``--help``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from bench.corpus import OUT_DIR, ensure_corpus

REPO = Path(__file__).resolve().parent.parent
QC_VENV = OUT_DIR / "qc-venv"
QC_PACKAGE = "qualitative-coding"
BUDGETS = {"txt": 6.0, "docx": 10.0}
MEMORY_BUDGET_MB = 600.0


# --- measuring a child process ------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    user: float
    sys: float
    max_rss_mb: float
    busy_before: float  # share of all CPUs busy (with other work) just before the run, 0..1
    detail: dict = field(default_factory=dict)

    @property
    def cpu(self) -> float:
        return self.user + self.sys


def run_measured(cmd: list[str], cwd: Path | None = None, busy_before: float = 0.0) -> Run:
    """Run ``cmd`` as a child; wall time, its CPU time and peak RSS from the kernel's rusage for it."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace")[-2000:]
            raise RuntimeError(f"{shlex.join(cmd)} exited {proc.returncode}:\n{tail}")
    # Linux reports ru_maxrss in KiB.
    return Run(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024, busy_before)


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values), idle


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over ``seconds`` (0..1); 0 where /proc/stat is missing."""
    try:
        total0, idle0 = _cpu_times()
        time.sleep(seconds)
        total1, idle1 = _cpu_times()
    except OSError:
        return 0.0
    total = total1 - total0
    return 0.0 if total <= 0 else 1 - (idle1 - idle0) / total


def wait_quiet(max_wait: float, threshold: float) -> float:
    """Wait until the CPUs are less busy than ``threshold`` (or ``max_wait`` passes); return the last load."""
    deadline = time.monotonic() + max_wait
    busy = cpu_busy()
    while busy > threshold and time.monotonic() < deadline:
        busy = cpu_busy(2.0)
    return busy


# --- what is measured ---------------------------------------------------------------------------------


def waveqda_command() -> list[str]:
    script = Path(sys.executable).with_name("waveqda")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from app.cli import main; main()"]


def project_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "transcripts": one("SELECT count(*) FROM transcripts"),
            "turns": one("SELECT count(*) FROM turns"),
            "sentences": one("SELECT count(*) FROM sentences"),
            # one row per turn, and one per stretch of text between turns (headings, notes) since issue 13
            "indexed_turns": one("SELECT count(*) FROM search_index"),
            "words": one("SELECT coalesce(sum(word_count), 0) FROM transcripts"),
        }


def measure_waveqda(corpus: Path, fmt: str, expected: int, work: Path, busy: float, manifest: bool = False) -> Run:
    """One ``waveqda import`` of ``corpus/<fmt>`` into a fresh project (``init`` is not timed)."""
    project = work / f"import-{fmt}-{time.monotonic_ns()}.wqda"
    subprocess.run([*waveqda_command(), "init", str(project)], check=True, stdout=subprocess.DEVNULL)
    try:
        cmd = [*waveqda_command(), "import", str(project), str(corpus / fmt)]
        if manifest:
            cmd += ["--manifest", str(corpus / "manifest.csv")]
        run = run_measured(cmd, busy_before=busy)
        counts = project_counts(project)
        if counts["transcripts"] != expected or counts["indexed_turns"] < counts["turns"] or not counts["sentences"]:
            raise RuntimeError(f"import of {corpus / fmt} is incomplete: {counts}")
        run.detail = counts
        return run
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{project}{suffix}").unlink(missing_ok=True)


def read_docx_folder(folder: Path) -> dict:
    """python-docx alone: open each .docx and read every paragraph's and table cell's text."""
    import docx
    from docx.table import Table

    started, cpu_started = time.perf_counter(), time.process_time()
    paragraphs = chars = files = 0
    for path in sorted(folder.glob("*.docx")):
        document = docx.Document(str(path))
        files += 1
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                for row in item.rows:
                    for cell in row.cells:
                        for paragraph in cell.paragraphs:
                            paragraphs += 1
                            chars += len(paragraph.text)
            else:
                paragraphs += 1
                chars += len(item.text)
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "files": files,
        "paragraphs": paragraphs,
        "chars": chars,
    }


def measure_python_docx(corpus: Path, busy: float) -> Run:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, "-m", "bench.bench_import", "--read-docx", str(corpus / "docx"), "--json-out", out.name]
        run = run_measured(cmd, cwd=REPO, busy_before=busy)
        run.detail = json.loads(Path(out.name).read_text())
    return run


def ensure_qc() -> Path:
    """``bench/out/qc-venv/bin/qc``, creating the venv and installing qualitative-coding if missing."""
    qc = QC_VENV / "bin" / "qc"
    if not qc.exists():
        print(f"installing {QC_PACKAGE} into {QC_VENV} ...", file=sys.stderr)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(QC_VENV)], check=True)
        subprocess.run([str(QC_VENV / "bin" / "pip"), "install", "-q", QC_PACKAGE], check=True)
    return qc


def qc_version() -> str:
    out = subprocess.run([str(QC_VENV / "bin" / "pip"), "show", QC_PACKAGE], capture_output=True, text=True)
    return next((line.split(":", 1)[1].strip() for line in out.stdout.splitlines() if line.startswith("Version")), "?")


def measure_qc(corpus: Path, expected: int, work: Path, busy: float) -> Run:
    qc = ensure_qc()
    folder = work / f"qc-{time.monotonic_ns()}"
    folder.mkdir()
    subprocess.run([str(qc), "init"], cwd=folder, check=True, stdout=subprocess.DEVNULL)
    run = run_measured(
        [str(qc), "corpus", "import", "-r", "-i", "verbatim", str(corpus / "txt")], cwd=folder, busy_before=busy
    )
    with sqlite3.connect(folder / "qualitative_coding.sqlite3") as db:
        documents = db.execute("SELECT count(*) FROM document").fetchone()[0]
    if documents != expected:
        raise RuntimeError(f"qc imported {documents} documents, expected {expected}")
    run.detail = {"documents": documents}
    subprocess.run(["rm", "-rf", str(folder)], check=True)
    return run


# --- reporting ----------------------------------------------------------------------------------------


def machine_info() -> dict:
    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(
            (line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), ""
        )
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "-"

    return {
        "nproc": nproc,
        "cpu": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "spacy": version("spacy"),
        "python-docx": version("python-docx"),
        "sqlalchemy": version("sqlalchemy"),
        "platform": platform.platform(),
    }


def summarise(runs: list[Run]) -> dict:
    """Best (minimum) wall time is the headline: on a shared machine the other runs measure the neighbours."""
    best = min(runs, key=lambda r: r.wall)
    return {
        "runs": len(runs),
        "wall_min": best.wall,
        "wall_median": statistics.median(r.wall for r in runs),
        "cpu_best": best.cpu,
        "cpu_median": statistics.median(r.cpu for r in runs),
        "max_rss_mb": max(r.max_rss_mb for r in runs),
        "busy_before_best": best.busy_before,
        "detail": best.detail,
        "all": [asdict(r) | {"cpu": r.cpu} for r in runs],
    }


def ratios(rows: dict) -> dict:
    """waveqda against python-docx alone and against qualitative-coding (best wall, and median CPU)."""
    out = {}
    if "waveqda_docx" in rows and "python_docx" in rows:
        docx, reader = rows["waveqda_docx"], rows["python_docx"]
        out["docx_vs_python_docx_process"] = docx["wall_min"] / reader["wall_min"]
        out["docx_vs_python_docx_read"] = docx["wall_min"] / min(r["detail"]["seconds"] for r in reader["all"])
        out["docx_vs_python_docx_cpu"] = docx["cpu_median"] / reader["cpu_median"]
    if "waveqda_txt" in rows and "qc_txt" in rows:
        out["txt_vs_qc"] = rows["waveqda_txt"]["wall_min"] / rows["qc_txt"]["wall_min"]
        out["txt_vs_qc_cpu"] = rows["waveqda_txt"]["cpu_median"] / rows["qc_txt"]["cpu_median"]
    return out


def verdict(value: float, budget: float | None) -> str:
    if budget is None:
        return ""
    return "within" if value <= budget else "**over**"


ROW_LABELS = (
    ("waveqda_txt", "`waveqda import P CORPUS/txt`"),
    ("waveqda_docx", "`waveqda import P CORPUS/docx`"),
    ("waveqda_txt_manifest", "the same .txt with `--manifest` (routing + 4 attributes per participant)"),
    ("waveqda_docx_manifest", "the same .docx with `--manifest`"),
    ("python_docx", "python-docx alone: open + iterate paragraphs/tables of the 96 .docx (whole process)"),
    ("qc_txt", "qualitative-coding {qc} `qc corpus import -r -i verbatim CORPUS/txt`"),
)


def markdown(results: dict) -> str:
    m, corpus, rows = results["machine"], results["corpus"], results["rows"]
    lines = [
        f"Measured {results['date']} on {m['nproc']} cores ({m['cpu']}), Python {m['python']}, "
        f"spaCy {m['spacy']}, python-docx {m['python-docx']}, SQLite {m['sqlite']}.",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Corpus: {corpus['transcripts']} transcripts ({corpus['participants']} participants x "
        f"{corpus['timepoints']} timepoints) of about {corpus['words_per_transcript']:,} words, "
        f"{corpus['words']:,} words as counted by waveqda, {corpus['turns']:,} turns, "
        f"{corpus['sentences']:,} sentences. Each row is a separate process timed from outside (start-up, "
        f"imports and loading spaCy included); wall time is the best of the runs, CPU time is user + sys of "
        f'that run; "busy" is how busy the two CPUs were (with other work) just before it.',
        "",
        "| what | runs | wall s (best) | wall s (median) | CPU s | peak RSS MB | budget | CPUs busy before |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for key, label in ROW_LABELS:
        if key not in rows:
            continue
        r = rows[key]
        budget = BUDGETS.get(key.removeprefix("waveqda_"))
        budget_text = (
            f"≤ {budget:g} s: {verdict(r['wall_min'], budget)}; ≤ {MEMORY_BUDGET_MB:g} MB: "
            f"{verdict(r['max_rss_mb'], MEMORY_BUDGET_MB)}"
            if budget
            else ""
        )
        lines.append(
            f"| {label.format(qc=results.get('qc_version', ''))} | {r['runs']} | {r['wall_min']:.2f} | "
            f"{r['wall_median']:.2f} | {r['cpu_best']:.2f} | {r['max_rss_mb']:.0f} | {budget_text} | "
            f"{100 * r['busy_before_best']:.0f}% |"
        )
    found = ratios(rows)
    if found:
        lines += ["", "Ratios (best wall times; CPU: medians):", ""]
        if "docx_vs_python_docx_read" in found:
            reads = rows["python_docx"]["all"]
            inner = min(r["detail"]["seconds"] for r in reads)
            inner_cpu = min(r["detail"]["cpu_seconds"] for r in reads)
            lines.append(
                f"- waveqda .docx import / python-docx alone reading the same files: "
                f"**{found['docx_vs_python_docx_process']:.1f}x** the whole python-docx process, "
                f"{found['docx_vs_python_docx_read']:.1f}x its in-process read time ({inner:.2f} s wall, "
                f"{inner_cpu:.2f} s CPU); by CPU time {found['docx_vs_python_docx_cpu']:.1f}x."
            )
        if "txt_vs_qc" in found:
            lines.append(
                f"- waveqda .txt import / qualitative-coding .txt import: **{found['txt_vs_qc']:.2f}x** "
                f"(by CPU time {found['txt_vs_qc_cpu']:.2f}x). qc copies each file and records its "
                f"paragraphs; it does not segment sentences or build a search index."
            )
    scaling = results.get("scaling")
    if scaling:
        formats = sorted({fmt for row in scaling for fmt in row["formats"]}, key=["txt", "docx"].index)
        lines += [
            "",
            f"Scaling (transcripts of about {corpus['words_per_transcript']:,} words; the "
            f"{corpus['transcripts']}-transcript row is the best run above, the others one run each):",
            "",
        ]
        header = "| transcripts | words |" + "".join(
            f" {fmt} wall s | {fmt} CPU s | {fmt} ms per transcript | {fmt} peak RSS MB |" for fmt in formats
        )
        lines += [header, "| ---: | ---: |" + " ---: | ---: | ---: | ---: |" * len(formats)]
        for row in scaling:
            cells = f"| {row['transcripts']} | {row['words']:,} |"
            for fmt in formats:
                r = row["formats"].get(fmt)
                cells += (
                    f" {r['wall']:.2f} | {r['cpu']:.2f} | {1000 * r['wall'] / row['transcripts']:.0f} | "
                    f"{r['max_rss_mb']:.0f} |"
                    if r
                    else " - | - | - | - |"
                )
            lines.append(cells)
        lines += ["", *marginal_costs(scaling, formats)]
    return "\n".join(lines)


def marginal_costs(scaling: list[dict], formats: list[str]) -> list[str]:
    """Growth between sizes: the fixed start-up cost separates from the cost per transcript."""
    out = []
    for fmt in formats:
        points = [(row["transcripts"], row["formats"][fmt]["wall"]) for row in scaling if fmt in row["formats"]]
        steps = [
            f"{n0} → {n1}: {1000 * (w1 - w0) / (n1 - n0):.0f} ms per extra transcript"
            for (n0, w0), (n1, w1) in zip(points, points[1:], strict=False)
        ]
        if steps:
            out.append(f"- {fmt}: " + "; ".join(steps) + ".")
    return out


# --- main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_import", description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=32)
    parser.add_argument("--timepoints", type=int, default=3)
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement (best and median reported)")
    parser.add_argument("--formats", default="txt,docx")
    parser.add_argument("--scaling", default="4,32,128", help="participant counts for the scaling runs ('' = none)")
    parser.add_argument("--scaling-formats", default="txt,docx")
    parser.add_argument("--no-qc", action="store_true", help="skip the qualitative-coding comparison")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="before each run, wait up to this long for the CPUs to be mostly idle",
    )
    parser.add_argument("--busy-threshold", type=float, default=0.2)
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="print the Markdown report of the last run (bench/out/bench_import.json) again",
    )
    parser.add_argument("--read-docx", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.read_docx:  # child mode: python-docx alone
        result = read_docx_folder(args.read_docx)
        args.json_out.write_text(json.dumps(result))
        return 0
    if args.report_only:
        print(markdown(json.loads((OUT_DIR / "bench_import.json").read_text())))
        return 0

    command = "python -m bench.bench_import " + shlex.join(argv if argv is not None else sys.argv[1:])
    command = command.strip()
    formats = [f for f in args.formats.split(",") if f]
    expected = args.participants * args.timepoints
    quiet = lambda: wait_quiet(args.wait_quiet, args.busy_threshold)  # noqa: E731
    corpus = ensure_corpus(args.participants, args.timepoints, args.words, formats, args.seed)
    results: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine_info(),
        "command": command,
        "corpus": {
            "participants": args.participants,
            "timepoints": args.timepoints,
            "transcripts": expected,
            "words_per_transcript": args.words,
            "path": str(corpus),
        },
        "rows": {},
    }
    rows = results["rows"]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-import-", dir=OUT_DIR) as tmp:
        work = Path(tmp)
        if not args.no_qc:
            ensure_qc()
            results["qc_version"] = qc_version()
        for fmt in formats:
            runs = []
            for n in range(args.repeat):
                runs.append(measure_waveqda(corpus, fmt, expected, work, quiet()))
                print(
                    f"waveqda {fmt} run {n + 1}: {runs[-1].wall:.2f} s wall, {runs[-1].cpu:.2f} s CPU, "
                    f"{runs[-1].max_rss_mb:.0f} MB",
                    file=sys.stderr,
                )
            rows[f"waveqda_{fmt}"] = summarise(runs)
        for fmt in formats:
            run = measure_waveqda(corpus, fmt, expected, work, quiet(), manifest=True)
            print(f"waveqda {fmt} --manifest: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU", file=sys.stderr)
            rows[f"waveqda_{fmt}_manifest"] = summarise([run])
        first = rows[f"waveqda_{formats[0]}"]["detail"]
        results["corpus"].update(words=first["words"], turns=first["turns"], sentences=first["sentences"])
        if "docx" in formats:
            rows["python_docx"] = summarise([measure_python_docx(corpus, quiet()) for _ in range(args.repeat)])
        if not args.no_qc and "txt" in formats:
            rows["qc_txt"] = summarise([measure_qc(corpus, expected, work, quiet()) for _ in range(args.repeat)])
        results["ratios"] = ratios(rows)

        scaling = []
        scaling_formats = [f for f in args.scaling_formats.split(",") if f]
        for participants in [int(p) for p in args.scaling.split(",") if p]:
            n = participants * args.timepoints
            row: dict = {"transcripts": n, "formats": {}}
            size_corpus = ensure_corpus(participants, args.timepoints, args.words, scaling_formats, args.seed)
            for fmt in scaling_formats:
                if participants == args.participants and f"waveqda_{fmt}" in rows:
                    main_row = rows[f"waveqda_{fmt}"]
                    run = {
                        "wall": main_row["wall_min"],
                        "cpu": main_row["cpu_best"],
                        "max_rss_mb": main_row["max_rss_mb"],
                        "detail": main_row["detail"],
                    }
                else:
                    measured = measure_waveqda(size_corpus, fmt, n, work, quiet())
                    run = asdict(measured) | {"cpu": measured.cpu}
                    print(f"scaling {n} {fmt}: {measured.wall:.2f} s", file=sys.stderr)
                row["formats"][fmt] = run
                row["words"] = run["detail"]["words"]
            scaling.append(row)
        results["scaling"] = scaling

    report = markdown(results)
    print(report)
    (OUT_DIR / "bench_import.json").write_text(json.dumps(results, indent=2))
    (OUT_DIR / "bench_import.md").write_text(report + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
