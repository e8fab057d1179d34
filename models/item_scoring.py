"""Subscale scores from questionnaire items, by a small declarative spec (issue 17).

Questionnaires are often exported item by item (``mbi1, mbi2, …``). A TOML file names, per measure, the items
that make it up, how they combine and which are reverse-scored; ``waveqda scores import PROJECT items.csv
--scoring spec.toml`` turns each row's items into the measures' scores and imports those, with the same
checks as any score. No instrument's items are shipped: the user writes the spec for the licensed instrument
they use. A spec:

    [burnout_ee]                # a measure described with `waveqda measure add`
    items = ["mbi1", "mbi2", "mbi3"]
    method = "sum"              # or "mean"
    reverse = ["mbi3"]          # scored as item_min + item_max - answer
    item_min = 0
    item_max = 6
    min_answered = 2            # fewer answered: no score for that row (default: every item)

A sum with some items unanswered (but at least ``min_answered``) is prorated: the mean of the answered items
times the number of items, the usual rule for short gaps in a scale; a mean is the mean of those answered.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import WaveqdaError


@dataclass(frozen=True)
class Subscale:
    measure: str
    items: tuple[str, ...]
    method: str  # "sum" or "mean"
    reverse: frozenset[str]
    item_min: float
    item_max: float
    min_answered: int


@dataclass(frozen=True)
class Scored:
    header: list[str]  # participant, timepoint, then one column per measure
    rows: list[list[str]]
    not_scored: int  # row x measure cells left empty: fewer items answered than the spec asks


def load_spec(path: Path) -> list[Subscale]:
    """The spec's subscales, or a one-line error naming the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WaveqdaError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WaveqdaError(f"{path.name}: not a readable TOML scoring spec ({exc})") from None
    if not data:
        raise WaveqdaError(f"{path.name}: the scoring spec names no measures")
    return [_subscale(path, name, table) for name, table in data.items()]


def _subscale(path: Path, name: str, table: Any) -> Subscale:
    where = f"{path.name}: [{name}]"
    if not isinstance(table, dict):
        raise WaveqdaError(f"{where}: expected a table of items, method, item_min, item_max")
    items = table.get("items")
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i.strip() for i in items):
        raise WaveqdaError(f"{where}: 'items' must be a list of item column names")
    names = tuple(i.strip().lower() for i in items)
    method = table.get("method", "sum")
    if method not in ("sum", "mean"):
        raise WaveqdaError(f'{where}: \'method\' must be "sum" or "mean", not {method!r}')
    reverse = table.get("reverse", [])
    if not isinstance(reverse, list) or any(str(r).strip().lower() not in names for r in reverse):
        raise WaveqdaError(f"{where}: 'reverse' must list some of the items")
    bounds = []
    for key in ("item_min", "item_max"):
        value = table.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise WaveqdaError(f"{where}: '{key}' must be a number (the lowest and highest answer)")
        bounds.append(float(value))
    if bounds[0] >= bounds[1]:
        raise WaveqdaError(f"{where}: 'item_min' must be below 'item_max'")
    least = table.get("min_answered", len(names))
    if isinstance(least, bool) or not isinstance(least, int) or not 1 <= least <= len(names):
        raise WaveqdaError(f"{where}: 'min_answered' must be a whole number from 1 to {len(names)}")
    unknown = set(table) - {"items", "method", "reverse", "item_min", "item_max", "min_answered"}
    if unknown:
        raise WaveqdaError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return Subscale(name.strip(), names, method, frozenset(str(r).strip().lower() for r in reverse), bounds[0],
                    bounds[1], least)  # fmt: skip


def score_rows(path: Path, header: list[str], rows: list[list[str]], spec: list[Subscale]) -> Scored:
    """Each row's items as the spec's measures, every answer checked (one line naming file, row, column)."""
    for required in ("participant", "timepoint"):
        if required not in header:
            raise WaveqdaError(f"{path.name}: no {required!r} column (columns: {', '.join(header)})")
    for subscale in spec:
        missing = [item for item in subscale.items if item not in header]
        if missing:
            raise WaveqdaError(f"{path.name}: no column for item(s) {', '.join(missing)} of {subscale.measure}")
    where = {column: index for index, column in enumerate(header)}
    out: list[list[str]] = []
    not_scored = 0
    for number, row in enumerate(rows, start=2):

        def cell(column: str, row: list[str] = row) -> str:
            return row[where[column]].strip() if where[column] < len(row) else ""

        scored = [cell("participant"), cell("timepoint")]
        for subscale in spec:
            value = _score(path, number, subscale, {item: cell(item) for item in subscale.items})
            not_scored += value is None
            scored.append("" if value is None else repr(value))
        out.append(scored)
    return Scored(["participant", "timepoint", *(s.measure.lower() for s in spec)], out, not_scored)


def _score(path: Path, number: int, subscale: Subscale, answers: dict[str, str]) -> float | None:
    values = []
    for item, raw in answers.items():
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            raise WaveqdaError(f"{path.name}: row {number}, column {item!r}: {raw!r} is not a number") from None
        if not math.isfinite(value) or not subscale.item_min <= value <= subscale.item_max:
            raise WaveqdaError(
                f"{path.name}: row {number}, column {item!r}: {raw} is outside the answers "
                f"{subscale.item_min:g}-{subscale.item_max:g} of {subscale.measure}"
            )
        values.append(subscale.item_min + subscale.item_max - value if item in subscale.reverse else value)
    if len(values) < subscale.min_answered:
        return None
    mean = sum(values) / len(values)
    return mean if subscale.method == "mean" else mean * len(subscale.items)
