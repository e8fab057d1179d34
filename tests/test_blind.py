"""Blind coding (issue 16): while a transcript is blind, a coder sees only their own codings there, in every
read on their behalf; the owner sees everything; reads on nobody's behalf (merges, copies) see everything;
agreement waits for the reveal; switching on and revealing are the owner's, and undoable. Both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import blind, queries
from models.agreement_report import agreement_report
from models.errors import WaveqdaError
from models.history import undo
from models.schema import BlindTranscript, Coder, Coding
from models.workspace_queries import load_codings

pytestmark = pytest.mark.both_engines


def visible_ids(project) -> set[int]:
    with project.read() as session:
        return {span.id for span in queries.coded_spans(session, None, include_archived=True)}


def expected(project, transcript_ids: set[int], viewer: str) -> set[int]:
    """Brute force: every coding, minus the other coders' in blind transcripts."""
    project.viewer = None
    with project.read() as session:
        names = dict(session.execute(select(Coder.id, Coder.name)).tuples().all())
        rows = session.execute(select(Coding.id, Coding.transcript_id, Coding.coder_id)).all()
    return {cid for cid, tid, coder in rows if tid not in transcript_ids or names[coder] == viewer}


def as_coder(project, name: str) -> None:
    """Read as ``name``, a coder (on PostgreSQL the test's login owns the database, so the coder's role is
    given as a browser login gives it; on a file a coder is anyone but who switched blind coding on)."""
    project.viewer = name
    project.viewer_is_owner = None if project.is_sqlite else False


def test_a_coder_sees_only_their_own_codings_in_blind_transcripts(coded_study) -> None:
    project = coded_study.project
    blind_tid = coded_study.transcripts["P01/T1"]
    assert blind.switch_on(project, "lead", ["P01/T1"]) == ["P01/T1"]
    everything = expected(project, set(), "")
    for coder in ("ana", "ben"):
        as_coder(project, coder)
        seen = visible_ids(project)
        assert seen == expected(project, {blind_tid}, coder)
        as_coder(project, coder)
        assert seen < everything  # something really is hidden from each
        with project.read() as session:
            drawn = {row.id for row in load_codings(session, blind_tid)}  # the workspace's own statement
            matrix = queries.code_timepoint_matrix(session)
        assert drawn == {cid for cid in seen if cid in _in_transcript(project, blind_tid)}
        supervision = next(row for row in matrix.rows if row.code == "Support/Supervision")
        assert supervision.cells["T1"].segments == 1  # the coder's own only (ana: 2, ben: 12; both as owner)
    project.viewer = "lead"
    project.viewer_is_owner = None
    with project.read() as session:
        matrix = queries.code_timepoint_matrix(session)
    assert next(row for row in matrix.rows if row.code == "Support/Supervision").cells["T1"].segments == 2


def _in_transcript(project, tid: int) -> set[int]:
    viewer, owner = project.viewer, project.viewer_is_owner
    project.viewer = None
    with project.read() as session:
        found = set(session.scalars(select(Coding.id).where(Coding.transcript_id == tid)))
    project.viewer, project.viewer_is_owner = viewer, owner
    return found


def test_the_owner_and_reads_on_nobodys_behalf_see_everything(coded_study) -> None:
    project = coded_study.project
    everything = visible_ids(project)
    blind.switch_on(project, "lead", [], timepoint="T1")
    project.viewer = None  # a merge, a copy, a check
    assert visible_ids(project) == everything
    project.viewer = "lead"  # on a file: who switched it on; on PostgreSQL: the owner role (this login)
    assert visible_ids(project) == everything


def test_agreement_waits_for_the_reveal_which_is_the_owners(coded_study) -> None:
    project = coded_study.project
    blind.switch_on(project, "lead", ["P01/T1"])
    as_coder(project, "ana")
    with pytest.raises(WaveqdaError, match="P01/T1 are being coded blind"):
        agreement_report(project, ["ana", "ben"], transcripts=["P01/T1"])
    with pytest.raises(WaveqdaError, match="can reveal"):
        blind.reveal(project, "ana", ["P01/T1"])
    project.viewer, project.viewer_is_owner = "lead", None
    assert blind.reveal(project, "lead") == ["P01/T1"]
    as_coder(project, "ana")
    report = agreement_report(project, ["ana", "ben"], transcripts=["P01/T1"])
    assert report.transcripts  # compared as today
    assert visible_ids(project) == expected(project, set(), "ana")


def test_switching_on_is_one_undoable_step(coded_study, db_state) -> None:
    project = coded_study.project
    before = db_state(project)
    blind.switch_on(project, "lead", ["P01/T1", "P02/T2"])
    assert [e.transcript for e in blind.entries(project)] == ["P01/T1", "P02/T2"]
    undo(project, "lead")
    assert db_state(project) == before
    with project.read() as session:
        assert session.scalars(select(BlindTranscript)).first() is None


def test_a_server_reads_on_behalf_of_each_request(coded_study) -> None:
    """One open project, several people (the workshop site): the viewer is given per read."""
    project = coded_study.project
    blind.switch_on(project, "lead", ["P01/T1"])
    project.viewer = None
    with project.read(viewer=("ana", False)) as session:
        ana = {s.id for s in queries.coded_spans(session, None, include_archived=True)}
    with project.read(viewer=("lead", True)) as session:
        lead = {s.id for s in queries.coded_spans(session, None, include_archived=True)}
    assert ana == expected(project, {coded_study.transcripts["P01/T1"]}, "ana")
    assert lead == expected(project, set(), "")


def test_consensus_changes_wait_for_the_reveal_too(coded_study, db_state) -> None:
    """Settling a disagreement or adopting agreed stretches copies other coders' codings into the consensus
    coder (and says what it coded): in a blind transcript that is the owner's alone, as agreement is."""
    from models.agreement_report import adopt_agreements, disagreements, settle

    project = coded_study.project
    key = next(d.key for d in disagreements(project, ["ana", "ben"]) if d.transcript == "P01/T1")
    blind.switch_on(project, "lead", ["P01/T1"])
    before = db_state(project)
    as_coder(project, "ana")
    with pytest.raises(WaveqdaError, match="P01/T1 are being coded blind: settling disagreements"):
        settle(project, "ana", key, "ben")
    with pytest.raises(WaveqdaError, match="P01/T1 are being coded blind: adopting agreed stretches"):
        adopt_agreements(project, "ana", ["ana", "ben"])
    with pytest.raises(WaveqdaError, match="P01/T1 are being coded blind"):
        adopt_agreements(project, "ana", ["ana", "ben"], transcripts=["P01/T1"])
    assert db_state(project) == before  # nothing half stored
    adopt_agreements(project, "ana", ["ana", "ben"], transcripts=["P02/T1"])  # not blind there: not refused
    project.viewer, project.viewer_is_owner = "lead", None
    assert settle(project, "lead", key, "ben").key == key  # the owner may


def test_the_history_hides_others_coding_steps_in_blind_transcripts(coded_study) -> None:
    """History summaries quote the coded words: a coder reading the history while blind coding is on sees
    that others changed codings there, not what they coded; everything else (and the owner's view) as ever."""
    from models import codebook, coding
    from models.history import BLIND_SUMMARY, history

    project = coded_study.project
    coding.apply_codes(project, "ben", "P01/T1", ["Worry"], "ben", 0, 12)
    coding.apply_codes(project, "ben", "P02/T1", ["Worry"], "ben", 0, 12)
    coding.apply_codes(project, "ana", "P01/T1", ["Worry"], "ana", 20, 30)
    coding.set_key_quote(project, "ben", coded_study.codings[12], True)  # an update: its images lack the place
    codebook.merge_codes(project, "ben", "Support/Peer support", "Support")  # moves codings in P01/T1 too
    blind.switch_on(project, "lead", ["P01/T1"])

    def summaries() -> list[tuple[str, str]]:
        with project.read() as session:
            return [(row.actor, row.summary) for row in history(session) if row.operation.startswith("coding.")]

    project.viewer, project.viewer_is_owner = "lead", None
    everything = summaries()
    assert len(everything) == 4 and BLIND_SUMMARY not in {s for _, s in everything}
    as_coder(project, "ana")
    shown = summaries()
    assert [actor for actor, _ in shown] == [actor for actor, _ in everything]
    assert [s == BLIND_SUMMARY for _, s in shown] == [True, False, False, True]
    assert shown[1:3] == everything[1:3]  # ben elsewhere, and ana's own
    with project.read() as session:  # a codebook step only counts the codings it moves: it stays readable
        [merged] = [row for row in history(session) if row.operation == "code.merge"]
    assert merged.summary.startswith("Merged code") and merged.summary != BLIND_SUMMARY
