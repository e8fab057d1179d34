"""The case sheet: participants × attributes, as NVivo's classification sheet and MAXQDA's document variables.

Read in two queries (participants, then every value) so that a sheet of a thousand participants opens at once;
a cell is changed in place by ``set_case_value``, one undoable step that refuses to overwrite a value someone
else changed since the sheet was read (the value shown is the version: a cell has no other).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.errors import StaleError, WaveqdaError
from models.participants import attribute_definitions, check_attribute_value, find_participant, set_attribute
from models.schema import AttributeDefinition, Participant, ParticipantAttribute
from models.store import Project


@dataclass(frozen=True)
class CaseAttribute:
    """One column of the sheet: an attribute, its type (text, number, date, choice) and its choices."""

    name: str
    type: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseRow:
    """One participant and its values in the sheet's column order ("" where none is set)."""

    participant: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class CaseSheet:
    attributes: tuple[CaseAttribute, ...]
    rows: tuple[CaseRow, ...]

    def value(self, participant: str, attribute: str) -> str:
        column = [a.name for a in self.attributes].index(attribute)
        row = next(r for r in self.rows if r.participant == participant)
        return row.values[column]


def case_sheet(session: Session) -> CaseSheet:
    """Every participant (by study ID) with every attribute's value, columns in their defined order."""
    definitions = attribute_definitions(session)
    column = {d.id: n for n, d in enumerate(definitions)}
    participants = list(session.execute(select(Participant.id, Participant.study_id).order_by(Participant.study_id)))
    values: dict[int, list[str]] = {pid: [""] * len(definitions) for pid, _sid in participants}
    rows = session.execute(
        select(ParticipantAttribute.participant_id, ParticipantAttribute.attribute_id, ParticipantAttribute.value)
    )
    for pid, attribute_id, value in rows:
        if pid in values and attribute_id in column:
            values[pid][column[attribute_id]] = value or ""
    return CaseSheet(
        tuple(CaseAttribute(d.name, d.type, tuple(d.choices or ())) for d in definitions),
        tuple(CaseRow(sid, tuple(values[pid])) for pid, sid in participants),
    )


def set_case_value(
    project: Project, actor: str, participant: str, attribute: str, value: str, expected: str | None = None
) -> str:
    """Set one participant's value of one attribute (typed as the attribute is: a number, an ISO date, a
    choice, text; an empty value clears it): one undoable step. A choice attribute learns a new value, as an
    imported sheet does. ``expected`` is the value the caller showed: when the stored value differs (another
    writer changed it meanwhile) nothing is changed and ``StaleError`` says what is there now. Returns the
    value stored."""
    value = value.strip()
    if "\n" in value or "\r" in value:
        raise WaveqdaError(f"{attribute}: a value is one line")
    with project.change(actor, "participants.attribute", f"Set {participant}'s {attribute}") as session:
        definition = session.scalar(select(AttributeDefinition).where(AttributeDefinition.name == attribute))
        if definition is None:
            raise WaveqdaError(f"no attribute named {attribute!r}")
        value = check_attribute_value(definition.name, definition.type, value)
        person = find_participant(session, participant)
        row = session.get(ParticipantAttribute, (person.id, definition.id))
        current = (row.value or "") if row is not None else ""
        if expected is not None and current != expected:
            shown = repr(current) if current else "empty"
            raise StaleError(f"{participant}'s {attribute} was changed by someone else meanwhile (now {shown})")
        if value == current:
            raise WaveqdaError(f"{participant}'s {attribute} is {value or 'empty'} already: nothing changed")
        set_attribute(session, person, definition, value)
        if definition.type == "choice" and value and value not in (definition.choices or []):
            definition.choices = sorted({*(definition.choices or []), value})
        session.info["summary"] = (
            f"Set {participant}'s {attribute} to {value!r}" if value else (f"Cleared {participant}'s {attribute}")
        )
    return value
