"""Participants, their typed attributes, and coders."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.errors import NotFoundError, WaveqdaError
from models.naming import check_name_text
from models.schema import AttributeDefinition, Coder, Participant, ParticipantAttribute
from models.store import get_setting

STUDY_ID_RE = re.compile(r"^[\w.\-]{1,100}$")


def get_or_create_participant(session: Session, study_id: str) -> Participant:
    study_id = study_id.strip()
    if not STUDY_ID_RE.match(study_id):
        raise WaveqdaError(f"invalid participant ID {study_id!r}: use letters, digits, '.', '-' or '_'")
    found = session.scalar(select(Participant).where(Participant.study_id == study_id))
    if found is None:
        found = Participant(study_id=study_id)
        session.add(found)
        session.flush()
    return found


def find_participant(session: Session, study_id: str) -> Participant:
    found = session.scalar(select(Participant).where(Participant.study_id == study_id))
    if found is None:
        raise NotFoundError(f"no participant {study_id!r}")
    return found


def list_participants(session: Session) -> list[Participant]:
    return list(session.scalars(select(Participant).order_by(Participant.study_id)))


def attribute_definitions(session: Session) -> list[AttributeDefinition]:
    return list(
        session.scalars(select(AttributeDefinition).order_by(AttributeDefinition.position, AttributeDefinition.id))
    )


def attributes_of(session: Session, participant: Participant) -> dict[str, str | None]:
    rows = session.execute(
        select(AttributeDefinition.name, ParticipantAttribute.value)
        .join(ParticipantAttribute, ParticipantAttribute.attribute_id == AttributeDefinition.id)
        .where(ParticipantAttribute.participant_id == participant.id)
        .order_by(AttributeDefinition.position, AttributeDefinition.id)
    )
    return {name: value for name, value in rows}


def _is_number(value: str) -> bool:
    try:
        float(value.replace(",", ""))
    except ValueError:
        return False
    return True


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def infer_type(values: list[str]) -> tuple[str, list[str] | None]:
    """Type of a column of values: number, date, choice (few distinct repeated values) or text."""
    present = [v for v in values if v != ""]
    if not present:
        return "text", None
    if all(_is_number(v) for v in present):
        return "number", None
    if all(_is_date(v) for v in present):
        return "date", None
    distinct = sorted(set(present))
    if len(distinct) <= max(2, len(present) // 2) and len(distinct) <= 20:
        return "choice", distinct
    return "text", None


def define_attribute(session: Session, name: str, type_: str, choices: list[str] | None) -> AttributeDefinition:
    found = session.scalar(select(AttributeDefinition).where(AttributeDefinition.name == name))
    if found is None:
        position = session.scalar(select(func.count()).select_from(AttributeDefinition)) or 0
        found = AttributeDefinition(name=name, type=type_, choices=choices, position=position)
        session.add(found)
        session.flush()
    elif found.type == "choice" and choices:
        found.choices = sorted(set(found.choices or []) | set(choices))
    return found


def check_attribute_value(name: str, type_: str, value: str) -> str:
    """``value`` trimmed, or a one-line refusal when it is not of the attribute's type (empty always fits)."""
    value = value.strip()
    if type_ == "number" and value and not _is_number(value):
        raise WaveqdaError(f"attribute {name!r} is a number; {value!r} is not")
    if type_ == "date" and value and not _is_date(value):
        raise WaveqdaError(f"attribute {name!r} is a date (YYYY-MM-DD); {value!r} is not")
    return value


def set_attribute(session: Session, participant: Participant, attribute: AttributeDefinition, value: str) -> None:
    value = check_attribute_value(attribute.name, attribute.type, value)
    row = session.get(ParticipantAttribute, (participant.id, attribute.id))
    if row is None:
        session.add(ParticipantAttribute(participant_id=participant.id, attribute_id=attribute.id, value=value))
    else:
        row.value = value


def get_or_create_coder(session: Session, name: str) -> Coder:
    name = check_name_text(name, "coder name")
    if not name:
        raise WaveqdaError("coder name is empty")
    found = session.scalar(select(Coder).where(Coder.name == name))
    if found is None:
        found = Coder(name=name)
        session.add(found)
        session.flush()
    return found


def find_coder(session: Session, name: str) -> Coder:
    found = session.scalar(select(Coder).where(Coder.name == name))
    if found is None:
        raise NotFoundError(f"no coder {name!r}")
    return found


def default_coder_name(session: Session) -> str | None:
    """The project's default coder (setting ``default_coder``), so a lone researcher need not repeat it."""
    return get_setting(session, "default_coder")
