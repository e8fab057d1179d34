"""Intercoder agreement statistics on interval lists: pure functions, no database.

Why intervals and not per-character arrays: a study has millions of characters and hundreds of codes, and
agreement is recomputed interactively; a sweep over the sorted span boundaries touches each coding once.

Conventions: a coder's judgement on one code in one text is a list of ``[start, end)`` spans. Before any
statistic the spans are *normalised*: sorted, clipped to the continuum, and overlapping spans merged, because
one coder applying the same code twice over overlapping text is one judgement, and must never count as
agreement with anyone. Touching spans (``[0, 5)`` and ``[5, 9)``) stay separate: in Krippendorff's unitizing
model they are two units.

Every statistic returns an ``Estimate``: a value, or ``None`` with the reason it is undefined (no units, or no
variation to correct for chance), so that no caller reports a fake 1.0.

Sources: Cohen (1960) for κ; Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability" for α from a
coincidence matrix; Krippendorff (2004) for the unitizing α (the continuum of characters split into units and
gaps), as also implemented in dkpro-statistics' ``KrippendorffAlphaUnitizingAgreement``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, combinations

Span = tuple[int, int]

NO_UNITS = "no units to compare"
NO_VARIATION = "no variation: every unit was coded the same way by every coder, so chance cannot be corrected for"
NOT_TWO_CODERS = "Cohen's κ compares exactly two coders"
NO_PAIRABLE = "fewer than two values on every unit: nothing to pair"
NOBODY_CODED = "no coder applied the code here"


@dataclass(frozen=True)
class Estimate:
    """A statistic, or ``None`` with the reason it is undefined here."""

    value: float | None
    reason: str | None = None

    @classmethod
    def undefined(cls, reason: str) -> Estimate:
        return cls(None, reason)


# --- spans -------------------------------------------------------------------------------------------


def normalise(spans: Iterable[Span], begin: int, end: int) -> list[Span]:
    """Sorted spans clipped to ``[begin, end)`` with overlapping ones merged; touching spans kept apart."""
    spans = sorted(spans)
    if len(spans) == 1:  # the common case: one coding of a code in a text
        s, e = max(spans[0][0], begin), min(spans[0][1], end)
        return [(s, e)] if s < e else []
    out: list[Span] = []
    for s, e in spans:
        s, e = max(s, begin), min(e, end)
        if s >= e:
            continue
        if out and s < out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
            continue
        out.append((s, e))
    return out


def sweep(coders: Sequence[Sequence[Span]]) -> list[tuple[int, int, int]]:
    """The text cut where any coder's coverage changes: ``(start, end, mask)`` with bit ``i`` set when coder
    ``i`` covers the stretch. Each coder's spans must be normalised (coverage flips at every boundary).
    Neighbouring stretches always differ in mask; nothing before the first or after the last boundary is
    listed (it is covered by nobody)."""
    toggles = sorted((pos, 1 << i) for i, spans in enumerate(coders) for s, e in spans for pos in (s, e))
    out: list[tuple[int, int, int]] = []
    mask, prev = 0, None
    for pos, bit in toggles:
        if prev is not None and pos != prev:
            if out and out[-1][2] == mask and out[-1][1] == prev:
                out[-1] = (out[-1][0], pos, mask)
            else:
                out.append((prev, pos, mask))
        mask ^= bit
        prev = pos
    return out


# --- the unit table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitTable:
    """How many units each combination of coders coded: ``counts[mask]`` with bit ``i`` for coder ``i``.

    For two coders this is the 2×2 table (both, only A, only B, neither); for more it is the m-coder
    generalisation. Tables of different texts add up (pooling)."""

    coders: int
    counts: Mapping[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def full(self) -> int:
        return (1 << self.coders) - 1

    @classmethod
    def pooled(cls, tables: Sequence[UnitTable]) -> UnitTable:
        """The sum of tables of the same coders (several texts or codes taken together)."""
        merged: dict[int, int] = defaultdict(int)
        for table in tables:
            for mask, n in table.counts.items():
                merged[mask] += n
        return cls(tables[0].coders, dict(merged))

    def contingency(self) -> list[list[int]]:
        """The 2×2 table of two coders, rows coder A (coded, not), columns coder B (coded, not)."""
        c = self.counts
        return [[c.get(0b11, 0), c.get(0b01, 0)], [c.get(0b10, 0), c.get(0b00, 0)]]


def character_table(coders: Sequence[Sequence[Span]], length: int, *, normalised: bool = False) -> UnitTable:
    """Every character of a text of ``length`` is a unit (as NVivo's coding comparison).

    ``normalised``: each coder's spans are already ``normalise(spans, 0, length)`` (as a ``Comparison``
    holds them), so they are swept as they are."""
    spans = coders if normalised else [normalise(s, 0, length) for s in coders]
    if len(spans) == 2:
        return _two_coder_table(spans[0], spans[1], length)
    counts: dict[int, int] = defaultdict(int)
    for s, e, mask in sweep(spans):
        counts[mask] += e - s
    counts[0] += length - sum(counts.values())
    return UnitTable(len(coders), {m: n for m, n in counts.items() if n})


def _two_coder_table(a: Sequence[Span], b: Sequence[Span], length: int) -> UnitTable:
    """Two coders' table over ``length`` units (characters, or unit indices) from each one's coverage and
    the length of their intersection (both lists sorted and disjoint), walked once like a merge. (With two
    coders every term of the statistics is a whole number, so the order of the counts does not matter; for
    more coders the sweep keeps the order of the implementation it replaced.)"""
    both = i = j = 0
    while i < len(a) and j < len(b):
        (sa, ea), (sb, eb) = a[i], b[j]
        if sa < eb and sb < ea:
            both += min(ea, eb) - max(sa, sb)
        if ea <= eb:
            i += 1
        else:
            j += 1
    only_a = sum(e - s for s, e in a) - both
    only_b = sum(e - s for s, e in b) - both
    counts = {0b11: both, 0b01: only_a, 0b10: only_b, 0: length - both - only_a - only_b}
    return UnitTable(2, {m: n for m, n in counts.items() if n})


@dataclass(frozen=True)
class UnitBounds:
    """The units of one text (sentences or turns: sorted, not overlapping) as their start and end offsets,
    built once per text so that every cell of the text only bisects them."""

    starts: list[int]
    ends: list[int]

    @classmethod
    def of(cls, units: Sequence[Span]) -> UnitBounds:
        return cls([s for s, _ in units], [e for _, e in units])

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def limit(self) -> int:
        """Where the last unit ends (the ends are sorted); 0 without units."""
        return self.ends[-1] if self.ends else 0

    def touched(self, spans: Sequence[Span]) -> list[Span]:
        """The index ranges ``[first, stop)`` of the units some of these normalised spans touch, sorted and
        merged: a span touches the units from the first ending after its start to the last starting before
        its end."""
        out: list[Span] = []
        starts, ends = self.starts, self.ends
        for start, end in spans:
            lo, hi = bisect_right(ends, start), bisect_left(starts, end)
            if lo >= hi:
                continue
            if out and lo <= out[-1][1]:
                if hi > out[-1][1]:
                    out[-1] = (out[-1][0], hi)
            else:
                out.append((lo, hi))
        return out


def unit_table(
    coders: Sequence[Sequence[Span]], units: Sequence[Span] | UnitBounds, *, normalised: bool = False
) -> UnitTable:
    """Sentences or turns as units: a unit is coded by a coder when any of their spans covers any of it.

    ``units`` are sorted and do not overlap (sentences, turns), given as spans or as ``UnitBounds`` (built
    once per text). Each coder's spans become the index ranges of the units they touch (bisection over the
    unit boundaries), and those ranges are swept like character spans: a cell costs its spans, never a visit
    per unit. Units nobody touched count as coded by nobody. ``normalised``: the spans are already
    normalised (sorted, merged) on ``[0, text length)``.

    The table's counts are listed in the order the units would be met coder by coder, in text order (the
    order of the per-unit implementation this replaced), so that every sum over them is the same."""
    bounds = units if isinstance(units, UnitBounds) else UnitBounds.of(units)
    limit = bounds.limit
    ranges = []
    for spans in coders:
        if not normalised or (spans and spans[-1][1] > limit):
            spans = normalise(spans, 0, limit)
        ranges.append(bounds.touched(spans))
    if len(ranges) == 2:
        return _two_coder_table(ranges[0], ranges[1], len(bounds))
    stretches = sorted((mask & -mask, lo, hi, mask) for lo, hi, mask in sweep(ranges) if mask)
    counts: dict[int, int] = {}
    for _lowest, lo, hi, mask in stretches:
        counts[mask] = counts.get(mask, 0) + hi - lo
    covered = sum(counts.values())
    if len(bounds) > covered:
        counts[0] = len(bounds) - covered
    return UnitTable(len(coders), counts)


# --- percentage agreement and Cohen's kappa ----------------------------------------------------------


def percent_agreement(table: UnitTable) -> Estimate:
    """Share of units (in %) on which all coders agree: all coded it, or none did."""
    if table.total == 0:
        return Estimate.undefined(NO_UNITS)
    agreeing = table.counts.get(0, 0) + table.counts.get(table.full, 0)
    return Estimate(100.0 * agreeing / table.total)


@dataclass(frozen=True)
class Kappa:
    """Cohen's κ with its ingredients: observed (p_o) and chance (p_e) agreement."""

    observed: float | None
    chance: float | None
    kappa: Estimate


def cohen_kappa(matrix: Sequence[Sequence[float]]) -> Kappa:
    """Cohen's (1960) κ from a k×k contingency table (rows coder A's category, columns coder B's)."""
    n = sum(sum(row) for row in matrix)
    if n == 0:
        return Kappa(None, None, Estimate.undefined(NO_UNITS))
    diagonal = sum(matrix[i][i] for i in range(len(matrix)))
    rows = [sum(row) for row in matrix]
    cols = [sum(row[j] for row in matrix) for j in range(len(matrix))]
    chance_products = sum(r * c for r, c in zip(rows, cols, strict=True))
    p_o, p_e = diagonal / n, chance_products / (n * n)
    if n * n == chance_products:
        return Kappa(p_o, p_e, Estimate.undefined(NO_VARIATION))
    return Kappa(p_o, p_e, Estimate((n * diagonal - chance_products) / (n * n - chance_products)))


def table_kappa(table: UnitTable) -> Estimate:
    """Cohen's κ on a two-coder unit table; undefined for any other number of coders."""
    if table.coders != 2:
        return Estimate.undefined(NOT_TWO_CODERS)
    # cohen_kappa on the 2×2 table, unrolled (it runs for every cell): the same integers, the same division
    c = table.counts
    both, only_a, only_b, neither = c.get(0b11, 0), c.get(0b01, 0), c.get(0b10, 0), c.get(0b00, 0)
    n = both + only_a + only_b + neither
    if n == 0:
        return Estimate.undefined(NO_UNITS)
    diagonal = both + neither
    chance_products = (both + only_a) * (both + only_b) + (only_b + neither) * (only_a + neither)
    if n * n == chance_products:
        return Estimate.undefined(NO_VARIATION)
    return Estimate((n * diagonal - chance_products) / (n * n - chance_products))


# --- Krippendorff's alpha from coincidences -----------------------------------------------------------


def alpha_from_coincidences(coincidences: Mapping[tuple[Hashable, Hashable], float]) -> Estimate:
    """Nominal α = 1 − D_o/D_e from a coincidence matrix ``{(c, k): o_ck}`` (Krippendorff 2011)."""
    totals: dict[Hashable, float] = defaultdict(float)
    for (c, _k), o in coincidences.items():
        totals[c] += o
    n = sum(totals.values())
    if n <= 1:
        return Estimate.undefined(NO_PAIRABLE)
    observed = sum(o for (c, k), o in coincidences.items() if c != k)
    expected = n * n - sum(t * t for t in totals.values())  # = Σ_{c≠k} n_c·n_k
    if expected == 0:
        return Estimate.undefined(NO_VARIATION)
    return Estimate(1.0 - (n - 1) * observed / expected)


def coincidences(data: Sequence[Sequence[Hashable | None]]) -> dict[tuple[Hashable, Hashable], float]:
    """The coincidence matrix of reliability data: rows are coders, columns units, ``None`` is missing.

    Each unit with m_u ≥ 2 values adds 1/(m_u − 1) for every ordered pair of values from different coders;
    units with fewer values cannot be paired and are left out (Krippendorff 2011)."""
    out: dict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for unit in zip(*data, strict=True):
        values = [v for v in unit if v is not None]
        if len(values) < 2:
            continue
        weight = 1.0 / (len(values) - 1)
        for i, j in combinations(range(len(values)), 2):
            out[(values[i], values[j])] += weight
            out[(values[j], values[i])] += weight
    return dict(out)


def nominal_alpha(data: Sequence[Sequence[Hashable | None]]) -> Estimate:
    """Krippendorff's α for nominal data with any number of coders and missing values (``None``)."""
    return alpha_from_coincidences(coincidences(data))


def binary_alpha(table: UnitTable) -> Estimate:
    """Krippendorff's α for binary data (coded / not coded) on a unit table: ATLAS.ti's α-binary."""
    m = table.coders
    if m < 2 or table.total == 0:
        return Estimate.undefined(NO_UNITS if table.total == 0 else NO_PAIRABLE)
    o11 = o00 = o01 = 0.0
    for mask, count in table.counts.items():
        ones = mask.bit_count()
        zeros = m - ones
        o11 += count * ones * (ones - 1) / (m - 1)
        o00 += count * zeros * (zeros - 1) / (m - 1)
        o01 += count * ones * zeros / (m - 1)
    # alpha_from_coincidences({(1, 1): o11, (0, 0): o00, (0, 1): o01, (1, 0): o01}) unrolled (it runs for every
    # cell), with the same floating-point operations in the same order, so the same value to the last bit
    ones_total, zeros_total = o11 + o01, o00 + o01
    n = ones_total + zeros_total
    if n <= 1:
        return Estimate.undefined(NO_PAIRABLE)
    expected = n * n - (ones_total * ones_total + zeros_total * zeros_total)
    if expected == 0:
        return Estimate.undefined(NO_VARIATION)
    return Estimate(1.0 - (n - 1) * (o01 + o01) / expected)


# --- Krippendorff's unitizing alpha (cu-alpha) --------------------------------------------------------


@dataclass(frozen=True)
class UnitizingTerms:
    """Observed and expected disagreement of one code on one continuum; they add up over codes."""

    observed: float
    expected: float

    @property
    def alpha(self) -> Estimate:
        return unitizing_alpha([self])


def unitizing_alpha(terms: Iterable[UnitizingTerms]) -> Estimate:
    """α = 1 − ΣD_o / ΣD_e: one code's cu-α, or Krippendorff's (2004) combination over several codes."""
    terms = list(terms)
    expected = sum(t.expected for t in terms)
    if expected == 0:
        return Estimate.undefined(NOBODY_CODED)
    return Estimate(1.0 - sum(t.observed for t in terms) / expected)


def _pair_disagreement(a: Sequence[Span], b: Sequence[Span]) -> int:
    """Σδ² of two coders' normalised units (Krippendorff 2004), walking both lists once like a merge.

    Lay each coder's continuum out as units and the gaps between them: of the pairs of their segments that
    overlap, two units count (Δstart)² + (Δend)², a unit lying inside a gap of the other counts its squared
    length, and any other pair nothing. A unit lies inside a gap of the other coder exactly when it
    overlaps none of their units (gaps are always separated by units), so only the units are walked."""
    total = i = j = 0
    a_hit = b_hit = False
    while i < len(a) and j < len(b):
        (sa, ea), (sb, eb) = a[i], b[j]
        if sa < eb and sb < ea:
            total += (sa - sb) ** 2 + (ea - eb) ** 2
            a_hit = b_hit = True
        if ea <= eb:
            if not a_hit:
                total += (ea - sa) ** 2
            i, a_hit = i + 1, False
        if eb <= ea:
            if not b_hit:
                total += (eb - sb) ** 2
            j, b_hit = j + 1, False
    for spans, k, hit in ((a, i, a_hit), (b, j, b_hit)):
        for s, e in spans[k + hit :]:
            total += (e - s) ** 2
    return total


def _gaps(spans: Sequence[Span], begin: int, end: int) -> list[int]:
    """The lengths of the stretches of ``[begin, end)`` between one coder's normalised units."""
    out: list[int] = []
    pos = begin
    for s, e in spans:
        if s > pos:
            out.append(s - pos)
        pos = e
    if pos < end:
        out.append(end - pos)
    return out


def _expected_numerator(units: list[int], gaps: list[int]) -> int:
    """Σ_g [(N−1)(2l³−3l²+l)/3 + l²·Σ_{gaps h ≥ l}(l_h − l + 1)] over all units g of all coders."""
    gaps = sorted(gaps)
    suffix = list(accumulate(reversed(gaps)))[::-1] + [0]
    total = 0
    for length in units:
        k = bisect_left(gaps, length)
        fitting = len(gaps) - k
        total += (len(units) - 1) * (2 * length**3 - 3 * length**2 + length) // 3
        total += length * length * (suffix[k] - (length - 1) * fitting)
    return total


def unitizing_terms(
    coders: Sequence[Sequence[Span]], begin: int, end: int, *, normalised: bool = False
) -> UnitizingTerms:
    """D_o and D_e of Krippendorff's unitizing α for one code on the continuum ``[begin, end)``.

    D_o = 2·Σ_{pairs of coders} Σδ² / (m(m−1)L²); D_e from the lengths of all units and gaps of all coders
    (Krippendorff 2004). Integer arithmetic until the final division, so long texts lose no precision.
    ``normalised``: each coder's spans are already ``normalise(spans, begin, end)``."""
    m, length = len(coders), end - begin
    if m < 2 or length <= 0:
        return UnitizingTerms(0.0, 0.0)
    spans = coders if normalised else [normalise(s, begin, end) for s in coders]
    observed = sum(_pair_disagreement(spans[i], spans[j]) for i, j in combinations(range(m), 2))
    units = [e - s for coder in spans for s, e in coder]
    if not units:
        return UnitizingTerms(0.0, 0.0)
    gaps = [gap for coder in spans for gap in _gaps(coder, begin, end)]
    squared = sum(u * (u - 1) for u in units)
    denominator = length * (m * length * (m * length - 1) - squared)
    return UnitizingTerms(
        observed=2 * observed / (m * (m - 1) * length * length),
        expected=2 * _expected_numerator(units, gaps) / denominator,
    )


# --- conventional thresholds -------------------------------------------------------------------------

KAPPA_THRESHOLDS = "κ (Landis & Koch 1977): 0.61–0.80 substantial, above 0.80 almost perfect"
ALPHA_THRESHOLDS = "α (Krippendorff 2004): ≥ 0.800 reliable, ≥ 0.667 tentative conclusions only"


def kappa_label(value: float) -> str:
    """Landis & Koch's (1977) band for a κ value."""
    if value < 0:
        return "poor"
    for limit, label in ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial")):
        if value <= limit:
            return label
    return "almost perfect"


def alpha_label(value: float) -> str:
    """Krippendorff's (2004) advice for an α value."""
    if value >= 0.800:
        return "reliable"
    if value >= 0.667:
        return "tentative"
    return "unreliable"
