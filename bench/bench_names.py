"""Pseudonymisation benchmarks (issues 11 and 20): the scan of the ~1M-word corpus, budget 10 s, and
``redact --apply`` with a 98-name register, budget 20 s.

The project is ``bench.corpus.build_coded_project(32 participants x 3 timepoints x 10,000 words)``: 96
transcripts, 986,169 words, 50,000 codings. Its text is immutable and the generator plants no names in the
speech (participants' first names appear only as speaker labels), so every candidate the scan proposes that
is not a speaker label is a false one: the count is reported. The register is made from:

* the 38 first names the generator gives participants (they are the speaker labels);
* everyday words that are also names or places and occur in the corpus (Grace, Will, Hope, North, Park...),
  some as wards and organisations ("Park Ward", "Hill Hospital");
* invented names (seeded syllable combinations: people, towns, wards, trusts); every third entry has a
  misspelt variant, as the issue's "Sandra"/"Sandrah".

The scan is measured with a 500-entry register and redaction with the first 98 entries (issue 20's "98
names"); entries go in through ``models.names.add_entry`` (setup, not budgeted), cached under
``bench/out/names/``. Measured on fresh copies, each in its own process, with CPU time and peak RSS:

* ``waveqda names PROJECT scan --json`` and ``waveqda redact PROJECT --apply --json`` as whole processes,
  timed from outside (interpreter start, imports, the work and its output);
* ``models.names.scan`` and ``models.names.redact(apply=True)`` timed inside a child process around the call
  alone (the "in-process" figure), with that child's peak RSS;
* where a scan's time goes: reading the project's texts, the rules (``models.name_detection``), speaker
  labels, statistical NER (none installed).

    flock /work/notes/bench.lock .venv/bin/python -m bench.bench_names     # ~4 minutes on 2 busy cores

Writes ``bench/out/bench_names.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
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
    metered,
    remove_project,
    rows_table,
    sqlite_copy,
    uptime,
)

NAMES_DIR = OUT / "names"
BUDGET_MS = 10_000.0  # issue 11: scan of 96 transcripts x 10,000 words
REDACT_BUDGET_MS = 20_000.0  # issue 20: redact --apply, 98 names
REGISTER_SIZE = 500
REDACT_REGISTER = 98

# Everyday words that are also first names, surnames or place words; those found in the corpus are used.
NAME_LIKE_WORDS = [
    "will", "mark", "rose", "hope", "grace", "joy", "faith", "frank", "jack", "bill", "may", "june", "dawn",
    "summer", "king", "brown", "green", "white", "young", "hall", "wood", "hill", "field", "mill", "bridge",
    "church", "park", "north", "south", "east", "west", "bank", "lake", "ford", "chase", "lane", "rich", "rock",
    "stone", "cook", "baker", "mason", "carter", "porter", "parker", "hunter", "fisher", "moss", "snow", "star",
    "sandy", "penny", "ray", "don", "sue", "pat", "holly", "ivy", "heather", "amber", "ruby", "pearl", "crystal",
    "victoria", "albert", "georgia", "florence", "chester", "lincoln", "jordan", "austin", "dale", "glen",
    "clay", "drew", "guy", "sterling", "reed", "marsh", "brook", "banks", "cross", "grove", "heath", "page",
]  # fmt: skip
SYLLABLES_FIRST = ["ka", "lo", "mi", "ra", "de", "so", "ta", "ni", "be", "jo", "ar", "el", "fe", "ha", "ze", "wy"]
SYLLABLES_MID = ["ra", "li", "na", "do", "ve", "sa", "ko", "mi", "ne", "lu", "ri", "ta"]
ENDINGS = ["n", "na", "ra", "son", "ley", "ford", "wick", "ton", "dor", "ette", "o", "ah", "ic", "an", "ell"]
ORG_SUFFIXES = ["Hospital", "Trust", "Clinic", "Centre", "College", "Council", "Foundation"]


def _invented(rng: random.Random) -> str:
    parts = [rng.choice(SYLLABLES_FIRST)] + [rng.choice(SYLLABLES_MID) for _ in range(rng.randrange(0, 2))]
    return ("".join(parts) + rng.choice(ENDINGS)).capitalize()


def _misspelt(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i] + word[i:]  # doubled letter ("Sandrra")
    if kind == 1:
        return word + "h" if word[-1] in "aeiou" else word[:i] + word[i + 1 :]  # "Sandrah" / dropped letter
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swapped


def make_register(corpus_words: set[str], seed: int = 1, size: int = REGISTER_SIZE) -> list[dict[str, Any]]:
    """``size`` entries: ``{"term", "variants", "category", "origin"}``."""
    from bench.corpus import FIRST_NAMES

    rng = random.Random(f"{seed}/names-register")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(term: str, category: str, origin: str, variant: bool) -> None:
        spellings = [term]
        if variant and " " not in term and len(term) >= 4:
            misspelt = _misspelt(term, rng)
            if misspelt.casefold() != term.casefold():
                spellings.append(misspelt)
        if any(s.casefold() in seen for s in spellings) or len(out) >= size:
            return
        seen.update(s.casefold() for s in spellings)
        out.append({"term": term, "variants": spellings[1:], "category": category, "origin": origin})

    for name in FIRST_NAMES:
        add(name, "person", "speaker name (label)", len(out) % 3 == 2)
    present = [w for w in NAME_LIKE_WORDS if w in corpus_words]
    for i, word in enumerate(present):
        add(word.capitalize(), "place" if i % 4 == 3 else "person", "word in corpus", len(out) % 3 == 2)
    for word in present[:20]:
        add(f"{word.capitalize()} Ward", "ward", "word in corpus + Ward", False)
        add(f"{word.capitalize()} {rng.choice(ORG_SUFFIXES)}", "organisation", "word in corpus + organisation", False)
    while len(out) < size:
        kind = rng.random()
        if kind < 0.55:
            add(_invented(rng), "person", "invented first name", len(out) % 3 == 2)
        elif kind < 0.75:
            add(f"{_invented(rng)} {_invented(rng)}", "person", "invented full name", False)
        elif kind < 0.85:
            add(
                _invented(rng) + rng.choice(["bury", "field", "ham", "ton"]),
                "place",
                "invented town",
                len(out) % 3 == 2,
            )
        elif kind < 0.93:
            add(f"{_invented(rng)} Ward", "ward", "invented ward", False)
        else:
            add(f"{_invented(rng)} {rng.choice(ORG_SUFFIXES)}", "organisation", "invented organisation", False)
    return out


def corpus_words(path: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT term FROM search_vocab")}


def ensure_register_project(seed: int = 1, size: int = REGISTER_SIZE) -> tuple[Path, list[dict[str, Any]], float]:
    """The 1M-word project with the register filled in (cached), the register, and how long adding took."""
    from bench.corpus import _locked, build_coded_project
    from models.names import add_entry
    from models.store import HEAD_REVISION, open_project

    NAMES_DIR.mkdir(parents=True, exist_ok=True)
    key = f"p32-t3-w10000-s{seed}-r{size}-{HEAD_REVISION}"
    path = NAMES_DIR / f"register-{key}.wqda"
    meta = NAMES_DIR / f"register-{key}.json"
    with _locked(NAMES_DIR, key):
        if not path.exists() or not meta.exists():
            building = path.with_suffix(f".building-{os.getpid()}")
            remove_project(building)
            build_coded_project(building, 32, 3, 10_000, seed=seed)
            register = make_register(corpus_words(building), seed, size)
            project = open_project(building)
            started = time.perf_counter()
            try:
                for entry in register:
                    add_entry(project, "bench", entry["term"], entry["variants"], entry["category"])
            finally:
                project.close()
            seconds = time.perf_counter() - started
            final = path.with_suffix(".tmp")
            remove_project(final)
            sqlite_copy(building, final)
            remove_project(building)
            os.replace(final, path)
            meta.write_text(json.dumps({"register": register, "add_seconds": seconds}), encoding="utf-8")
    data = json.loads(meta.read_text(encoding="utf-8"))
    return path, data["register"], data["add_seconds"]


def waveqda_command() -> list[str]:
    script = Path(sys.executable).with_name("waveqda")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from app.cli import main; main()"]


def child(cmd: list[str]) -> tuple[Sample, int, bytes]:
    """Run ``cmd``; its wall time from outside, CPU time and peak RSS (KB) from its rusage, its stdout."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, cwd=REPO)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        error = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {error}")
        out.seek(0)
        return Sample(wall * 1000, (usage.ru_utime + usage.ru_stime) * 1000), usage.ru_maxrss, out.read()


INPROCESS = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from models import names
from models.store import open_project
project = open_project({path!r})
{warm}
cpu0, wall0 = time.process_time(), time.perf_counter()
result = {call}
cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
print(json.dumps({{"cpu": cpu, "wall": wall, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "result": {summary}}}))
"""


def inprocess(path: Path, call: str, summary: str, warm: str = "") -> tuple[Sample, int, Any]:
    code = INPROCESS.format(repo=str(REPO), path=str(path), call=call, summary=summary, warm=warm)
    _sample, _rss, out = child([sys.executable, "-c", code])
    data = json.loads(out.decode().strip().splitlines()[-1])
    return Sample(data["wall"] * 1000, data["cpu"] * 1000), data["rss_kb"], data["result"]


def scan_rows(source: Path, repeat: int, work: Path) -> tuple[list[Row], dict[str, Any]]:
    process = Row("cli_scan", "`waveqda names PROJECT scan --json`, whole process (first scan)", BUDGET_MS)
    inside = Row("scan", "`models.names.scan` in a child process, the call alone (first scan)", BUDGET_MS)
    rss: dict[str, list[int]] = {"process": [], "inside": []}
    rows: list[dict[str, Any]] = []
    with metered(process):
        for i in range(repeat):
            path = sqlite_copy(source, work / f"cli-{i}.wqda")
            sample, peak, out = child([*waveqda_command(), "names", str(path), "scan", "--json"])
            process.samples.append(sample)
            rss["process"].append(peak)
            rows = json.loads(out.decode("utf-8"))
            remove_project(path)
    with metered(inside):
        for i in range(repeat):
            path = sqlite_copy(source, work / f"in-{i}.wqda")
            sample, peak, _ = inprocess(path, "names.scan(project, 'bench')", "len(result)")
            inside.samples.append(sample)
            rss["inside"].append(peak)
            remove_project(path)
    by_source = Counter(r["source"] for r in rows)
    false = [r["text"] for r in rows if r["source"] != "speaker-label"]
    process.detail = (
        f"{len(rows):,} pending candidates ({', '.join(f'{k} {v}' for k, v in by_source.most_common())}); "
        f"peak RSS {max(rss['process']) / 1024:.0f} MB"
    )
    inside.detail = f"loads the name lists and reads every text itself; peak RSS {max(rss['inside']) / 1024:.0f} MB"
    facts = {"candidates": len(rows), "by_source": dict(by_source), "false": false}
    return [process, inside], facts


def breakdown_rows(source: Path, work: Path, repeat: int) -> list[Row]:
    """Where a scan's time goes, in this process after a warm-up: reading the texts, the rules, speaker
    labels, statistical NER. Read-only."""
    import statistics

    from models import names
    from models.name_detection import Detector
    from models.store import open_project

    path = sqlite_copy(source, work / "breakdown.wqda")
    project = open_project(path)
    parts: dict[str, list[float]] = {"reading texts": [], "rules": [], "speaker labels": [], "statistical NER": []}
    whole = Row("detect", "of which detection (`models.names.detect`: no database writes)", None)
    found = 0
    try:
        with project.read() as session:
            names.detect(session)  # warm-up: name lists loaded once per process
            with metered(whole):
                for _ in range(repeat):
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    t = time.process_time()
                    pieces = names.project_pieces(session)
                    parts["reading texts"].append(time.process_time() - t)
                    t = time.process_time()
                    known = [s for e in names.entries(session) for s in names._spellings(e)]
                    hits = Detector(known=known).detect(pieces)
                    parts["rules"].append(time.process_time() - t)
                    t = time.process_time()
                    hits += names._speaker_label_hits(session, pieces)
                    parts["speaker labels"].append(time.process_time() - t)
                    t = time.process_time()
                    hits += names.statistical_hits(session, pieces)
                    parts["statistical NER"].append(time.process_time() - t)
                    whole.samples.append(
                        Sample((time.perf_counter() - wall0) * 1000, (time.process_time() - cpu0) * 1000)
                    )
                    found = len(hits)
    finally:
        project.close()
        remove_project(path)
    whole.detail = f"{found:,} occurrences before grouping and decisions"
    note = Row("detect_parts", "↳ CPU s by part (median)", None)
    note.detail = "; ".join(f"{k} {statistics.median(v):.2f}" for k, v in parts.items()) + (
        " (no trained spaCy pipeline installed: statistical NER adds nothing)"
    )
    return [whole, note]


def redact_rows(source: Path, repeat: int, work: Path) -> list[Row]:
    process = Row("cli_redact", "`waveqda redact PROJECT --apply --json`, whole process", REDACT_BUDGET_MS)
    inside = Row("redact", "`models.names.redact(apply=True)` in a child process, the call alone", REDACT_BUDGET_MS)
    peaks: dict[str, list[int]] = {"process": [], "inside": []}
    result: dict[str, Any] = {}
    with metered(process):
        for i in range(repeat):
            path = sqlite_copy(source, work / f"redact-cli-{i}.wqda")
            sample, peak, out = child([*waveqda_command(), "redact", str(path), "--apply", "--json"])
            process.samples.append(sample)
            peaks["process"].append(peak)
            result = json.loads(out.decode("utf-8"))
            remove_project(path)
            for backup in work.glob(f"redact-cli-{i}.wqda.before-redact-*"):
                backup.unlink()
    with metered(inside):
        for i in range(repeat):
            path = sqlite_copy(source, work / f"redact-in-{i}.wqda")
            sample, peak, _ = inprocess(path, "names.redact(project, 'bench', apply=True)", "result.total")
            inside.samples.append(sample)
            peaks["inside"].append(peak)
            remove_project(path)
            for backup in work.glob(f"redact-in-{i}.wqda.before-redact-*"):
                backup.unlink()
    process.detail = (
        f"{result.get('total', 0):,} replacements in {len(result.get('replacements', {}))} transcripts, "
        f"{result.get('codings_moved', 0):,} codings re-anchored, backup copy included; "
        f"peak RSS {max(peaks['process']) / 1024:.0f} MB"
    )
    inside.detail = f"one undoable transaction, journalled; peak RSS {max(peaks['inside']) / 1024:.0f} MB"
    return [process, inside]


def register_summary(register: list[dict[str, Any]]) -> str:
    origins = Counter(e["origin"] for e in register)
    categories = Counter(e["category"] for e in register)
    variants = sum(len(e["variants"]) for e in register)
    examples: dict[str, list[str]] = {}
    for e in register:
        examples.setdefault(e["origin"], []).append(e["term"] + (f" (~{e['variants'][0]})" if e["variants"] else ""))
    parts = [f"{n} {origin} (e.g. {', '.join(examples[origin][:4])})" for origin, n in origins.most_common()]
    return (
        f"{len(register)} entries, {variants} variant spellings; categories "
        f"{', '.join(f'{k} {v}' for k, v in categories.most_common())}. By origin: " + "; ".join(parts) + "."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_names", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per row")
    parser.add_argument("--seed", type=int, default=1)
    add_quiet_option(parser)
    args = parser.parse_args(argv)
    apply_quiet_option(args)
    command = command_line("bench.bench_names", argv)
    sys.path.insert(0, str(REPO))
    results: dict[str, Any] = {"machine": machine_info(), "command": command, "uptime_before": uptime()}
    source, register, add_seconds = ensure_register_project(args.seed)
    redact_source, redact_register, _ = ensure_register_project(args.seed, REDACT_REGISTER)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-names-", dir=OUT) as tmp:
        work = Path(tmp)
        found, scan_facts = scan_rows(source, args.repeat, work)
        rows += found
        print("scan done", file=sys.stderr)
        rows += breakdown_rows(source, work, args.repeat)
        rows += redact_rows(redact_source, args.repeat, work)
        print("redact done", file=sys.stderr)
    results["uptime_after"] = uptime()
    results["register"] = register
    results["scan"] = scan_facts
    false = scan_facts["false"]
    lines = [
        machine_line(results["machine"]),
        "",
        f"Command: `{command}`",
        "",
        f"Load: `{results['uptime_before']}` before, `{results['uptime_after']}` after.",
        "",
        "Project: `bench.corpus.build_coded_project(32, 3, 10_000)` (96 transcripts, 986,169 words, 50,000 "
        f"codings). Scan register: {register_summary(register)} Added with `models.names.add_entry`, one step "
        f"each, in {add_seconds:.1f} s wall (setup, not budgeted). Redaction register: the first "
        f"{len(redact_register)} of those entries. No trained spaCy pipeline is installed, so statistical NER "
        "is skipped, as the feature allows.",
        "",
        *rows_table(rows, unit="s"),
        "",
        f"Candidates: {scan_facts['candidates']:,} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(scan_facts['by_source'].items()))}). The generated speech "
        f"holds no names, so the {len(false)} that are not speaker labels are false candidates: "
        f"{', '.join(false[:20]) or 'none'}.",
    ]
    text = "\n".join(lines)
    print(text)
    (OUT / "bench_names.md").write_text(text + "\n", encoding="utf-8")
    results["rows"] = [r.as_dict() for r in rows]
    (OUT / "bench_names.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
