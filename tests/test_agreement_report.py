"""Agreement over a real project file (models/agreement_report.py): cells checked by hand, roll-ups, the
disagreement list, and consensus settlements with undo."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import agreement as ag
from models import history
from models.agreement_report import (
    CONSENSUS_CODER,
    MEAN,
    POOLED,
    WEIGHTED,
    adopt_agreements,
    agreement_report,
    disagreement_rows,
    disagreements,
    make_key,
    settle,
)
from models.errors import NotFoundError, WaveqdaError
from models.participants import get_or_create_coder
from models.schema import Code, Coder, Coding, Event
from models.store import Project
from models.transcripts import find_transcript, sentences_of
from tests.conftest import database_state

TOL = 0.001

# (coder, transcript, code, quoted text, status). P01/T1 is
# "Interviewer: How did the training go?\nDana: It was brilliant. I felt supported by everyone. The supervision
# was good.\n..." so "It was brilliant." starts at 44, "I felt supported" at 62, "The supervision" at 92.
CODINGS = [
    ("alice", "P01/T1", "Support", "I felt supported by everyone.", "ok"),
    ("alice", "P01/T1", "Support", "I felt supported", "ok"),  # the same code again, overlapping: one judgement
    ("alice", "P01/T1", "Support", "The supervision was good.", "ok"),
    ("bob", "P01/T1", "Support", "It was brilliant. I felt supported by everyone.", "ok"),
    ("alice", "P01/T1", "Worry", "I worry about the contract though.", "ok"),
    ("bob", "P01/T1", "Worry", "I worry about the contract though.", "ok"),
    ("alice", "P01/T1", "Worry", "Funding might end.", "needs_review"),
    ("bob", "P01/T1", "Hope", "It was brilliant.", "ok"),
    ("alice", "P01/T2", "Support", "I am supporting people every day.", "ok"),
    ("bob", "P01/T2", "Worry", "Nobody tells me about handovers.", "ok"),
    ("alice", "P02/T1", "Support", "The team supports me.", "ok"),
    ("carol", "P01/T1", "Support", "I felt supported by everyone.", "ok"),
    ("carol", "P01/T1", "Support", "The supervision was good.", "ok"),
]


def add_codings(project: Project) -> Project:
    """Codes Support, Worry, Hope, Unused and the codings above, made with the ORM."""
    with project.change("tester", "test.setup") as session:
        codes = {name: Code(name=name, position=i) for i, name in enumerate(["Support", "Worry", "Hope", "Unused"])}
        session.add_all(codes.values())
        coders = {name: get_or_create_coder(session, name) for name in ("alice", "bob", "carol")}
        session.flush()
        for coder, ref, code, quote, status in CODINGS:
            transcript = find_transcript(session, ref)
            start = transcript.text.index(quote)
            session.add(
                Coding(
                    transcript_id=transcript.id,
                    code_id=codes[code].id,
                    coder_id=coders[coder].id,
                    start=start,
                    end=start + len(quote),
                    status=status,
                )
            )
    return project


@pytest.fixture
def coded(small_project: Project) -> Project:
    return add_codings(small_project)


def lengths(project: Project) -> tuple[int, int]:
    with project.read() as session:
        return len(find_transcript(session, "P01/T1").text), len(find_transcript(session, "P01/T2").text)


def cell(report, code: str, transcript: str):
    return next(c for c in report.cells if c.code.path == code and c.transcript.label == transcript)


def value(figures, name: str) -> float | None:
    return figures.values[name].value


# --- per code × transcript --------------------------------------------------------------------------


def test_support_in_p01_t1_checked_by_hand(coded):
    """Support in P01/T1 (228 characters), by hand: both coded "I felt supported by everyone." (29),
    alice alone "The supervision was good." (25), bob alone "It was brilliant. " (18), neither 156.
    Percentage agreement (29 + 156)/228 = 81.140%. Cohen (1960) κ: p_o = 185/228, p_e = (54·47 + 174·181)/228²
    = 0.654663, κ = 0.453877. Krippendorff (2011) α-binary: o_01 = 43, o_11 = 58, o_00 = 312, n = 456,
    α = 1 − 455·43/(355·101) = 0.454330. Krippendorff (2004) cu-α: δ² = 18² (bob's unit starts 18 earlier,
    same end) + 25² (alice's second unit inside bob's gap) = 949, D_o = 949/228² = 0.018256; units 29, 25, 47,
    gaps 62, 1, 111 (alice) and 44, 137 (bob): D_e = 2·929220/(228·(456·455 − 3574)) = 0.039975,
    α = 0.543319. alice's overlapping second coding of Support changes nothing."""
    report = agreement_report(coded, ["alice", "bob"])
    support = cell(report, "Support", "P01/T1")
    assert support.figures.table.counts == {0b11: 29, 0b01: 25, 0b10: 18, 0b00: 156}
    assert value(support.figures, "percent_agreement") == pytest.approx(100 * 185 / 228, abs=TOL)
    assert value(support.figures, "kappa") == pytest.approx(0.453877, abs=TOL)
    assert value(support.figures, "alpha_binary") == pytest.approx(0.454330, abs=TOL)
    assert support.figures.cu_terms.observed == pytest.approx(949 / 228**2, abs=1e-9)
    assert support.figures.cu_terms.expected == pytest.approx(2 * 929220 / (228 * (456 * 455 - 3574)), abs=1e-9)
    assert value(support.figures, "cu_alpha") == pytest.approx(0.543319, abs=TOL)


def test_identical_codings_agree_perfectly(coded):
    """Worry in P01/T1: both coded the same sentence, so every statistic is 1 (alice's needs-review coding
    of "Funding might end." is left out and counted)."""
    report = agreement_report(coded, ["alice", "bob"])
    worry = cell(report, "Worry", "P01/T1")
    assert value(worry.figures, "percent_agreement") == 100.0
    for name in ("kappa", "alpha_binary", "cu_alpha"):
        assert value(worry.figures, name) == pytest.approx(1.0)
    assert report.excluded == 1


def test_one_coder_alone_gives_kappa_zero(coded):
    """Support in P01/T2: only alice coded it (33 characters of N): p_o = p_e, κ = 0; α-binary
    = 1 − (2N − 1)/(2N − 33) < 0."""
    n = lengths(coded)[1]
    support = cell(agreement_report(coded, ["alice", "bob"]), "Support", "P01/T2")
    assert support.figures.table.counts == {0b01: 33, 0: n - 33}
    assert value(support.figures, "kappa") == pytest.approx(0.0, abs=1e-12)
    assert value(support.figures, "alpha_binary") == pytest.approx(1 - (2 * n - 1) / (2 * n - 33), abs=1e-9)


def test_scope_defaults_to_transcripts_every_coder_coded(coded):
    """P02/T1 was coded by alice only, so it is not compared unless named; cells exist only where a coder
    applied the code."""
    report = agreement_report(coded, ["alice", "bob"])
    assert [t.label for t in report.transcripts] == ["P01/T1", "P01/T2"]
    assert {(c.code.path, c.transcript.label) for c in report.cells} == {
        ("Support", "P01/T1"),
        ("Worry", "P01/T1"),
        ("Hope", "P01/T1"),
        ("Support", "P01/T2"),
        ("Worry", "P01/T2"),
    }
    named = agreement_report(coded, ["alice", "bob"], transcripts=["P02/T1"])
    assert [(c.code.path, c.transcript.label) for c in named.cells] == [("Support", "P02/T1")]


def test_sentences_as_units(coded):
    """--unit sentence: a sentence counts as coded by a coder when any of their codings covers any of it;
    checked against the stored sentence spans one by one."""
    report = agreement_report(coded, ["alice", "bob"], codes=["Support"], unit="sentence")
    support = cell(report, "Support", "P01/T1")
    with coded.read() as session:
        sentences = [(s.start, s.end) for s in sentences_of(session, find_transcript(session, "P01/T1").id)]
    alice, bob = [(62, 91), (92, 117)], [(44, 91)]
    expected: dict[int, int] = {}
    for s, e in sentences:
        mask = any(a < e and b > s for a, b in alice) | (any(a < e and b > s for a, b in bob) << 1)
        expected[mask] = expected.get(mask, 0) + 1
    assert support.figures.table.counts == expected
    assert support.figures.table.total == len(sentences)


def test_unused_code_is_undefined_not_perfect(coded):
    """A code named with --codes that nobody applied: no cells; pooled κ, α-binary and cu-α are None with a
    reason (percentage agreement is 100%: every character agreed absent)."""
    report = agreement_report(coded, ["alice", "bob"], codes=["Unused"])
    assert report.cells == []
    pooled = report.per_code[0].figures[0]
    assert value(pooled, "percent_agreement") == 100.0
    for name in ("kappa", "alpha_binary", "cu_alpha"):
        assert pooled.values[name].value is None and pooled.values[name].reason


def test_three_coders(coded):
    """alice, bob and carol: only P01/T1 was coded by all three; κ is for two coders (None with a reason),
    α-binary and cu-α take any number of coders."""
    report = agreement_report(coded, ["alice", "bob", "carol"], codes=["Support"])
    support = cell(report, "Support", "P01/T1")
    assert support.figures.values["kappa"].reason == ag.NOT_TWO_CODERS
    assert support.figures.table.counts == {0b111: 29, 0b101: 25, 0b010: 18, 0: 156}
    assert value(support.figures, "alpha_binary") is not None
    assert value(support.figures, "cu_alpha") is not None


# --- roll-ups -----------------------------------------------------------------------------------------


def test_per_code_roll_ups(coded):
    """Support over P01/T1 and P01/T2: pooled sums the two tables; cu-α pooled lays the transcripts end to
    end; mean and length-weighted mean average the two cells' values."""
    l1, l2 = lengths(coded)
    report = agreement_report(coded, ["alice", "bob"])
    support = next(r for r in report.per_code if r.label == "Support")
    pooled, mean, weighted = support.figures
    assert [f.method for f in support.figures] == [POOLED, MEAN, WEIGHTED]
    assert pooled.table.counts == {0b11: 29, 0b01: 25 + 33, 0b10: 18, 0: l1 + l2 - 29 - 58 - 18}
    end_to_end = ag.unitizing_terms(
        [[(62, 91), (92, 117), *((s + l1, e + l1) for s, e in _alice_t2(coded))], [(44, 91)]], 0, l1 + l2
    )
    assert pooled.cu_terms.observed == pytest.approx(end_to_end.observed)
    assert value(pooled, "cu_alpha") == pytest.approx(end_to_end.alpha.value)
    cells = [cell(report, "Support", "P01/T1"), cell(report, "Support", "P01/T2")]
    for name in ("percent_agreement", "kappa", "alpha_binary", "cu_alpha"):
        v1, v2 = (value(c.figures, name) for c in cells)
        assert value(mean, name) == pytest.approx((v1 + v2) / 2)
        assert value(weighted, name) == pytest.approx((l1 * v1 + l2 * v2) / (l1 + l2))


def _alice_t2(project: Project) -> list[ag.Span]:
    with project.read() as session:
        text = find_transcript(session, "P01/T2").text
    start = text.index("I am supporting people every day.")
    return [(start, start + 33)]


def test_codes_nobody_applied_in_a_transcript_enter_pooled_figures_only(coded):
    """Hope was applied in P01/T1 only: its pooled table counts all of P01/T2 as agreed absence, its means
    use the one cell."""
    l1, l2 = lengths(coded)
    report = agreement_report(coded, ["alice", "bob"])
    hope = next(r for r in report.per_code if r.label == "Hope")
    pooled, mean, _ = hope.figures
    assert pooled.table.counts == {0b10: 17, 0: l1 - 17 + l2}
    assert pooled.cells == mean.cells == 1


def test_per_transcript_and_overall_pool_over_codes(coded):
    """Per transcript: tables summed over the three codes used; cu-α over codes = 1 − ΣD_o/ΣD_e. Overall:
    every code × transcript table summed, and cu-α from the per-code end-to-end terms."""
    l1, l2 = lengths(coded)
    report = agreement_report(coded, ["alice", "bob"])
    t1 = next(r for r in report.per_transcript if r.label == "P01/T1")
    cells_t1 = [c for c in report.cells if c.transcript.label == "P01/T1"]
    assert t1.figures[0].table.total == 3 * l1
    observed = sum(c.figures.cu_terms.observed for c in cells_t1)
    expected = sum(c.figures.cu_terms.expected for c in cells_t1)
    assert value(t1.figures[0], "cu_alpha") == pytest.approx(1 - observed / expected)
    pooled = report.overall[0]
    assert pooled.table.total == 3 * (l1 + l2)
    code_terms = [r.figures[0].cu_terms for r in report.per_code]
    assert value(pooled, "cu_alpha") == pytest.approx(ag.unitizing_alpha(code_terms).value)
    assert [f.method for f in report.overall] == [POOLED, MEAN, WEIGHTED]


def test_json_shape(coded):
    """The documented keys, each roll-up labelled with its method."""
    data = agreement_report(coded, ["alice", "bob"]).as_json()
    assert {"unit", "coders", "per_code_transcript", "per_code", "per_transcript", "overall"} <= set(data)
    assert data["unit"] == "character" and data["coders"] == ["alice", "bob"]
    assert set(data["overall"]) == {"pooled", "mean", "length_weighted_mean"}
    assert data["overall"]["pooled"]["method"] == POOLED
    first = data["per_code_transcript"][0]
    assert first["table"] == {
        "units": 228,
        "all": 29,
        "none": 156,
        "partial": [{"coded_by": ["alice"], "units": 25}, {"coded_by": ["bob"], "units": 18}],
    }


def test_errors(coded):
    with pytest.raises(NotFoundError):
        agreement_report(coded, ["alice", "nobody"])
    with pytest.raises(WaveqdaError, match="at least two"):
        agreement_report(coded, ["alice"])
    with pytest.raises(WaveqdaError, match="unknown unit"):
        agreement_report(coded, ["alice", "bob"], unit="word")
    with coded.change("tester", "test.coder") as session:
        get_or_create_coder(session, "dave")
    with pytest.raises(WaveqdaError, match="no transcript"):
        agreement_report(coded, ["alice", "dave"])


# --- the disagreement list ----------------------------------------------------------------------------


def test_disagreement_list(coded):
    """Every maximal stretch coded by one of alice and bob and not the other, with its text, ordered by
    transcript (study order), then position, then codebook order."""
    found = disagreements(coded, ["alice", "bob"])
    summary = [(d.transcript, d.code, d.text, d.coded_by, d.not_coded_by) for d in found]
    assert summary == [
        ("P01/T1", "Support", "It was brilliant. ", ["bob"], ["alice"]),
        ("P01/T1", "Hope", "It was brilliant.", ["bob"], ["alice"]),
        ("P01/T1", "Support", "The supervision was good.", ["alice"], ["bob"]),
        ("P01/T2", "Worry", "Nobody tells me about handovers.", ["bob"], ["alice"]),
        ("P01/T2", "Support", "I am supporting people every day.", ["alice"], ["bob"]),
    ]
    first = found[0]
    assert (first.start, first.end, first.participant, first.timepoint) == (44, 62, "P01", "T1")
    with coded.read() as session:
        transcript = find_transcript(session, "P01/T1")
        support = session.scalar(select(Code).where(Code.name == "Support"))
        assert first.key == make_key(transcript.uuid, support.uuid, 44, 62)
    rows = disagreement_rows(coded, ["alice", "bob"])
    assert rows[0]["coded_by"] == "bob" and rows[0]["text"] == "It was brilliant. " and rows[0]["settled"] == ""


# --- consensus ----------------------------------------------------------------------------------------


def consensus_spans(project: Project, code: str = "Support") -> list[tuple[int, int]]:
    with project.read() as session:
        return [
            (c.start, c.end)
            for c in session.scalars(
                select(Coding)
                .join(Coder, Coder.id == Coding.coder_id)
                .join(Code, Code.id == Coding.code_id)
                .where(Coder.name == CONSENSUS_CODER, Code.name == code)
                .order_by(Coding.start)
            )
        ]


def test_settle_keep_one_coder_then_undo(coded):
    """Keeping alice's coding of "The supervision was good." creates the consensus coder and its coding,
    records who settled it in the memo and the event; undo restores the database exactly."""
    before = database_state(coded)
    key = disagreements(coded, ["alice", "bob"])[2].key
    result = settle(coded, "dana", key, "alice")
    assert result.decision == "keep alice" and result.coded == [(92, 117)]
    assert consensus_spans(coded) == [(92, 117)]
    with coded.read() as session:
        coding = session.scalar(select(Coding).join(Coder).where(Coder.name == CONSENSUS_CODER))
        assert "settled by dana" in coding.memo
        event = session.scalars(select(Event).order_by(Event.id.desc())).first()
        assert event.operation == "agreement.settle" and event.actor == "dana"
        assert event.detail["key"] == key and event.detail["decision"] == "keep alice"
    assert disagreements(coded, ["alice", "bob"])[2].settled == "keep alice"
    assert len(disagreements(coded, ["alice", "bob"], pending_only=True)) == 4

    history.undo(coded, "dana")
    assert database_state(coded) == before
    assert disagreements(coded, ["alice", "bob"])[2].settled is None


def test_settle_decisions(coded):
    """both/union codes the whole stretch; keeping a coder who did not code it, or none, leaves it uncoded;
    settling again replaces the earlier decision."""
    found = disagreements(coded, ["alice", "bob"])
    brilliant, supervision = found[0].key, found[2].key
    assert settle(coded, "dana", brilliant, "both").coded == [(44, 62)]
    assert settle(coded, "dana", supervision, "bob").coded == []
    assert consensus_spans(coded) == [(44, 62)]
    settle(coded, "dana", brilliant, "none")
    assert consensus_spans(coded) == []
    settle(coded, "dana", supervision, "union")
    assert consensus_spans(coded) == [(92, 117)]


def test_adopt_agreements_then_settle_inside_a_consensus_coding(coded):
    """Adopting agreements copies the stretches both coded (Support 62–91, Worry) into the consensus coder,
    merging with settled neighbours; a second adoption adds nothing; settling a stretch inside a consensus
    coding as none splits it."""
    settle(coded, "dana", disagreements(coded, ["alice", "bob"])[0].key, "bob")  # 44–62
    assert adopt_agreements(coded, "dana", ["alice", "bob"]) == 2
    assert consensus_spans(coded) == [(44, 91)]
    assert consensus_spans(coded, "Worry") != []
    assert adopt_agreements(coded, "dana", ["alice", "bob"]) == 0
    with coded.read() as session:
        transcript = find_transcript(session, "P01/T1")
        support = session.scalar(select(Code).where(Code.name == "Support"))
        inner = make_key(transcript.uuid, support.uuid, 70, 80)
    settle(coded, "dana", inner, "none")
    assert consensus_spans(coded) == [(44, 70), (80, 91)]


def test_settle_errors(coded):
    key = disagreements(coded, ["alice", "bob"])[0].key
    with pytest.raises(WaveqdaError, match="invalid disagreement key"):
        settle(coded, "dana", "P01/T1 44-62", "alice")
    with pytest.raises(NotFoundError, match="both"):
        settle(coded, "dana", key, "nobody")
    settle(coded, "dana", key, "both")
    with pytest.raises(WaveqdaError, match="consensus"):
        settle(coded, "dana", key, CONSENSUS_CODER)
    other = key.replace(key[:8], "00000000", 1)
    with pytest.raises(NotFoundError):
        settle(coded, "dana", other, "alice")
    transcript_uuid, code_uuid, _ = key.split("/")
    with pytest.raises(WaveqdaError, match="outside"):
        settle(coded, "dana", make_key(transcript_uuid, code_uuid, 200, 9999), "both")
    with pytest.raises(WaveqdaError, match="not the consensus"):
        adopt_agreements(coded, "dana", ["alice", CONSENSUS_CODER])


# every test here runs on an SQLite file and on a PostgreSQL database
pytestmark = pytest.mark.both_engines
