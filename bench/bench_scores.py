"""Questionnaire statistics (issue 17): ``scores compare`` and ``joint`` on 300 participants x 3 timepoints x
5 measures, in-process (excluding interpreter start-up, as the budget says), CPU and wall, plus the import.

    .venv/bin/python -m bench.bench_scores

Budget: compare <= 1 s and joint <= 1 s. Prints Markdown; writes ``bench/out/bench_scores.md``.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_engine import OUT, machine_info, machine_line

PARTICIPANTS, MEASURES = 300, 5


def build(folder: Path) -> tuple[str, Path]:
    from models import codebook, scores
    from models.schema import Participant
    from models.store import create_project

    project = create_project(folder / "scores.wqda", name="scores bench")
    with project.change("bench", "seed", "participants") as session:
        session.add_all(Participant(study_id=f"P{n:03}") for n in range(1, PARTICIPANTS + 1))
    for m in range(MEASURES):
        scores.add_measure(project, "bench", f"m{m}", 0, 100, "better", reliability=0.85)
    codebook.add_code(project, "bench", "Theme A")
    rng = random.Random(17)
    lines = ["participant,timepoint," + ",".join(f"m{m}" for m in range(MEASURES))]
    for n in range(1, PARTICIPANTS + 1):
        for key in ("T1", "T2", "T3"):
            if key == "T3" and rng.random() < 0.15:
                continue
            lines.append(f"P{n:03},{key}," + ",".join(str(rng.randint(20, 80)) for _ in range(MEASURES)))
    csv_path = folder / "scores.csv"
    csv_path.write_text("\n".join(lines) + "\n")
    project.close()
    return str(folder / "scores.wqda"), csv_path


def timed(label: str, call) -> tuple[str, float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    call()
    return label, 1000 * (time.process_time() - cpu), 1000 * (time.perf_counter() - wall)


def main() -> int:
    from models import score_summary, scores
    from models.store import open_project

    with tempfile.TemporaryDirectory(dir=OUT if OUT.exists() else None) as tmp:
        target, csv_path = build(Path(tmp))
        project = open_project(target)
        rows = [timed("scores import (4,5xx values, checked, one transaction)",
                      lambda: scores.import_scores(project, "bench", csv_path))]  # fmt: skip
        with project.read() as session:
            scores.compare(session)  # scipy's first import is not the query's cost
            for _ in range(3):
                rows.append(timed("scores compare (5 measures x 3 pairs)", lambda: scores.compare(session)))
            for _ in range(3):
                rows.append(
                    timed("joint (1 measure, 1 theme)", lambda: scores.joint_display(session, "m0", ["Theme A"]))
                )
            for _ in range(3):
                rows.append(timed("scores compare's text: each wave, norm, ANOVA, Friedman (5 measures)",
                                  lambda: score_summary.summarise(session, mixed=False)))  # fmt: skip
            rows.append(timed("linear mixed models, first call (imports statsmodels and pandas)",
                              lambda: score_summary.summarise(session)))  # fmt: skip
            for _ in range(3):
                rows.append(
                    timed(
                        "scores describe (5 measures: waves, norm, ANOVA, Friedman, mixed model)",
                        lambda: score_summary.summarise(session),
                    )  # fmt: skip
                )
        project.close()
    lines = ["| operation | CPU ms | wall ms | budget |", "|---|---|---|---|"]

    def budget(label: str) -> str:
        return "-" if "import" in label or "mixed" in label else "<= 1,000 ms"

    lines += [f"| {label} | {cpu:.0f} | {wall:.0f} | {budget(label)} |" for label, cpu, wall in rows]
    lines += ["", f"Machine: {machine_line(machine_info())}", "Command: `.venv/bin/python -m bench.bench_scores`"]
    text = "\n".join(lines)
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_scores.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
