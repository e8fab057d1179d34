"""``waveqda demo``: the bundled fictional study, imported and partly coded, so a newcomer sees everything at once.

The transcripts in ``sample_transcripts/`` are imported with their manifest and participant attributes (the
importers' job), then coded through the same domain functions the CLI and the workspace call: a small
codebook with definitions, two coders (Ann codes most of the study, Ben double-codes a few interviews, so
the agreement screen, the disagreements report and the merged quotes of the themes report have something
to show), key quotes, memos on codings, codes and transcripts, and one code merged into another. Some
interviews are left uncoded, so "not coded yet" shows beside "absent" in the matrix and the reports.

This lives in ``app/`` because it drives both importers and the domain layer (``models`` never imports
importers). Re-running on an existing demo project imports and codes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.errors import WaveqdaError
from models.store import Project, create_project, open_project

PROJECT_NAME = "Peer workers study (fictional sample)"
ACTOR = "demo"


def default_samples_dir() -> Path:
    """``sample_transcripts/`` of the source checkout, else of the current folder."""
    here = Path(__file__).resolve().parent.parent / "sample_transcripts"
    return here if here.is_dir() else Path.cwd() / "sample_transcripts"


@dataclass(frozen=True)
class DemoCode:
    path: str
    definition: str
    inclusion: str = ""
    exclusion: str = ""
    example: str = ""


@dataclass(frozen=True)
class DemoCoding:
    """A coding placed on the whole sentences from ``first`` to ``last`` (exact text, once in the transcript)."""

    transcript: str
    code: str
    coder: str
    first: str
    last: str = ""
    key: bool = False
    memo: str = ""


CODES = [
    DemoCode("Early optimism", "Hope, excitement or confidence about the new role.",
             "Looking forward, hope for the work, pride in the training.", "Hope held for service users: "
             "code under Lived experience as a tool.", "It was brilliant."),
    DemoCode("Feeling valued", "Whether the participant feels their work matters to others."),
    DemoCode("Feeling valued/By the peer team", "Valued by other peer workers or the peer lead."),
    DemoCode("Feeling valued/By colleagues", "Valued by clinicians, managers or other staff."),
    DemoCode("Feeling valued/Invisible", "Feeling unseen, uncounted or without a place in the service.",
             "Being left out of records, rooms or decisions.", "Practical barriers alone: code under Barriers."),
    DemoCode("Barriers to the role", "Practical and organisational obstacles to doing peer work."),
    DemoCode("Barriers to the role/IT and access", "Logins, smartcards, records systems and access to notes."),
    DemoCode("Barriers to the role/Left out of handover", "Not invited to, or kept out of, team handovers."),
    DemoCode("Barriers to the role/Role drift", "Being asked to do other staff's tasks (obs, one-to-ones, escorts)."),
    DemoCode("Barriers to the role/Writing notes", "Pressure to write records in a clinical style."),
    DemoCode("Barriers to the role/Job insecurity", "Fixed-term funding and doubts about the role's future."),
    DemoCode("Support", "Who and what helps the participant do the job."),
    DemoCode("Support/Supervision", "Clinical, caseload or peer supervision, and its absence."),
    DemoCode("Support/Peer team", "Other peer workers, formal or informal, including a peer lead."),
    DemoCode("Support/Mentors and allies", "Individual staff who open doors for the participant."),
    DemoCode("Lived experience as a tool", "Using one's own experience of distress purposefully in the work.",
             "Sharing a story to help someone, holding hope.", "Disclosure that is not about the work."),
]  # fmt: skip

# Ben's own code, merged into "IT and access" once coding is done (a refinement any team makes).
BEN_CODE = DemoCode("Barriers to the role/No login", "No access to the records system.")
MERGES = [("Barriers to the role/No login", "Barriers to the role/IT and access")]

A, B = "Ann", "Ben"
CODINGS = [
    DemoCoding("P01/T1", "Early optimism", A, "It was brilliant. Honestly", "but it was brilliant."),
    DemoCoding("P01/T1", "Early optimism", B, "It was brilliant. Honestly", "but it was brilliant."),
    DemoCoding("P01/T1", "Lived experience as a tool", A, "your lived experience is a tool, it's not a confession",
               key=True, memo="The phrase several participants come back to at T2 and T3."),
    DemoCoding("P01/T1", "Support/Mentors and allies", A, "I want peer workers in the room, not making the tea."),
    DemoCoding("P01/T1", "Support/Supervision", A, "The ward manager said I'll get supervision"),
    DemoCoding("P01/T1", "Support/Peer team", A, "so I've sort of got my own little peer supervision there"),
    DemoCoding("P01/T2", "Barriers to the role/IT and access", A, "And for the first six weeks I didn't have a login",
               "I couldn't write in them."),
    DemoCoding("P01/T2", "Barriers to the role/IT and access", B, "And for the first six weeks I didn't have a login"),
    DemoCoding("P01/T2", "Feeling valued/Invisible", A, "Invisible. Like I wasn't really there.",
               "So for six weeks I didn't happen.", memo="Echoes P05/T2: if it's not in the notes it didn't happen."),
    DemoCoding("P01/T2", "Feeling valued/Invisible", B, "Invisible. Like I wasn't really there.",
               "So for six weeks I didn't happen."),
    DemoCoding("P01/T2", "Barriers to the role/Left out of handover", A, "The morning handover, they all go in"),
    DemoCoding("P01/T2", "Barriers to the role/Left out of handover", B, "The morning handover, they all go in",
               "Nobody said don't."),
    DemoCoding("P01/T2", "Support/Mentors and allies", A, "are they not letting you in, or are they not inviting",
               key=True, memo="Sandra reframes exclusion as an invitation that was never made."),
    DemoCoding("P01/T2", "Support/Mentors and allies", B, "Um, well, I rang Sandra."),
    DemoCoding("P01/T2", "Support/Supervision", A, "So I've had supervision twice.",
               "it's not really for what I do."),
    DemoCoding("P01/T2", "Early optimism", A, "I'm still hopeful.", "It's less, um, shiny."),
    DemoCoding("P01/T3", "Feeling valued/By colleagues", A, "Oh, I feel valued."),
    DemoCoding("P01/T3", "Barriers to the role/Job insecurity", A,
               "You can't keep saying people are valued and then not value them.", key=True),
    DemoCoding("P01/T3", "Support/Peer team", A, "after a lot of pushing from the South lot"),
    DemoCoding("P01/T3", "Early optimism", A, "So less hope in the big sense, more in the small sense."),
    DemoCoding("P02/T1", "Barriers to the role/Role drift", A, "If they're short, which they always are",
               memo="Anticipated at T1; it happens at T2."),
    DemoCoding("P02/T1", "Support/Supervision", A, "I'd like to be supervised by someone who's done this"),
    DemoCoding("P02/T2", "Barriers to the role/Role drift", A, "Marcus, you're obs trained"),
    DemoCoding("P02/T2", "Feeling valued/By colleagues", A, "At the Recovery College I feel valued every single day."),
    DemoCoding("P02/T2", "Barriers to the role/IT and access", A, "my HCA login got switched off."),
    DemoCoding("P02/T3", "Support/Peer team", A, "We still work in our services", "but we belong to the peer team."),
    DemoCoding("P02/T3", "Support/Peer team", B, "We still work in our services", "but we belong to the peer team."),
    DemoCoding("P02/T3", "Feeling valued/By the peer team", A, "More valued by the team – the peer team – definitely."),
    DemoCoding("P02/T3", "Barriers to the role/Role drift", A, "Marcus, could you just do the one-to-one"),
    DemoCoding("P02/T3", "Barriers to the role/Role drift", B, "Marcus, could you just do the one-to-one"),
    DemoCoding("P02/T3", "Support/Supervision", A, "So I've been supervised more in the last six months", key=True),
    DemoCoding("P02/T3", "Support/Supervision", B, "So I've been supervised more in the last six months",
               "I wish I'd had it then."),
    DemoCoding("P03/T1", "Early optimism", A, "Properly excited."),
    DemoCoding("P03/T2", "Barriers to the role/Writing notes", A, "So now I write, \"used lived experience"),
    DemoCoding("P03/T3", "Feeling valued/By the peer team", A, "I felt properly valued."),
    DemoCoding("P03/T3", "Support/Peer team", A, "we've got peer supervision now"),
    DemoCoding("P04/T1", "Lived experience as a tool", A, "the job of a peer worker is to hold hope for somebody"),
    DemoCoding("P04/T1", "Feeling valued/Invisible", A, "As a porter you're, um, you're a bit invisible."),
    DemoCoding("P04/T2", "Barriers to the role/Left out of handover", A, "But I wasn't in the handover."),
    DemoCoding("P04/T2", "Support/Supervision", A, "Nobody in supervision ever said, Tom, how are you?", key=True),
    DemoCoding("P05/T1", "Early optimism", A, "Mostly excited."),
    DemoCoding("P05/T2", "Barriers to the role/IT and access", A, "I didn't get my smartcard for nine weeks."),
    DemoCoding("P05/T2", "Barriers to the role/No login", B, "I didn't get my smartcard for nine weeks."),
    DemoCoding("P05/T2", "Barriers to the role/IT and access", A, "Which I couldn't do because I had no login!"),
    DemoCoding("P05/T2", "Barriers to the role/No login", B, "Which I couldn't do because I had no login!"),
    DemoCoding("P05/T2", "Barriers to the role/Writing notes", A, "that my notes are too “chatty”."),
    DemoCoding("P05/T2", "Barriers to the role/Writing notes", A, "The hot chocolate is the point.",
               "The hot chocolate is literally the intervention.", key=True),
    DemoCoding("P05/T2", "Barriers to the role/Writing notes", B, "It's a legal record."),
    DemoCoding("P05/T2", "Feeling valued/Invisible", A, "if it's not in the notes, it didn't happen."),
    DemoCoding("P05/T2", "Feeling valued/Invisible", B, "then on paper I'm just a, um, a cheaper nurse."),
    DemoCoding("P05/T3", "Barriers to the role/IT and access", A, "You spend nine weeks getting me a smartcard."),
    DemoCoding("P06/T1", "Feeling valued/Invisible", A, "That I'll be the lived experience mascot."),
]  # fmt: skip

CODE_MEMOS = {
    "Barriers to the role/IT and access": "Everyone who mentions IT waited weeks for access. Ask the trust's IT "
    "lead to the workshop.",
}
TRANSCRIPT_MEMOS = {
    "P01/T2": "A hard four months. Sandra's advice about handover is the turning point of the interview.",
    "P05/T2": "Aisha asked that the story about the young man and the GP is not quoted in publications.",
}
NOT_CODED = ["P04/T3", "P06/T2", "P06/T3"]  # left for the newcomer: "not coded yet" in matrix and reports


def build_demo(project_path: Path, samples: Path | None = None, coded: bool = True) -> list[str]:
    """Create (or bring up to date) the demo project; returns lines describing what was done.

    ``coded=False`` imports the transcripts only (what tests of the import path start from)."""
    from importers.batch import import_attributes, import_paths

    samples = samples or default_samples_dir()
    manifest = samples / "manifest.csv"
    if not manifest.is_file():
        raise WaveqdaError(f"{samples}: no manifest.csv here; pass --samples FOLDER")
    project = open_project(project_path) if project_path.exists() else create_project(project_path, name=PROJECT_NAME)
    try:
        result = import_paths(project, [samples], manifest_path=manifest, actor=ACTOR)
        if result.failed:
            raise WaveqdaError("; ".join(o.message for o in result.failed))
        lines = []
        participants_csv = samples / "participants.csv"
        if participants_csv.is_file():
            report = import_attributes(project, participants_csv, ACTOR)
            lines.append("attributes: " + ", ".join(f"{n} ({t})" for n, t, _ in report))
        scores_csv = samples / "scores.csv"
        if scores_csv.is_file():
            lines.append(add_demo_scores(project, scores_csv))
        lines.append(f"{project_path}: {result.summary()}")
        if coded:
            lines.append(code_demo(project))
    finally:
        project.close()
    return lines


# The sample study's fictional questionnaires: ranges, direction and a made-up reliability, so that reliable
# change and the joint display show (no instrument, norm or published reliability is shipped).
DEMO_MEASURES = (
    ("wemwbs", 14.0, 70.0, "better", 0.9),  # with the made-up norm below
    ("burnout", 0.0, 54.0, "worse", 0.9),
    ("satisfaction", 1.0, 7.0, "better", 0.8),
)


def add_demo_scores(project: Project, scores_csv: Path) -> str:
    """Describe the three fictional measures and import their scores (some missing at T3)."""
    from models import scores

    for name, low, high, direction, reliability in DEMO_MEASURES:
        scores.add_measure(project, ACTOR, name, low, high, direction, reliability=reliability)
    scores.add_measure(project, ACTOR, "wemwbs", norm_mean=47.0, norm_sd=7.5, norm_source=DEMO_NORM_SOURCE)
    found = scores.import_scores(project, ACTOR, scores_csv)
    return (
        f"scores: {found.stored} stored from {found.file} (beside the themes: Compare then q in the workspace; "
        "waveqda joint, or waveqda export … --kind joint)"
    )


DEMO_NORM_SOURCE = "made up for this fictional demo study (not a published norm)"


def code_demo(project: Project) -> str:
    """The codebook, codings, key quotes, memos and merge above; nothing when the project is coded already."""
    from models import codebook
    from models.codes import CodeTree
    from models.coding import apply_codes, set_default_coder, set_key_quote, set_transcript_memo

    with project.read() as session:
        if CodeTree.load(session).codes:
            return "codebook already present: nothing coded"
    for code in [*CODES, BEN_CODE]:
        codebook.add_code(project, ACTOR, code.path, code.definition, code.inclusion, code.exclusion, code.example)
    for path, text in CODE_MEMOS.items():
        codebook.set_code_memo(project, ACTOR, path, text)
    for coding in CODINGS:
        start, end = _sentences_of(project, coding)
        [coding_id] = apply_codes(project, coding.coder, coding.transcript, [coding.code], coding.coder, start, end,
                                  coding.memo)  # fmt: skip
        if coding.key:
            set_key_quote(project, coding.coder, coding_id, True)
    for source, target in MERGES:
        codebook.merge_codes(project, B, source, target)
    for ref, text in TRANSCRIPT_MEMOS.items():
        set_transcript_memo(project, A, ref, text)
    set_default_coder(project, A)
    coders = sorted({c.coder for c in CODINGS})
    return (
        f"coded: {len(CODES)} codes, {len(CODINGS)} codings by {' and '.join(coders)}, "
        f"{sum(c.key for c in CODINGS)} key quotes; not coded yet: {', '.join(NOT_CODED)}"
    )


def _sentences_of(project: Project, coding: DemoCoding) -> tuple[int, int]:
    """The whole sentences from ``first`` to ``last`` (each must occur exactly once in the transcript)."""
    from models.coding import snap_to_sentences
    from models.transcripts import find_transcript

    with project.read() as session:
        transcript = find_transcript(session, coding.transcript)
        text = transcript.text
        spans = []
        for phrase in filter(None, (coding.first, coding.last)):
            if text.count(phrase) != 1:
                raise WaveqdaError(f"demo: {phrase!r} occurs {text.count(phrase)} times in {coding.transcript}")
            at = text.index(phrase)
            spans.append((at, at + len(phrase)))
        return snap_to_sentences(session, transcript.id, spans[0][0], spans[-1][1])
