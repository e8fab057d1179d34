"""A thorough check of a project (``waveqda check``): the file, every reference, and the domain's rules.

Why beyond SQLite's integrity check: a file can be sound to SQLite and still hold what waveqda must never
act on, such as a codebook whose parent pointers form a cycle (a damaged or hand-edited file), or a coding
whose offsets run past its transcript's text.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import project_file
from models.errors import WaveqdaError
from models.schema import Code, Coding, Transcript
from models.store import open_project, project_url

MAX_CODE_DEPTH = 256


def code_cycles(parents: dict[int, int | None]) -> list[list[int]]:
    """Each cycle of parent pointers once, as the ids on it (a tree has none)."""
    state: dict[int, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[int]] = []
    for start in parents:
        path: list[int] = []
        node: int | None = start
        while node is not None and node in parents and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = parents[node]
        if node is not None and state.get(node) == 1:
            cycles.append(path[path.index(node) :])
        for visited in path:
            state[visited] = 2
    return cycles


def depth_of(parents: dict[int, int | None], code_id: int) -> int:
    depth, node, seen = 0, parents.get(code_id), {code_id}
    while node is not None and node not in seen:
        seen.add(node)
        depth += 1
        node = parents.get(node)
    return depth


def domain_problems(session: Session) -> list[str]:
    problems: list[str] = []
    parents = dict(session.execute(select(Code.id, Code.parent_id)).tuples().all())
    for cycle in code_cycles(parents):
        problems.append(f"codes {', '.join(f'#{i}' for i in cycle)} are each other's parents (a cycle)")
    deepest = max((depth_of(parents, code_id) for code_id in parents), default=0)
    if deepest >= MAX_CODE_DEPTH:
        problems.append(f"the codebook is {deepest + 1} levels deep (at most {MAX_CODE_DEPTH})")
    outside = session.execute(
        select(Coding.id)
        .join(Transcript, Transcript.id == Coding.transcript_id)
        .where(Coding.end > func.length(Transcript.text))
        .limit(20)
    ).scalars()
    problems.extend(f"coding #{coding_id} runs past the end of its transcript" for coding_id in outside)
    return problems


def problems_in(target: str | os.PathLike[str]) -> list[str]:
    """Every problem found, as one line each (empty when the project is sound)."""
    url = project_url(target)
    if url.startswith("sqlite"):
        path = Path(os.fspath(target)).expanduser()
        if not path.exists():
            raise WaveqdaError(f"{path}: no such project")
        project_file.check_header(path)
        problems = project_file.integrity_problems(path)
        if problems:
            return problems
    project = open_project(target)
    try:
        with project.read() as session:
            return domain_problems(session)
    finally:
        project.close()
