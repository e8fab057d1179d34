"""Placing a parsed REFI-QDA document: the place stage of the import.

Each text source gets its participant and timepoint (a ``mapping`` from the user, a variable, a timepoint
set, a single case holding it, or a fixed ``timepoint`` with participants from source names); a source that
cannot be placed stops the import with the flag to add. Its text becomes a parsed transcript (turns split
by the project's label rules) and its selections are converted to our offsets under the convention
``importers.refi_offsets`` detects for it, each flagged when it does not fit or when the producer's own name
for it disagrees with where it landed. The result is a ``models.refi_document.RefiPlan`` for the domain
layer to store; nothing here touches a project.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from importers.refi_offsets import Detection, detect, has_name, name_matches
from models.errors import WaveqdaError
from models.parsed import LabelRules, ParsedTranscript, ParsedTurn
from models.refi_conventions import (
    PARTICIPANT_VARIABLE,
    TIMEPOINT_VARIABLE,
    derived_guid,
    study_id_from,
    timepoint_key_from,
)
from models.refi_document import (
    PlacedSelection,
    PlacedSource,
    Placement,
    RefiCase,
    RefiDocument,
    RefiPlan,
    RefiSelection,
    RefiSet,
    RefiSource,
    guid_key,
)
from models.store import DEFAULT_TIMEPOINTS

UNKNOWN_SPEAKER = "Unknown"
MIN_LABEL_SHARE = 0.2  # labelled lines needed to read a source as speaker turns


# --- participant and timepoint ------------------------------------------------------------------------------


@dataclass
class PlacementOptions:
    participant_variable: str | None = None
    timepoint_variable: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    timepoint: str | None = None
    participant_from_name: bool = False


class Placer:
    """Finds each text source's participant and timepoint, from the most explicit evidence down."""

    def __init__(self, doc: RefiDocument, options: PlacementOptions, known: list[tuple[str, str]] | None) -> None:
        self.doc = doc
        self.options = options
        self.known = known
        self.cases_of: dict[str, list[RefiCase]] = defaultdict(list)
        for case in doc.cases:
            for ref in case.sources:
                self.cases_of[ref].append(case)
        self.mapping = self._check_mapping()
        self.used_variables: set[str] = set()
        self.used_sets: set[str] = set()
        for option in (options.participant_variable, options.timepoint_variable):
            if option and not self._variables_named(option):
                names = ", ".join(sorted({v.name for v in doc.variables.values()})) or "none"
                raise WaveqdaError(f"no variable {option!r} in {doc.name or 'the file'} (variables: {names})")

    def _check_mapping(self) -> dict[str, str]:
        """Mapping keys resolved to source GUIDs (a key is a source's name, the name it has in the file, or
        its GUID, with or without braces); a key naming no source is a typo worth stopping for."""
        resolved: dict[str, str] = {}
        sources = self.doc.text_sources()
        for key, value in self.options.mapping.items():
            wanted = key.strip()
            match = [s for s in sources if wanted in (s.name, s.guid) or guid_key(wanted) == s.guid]
            match = match or [s for s in sources if s.given_name.strip() and s.given_name.strip() == wanted]
            match = match or [s for s in sources if wanted.casefold() in (s.name.casefold(), s.given_name.casefold())]
            if not wanted or not match:
                shown = ", ".join(repr(map_key(s, sources)) for s in sources[:10])
                raise WaveqdaError(
                    f"--map-source {key!r}: no text source of that name or GUID (sources: {shown or 'none'})"
                )
            for source in match:
                resolved[source.guid] = value
        return resolved

    def place_all(self) -> dict[str, Placement]:
        placements: dict[str, Placement] = {}
        taken: dict[tuple[str, str], str] = {}
        for source in self.doc.text_sources():
            placement = self.place(source)
            slot = (placement.participant, placement.timepoint)
            if slot in taken:
                key = map_key(source, self.doc.text_sources())
                raise WaveqdaError(
                    f"sources {taken[slot]!r} and {source.name!r} would both be "
                    f"{slot[0]}/{slot[1]}: map them apart, e.g. --map-source '{key}=P02/{slot[1]}'"
                )
            taken[slot] = source.name
            placements[source.guid] = placement
        return placements

    def place(self, source: RefiSource) -> Placement:
        mapped = self.mapping.get(source.guid)
        if mapped is not None:
            mapped_participant, _, mapped_timepoint = mapped.partition("/")
            if not mapped_participant.strip() or not mapped_timepoint.strip() or "/" in mapped_timepoint:
                key = map_key(source, self.doc.text_sources())
                raise WaveqdaError(f"--map-source '{key}={mapped}': give PARTICIPANT/TIMEPOINT, e.g. P01/T1")
            timepoint_key = self._timepoint(mapped_timepoint, "--map-source")
            return Placement(mapped_participant.strip(), timepoint_key, "--map-source")
        participant, p_how = self._participant(source)
        timepoint, t_how = self._timepoint_of(source)
        if participant is None or timepoint is None:
            missing = " and ".join(w for w, v in (("participant", participant), ("timepoint", timepoint)) if v is None)
            raise WaveqdaError(
                f"cannot tell the {missing} of source {source.name!r}: {placement_hint(self.doc, source)}"
            )
        return Placement(participant, timepoint, f"{p_how}, {t_how}")

    def _participant(self, source: RefiSource) -> tuple[str | None, str]:
        name = self.options.participant_variable or PARTICIPANT_VARIABLE
        value = self._value(source, name, explicit=bool(self.options.participant_variable))
        if value:
            return study_id_from(value), f"participant from variable {name!r}"
        cases = self.cases_of.get(source.guid, [])
        if len(cases) == 1 and study_id_from(cases[0].name):
            return study_id_from(cases[0].name), "participant from its case"
        if self.options.participant_from_name and study_id_from(source.name):
            return study_id_from(source.name), "participant from the source name"
        return None, ""

    def _timepoint_of(self, source: RefiSource) -> tuple[str | None, str]:
        name = self.options.timepoint_variable or TIMEPOINT_VARIABLE
        value = self._value(source, name, explicit=bool(self.options.timepoint_variable))
        if value:
            return self._timepoint(value, f"variable {name!r}"), f"timepoint from variable {name!r}"
        for item in self.doc.sets:
            key = self._set_timepoint(item) if source.guid in item.sources else None
            if key:
                self.used_sets.add(item.guid)
                return key, f"timepoint from set {item.name!r}"
        if self.options.timepoint:
            return self._timepoint(self.options.timepoint, "--timepoint"), "--timepoint"
        return None, ""

    def _set_timepoint(self, item: RefiSet) -> str | None:
        """A set stands for a timepoint when we wrote it so, or when it is named like one of the project's."""
        if item.guid == derived_guid("timepoint", item.name):
            return self._timepoint(item.name, f"set {item.name!r}")
        if self.known is None:
            return None
        return self.timepoint_named(item.name)

    def _variables_named(self, name: str) -> list[str]:
        return [v.guid for v in self.doc.variables.values() if v.name.casefold() == name.casefold()]

    def _value(self, source: RefiSource, name: str, explicit: bool) -> str | None:
        """A variable's value on the source, else on the one case holding the source."""
        wanted = set(self._variables_named(name))
        if not wanted:
            return None
        self.used_variables |= wanted
        for value in source.values:
            if value.variable in wanted and value.value:
                return value.value
        found = {
            v.value
            for case in self.cases_of.get(source.guid, [])
            for v in case.values
            if v.variable in wanted and v.value
        }
        if len(found) > 1 and explicit:
            raise WaveqdaError(f"source {source.name!r} has several values of {name!r}: {sorted(found)}")
        return found.pop() if len(found) == 1 else None

    def timepoint_named(self, value: str) -> str | None:
        """The project timepoint ``value`` names: its key, its label, or the key a new project made of it."""
        names = {value.strip().casefold(), timepoint_key_from(value).casefold()}
        for key, label in self.known or []:
            if names & {key.casefold(), label.casefold()}:
                return key
        return None

    def _timepoint(self, value: str, origin: str) -> str:
        """The project's timepoint key for ``value`` (a key or label); for a new project, a clean key."""
        if self.known is None:
            key = timepoint_key_from(value)
            if not key:
                raise WaveqdaError(f"{origin}: empty timepoint")
            return key
        found = self.timepoint_named(value)
        if found is None:
            valid = ", ".join(key for key, _label in self.known)
            raise WaveqdaError(f"{origin}: unknown timepoint {value!r}; this project's timepoints are: {valid}")
        return found


def map_key(source: RefiSource, sources: list[RefiSource]) -> str:
    """What to write before ``=`` in ``--map-source`` for this source: its name when that names it alone
    (and has no quote to trip a shell), else its GUID."""
    name = source.name
    alone = sum(1 for s in sources if s.name.casefold() == name.casefold()) == 1
    if name and alone and name == source.given_name and "'" not in name:
        return name
    return source.guid


def placement_hint(doc: RefiDocument, source: RefiSource) -> str:
    """The flags that would place ``source``, only those that work for this file."""
    options = [f"add --map-source '{map_key(source, doc.text_sources())}=P01/T1' (one per source)"]
    names = sorted({v.name for v in doc.variables.values() if v.name})
    if names:
        shown = ", ".join(repr(n) for n in names[:6]) + (" ..." if len(names) > 6 else "")
        options.append(f"--participant-variable / --timepoint-variable NAME (variables here: {shown})")
    if study_id_from(source.name):
        options.append("--timepoint T1 --participant-from-name")
    return ", or ".join(options)


def new_project_timepoints(doc: RefiDocument, placements: dict[str, Placement]) -> list[tuple[str, str]]:
    """Timepoints for a project created by this import: ours travel as sets (key, label, order); otherwise
    the keys the sources were placed at, in natural order; the defaults when there are no sources."""
    ours = [(s.name, s.description.strip() or s.name) for s in doc.sets if s.guid == derived_guid("timepoint", s.name)]
    used = {p.timepoint for p in placements.values()}
    if ours and used <= {key for key, _ in ours}:
        return ours
    if not used:
        return list(DEFAULT_TIMEPOINTS)
    labels = dict(ours)
    natural = sorted(used, key=lambda k: [int(p) if p.isdigit() else p.casefold() for p in re.split(r"(\d+)", k)])
    return [(key, labels.get(key, key)) for key in natural]


# --- text, turns and selections -----------------------------------------------------------------------------


def detect_offsets(doc: RefiDocument) -> dict[str, Detection]:
    """Each text source's offset convention (by source GUID), decided from its text and selections."""
    return {s.guid: detect(s.raw_text, s.selections, doc.origin) for s in doc.text_sources()}


def plan_import(
    doc: RefiDocument,
    options: PlacementOptions,
    known: list[tuple[str, str]],
    detections: dict[str, Detection],
    rules: LabelRules,
    file: Path,
) -> RefiPlan:
    """Every text source placed at a participant and timepoint of the project (``known``: its timepoints as
    (key, label)), its text split into turns and its selections converted; refuses a source it cannot place."""
    placer = Placer(doc, options, known)
    placements = placer.place_all()
    sources = [
        _placed_source(source, placements[source.guid], detections[source.guid], rules, file)
        for source in doc.text_sources()
    ]
    unused_sets = [
        s.name for s in doc.sets if s.guid not in placer.used_sets and placer.timepoint_named(s.name) is None
    ]
    return RefiPlan(sources, frozenset(placer.used_variables), unused_sets)


def _placed_source(
    source: RefiSource, placement: Placement, detection: Detection, rules: LabelRules, file: Path
) -> PlacedSource:
    text = detection.offsets.text
    parsed = ParsedTranscript(
        text,
        split_turns(text, rules) if text.strip() else [],
        f"{file.name}: {source.name}"[:500],
        "qdpx",
        title=source.name or file.stem,
    )
    selections: list[PlacedSelection] = []
    if text.strip():  # an empty source is reported, with none of its selections placed
        whole = RefiSelection("", "", 0, detection.offsets.producer_length, None, None, None, "", source.codings, [])
        selections = [
            _placed_selection(source, selection, detection)
            for selection in [*source.selections, whole]
            if selection.codings
        ]
    return PlacedSource(
        source, placement, parsed, detection.describe(), detection.total, detection.chosen.boundary_hits, selections
    )


def _placed_selection(source: RefiSource, selection: RefiSelection, detection: Detection) -> PlacedSelection:
    span = detection.convert(selection.start, selection.end)
    if span is None:
        return PlacedSelection(
            selection,
            None,
            problem=f"{source.name!r} [{selection.start}, {selection.end}) does not fit the text "
            f"({len(detection.offsets.text)} characters; {detection.convention.describe()}); "
            f"{len(selection.codings)} codings not imported",
        )
    if detection.all_names_match or not (detection.names_informative and has_name(selection.name)):
        return PlacedSelection(selection, span)
    text = detection.offsets.text[span[0] : span[1]]
    if name_matches(text, selection.name):
        return PlacedSelection(selection, span)
    # ``needs_review`` when the producer's own name for the selection disagrees with where it landed
    problem = f"{source.name!r} [{span[0]}, {span[1]}): named {selection.name!r} but the text there is {text[:60]!r}"
    return PlacedSelection(selection, span, "needs_review", problem)


def split_turns(text: str, rules: LabelRules) -> list[ParsedTurn]:
    """Speaker turns by the shared label rules when labels start a fair share of the lines (an interview);
    otherwise (survey answers, social-media threads) one "Unknown" turn per paragraph, so a few stray
    ``Word:`` lines do not swallow thousands of lines into one turn."""
    from importers.labels import Line, accepted_labels, find_turns, split_lines

    lines = [Line(start, line) for start, line in split_lines(text)]
    filled = sum(1 for line in lines if line.text.strip())
    labels = accepted_labels(lines, rules)
    labelled = sum(1 for label in labels if label is not None)
    if filled and labelled >= MIN_LABEL_SHARE * filled:
        return find_turns(lines, rules, labels)
    out = []
    for line in lines:
        body = line.text.strip()
        if body:
            begin = line.start + len(line.text) - len(line.text.lstrip())
            out.append(ParsedTurn(UNKNOWN_SPEAKER, begin, begin + len(body)))
    return out
