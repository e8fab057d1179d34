"""Read-only lookups over the codebook tree: codes by path or id, paths, descendants.

Codes are named by path (``Theme/Subtheme/Code``) or by id everywhere in the CLI and the TUI. The tree is
small (hundreds of codes), so it is loaded whole into a ``CodeTree`` for path and descendant questions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import NotFoundError
from models.naming import normal_name
from models.schema import Code

PATH_SEPARATOR = "/"


def split_path(path: str) -> list[str]:
    """``"Theme / Sub/Code"`` -> ``["Theme", "Sub", "Code"]`` (spaces around separators ignored)."""
    return [part.strip() for part in path.strip().strip(PATH_SEPARATOR).split(PATH_SEPARATOR) if part.strip()]


def _root_cycles(codes: dict[int, Code], children: dict[int | None, list[int]]) -> None:
    """Show codes whose parent pointers form a cycle (only a damaged file has one) from the top level, so
    every view and walk reaches each code once and finishes; ``waveqda check`` names the cycle."""
    reached: set[int] = set()
    stack = list(children.get(None, []))
    while stack:
        current = stack.pop()
        if current not in reached:
            reached.add(current)
            stack.extend(children.get(current, []))
    for code_id in sorted(codes):
        if code_id in reached:
            continue
        children.setdefault(None, []).append(code_id)
        stack = [code_id]
        while stack:
            current = stack.pop()
            if current not in reached:
                reached.add(current)
                stack.extend(children.get(current, []))


@dataclass
class CodeTree:
    """The whole codebook in memory: parent/children maps in sibling order."""

    codes: dict[int, Code]
    children: dict[int | None, list[int]]

    @classmethod
    def load(cls, session: Session, include_archived: bool = True) -> CodeTree:
        stmt = select(Code).order_by(Code.position, Code.id)
        if not include_archived:
            stmt = stmt.where(Code.archived.is_(False))
        codes = {c.id: c for c in session.scalars(stmt)}
        children: dict[int | None, list[int]] = {}
        for code in codes.values():
            parent = code.parent_id if code.parent_id in codes else None
            children.setdefault(parent, []).append(code.id)
        _root_cycles(codes, children)
        return cls(codes, children)

    def path(self, code_id: int) -> str:
        parts: list[str] = []
        seen: set[int] = set()
        current: int | None = code_id
        while current is not None and current in self.codes and current not in seen:
            seen.add(current)
            parts.append(self.codes[current].name)
            current = self.codes[current].parent_id
        return PATH_SEPARATOR.join(reversed(parts))

    def ancestors_and_self(self, code_id: int) -> list[int]:
        """The code and each of its ancestors up to the root (a cycle in a damaged file is walked once)."""
        out: list[int] = []
        current: int | None = code_id
        while current is not None and current in self.codes and current not in out:
            out.append(current)
            current = self.codes[current].parent_id
        return out

    def descendants(self, code_id: int) -> list[int]:
        """The code's descendants (not itself), depth first in sibling order."""
        out: list[int] = []
        seen = {code_id}  # a damaged file's parent pointers may form a cycle: never walk one forever
        stack = list(reversed(self.children.get(code_id, [])))
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            out.append(current)
            stack.extend(reversed(self.children.get(current, [])))
        return out

    def walk(self) -> list[tuple[int, int]]:
        """Every code as ``(code_id, depth)`` in codebook order (depth first, siblings by position)."""
        out: list[tuple[int, int]] = []
        seen: set[int] = set()
        stack = [(cid, 0) for cid in reversed(self.children.get(None, []))]
        while stack:
            current, depth = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            out.append((current, depth))
            stack.extend((child, depth + 1) for child in reversed(self.children.get(current, [])))
        return out

    def child_named(self, parent_id: int | None, name: str) -> Code | None:
        folded = normal_name(name).casefold()  # as creation stores it: "job  insecurity" is "job insecurity"
        for cid in self.children.get(parent_id, []):
            if self.codes[cid].name.casefold() == folded:
                return self.codes[cid]
        return None

    def find(self, ref: str | int) -> Code:
        """A code by id (``12``) or path (``Theme/Code``); path parts match case-insensitively."""
        text = str(ref).strip()
        if text.isdigit() and int(text) in self.codes:
            return self.codes[int(text)]
        parts = split_path(text)
        if not parts:
            raise NotFoundError("empty code name")
        parent: int | None = None
        found: Code | None = None
        for part in parts:
            found = self.child_named(parent, part)
            if found is None:
                break
            parent = found.id
        if found is not None:
            return found
        if len(parts) == 1:  # a bare name is accepted when it is unique in the whole codebook
            wanted = normal_name(parts[0]).casefold()
            matches = [c for c in self.codes.values() if normal_name(c.name).casefold() == wanted]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                paths = ", ".join(sorted(self.path(c.id) for c in matches))
                raise NotFoundError(f"code name {text!r} is ambiguous: {paths}")
        hint = did_you_mean(text, [self.path(cid) for cid in self.codes])
        raise NotFoundError(f"no code {text!r}{hint} (see: waveqda codes PROJECT)")


def did_you_mean(wanted: str, names: list[str], limit: int = 3) -> str:
    """``"; did you mean 'A' or 'B'?"`` from the closest names (word order and case ignored), or ``""``."""
    from rapidfuzz import fuzz, process, utils

    best = process.extract(
        wanted, names, scorer=fuzz.WRatio, processor=utils.default_process, limit=limit, score_cutoff=70
    )
    if not best:
        return ""
    shown = [repr(name) for name, _score, _i in best]
    return "; did you mean " + (", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]) + "?"


def find_code(session: Session, ref: str | int) -> Code:
    return CodeTree.load(session).find(ref)


def code_path(session: Session, code: Code | int) -> str:
    code_id = code if isinstance(code, int) else code.id
    return CodeTree.load(session).path(code_id)


def code_and_descendant_ids(session: Session, code: Code | int, with_descendants: bool = True) -> list[int]:
    code_id = code if isinstance(code, int) else code.id
    if not with_descendants:
        return [code_id]
    return [code_id, *CodeTree.load(session).descendants(code_id)]
