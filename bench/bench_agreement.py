"""Intercoder agreement benchmark (issue 6): 96 transcripts × 300 codes × 2 coders, budget 5 s.

Two projects over the same ~1M-word corpus (32 participants x 3 timepoints x 10,000 words):

* ``fixture``: ``bench.corpus.build_coded_project`` (50,000 codings by 3 coders designed to agree often but not
  always; ``coder_a`` and ``coder_b`` hold ~35,000 of them between them);
* ``merged``: the two coder files of ``bench.bench_merge`` (50,000 codings each) merged into one project, so
  100,000 codings by 2 coders (cached under ``bench/out/merge/``).

Measured in this process (``models.agreement_report.agreement_report``: loading the codings and computing
every cell, roll-up and the overall figures), for character units (the default), sentences and turns, with
the split between loading (``load_comparison``) and arithmetic (``build_report``); the disagreement list; and
the whole CLI command ``waveqda agreement PROJECT --coders coder_a coder_b --json`` as a child process (start-up,
imports and JSON output included; CPU from the kernel's rusage).

    .venv/bin/python -m bench.bench_agreement          # ~2 minutes on 2 busy cores

Writes ``bench/out/bench_agreement.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
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
    measure,
    metered,
    remove_project,
    rows_table,
    sqlite_copy,
    uptime,
)

BUDGET_MS = 5_000.0
CODERS = ["coder_a", "coder_b"]


def ensure_merged(seed: int = 1) -> Path:
    """The two bench_merge coder files merged (coder_b into a copy of coder_a), cached."""
    from bench.bench_merge import MERGE_DIR, _lock, ensure_fixture, fixture_key
    from models.merge import merge_projects

    paths = ensure_fixture(seed=seed)
    key = fixture_key(32, 3, 10_000, 50_000, seed)
    merged = MERGE_DIR / f"merged-{key}.wqda"
    with _lock(f"merged-{key}"):
        if not merged.exists():
            building = merged.with_suffix(f".building-{os.getpid()}")
            remove_project(building)
            sqlite_copy(paths["coder_a"], building)
            merge_projects(building, [paths["coder_b"]], "lead")
            final = merged.with_suffix(".tmp")
            remove_project(final)
            sqlite_copy(building, final)
            remove_project(building)
            os.replace(final, merged)
    return merged


def waveqda_command() -> list[str]:
    script = Path(sys.executable).with_name("waveqda")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from app.cli import main; main()"]


def cli_row(path: Path, repeat: int, label: str) -> Row:
    row = Row("cli", label, BUDGET_MS)
    cmd = [*waveqda_command(), "agreement", str(path), "--coders", *CODERS, "--json"]
    with metered(row):
        for _ in range(repeat):
            started = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO)
            _pid, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-2000:]}")
            proc.stderr.close()
            row.samples.append(Sample(wall * 1000, (usage.ru_utime + usage.ru_stime) * 1000))
    row.detail = "`waveqda agreement PROJECT --coders coder_a coder_b --json > /dev/null`, whole process"
    return row


def project_rows(name: str, path: Path, repeat: int) -> tuple[list[Row], dict[str, Any]]:
    from sqlalchemy import func, select

    from models import agreement_report as ar
    from models.schema import Coder, Coding
    from models.store import open_project

    rows: list[Row] = []
    project = open_project(path)
    try:
        with project.read() as session:
            per_coder = dict(
                session.execute(
                    select(Coder.name, func.count()).join(Coding, Coding.coder_id == Coder.id).group_by(Coder.name)
                )
                .tuples()
                .all()
            )
        facts = {"codings": per_coder, "compared": sum(per_coder.get(c, 0) for c in CODERS)}
        for unit, n in (("character", repeat), ("sentence", max(3, repeat - 2)), ("turn", max(3, repeat - 2))):
            row = Row(f"{name}_{unit}", f"{name}: agreement, {unit} units", BUDGET_MS)
            report = measure(row, lambda u=unit: ar.agreement_report(project, CODERS, unit=u), n)
            overall = report.overall[0].values
            row.detail = (
                f"{len(report.transcripts)} transcripts, {len(report.per_code)} codes, "
                f"{len(report.cells):,} cells; pooled κ {overall['kappa'].value:.3f}, "
                f"cu-α {overall['cu_alpha'].value:.3f}"
            )
            rows.append(row)
        with project.read() as session:
            row = Row(f"{name}_load", f"{name}: of which loading (`load_comparison`)", None)
            comparison = measure(row, lambda: ar.load_comparison(session, CODERS), repeat)
            row.detail = f"{facts['compared']:,} codings of the two coders"
            rows.append(row)
        row = Row(f"{name}_build", f"{name}: of which arithmetic (`build_report`, characters)", None)
        measure(row, lambda: ar.build_report(comparison, "character", None), repeat)
        row.detail = "cells, per code, per transcript, overall"
        rows.append(row)
        row = Row(f"{name}_disagreements", f"{name}: the disagreement list", None)
        found = measure(row, lambda: ar.disagreements(project, CODERS), max(3, repeat - 2))
        row.detail = f"{len(found):,} disagreements"
        rows.append(row)
        if name == "fixture":
            row = Row(f"{name}_3coders", f"{name}: agreement, 3 coders, character units", None)
            report = measure(row, lambda: ar.agreement_report(project, [*CODERS, "coder_c"]), max(3, repeat - 2))
            alpha = report.overall[0].values["alpha_binary"].value
            row.detail = f"{len(report.cells):,} cells; pooled α-binary {alpha:.3f}"
            rows.append(row)
    finally:
        project.close()
    return rows, facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_agreement", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cli-repeat", type=int, default=3)
    parser.add_argument("--no-merged", action="store_true", help="skip the merged 2 x 50,000-coding project")
    add_quiet_option(parser)
    args = parser.parse_args(argv)
    apply_quiet_option(args)
    command = command_line("bench.bench_agreement", argv)
    sys.path.insert(0, str(REPO))
    from bench.corpus import build_coded_project

    results: dict[str, Any] = {"machine": machine_info(), "command": command, "uptime_before": uptime(), "projects": {}}
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-agreement-", dir=OUT) as tmp:
        fixture = build_coded_project(Path(tmp) / "fixture.wqda", 32, 3, 10_000)
        projects = {"fixture": fixture}
        if not args.no_merged:
            projects["merged"] = sqlite_copy(ensure_merged(), Path(tmp) / "merged.wqda")
        for name, path in projects.items():
            found, facts = project_rows(name, path, args.repeat)
            results["projects"][name] = facts
            rows += found
            if args.cli_repeat:
                rows.append(cli_row(path, args.cli_repeat, f"{name}: CLI `waveqda agreement --json`, whole process"))
            print(f"{name}: done", file=sys.stderr)
    results["uptime_after"] = uptime()
    p = results["projects"]
    lines = [
        machine_line(results["machine"]),
        "",
        f"Command: `{command}`",
        "",
        f"Load: `{results['uptime_before']}` before, `{results['uptime_after']}` after.",
        "",
        "Projects (96 transcripts, 986,169 words, 300 leaf codes): `fixture` = `bench.corpus.build_coded_project` "
        f"(coders: {', '.join(f'{k} {v:,}' for k, v in sorted(p['fixture']['codings'].items()))} codings; "
        f"coder_a and coder_b compared, {p['fixture']['compared']:,} codings)"
        + (
            f"; `merged` = the two `bench_merge` coder files merged ({p['merged']['compared']:,} codings by "
            "coder_a and coder_b)"
            if "merged" in p
            else ""
        )
        + ". In-process times around `models.agreement_report` after one untimed warm-up. Verdict on CPU time: "
        "pass when the median is within budget, borderline when only the best run is, FAIL when no run is.",
        "",
        *rows_table(rows, unit="s"),
    ]
    text = "\n".join(lines)
    print(text)
    (OUT / "bench_agreement.md").write_text(text + "\n", encoding="utf-8")
    results["rows"] = [r.as_dict() for r in rows]
    (OUT / "bench_agreement.json").write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
