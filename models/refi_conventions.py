"""The REFI-QDA conventions waveqda writes on export and reads back on import.

Both ``exporters.refi_export`` and the REFI-QDA importer use them, so they live in the layer both may
import: the names of the participant and timepoint variables on sources, how a choice attribute's choices
and a Boolean travel, how a code's definition, inclusion, exclusion and example share one ``Description``,
the stable GUIDs derived for things that have no stored UUID (a timepoint set, a code's memo note...), and
how another tool's names for people and waves become participant IDs and timepoint keys.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Protocol

GUID_NAMESPACE = uuid.UUID("0f3c6f1e-5b7d-4c1a-9e55-7a2f6d0b9c41")
_NAMESPACE_BYTES = GUID_NAMESPACE.bytes
PARTICIPANT_VARIABLE = "Participant"
TIMEPOINT_VARIABLE = "Timepoint"
CHOICES_PREFIX = "Choices: "
BOOLEAN_CHOICES = ["false", "true"]
SECTION_LABELS = {"inclusion": "Inclusion", "exclusion": "Exclusion", "example": "Example"}

MEMO_LABEL = "Memo"
_SECTION = re.compile(r"^(Inclusion|Exclusion|Example|Memo):[ \t]?", re.MULTILINE)
_STUDY_ID_JUNK = re.compile(r"[^\w.\-]+")
_TIMEPOINT_JUNK = re.compile(r"[\s/]+")


class DescribedCode(Protocol):
    """What ``compose_description`` reads of a code."""

    definition: str
    inclusion: str
    exclusion: str
    example: str


def derived_guid(kind: str, key: str) -> str:
    """A stable GUID for something with no stored UUID (a timepoint set, a code's memo note...): the UUID
    version 5 of ``kind:key``, computed directly (an export derives one per coding; ``uuid.uuid5`` builds
    two UUID objects each time)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{kind}:{key}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def compose_description(code: DescribedCode) -> str:
    """Definition first, then labelled inclusion / exclusion / example paragraphs (only those filled)."""
    parts = [code.definition.strip()] if code.definition.strip() else []
    for field_name, label in SECTION_LABELS.items():
        value = getattr(code, field_name).strip()
        if value:
            parts.append(f"{label}: {value}")
    return "\n\n".join(parts)


def with_memo(description: str, memo: str) -> str:
    """A code's description with its memo as a last ``Memo:`` paragraph (for clients that show a code's
    memo from its description, as QualCoder does); ``parse_description`` reads it back."""
    return "\n\n".join(p for p in (description, f"{MEMO_LABEL}: {memo.strip()}") if p)


def parse_description(text: str) -> dict[str, str]:
    """The inverse of ``compose_description`` (and ``with_memo``); a description without labels is all
    definition. ``memo`` is there only when the description has a ``Memo:`` paragraph."""
    fields = {"definition": "", "inclusion": "", "exclusion": "", "example": ""}
    pieces = _SECTION.split(text)
    fields["definition"] = pieces[0].strip()
    for label, body in zip(pieces[1::2], pieces[2::2], strict=True):
        key = label.lower()
        fields[key] = "\n\n".join(p for p in (fields.get(key, ""), body.strip()) if p)
    return fields


def study_id_from(value: str) -> str:
    """A file's name for a person as a participant ID (letters, digits, ``.``, ``-``, ``_``)."""
    return _STUDY_ID_JUNK.sub("_", value.strip()).strip("_")[:100]


def timepoint_key_from(value: str) -> str:
    """A file's name for a wave as a timepoint key (no spaces or ``/``)."""
    return _TIMEPOINT_JUNK.sub("_", value.strip()).strip("_")[:40]
