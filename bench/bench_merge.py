"""Merge benchmark (issue 6): two coders' project files of 50,000 codings each over the ~1M-word corpus.

Fixture (built once, cached under ``bench/out/merge/``):

1. ``base``: a new project with the generated corpus (32 participants x 3 timepoints x 10,000 words, .txt with
   the manifest) imported through ``importers.batch.import_paths``, and the 300-code benchmark codebook
   (10 themes x 5 subthemes x 6 codes, as ``bench.corpus`` names them) inserted once, so both coders share
   the codebook's UUIDs, as a team that hands out one prepared project does.
2. ``coder_a`` and ``coder_b``: each a copy of ``base`` made with SQLite's online backup API, then one coder
   (``coder_a`` / ``coder_b``, distinct UUIDs) and 50,000 codings bulk-inserted (Core ``executemany``, one
   non-undoable ``bench.fixture`` event: a fixture, not user operations). Both coders work through the same
   seeded stream of candidate spans (1-3 sentences of a turn, or a whole turn, 90% participant turns; codes
   Zipf-like), each taking a candidate with probability 0.8 and moving a boundary by a sentence 20% of the
   time, so they code much the same material, as real coders do, but every coding is theirs alone. No coder
   holds two overlapping or touching codings of one code in a transcript.

Measured, each in this process on fresh copies (copies not timed), ``--repeat`` times, median reported:

* ``merge_projects(copy of coder_a, [coder_b])``: 50,000 codings into a project already holding 50,000
  (budget 15 s), checked to give 100,000 codings, none needing review;
* merging the same source again (idempotent: nothing added), no budget;
* ``merge_projects(new file, [coder_b])``: into a new file (transcripts, turns, sentences and the search
  index copied too), budget 15 s;
* ``merge_projects(new file, [coder_a, coder_b])``: both coders into a new file, the team lead's usual step,
  no separate budget (shown against 15 s for reference).

    .venv/bin/python -m bench.bench_merge                # ~5 minutes on 2 busy cores (first run builds the fixture)

Writes ``bench/out/bench_merge.{md,json}``; ``bench.bench_agreement`` reuses the fixture.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.bench_engine import (
    OUT,
    REPO,
    Row,
    add_quiet_option,
    apply_quiet_option,
    command_line,
    machine_info,
    machine_line,
    metered,
    remove_project,
    rows_table,
    sqlite_copy,
    timed,
    uptime,
)

MERGE_DIR = OUT / "merge"
BUDGET_MS = 15_000.0
CODER_TAKES = 0.8
BOUNDARY_MOVES = 0.2


# --- the fixture ----------------------------------------------------------------------------------------------


def fixture_key(participants: int, timepoints: int, words: int, codings: int, seed: int) -> str:
    from bench.corpus import corpus_key
    from models.store import HEAD_REVISION

    return f"{corpus_key(participants, timepoints, words, seed)}-n{codings}-{HEAD_REVISION}"


def _lock(name: str):
    from bench.corpus import _locked  # the generator's own file lock, so parallel runs build once

    return _locked(MERGE_DIR, name)


def build_base(path: Path, participants: int, timepoints: int, words: int, seed: int) -> None:
    """Import the corpus into a new project and insert the shared codebook."""
    from sqlalchemy import insert

    from bench.corpus import FIXTURE_EPOCH, THEMES, TIMEPOINT_LABELS, codebook_shape, ensure_corpus, timepoint_keys
    from importers.batch import import_paths
    from models.codebook import palette_colours
    from models.schema import Code
    from models.store import create_project

    corpus = ensure_corpus(participants, timepoints, words, ("txt",), seed)
    tps = [(key, TIMEPOINT_LABELS.get(key, key)) for key in timepoint_keys(timepoints)]
    project = create_project(path, timepoints=tps, name="Merge benchmark study (team base)")
    try:
        result = import_paths(project, [corpus / "txt"], manifest_path=corpus / "manifest.csv", actor="lead")
        if result.failed:
            raise RuntimeError(f"corpus import failed: {result.failed[0].message}")
        rng = random.Random(f"{seed}/merge-codebook")
        colours = palette_colours()
        rows: list[dict[str, Any]] = []
        n_themes, n_subs, n_leaves = codebook_shape(300)

        def add(name: str, parent: int | None, position: int) -> int:
            code_id = len(rows) + 1
            rows.append(
                {
                    "id": code_id,
                    "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "parent_id": parent,
                    "name": name,
                    "definition": f"Benchmark code {name}.",
                    "inclusion": "",
                    "exclusion": "",
                    "example": "",
                    "memo": "",
                    "colour": colours[(code_id - 1) % len(colours)],
                    "position": position,
                    "archived": False,
                    "merged_into_id": None,
                    "created_at": FIXTURE_EPOCH,
                }
            )
            return code_id

        for t in range(n_themes):
            theme = add(THEMES[t], None, t)
            for s in range(n_subs):
                sub = add(f"{THEMES[t]} {s + 1}", theme, s)
                for c in range(n_leaves):
                    add(f"{THEMES[t]} {s + 1}.{c + 1}", sub, c)
        with project.change(
            "lead", "bench.fixture", "Benchmark fixture: shared codebook of 300 codes", undoable=False
        ) as session:
            session.execute(insert(Code.__table__), rows)
    finally:
        project.close()


def add_coder_codings(path: Path, coder: str, codings: int, seed: int) -> int:
    """Insert one coder and ``codings`` codings into the project at ``path``; returns the number inserted."""
    from sqlalchemy import insert, select

    from bench.corpus import FIXTURE_EPOCH
    from models.codes import CodeTree
    from models.schema import Coder, Coding, Sentence, Transcript, Turn
    from models.store import open_project

    shared = random.Random(f"{seed}/merge-material")  # the same candidate stream for every coder
    own = random.Random(f"{seed}/merge-coder/{coder}")

    def new_uuid() -> str:
        return str(uuid.UUID(int=own.getrandbits(128), version=4))

    project = open_project(path)
    try:
        summary = f"Benchmark fixture: {codings} codings by {coder} (bulk insert)"
        with project.change("bench", "bench.fixture", summary, undoable=False) as session:
            tree = CodeTree.load(session)
            leaves = sorted(cid for cid in tree.codes if not tree.children.get(cid))
            shared.shuffle(leaves)
            weights = [1.0 / (rank + 1) ** 0.85 for rank in range(len(leaves))]
            session.execute(insert(Coder.__table__), [{"uuid": new_uuid(), "name": coder, "created_at": FIXTURE_EPOCH}])
            coder_id = session.scalar(select(Coder.id).where(Coder.name == coder))
            tids = list(session.scalars(select(Transcript.id).order_by(Transcript.id)))
            turns: dict[int, list[tuple[str, int, int]]] = {tid: [] for tid in tids}
            for tid, role, start, end in session.execute(
                select(Turn.transcript_id, Turn.role, Turn.start, Turn.end).order_by(Turn.transcript_id, Turn.index)
            ):
                turns[tid].append((role, start, end))
            sentences: dict[tuple[int, int], list[tuple[int, int]]] = {}
            for tid, index, start, end in session.execute(
                select(Sentence.transcript_id, Sentence.turn_index, Sentence.start, Sentence.end).order_by(
                    Sentence.transcript_id, Sentence.start
                )
            ):
                sentences.setdefault((tid, index), []).append((start, end))
            units = {
                tid: [(i, s, e) for i, (_r, s, e) in enumerate(rows) if e > s and (tid, i) in sentences]
                for tid, rows in turns.items()
            }
            spoken = {tid: [u for u in us if turns[tid][u[0]][0] == "participant"] for tid, us in units.items()}
            tids = [tid for tid in tids if units[tid]]
            taken: dict[tuple[int, int], list[tuple[int, int]]] = {}
            out: list[dict[str, Any]] = []
            clock = 0
            attempts = 0
            while len(out) < codings:
                attempts += 1
                if attempts > codings * 50:
                    raise RuntimeError("cannot place that many codings without overlaps")
                # Shared draws (identical for every coder, whatever each decides) ...
                tid = shared.choice(tids)
                pool = spoken[tid] if spoken[tid] and shared.random() < 0.9 else units[tid]
                index, turn_start, turn_end = shared.choice(pool)
                spans = sentences[(tid, index)]
                whole = shared.random() < 0.3
                first = 0 if whole else shared.randrange(len(spans))
                last = len(spans) - 1 if whole else min(len(spans) - 1, first + shared.choice((0, 0, 0, 1, 1, 2)))
                code = leaves[shared.choices(range(len(leaves)), weights=weights)[0]]
                # ... then this coder's own: whether to code it, and where the boundaries go.
                if own.random() >= CODER_TAKES:
                    continue
                a, b = first, last
                if own.random() < BOUNDARY_MOVES:
                    if own.random() < 0.5:
                        a = max(0, a - 1) if own.random() < 0.5 else min(b, a + 1)
                    else:
                        b = min(len(spans) - 1, b + 1) if own.random() < 0.5 else max(a, b - 1)
                exact_turn = whole and (a, b) == (first, last)
                start = turn_start if exact_turn else spans[a][0]
                end = turn_end if exact_turn else spans[b][1]
                key = (tid, code)
                if end <= start or any(not (end < s or start > e) for s, e in taken.get(key, ())):
                    continue
                taken.setdefault(key, []).append((start, end))
                clock += own.randrange(5, 120)
                when = FIXTURE_EPOCH + timedelta(seconds=clock)
                out.append(
                    {
                        "uuid": new_uuid(),
                        "transcript_id": tid,
                        "code_id": code,
                        "coder_id": coder_id,
                        "start": start,
                        "end": end,
                        "memo": "Coder's memo." if own.random() < 0.02 else "",
                        "key_quote": own.random() < 0.03,
                        "status": "ok",
                        "created_at": when,
                        "updated_at": when,
                    }
                )
            session.execute(insert(Coding.__table__), out)
        return len(out)
    finally:
        project.close()


def ensure_fixture(
    participants: int = 32, timepoints: int = 3, words: int = 10_000, codings: int = 50_000, seed: int = 1
) -> dict[str, Path]:
    """``{"base": ..., "coder_a": ..., "coder_b": ...}``: cached project files (treat them as read-only)."""
    key = fixture_key(participants, timepoints, words, codings, seed)
    MERGE_DIR.mkdir(parents=True, exist_ok=True)
    paths = {name: MERGE_DIR / f"{name}-{key}.wqda" for name in ("base", "coder_a", "coder_b")}
    with _lock(key):
        if not paths["base"].exists():
            building = paths["base"].with_suffix(f".building-{os.getpid()}")
            remove_project(building)
            started = time.perf_counter()
            build_base(building, participants, timepoints, words, seed)
            sqlite_copy(building, paths["base"].with_suffix(".tmp"))
            remove_project(building)
            os.replace(paths["base"].with_suffix(".tmp"), paths["base"])
            print(f"merge fixture: base built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        for coder in ("coder_a", "coder_b"):
            if paths[coder].exists():
                continue
            building = paths[coder].with_suffix(f".building-{os.getpid()}")
            remove_project(building)
            sqlite_copy(paths["base"], building)  # "after import": the online backup API
            n = add_coder_codings(building, coder, codings, seed)
            final = paths[coder].with_suffix(".tmp")
            remove_project(final)
            sqlite_copy(building, final)  # folds the WAL in: one self-contained file
            remove_project(building)
            os.replace(final, paths[coder])
            print(f"merge fixture: {coder} with {n} codings", file=sys.stderr)
    return paths


# --- measuring ------------------------------------------------------------------------------------------------


def counts(path: Path) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(path) as db:
        one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "codings": one("SELECT count(*) FROM codings"),
            "needs_review": one("SELECT count(*) FROM codings WHERE status = 'needs_review'"),
            "coders": one("SELECT count(*) FROM coders"),
            "transcripts": one("SELECT count(*) FROM transcripts"),
            "sentences": one("SELECT count(*) FROM sentences"),
            "indexed_turns": one("SELECT count(*) FROM search_index"),
            "codes": one("SELECT count(*) FROM codes"),
            "words": one("SELECT coalesce(sum(word_count), 0) FROM transcripts"),
        }


STAGES = (
    "merge_timepoints",
    "merge_coders",
    "merge_participants",
    "merge_codes",
    "merge_transcripts",
    "merge_codings",
    "merge_memos",
    "merge_history",
)


class StageClock:
    """CPU and wall seconds spent in each stage of ``models.merge.SourceMerge.run`` (its methods wrapped while
    active; a wrapper costs two clock reads per call). What is left of the whole call is opening the files,
    the final flush, and the commit with its event (the journal's row images serialised to JSON)."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.wall: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    def __enter__(self) -> StageClock:
        from models import merge

        self._saved = {name: getattr(merge.SourceMerge, name) for name in STAGES}
        for name, method in self._saved.items():
            setattr(merge.SourceMerge, name, self._wrap(name, method))
        return self

    def _wrap(self, name: str, method):
        def wrapper(*args, **kwargs):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.cpu[name] += time.process_time() - cpu0
                self.wall[name] += time.perf_counter() - wall0

        return wrapper

    def __exit__(self, *exc: object) -> None:
        from models import merge

        for name, method in self._saved.items():
            setattr(merge.SourceMerge, name, method)


def run_merge(target: Path, sources: list[Path], clocks: list[StageClock] | None = None):
    from models.merge import merge_projects

    with StageClock() as clock:
        result = timed(lambda: merge_projects(target, sources, "lead"))
    if clocks is not None:
        clocks.append(clock)
    return result


def profile_merge(target: Path, sources: list[Path], dump: Path) -> None:
    """An extra, untimed run under cProfile (its overhead would distort the timed runs)."""
    from models.merge import merge_projects

    profiler = cProfile.Profile()
    profiler.runcall(merge_projects, target, sources, "lead")
    profiler.dump_stats(str(dump))


def stage_row(key: str, label: str, whole: Row, clocks: list[StageClock]) -> Row:
    """Median CPU per stage, and the rest of the call, as one row of text."""
    import statistics

    parts = []
    for name in STAGES:
        cpu = statistics.median(c.cpu[name] for c in clocks)
        if cpu >= 0.05:
            parts.append(f"{name.removeprefix('merge_')} {cpu:.1f}")
    rest = statistics.median(s.cpu_ms / 1000 - sum(c.cpu.values()) for s, c in zip(whole.samples, clocks, strict=True))
    parts.append(f"open + final flush + commit/event {rest:.1f}")
    row = Row(key, label, None)
    row.detail = "CPU s by stage: " + ", ".join(parts)
    return row


def measure(paths: dict[str, Path], repeat: int, work: Path, profile_dir: Path | None) -> list[Row]:
    rows: list[Row] = []
    a, b = paths["coder_a"], paths["coder_b"]
    n_a, n_b = counts(a)["codings"], counts(b)["codings"]

    def check(target: Path, expected: int, label: str) -> dict[str, int]:
        found = counts(target)
        if found["codings"] != expected or found["needs_review"]:
            raise RuntimeError(f"{label}: expected {expected} codings, none for review; got {found}")
        return found

    # 1. B into a copy of A, then the same again (idempotent).
    row = Row("merge_into_copy", f"merge coder_b ({n_b:,} codings) into a copy of coder_a ({n_a:,})", BUDGET_MS)
    again = Row("merge_again", "merge the same source again (nothing new)", None)
    clocks: list[StageClock] = []
    with metered(row):
        for i in range(repeat):
            target = sqlite_copy(a, work / f"into-copy-{i}.wqda")
            sample, report = run_merge(target, [b], clocks)
            row.samples.append(sample)
            found = check(target, n_a + n_b, row.label)
            if i < 2:
                sample, again_report = run_merge(target, [b])
                again.samples.append(sample)
                assert not again_report.changed and counts(target)["codings"] == n_a + n_b
            remove_project(target)
    again.others, again.loadavg = row.others, row.loadavg
    c = report.sources[0].counts
    row.detail = (
        f"→ {found['codings']:,} codings; codes matched by UUID {c['codes.matched_by_uuid']}, "
        f"transcripts matched {c['transcripts.matched']}, codings added {c['codings.added']:,}"
    )
    again.detail = f"codings already present {again_report.sources[0].counts['codings.already_present']:,}"
    rows += [row, stage_row("merge_into_copy_stages", "↳ where the time goes", row, clocks), again]
    if profile_dir:
        target = sqlite_copy(a, work / "into-copy-profiled.wqda")
        profile_merge(target, [b], profile_dir / "merge_into_copy.prof")
        remove_project(target)

    # 2. B into a new file.
    row = Row("merge_into_new", f"merge coder_b ({n_b:,} codings) into a new file", BUDGET_MS)
    clocks = []
    with metered(row):
        for i in range(repeat):
            target = work / f"new-{i}.wqda"
            sample, report = run_merge(target, [b], clocks)
            row.samples.append(sample)
            found = check(target, n_b, row.label)
            remove_project(target)
    row.detail = (
        f"→ {found['transcripts']} transcripts, {found['sentences']:,} sentences, "
        f"{found['indexed_turns']:,} indexed turns, {found['codings']:,} codings copied"
    )
    rows += [row, stage_row("merge_into_new_stages", "↳ where the time goes", row, clocks)]
    if profile_dir:
        target = work / "new-profiled.wqda"
        profile_merge(target, [b], profile_dir / "merge_into_new.prof")
        remove_project(target)

    # 3. Both coders into a new file.
    row = Row("merge_both_new", f"merge coder_a and coder_b ({n_a + n_b:,} codings) into a new file", BUDGET_MS)
    clocks = []
    with metered(row):
        for i in range(max(1, repeat - 2)):
            target = work / f"both-{i}.wqda"
            sample, report = run_merge(target, [a, b], clocks)
            row.samples.append(sample)
            found = check(target, n_a + n_b, row.label)
            remove_project(target)
    row.detail = "for reference: the first source copies the transcripts, the second matches them"
    rows += [row, stage_row("merge_both_new_stages", "↳ where the time goes (both sources summed)", row, clocks)]
    return rows


def profile_summary(path: Path, limit: int = 14, sort: str = "cumulative") -> list[str]:
    """The top functions of a cProfile dump, as Markdown lines."""
    import io

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats(sort).print_stats(limit)
    return ["```", *[line for line in out.getvalue().splitlines() if line.strip()][-limit - 1 :], "```"]


def markdown(results: dict[str, Any], command: str, rows: list[Row]) -> str:
    f = results["fixture"]
    lines = [
        machine_line(results["machine"]),
        "",
        f"Command: `{command}`",
        "",
        f"Load: `{results['uptime_before']}` before, `{results['uptime_after']}` after.",
        "",
        f"Fixture: two coder files made from one imported project ({f['transcripts']} transcripts, "
        f"{f['words']:,} words, {f['sentences']:,} sentences, {f['codes']} codes): each a copy by SQLite's backup "
        f"API with one coder and {f['codings_per_coder']:,} codings bulk-inserted (both coders draw from one "
        f"seeded stream of candidate spans; each takes a candidate with p = {CODER_TAKES} and moves a boundary "
        f"with p = {BOUNDARY_MOVES}). Times are in-process around `models.merge.merge_projects` (opening the "
        "files included, making the copies not). Verdict on CPU time: pass when the median is within budget, "
        "borderline when only the best run is, FAIL when no run is.",
        "",
        *rows_table(rows, unit="s"),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_merge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=32)
    parser.add_argument("--timepoints", type=int, default=3)
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--codings", type=int, default=50_000, help="codings per coder file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run each scenario once more under cProfile "
        "(untimed), write bench/out/merge/*.prof and print their top functions",
    )
    add_quiet_option(parser)
    args = parser.parse_args(argv)
    apply_quiet_option(args)
    command = command_line("bench.bench_merge", argv)
    sys.path.insert(0, str(REPO))
    paths = ensure_fixture(args.participants, args.timepoints, args.words, args.codings, args.seed)
    base = counts(paths["base"])
    results: dict[str, Any] = {
        "machine": machine_info(),
        "command": command,
        "uptime_before": uptime(),
        "fixture": {
            **base,
            "codings_per_coder": counts(paths["coder_a"])["codings"],
            "paths": {k: str(v) for k, v in paths.items()},
        },
    }
    with tempfile.TemporaryDirectory(prefix="bench-merge-", dir=OUT) as tmp:
        rows = measure(paths, args.repeat, Path(tmp), MERGE_DIR if args.profile else None)
    results["uptime_after"] = uptime()
    text = markdown(results, command, rows)
    if args.profile:
        for name in ("merge_into_copy", "merge_into_new"):
            for sort in ("cumulative", "tottime"):
                text += f"\n\ncProfile of an extra `{name}` run (by {sort}; cProfile roughly doubles the time):\n\n"
                text += "\n".join(profile_summary(MERGE_DIR / f"{name}.prof", 18, sort))
    print(text)
    (OUT / "bench_merge.md").write_text(text + "\n", encoding="utf-8")
    results["rows"] = [r.as_dict() for r in rows]
    (OUT / "bench_merge.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
