"""Reading a REFI-QDA file into a ``models.refi_document.RefiDocument``: the parse stage of the import.

Safety checks first (``importers.refi_safety``: archive limits, unsafe names, nested zips, XML without
DTDs), then the XML into plain dataclasses, every source text and note loaded (inline, inside the archive,
or beside it), and every GUID reference the import follows checked. Anything broken refuses the whole
file with one line naming it; nothing here touches a project.
"""

from __future__ import annotations

import io
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from importers.encoding import decode
from importers.refi_safety import SafeArchive, check_nested_zip, parse_xml, read_xml_file, unsafe_name_reason
from models.errors import ImportRefused
from models.refi_document import (
    OTHER_SOURCES,
    TEXT_SOURCE,
    RefiCase,
    RefiCode,
    RefiCoding,
    RefiDocument,
    RefiNote,
    RefiSelection,
    RefiSet,
    RefiSource,
    RefiValue,
    RefiVariable,
    guid_key,
    source_codings,
)

PROJECT_SUFFIXES = {".qdpx"}
# Far beyond any real study (the largest we know of hold a few thousand codes and ~100,000 codings) and
# within what an import does in a minute or two: a file past one of these is refused before any other work.
LIMITS = {"Code": 250_000, "PlainTextSelection": 2_000_000, "Coding": 2_000_000, "Note": 500_000,
          "Case": 200_000, "Variable": 20_000, "User": 20_000, "Set": 50_000}  # fmt: skip
XML_SUFFIXES = {".qdc", ".qde", ".xml"}


# Tag -> local name, for the few distinct tags of a file (a large one has hundreds of thousands of elements).
_LOCAL_NAMES: dict[str, str] = {}


def _local_name(tag: str) -> str:
    local = _LOCAL_NAMES.get(tag)
    if local is None:
        local = tag.rpartition("}")[2]
        if len(_LOCAL_NAMES) < 1000:  # a hostile file's endless made-up tags are not kept
            _LOCAL_NAMES[tag] = local
    return local


def _local(element: Any) -> str:
    tag = element.tag
    return _local_name(tag) if isinstance(tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    """Child elements by local name, so the variant namespaces seen in the wild all read the same."""
    return [child for child in element if _local(child) == name]


def _grouped(element: Any) -> dict[str, list[Any]]:
    """Child elements by local name in one pass: what selections and codings (50,000 of each in a large
    file) read several kinds of child from, instead of one pass over their children per kind."""
    groups: dict[str, list[Any]] = {}
    for child in element:
        tag = child.tag
        if isinstance(tag, str):
            groups.setdefault(tag.rpartition("}")[2], []).append(child)
    return groups


def _first_text(found: list[Any] | None) -> str:
    return (found[0].text or "") if found else ""


def _child_text(element: Any, name: str) -> str:
    return _first_text(_children(element, name))


# References repeat (every coding names one of a few hundred codes and a few users): each one normalised once.
_ref_key = lru_cache(maxsize=4096)(guid_key)


def _guids(elements: list[Any] | None) -> list[str]:
    return [_ref_key(ref.get("targetGUID")) for ref in elements or ()]


def _refs(element: Any, name: str) -> list[str]:
    return _guids(_children(element, name))


def _when(value: str | None) -> datetime | None:
    return _parse_when(value) if value else None


@lru_cache(maxsize=8192)
def _parse_when(value: str) -> datetime | None:
    """A date as written (cached: a selection's creation and modification and its coding's creation are
    usually one and the same text; datetimes are immutable, so sharing one is safe)."""
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _position(element: Any, name: str) -> int:
    value = element.get(name, "")
    try:
        return int(value)
    except ValueError as exc:
        raise ImportRefused(f"selection {element.get('guid')}: {name} {value!r} is not a number") from exc


def _parse_coding(element: Any) -> RefiCoding:
    """A ``Coding``: its code (the first ``CodeRef``), coder, date and notes, its children read in one pass.
    (Selections and codings are most of a large file: these two read them without intermediate lists.)"""
    get = element.get
    code: str | None = None
    notes: list[str] = []
    for child in element:
        tag = child.tag
        if isinstance(tag, str):
            local = _LOCAL_NAMES.get(tag) or _local_name(tag)
            if local == "CodeRef":
                if code is None:  # the first one
                    code = _ref_key(child.get("targetGUID"))
            elif local == "NoteRef":
                notes.append(_ref_key(child.get("targetGUID")))
    return RefiCoding(
        guid_key(get("guid")), code or "", _user(get("creatingUser")), _when(get("creationDateTime")), notes
    )


def _user(value: str | None) -> str | None:
    return _ref_key(value) if value else None


def _parse_selection(element: Any) -> RefiSelection:
    get = element.get
    description: str | None = None
    codings: list[RefiCoding] = []
    notes: list[str] = []
    for child in element:
        tag = child.tag
        if isinstance(tag, str):
            local = _LOCAL_NAMES.get(tag) or _local_name(tag)
            if local == "Coding":
                codings.append(_parse_coding(child))
            elif local == "NoteRef":
                notes.append(_ref_key(child.get("targetGUID")))
            elif local == "Description" and description is None:
                description = child.text or ""
    return RefiSelection(
        guid_key(get("guid")),
        get("name") or "",
        _position(element, "startPosition"),
        _position(element, "endPosition"),
        _user(get("creatingUser")),
        _when(get("creationDateTime")),
        _when(get("modifiedDateTime")),
        description or "",
        codings,
        notes,
    )


def _parse_values(element: Any) -> list[RefiValue]:
    values = []
    for item in _children(element, "VariableValue"):
        refs = _refs(item, "VariableRef")
        typed = [child for child in item if _local(child).endswith("Value")]
        if refs and typed:
            values.append(RefiValue(refs[0], _local(typed[0]), (typed[0].text or "").strip()))
    return values


def _parse_source(element: Any) -> RefiSource:
    kind = _local(element)
    children = _grouped(element)
    inline = children.get("PlainTextContent")
    source = RefiSource(
        guid_key(element.get("guid")),
        element.get("name") or "",
        kind,
        element.get("plainTextPath"),
        element.get("richTextPath"),
        (inline[0].text or "") if inline else None,
        _first_text(children.get("Description")),
        [_parse_selection(s) for s in children.get("PlainTextSelection", ())],
        [_parse_coding(c) for c in children.get("Coding", ())],
        _guids(children.get("NoteRef")),
        _parse_values(element),
    )
    if kind != TEXT_SOURCE:
        source.other_codings = sum(1 for child in element.iter() if _local(child) == "Coding")
    return source


def _parse_code(element: Any) -> RefiCode:
    return RefiCode(
        guid_key(element.get("guid")),
        element.get("name") or "",
        _child_text(element, "Description"),
        element.get("color"),
        element.get("isCodable", "true").strip().lower() not in ("false", "0"),
        _refs(element, "NoteRef"),
        [_parse_code(c) for c in _children(element, "Code")],
    )


def _parse_note(element: Any) -> RefiNote:
    inline = _children(element, "PlainTextContent")
    return RefiNote(
        guid_key(element.get("guid")),
        element.get("name") or "",
        _user(element.get("creatingUser")),
        _when(element.get("creationDateTime")),
        (inline[0].text or "") if inline else None,
        element.get("plainTextPath"),
    )


def parse_document(root: Any) -> RefiDocument:
    """A parsed ``Project`` or ``CodeBook`` root element as a ``RefiDocument``."""
    kind = _local(root)
    if kind == "CodeBook":
        doc = RefiDocument("codebook", origin=root.get("origin") or "")
        for codes in _children(root, "Codes"):
            doc.codes.extend(_parse_code(c) for c in _children(codes, "Code"))
        doc.skipped["sets of codes"] += sum(len(_children(s, "Set")) for s in _children(root, "Sets"))
        return doc
    if kind != "Project":
        raise ImportRefused(f"the XML root is {kind or '?'}, not a REFI-QDA Project or CodeBook")
    doc = RefiDocument("project", name=root.get("name") or "", origin=root.get("origin") or "")
    _parse_project_parts(root, doc)
    return doc


def _parse_project_parts(root: Any, doc: RefiDocument) -> None:
    for users in _children(root, "Users"):
        for user in _children(users, "User"):
            doc.users[guid_key(user.get("guid"))] = (user.get("name") or user.get("id") or "").strip()
    for book in _children(root, "CodeBook"):
        for codes in _children(book, "Codes"):
            doc.codes.extend(_parse_code(c) for c in _children(codes, "Code"))
    for variables in _children(root, "Variables"):
        doc.variables.update((v.guid, v) for v in map(_parse_variable, _children(variables, "Variable")))
    for cases in _children(root, "Cases"):
        for case in _children(cases, "Case"):
            doc.cases.append(_parse_case(case))
            doc.skipped["case links to codes or selections"] += len(_children(case, "CodeRef")) + len(
                _children(case, "SelectionRef")
            )
    for sources in _children(root, "Sources"):
        doc.sources.extend(_parse_source(s) for s in sources if _local(s) in (TEXT_SOURCE, *OTHER_SOURCES))
    for notes in _children(root, "Notes"):
        doc.notes.update((n.guid, n) for n in map(_parse_note, _children(notes, "Note")))
    for sets in _children(root, "Sets"):
        doc.sets.extend(map(_parse_set, _children(sets, "Set")))
    doc.skipped["links"] += sum(len(_children(x, "Link")) for x in _children(root, "Links"))
    doc.skipped["graphs"] += sum(len(_children(x, "Graph")) for x in _children(root, "Graphs"))
    doc.description = _child_text(root, "Description")
    doc.project_notes = _refs(root, "NoteRef")


def _parse_variable(element: Any) -> RefiVariable:
    return RefiVariable(
        guid_key(element.get("guid")),
        (element.get("name") or "").strip(),
        element.get("typeOfVariable") or "Text",
        _child_text(element, "Description"),
    )


def _parse_case(element: Any) -> RefiCase:
    return RefiCase(
        guid_key(element.get("guid")),
        (element.get("name") or "").strip(),
        _child_text(element, "Description"),
        _parse_values(element),
        _refs(element, "SourceRef"),
    )


def _parse_set(element: Any) -> RefiSet:
    return RefiSet(
        guid_key(element.get("guid")),
        (element.get("name") or "").strip(),
        _child_text(element, "Description"),
        _refs(element, "MemberSource"),
        _refs(element, "MemberCode"),
        _refs(element, "MemberNote"),
    )


# --- references ---------------------------------------------------------------------------------------------


def reference_problems(doc: RefiDocument) -> list[str]:
    """Every reference the import follows that points nowhere (a broken file is refused, not half-read)."""
    codes = {c.guid for c in doc.all_codes()}
    sources = {s.guid for s in doc.sources}
    problems: list[str] = []

    def check(kind: str, ref: str | None, known: set[str] | dict[str, Any], where: str) -> None:
        if ref is not None and ref not in known:
            problems.append(f"{where} refers to a missing {kind} {ref or '(empty)'}")

    for code in doc.all_codes():
        for note in code.notes:
            check("note", note, doc.notes, f"code {code.name!r}")
    for source in doc.sources:
        where = f"source {source.name!r}"
        for note in source.notes:
            check("note", note, doc.notes, where)
        for value in source.values:
            check("variable", value.variable, doc.variables, where)
        for coding in source_codings(source):
            check("code", coding.code, codes, where)
            check("user", coding.user, doc.users, where)
            for note in coding.notes:
                check("note", note, doc.notes, where)
        for sel in source.selections:
            check("user", sel.user, doc.users, where)
            for note in sel.notes:
                check("note", note, doc.notes, where)
    for case in doc.cases:
        for value in case.values:
            check("variable", value.variable, doc.variables, f"case {case.name!r}")
        for ref in case.sources:
            check("source", ref, sources, f"case {case.name!r}")
    for item in doc.sets:
        for ref in item.sources:
            check("source", ref, sources, f"set {item.name!r}")
        for ref in item.codes:
            check("code", ref, codes, f"set {item.name!r}")
        for ref in item.notes:
            check("note", ref, doc.notes, f"set {item.name!r}")
    for note in doc.project_notes:
        check("note", note, doc.notes, "the project")
    for refi_note in doc.notes.values():
        check("user", refi_note.user, doc.users, f"note {refi_note.name!r}")
    return problems


# --- reading the package ------------------------------------------------------------------------------------


def read_package(file: Path) -> RefiDocument:
    """The file as a checked ``RefiDocument`` with every source text and note loaded; refuses broken files."""
    file = Path(file)
    if not file.is_file():
        raise ImportRefused(f"{file}: no such file")
    suffix = file.suffix.lower()
    if suffix in PROJECT_SUFFIXES:
        with SafeArchive(file) as archive:
            doc = _document_from(parse_xml(archive.read(_project_entry(archive)), file.name), file)
            _load_texts(doc, archive, file)
    elif suffix in XML_SUFFIXES:
        doc = _document_from(read_xml_file(file), file)
        _load_texts(doc, None, file)
    else:
        raise ImportRefused(f"{file.name}: not a REFI-QDA file (expected .qdpx or .qdc)")
    name_sources(doc)
    problems = reference_problems(doc)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ImportRefused(f"{file.name}: broken file: {problems[0]}{more}")
    return doc


def name_sources(doc: RefiDocument) -> None:
    """Every source gets a name of its own: a source without one is named from its file (when that is not
    just its GUID) or its GUID; a name several sources share gets each one's GUID beside it. The file's own
    name stays in ``given_name``; ``--map-source`` accepts either, or the GUID."""
    counts: dict[str, int] = {}
    for source in doc.sources:
        source.given_name = source.name
        counts[source.name.strip().casefold()] = counts.get(source.name.strip().casefold(), 0) + 1
    for source in doc.sources:
        name = source.name.strip()
        if not name:
            stem = Path((source.plain_path or source.rich_path or "").partition("://")[2]).stem
            name = stem if stem and guid_key(stem) != source.guid else f"source {source.guid}"
        elif counts[name.casefold()] > 1:
            name = f"{name} [{source.guid}]"
        source.name = name


def check_elements(root: Any, label: str) -> None:
    """Refuse at once a file with more codes, selections, notes... than any study holds, then one where two
    elements of one kind share a GUID (two codes, two sources, two codings...): references to it would be
    ambiguous (a coding could silently move to another code). Elements of different kinds may share one
    (some producers give a case its code's GUID). One pass over the tree for both."""
    counts: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    duplicate: tuple[str, str] | None = None
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        local = tag.rpartition("}")[2]
        counts[local] = counts.get(local, 0) + 1
        guid = element.get("guid") if duplicate is None else None
        if guid:
            key = (local, guid_key(guid))
            if key in seen:
                duplicate = local, guid
            seen.add(key)
    for kind, limit in LIMITS.items():
        if counts.get(kind, 0) > limit:
            raise ImportRefused(f"{label}: {counts[kind]:,} {kind} elements (limit {limit:,}): refused as absurd")
    if duplicate is not None:
        raise ImportRefused(f"{label}: two {duplicate[0]} elements share the GUID {duplicate[1]}: refused")


def _document_from(root: Any, file: Path) -> RefiDocument:
    check_elements(root, file.name)
    try:
        return parse_document(root)
    except ImportRefused as exc:
        raise ImportRefused(f"{file.name}: {exc}") from exc


def _project_entry(archive: SafeArchive) -> str:
    """``project.qde`` at the top, else the only ``*.qde`` at the top (some producers name it after the project)."""
    top = [n for n in archive.names() if "/" not in n and n.lower().endswith(".qde")]
    exact = [n for n in top if n.lower() == "project.qde"]
    if exact or len(top) == 1:
        return (exact or top)[0]
    found = "several .qde files" if top else "no project.qde"
    raise ImportRefused(f"{archive.path.name}: {found} in the archive: not a REFI-QDA project")


def _load_texts(doc: RefiDocument, archive: SafeArchive | None, file: Path) -> None:
    for source in doc.text_sources():
        source.raw_text, source.text_from = _source_text(source, archive, file)
    for note in doc.notes.values():
        if note.inline is not None:
            note.text = note.inline
        elif note.path:
            note.text = _decode(_read_ref(note.path, archive, file, f"note {note.name!r}"), note.path)[0]


def _source_text(source: RefiSource, archive: SafeArchive | None, file: Path) -> tuple[str, str]:
    where = f"source {source.name!r}"
    if source.inline is not None:
        return source.inline, "inline text"
    if source.plain_path:
        text, codec = _decode(_read_ref(source.plain_path, archive, file, where), source.plain_path)
        return text, f"plain text, {codec}"
    if source.rich_path and source.rich_path.lower().endswith(".docx"):
        data = _read_ref(source.rich_path, archive, file, where)
        return docx_text(data, f"{file.name}: {where}"), "Word document"
    raise ImportRefused(f"{file.name}: {where} has no plain text and no .docx to read it from")


def _read_ref(ref: str, archive: SafeArchive | None, file: Path, where: str) -> bytes:
    """The bytes behind ``internal://`` (in the archive) or ``relative://`` (beside the file) references."""
    scheme, _, name = ref.partition("://")
    if not name:
        scheme, name = "internal", ref
    reason = unsafe_name_reason(name)
    if scheme.lower() == "absolute" or reason:
        why = "absolute paths are not followed" if scheme.lower() == "absolute" else reason
        raise ImportRefused(f"{file.name}: {where}: unsafe path {ref!r} ({why})")
    if scheme.lower() == "relative":
        return _read_beside(file, name, where)
    entry = (archive.find(f"sources/{name}") or archive.find(name)) if archive is not None else None
    if archive is None or entry is None:
        raise ImportRefused(f"{file.name}: {where}: file {ref!r} is missing from the archive")
    return archive.read(entry)


def _read_beside(file: Path, name: str, where: str) -> bytes:
    """A ``relative://`` file, looked for beside the package (the producer's ``basePath`` is on its disk)."""
    from importers import refi_safety

    path = file.parent / name
    if not path.is_file():
        raise ImportRefused(f"{file.name}: {where}: file {name!r} is missing beside the package")
    if path.stat().st_size > refi_safety.MAX_ENTRY_BYTES:
        raise ImportRefused(f"{file.name}: {where}: file {name!r} is beyond the size limit")
    return path.read_bytes()


def _decode(data: bytes, label: str) -> tuple[str, str]:
    """Text with the BOM removed and line ends kept (the offset convention may count them), and the encoding
    read: the BOM's, else UTF-8, else as ``importers.encoding`` detects it (older Windows tools write their
    code page), or refused."""
    return decode(data, label)


def docx_text(data: bytes, label: str) -> str:
    """A ``.docx`` as its paragraphs (table cells included, text boxes not) in document order joined by
    ``\\n``, which is how producers lay out the plain text their offsets count."""
    import docx
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    from importers.safety import DOCX_ERRORS

    check_nested_zip(data, label)
    try:
        body = docx.Document(io.BytesIO(data)).element.body
        paragraphs = [p for p in body.iter(qn("w:p")) if next(p.iterancestors(qn("w:p")), None) is None]
        # a paragraph's text needs no parent (python-docx types it as required)
        return "\n".join(Paragraph(p, cast(Any, None)).text for p in paragraphs)
    except DOCX_ERRORS as exc:
        raise ImportRefused(f"{label}: not a readable Word document ({exc})") from exc
