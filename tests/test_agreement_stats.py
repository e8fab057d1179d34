"""Agreement statistics on interval lists (models/agreement.py) against published known answers and
independent implementations. Tolerance 0.001 throughout, as the issue asks."""

from __future__ import annotations

import warnings
from itertools import combinations

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from models import agreement as ag

TOL = 0.001


# --- published known answers -------------------------------------------------------------------------


def krippendorff_2004_example() -> dict[str, list[list[ag.Span]]]:
    """Two coders (i, j), two codes (c, k) on the continuum 150–450 (length 300): begin and end of each unit.

    Data of Krippendorff (2004) Content Analysis, 2nd ed., p. 254, as transcribed (begin, length) in
    dkpro-statistics' unitizing ``Krippendorff2004Test.createExample``."""
    return {
        "c": [[(225, 295), (370, 400)], [(220, 300), (355, 375), (400, 420)]],
        "k": [[(180, 240), (300, 350)], [(180, 240), (300, 350)]],
    }


def test_krippendorff_2004_unitizing_example_per_code():
    """Krippendorff (2004), unitizing example with codes c and k, coders i and j (Content Analysis 2nd ed.,
    p. 254).
    Published: c: D_o = 0.0144, D_e = 0.0532, α_c = 0.7286; k: D_o = 0, D_e = 0.0490, α_k = 1
    (values as asserted in dkpro-statistics' ``Krippendorff2004Test.testCategoryAgreement``)."""
    example = krippendorff_2004_example()
    c = ag.unitizing_terms(example["c"], 150, 450)
    k = ag.unitizing_terms(example["k"], 150, 450)
    assert c.observed == pytest.approx(0.0144, abs=TOL)
    assert c.expected == pytest.approx(0.0532, abs=TOL)
    assert c.alpha.value == pytest.approx(0.7286, abs=TOL)
    assert k.observed == 0
    assert k.expected == pytest.approx(0.0490, abs=TOL)
    assert k.alpha.value == pytest.approx(1.0, abs=TOL)


def test_krippendorff_2004_unitizing_example_over_codes():
    """Krippendorff (2004), same example (Content Analysis 2nd ed., p. 254): over both codes
    α = 1 − ΣD_o/ΣD_e = 0.8591 (dkpro-statistics ``Krippendorff2004Test.testAgreement``; the published
    figure comes from rounded terms, 1 − 0.0144/(0.0532 + 0.0490))."""
    example = krippendorff_2004_example()
    terms = [ag.unitizing_terms(example[code], 150, 450) for code in ("c", "k")]
    assert ag.unitizing_alpha(terms).value == pytest.approx(0.8591, abs=TOL)


@pytest.mark.parametrize(
    ("coders", "observed"),
    [
        ([[(2, 10), (14, 20)], [(4, 8), (15, 17)]], 0.03125),
        ([[(0, 18)], [(0, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 9), (9, 10)]], 2.26736),
        ([[(2, 8), (10, 12), (14, 18), (20, 22)], [(0, 2), (4, 8), (10, 14), (16, 18), (20, 22)]], 0.02777),
        ([[(0, 2), (2, 10), (10, 14), (14, 20), (20, 24)], [(0, 4), (4, 8), (8, 15), (15, 17), (17, 24)]], 0.38715),
    ],
    ids=["A Bertha-Bill", "B John-Jill", "C Gerret-Gill", "D Heather-Hill"],
)
def test_krippendorff_1995_observed_disagreement(coders, observed):
    """Krippendorff (1995) "On the reliability of unitizing contiguous data", Sociological Methodology 25,
    p. 57: four pairs of coders on a continuum of 24; observed disagreements as asserted in
    dkpro-statistics' ``Krippendorff1995Test.testAgreement``. Pair B also checks that touching units of one
    coder stay separate units."""
    assert ag.unitizing_terms(coders, 0, 24).observed == pytest.approx(observed, abs=TOL)


# Krippendorff (2004) Content Analysis §11.3.1 as transcribed in the R package jucor/krippendorff
# (data-raw/krippendorff2004.binary.two.observers.csv): same coincidences as Krippendorff (2011) §A.
JON = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
HAN = [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]


def test_krippendorff_2011_binary_example():
    """Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", §A binary data, two observers,
    ten units, no missing data: coincidence matrix o_00 = 10, o_01 = o_10 = 4, o_11 = 2; α = 0.095."""
    published = {(0, 0): 10, (0, 1): 4, (1, 0): 4, (1, 1): 2}
    assert ag.coincidences([JON, HAN]) == pytest.approx(published)
    assert ag.alpha_from_coincidences(published).value == pytest.approx(0.095, abs=TOL)
    assert ag.nominal_alpha([JON, HAN]).value == pytest.approx(0.095, abs=TOL)
    table = ag.UnitTable(2, {0b11: 1, 0b01: 1, 0b10: 3, 0b00: 5})  # bit 0 Jon, bit 1 Han
    assert ag.binary_alpha(table).value == pytest.approx(0.095, abs=TOL)


def test_krippendorff_2011_nominal_example_with_missing_data():
    """Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", §C nominal data, four observers
    (A–D), twelve units, missing values: α = 0.743."""
    n = None
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
        [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n],
    ]
    assert ag.nominal_alpha(data).value == pytest.approx(0.743, abs=TOL)


def test_cohen_1960_worked_table():
    """Cohen (1960) "A coefficient of agreement for nominal scales", Educational and Psychological
    Measurement 20: 37–46, p. 45, Table 2 (200 subjects, three categories; frequencies as in
    dkpro-statistics' ``Cohen1960Test.createExample2``): p_o = 0.70, p_c = 0.41, κ = 0.492."""
    result = ag.cohen_kappa([[88, 14, 18], [10, 40, 10], [2, 6, 12]])
    assert result.observed == pytest.approx(0.70, abs=TOL)
    assert result.chance == pytest.approx(0.41, abs=TOL)
    assert result.kappa.value == pytest.approx(0.492, abs=TOL)


# --- definitions and traps ---------------------------------------------------------------------------


def test_nobody_coded_is_undefined_not_perfect():
    """When no coder applied the code, κ, α-binary and cu-α have nothing to correct for chance: each is
    None with a reason (NVivo-style tables would show κ = 1), while percentage agreement is 100%."""
    table = ag.character_table([[], []], 50)
    assert table.counts == {0: 50}
    assert ag.percent_agreement(table).value == 100.0
    for estimate in (ag.table_kappa(table), ag.binary_alpha(table), ag.unitizing_terms([[], []], 0, 50).alpha):
        assert estimate.value is None and estimate.reason


def test_no_units_and_wrong_coder_counts_are_undefined():
    """An empty text (or no sentences) has no units; Cohen's κ is for exactly two coders."""
    empty = ag.unit_table([[(0, 5)], []], [])
    assert ag.percent_agreement(empty).reason == ag.NO_UNITS
    assert ag.binary_alpha(empty).reason == ag.NO_UNITS
    assert ag.table_kappa(ag.character_table([[(0, 2)], [], [(1, 3)]], 10)).reason == ag.NOT_TWO_CODERS


def test_one_coder_coding_twice_over_overlapping_text_is_one_judgement():
    """The trap in agreement.md: coder A applying the code twice over overlapping text must not count as
    agreement with anyone; every statistic equals the one for the merged span."""
    twice = [[(10, 30), (20, 40)], []]
    once = [[(10, 40)], []]
    assert ag.character_table(twice, 100) == ag.character_table(once, 100)
    assert ag.unitizing_terms(twice, 0, 100) == ag.unitizing_terms(once, 0, 100)
    assert ag.table_kappa(ag.character_table(twice, 100)).value == 0.0


def test_kappa_counts_characters_nobody_coded():
    """Cohen's κ on all characters, not QualCoder's variant over coded characters only: both coded 10,
    A alone 10, B alone 0, neither 80: p_o = 0.9, p_e = 0.2·0.1 + 0.8·0.9 = 0.74, κ = 0.16/0.26."""
    table = ag.character_table([[(0, 20)], [(0, 10)]], 100)
    assert table.contingency() == [[10, 10], [0, 80]]
    assert ag.table_kappa(table).value == pytest.approx(0.16 / 0.26, abs=1e-9)
    assert ag.percent_agreement(table).value == pytest.approx(90.0)


def test_sweep_gives_maximal_stretches_per_combination_of_coders():
    """Disagreement stretches: neighbouring stretches always differ in who coded them."""
    assert ag.sweep([[(0, 20)], [(10, 30)], [(0, 5), (5, 10)]]) == [
        (0, 10, 0b101),
        (10, 20, 0b011),
        (20, 30, 0b010),
    ]


def test_unit_counts_as_coded_when_any_of_it_is_covered():
    """Sentence/turn units: one character of coding marks the whole unit as coded by that coder."""
    units = [(0, 10), (10, 20), (25, 30)]
    table = ag.unit_table([[(9, 10)], [(19, 26)]], units)
    assert table.counts == {0b01: 1, 0b10: 2}


def test_thresholds():
    """Landis & Koch (1977) bands for κ; Krippendorff (2004) advice for α."""
    assert ag.kappa_label(0.61) == "substantial" and ag.kappa_label(0.81) == "almost perfect"
    assert ag.kappa_label(-0.1) == "poor"
    assert ag.alpha_label(0.800) == "reliable" and ag.alpha_label(0.667) == "tentative"
    assert ag.alpha_label(0.5) == "unreliable"


# --- independent implementations on random codings ---------------------------------------------------


@st.composite
def codings(draw, coders: int = 2):
    length = draw(st.integers(1, 120))
    span = st.tuples(st.integers(0, length - 1), st.integers(1, 40)).map(lambda t: (t[0], min(length, t[0] + t[1])))
    return length, [draw(st.lists(span, max_size=5)) for _ in range(coders)]


def characters(spans: list[ag.Span], length: int) -> np.ndarray:
    """The per-character reference array (built only here, as the independent check)."""
    out = np.zeros(length, dtype=int)
    for s, e in spans:
        out[s:e] = 1
    return out


@settings(max_examples=300, deadline=None)
@given(codings())
def test_character_kappa_matches_scikit_learn(data):
    """Char-level κ equals ``sklearn.metrics.cohen_kappa_score`` on per-character arrays; where ours is
    undefined, scikit-learn's is NaN (no variation)."""
    length, (a, b) = data
    ours = ag.table_kappa(ag.character_table([a, b], length))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = cohen_kappa_score(characters(a, length), characters(b, length))
    if ours.value is None:
        assert np.isnan(theirs)
    else:
        assert ours.value == pytest.approx(theirs, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 4).flatmap(lambda m: codings(m)))
def test_binary_alpha_matches_krippendorff_package(data):
    """α-binary on characters equals ``krippendorff.alpha(level_of_measurement="nominal")`` on
    per-character arrays, for two to four coders; ours is undefined exactly when every value is equal."""
    length, spans = data
    ours = ag.binary_alpha(ag.character_table(spans, length))
    matrix = np.array([characters(s, length) for s in spans])
    if ours.value is None:
        assert len(np.unique(matrix)) == 1
    else:
        theirs = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
        assert ours.value == pytest.approx(theirs, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(codings(), st.lists(st.integers(1, 30), min_size=1, max_size=8))
def test_unit_table_matches_per_unit_reference(data, lengths):
    """Sentence-like units: the table equals one built unit by unit from per-character arrays."""
    length, spans = data
    bounds = [0, *np.cumsum(lengths)]
    units = [(s, e) for s, e in zip(bounds, bounds[1:], strict=False) if e <= length]
    table = ag.unit_table(spans, units)
    arrays = [characters(s, length) for s in spans]
    expected: dict[int, int] = {}
    for s, e in units:
        mask = sum(1 << i for i, arr in enumerate(arrays) if arr[s:e].any())
        expected[mask] = expected.get(mask, 0) + 1
    assert table.counts == expected


def brute_force_unitizing(spans: list[list[ag.Span]], length: int) -> tuple[float, float]:
    """D_o and D_e straight from Krippendorff's (2004) definitions: every pair of segments, every unit
    against every gap, no sweeping or sorting tricks."""
    coders = [ag.normalise(s, 0, length) for s in spans]
    segments = []
    for units in coders:
        pos, segs = 0, []
        for s, e in units:
            segs += [(pos, s, False)] if s > pos else []
            segs.append((s, e, True))
            pos = e
        segs += [(pos, length, False)] if pos < length else []
        segments.append(segs)

    def delta(g, h):
        if g[1] <= h[0] or h[1] <= g[0]:
            return 0
        if g[2] and h[2]:
            return (g[0] - h[0]) ** 2 + (g[1] - h[1]) ** 2
        if g[2] and h[0] <= g[0] and g[1] <= h[1]:
            return (g[1] - g[0]) ** 2
        if h[2] and g[0] <= h[0] and h[1] <= g[1]:
            return (h[1] - h[0]) ** 2
        return 0

    m = len(coders)
    observed = sum(delta(g, h) for i, j in combinations(range(m), 2) for g in segments[i] for h in segments[j])
    units = [e - s for c in coders for s, e in c]
    gaps = [e - s for segs in segments for s, e, u in segs if not u]
    numerator = sum(
        (len(units) - 1) * (2 * u**3 - 3 * u**2 + u) / 3 + u * u * sum(g - u + 1 for g in gaps if g >= u) for u in units
    )
    denominator = length * (m * length * (m * length - 1) - sum(u * (u - 1) for u in units))
    return 2 * observed / (m * (m - 1) * length**2), (2 * numerator / denominator if units else 0.0)


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 3).flatmap(lambda m: codings(m)))
def test_unitizing_terms_match_brute_force(data):
    """The one-pass sweep and suffix sums give the same D_o and D_e as the literal definitions."""
    length, spans = data
    terms = ag.unitizing_terms(spans, 0, length)
    observed, expected = brute_force_unitizing(spans, length)
    assert terms.observed == pytest.approx(observed, abs=1e-9)
    assert terms.expected == pytest.approx(expected, abs=1e-9)
