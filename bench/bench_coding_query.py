"""Coding query and matrix coding (issue 15 budgets), in-process on the benchmark project (96 transcripts,
~1M words, 50,000 codings, 300 codes):

* a query combining 3 codes with AND / NOT and NEAR: ``("A" AND NOT "B") NEAR/50 "C"`` over three top-level
  themes (each with its sub-codes): budget 200 ms;
* a 300-code x 20-attribute-value matrix (``crosstab(codes, attribute:group)``): budget 500 ms.

    flock /work/notes/bench.lock .venv/bin/python -m bench.bench_coding_query

Prints Markdown; writes ``bench/out/bench_coding_query.md``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.bench_engine import FULL, OUT, machine_info, machine_line, remove_project, sqlite_copy


def add_group_attribute(target: Path) -> None:
    """An attribute with 20 values over the participants (what the matrix's columns are)."""
    from sqlalchemy import select

    from models.schema import AttributeDefinition, Participant, ParticipantAttribute
    from models.store import open_project

    with open_project(target) as project, project.change("bench", "seed", "group attribute") as session:
        definition = AttributeDefinition(name="group", type="text")
        session.add(definition)
        session.flush()
        for n, pid in enumerate(session.scalars(select(Participant.id).order_by(Participant.id))):
            session.add(ParticipantAttribute(participant_id=pid, attribute_id=definition.id, value=f"g{n % 20:02}"))


def measure(label: str, call, repeat: int = 5) -> tuple[str, list[float], list[float], str]:
    cpu, wall = [], []
    result = None
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        result = call()
        cpu.append(1000 * (time.process_time() - c))
        wall.append(1000 * (time.perf_counter() - w))
    return label, cpu, wall, describe(result)


def describe(result) -> str:  # type: ignore[no-untyped-def]
    if isinstance(result, list):
        return f"{len(result):,} segments"
    return f"{len(result.rows)} x {len(result.columns)} cells"


def main() -> int:
    from bench.corpus import cached_coded_project
    from models.codes import CodeTree
    from models.queries.coding_query import run_query
    from models.queries.crosstab import crosstab
    from models.store import open_project

    source = cached_coded_project(*FULL[:3], codings=FULL[3])
    rows = []
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        target = sqlite_copy(source, Path(tmp) / "cq.wqda")
        add_group_attribute(target)
        with open_project(target) as project, project.read() as session:
            tree = CodeTree.load(session)
            themes = [tree.path(c) for c in tree.children.get(None, [])][:3]
            a, b, c = themes
            expression = f'("{a}" AND NOT "{b}") NEAR/50 "{c}"'
            run_query(session, expression)  # the first call loads layouts' caches, as a workspace would have
            rows.append(measure(f"query `{expression}` (budget 200 ms)", lambda: run_query(session, expression)))
            crosstab(session, "codes", "attribute:group")
            rows.append(
                measure(
                    "matrix coding: codes x attribute with 20 values (budget 500 ms)",
                    lambda: crosstab(session, "codes", "attribute:group"),
                )  # fmt: skip
            )
        remove_project(target)
    lines = ["| operation | CPU ms median (best) | wall ms median (best) | result |", "|---|---|---|---|"]
    for label, cpu, wall, what in rows:
        cpu.sort()
        wall.sort()
        median_cpu, median_wall = cpu[len(cpu) // 2], wall[len(wall) // 2]
        lines.append(f"| {label} | {median_cpu:.0f} ({cpu[0]:.0f}) | {median_wall:.0f} ({wall[0]:.0f}) "
                     f"| {what} |")  # fmt: skip
    lines += ["", f"Machine: {machine_line(machine_info())}",
              "Command: `flock /work/notes/bench.lock .venv/bin/python -m bench.bench_coding_query`"]  # fmt: skip
    text = "\n".join(lines)
    (OUT / "bench_coding_query.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
