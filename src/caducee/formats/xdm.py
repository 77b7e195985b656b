"""IHE XDM (ITI TF-1 §16, ITI TF-3 §4.2.1): the ``IHE_XDM.ZIP`` of MSSanté messages.

Layout written and required (ANS "Structuration minimale", IHE ITI-32)::

    README.TXT                      who made the archive (plain text)
    INDEX.HTM                       a page listing the documents
    IHE_XDM/SUBSET01/METADATA.XML   ebRIM 3.0 SubmitObjectsRequest (one submission set)
    IHE_XDM/SUBSET01/<documents>    each named by its DocumentEntry's ``URI`` slot

``make_xdm`` builds one; ``read_xdm`` reads one from outside, refusing with an ``XDMError``:
zip bombs (member and total size, ratio, member count; sizes counted while inflating, never
trusted from the headers), path traversal (absolute, ``..``, backslashes, drive letters,
duplicates), XML with a document type or entities, metadata naming a missing document, a
hash or size that does not match. Pure: no I/O, no settings.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NoReturn
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from caducee.formats.errors import FormatError

__all__ = [
    "MAX_DOCUMENTS",
    "MAX_MEMBER_BYTES",
    "MAX_TOTAL_BYTES",
    "METADATA_PATH",
    "SUBSET",
    "XDMDocument",
    "XDMError",
    "XDMSubmission",
    "cda_code",
    "make_xdm",
    "read_xdm",
]

SUBSET = "IHE_XDM/SUBSET01"
METADATA_PATH = f"{SUBSET}/METADATA.XML"
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
MAX_MEMBER_BYTES = 32 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_RATIO = 200  # deflate tops out near 1032:1; real documents stay far below 200:1
MAX_MEMBERS = 256
MAX_DOCUMENTS = 100
MAX_METADATA_BYTES = 4 * 1024 * 1024

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
CDA = "urn:hl7-org:v3"
# ITI TF-3 §4.2.5 (UUIDs of the metadata model).
DOCUMENT_ENTRY = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SUBMISSION_SET = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_TYPE_CODE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
LOINC = "2.16.840.1.113883.6.1"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_DRIVE = re.compile(r"^[A-Za-z]:")
_TIME = "%Y%m%d%H%M%S"


class XDMError(FormatError):
    """An ``IHE_XDM.ZIP`` that cannot be read (the reason names a part, never content)."""

    code = "malformed-xdm"


@dataclass(frozen=True)
class XDMDocument:
    """One document of the submission set (a CDA R2 document, a PDF...)."""

    name: str  # file name inside IHE_XDM/SUBSET01 (the URI slot)
    content: bytes
    mime_type: str = "text/xml"
    unique_id: str = ""
    type_code: str | None = None  # LOINC code of the document type (CDA header code)
    title: str = ""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name) or self.name.upper() == "METADATA.XML":
            raise XDMError(f"document name {self.name!r} is not a plain file name")
        object.__setattr__(self, "title", _xml_text(self.title)[:256])


@dataclass(frozen=True)
class XDMSubmission:
    """A submission set and its documents, in order."""

    documents: tuple[XDMDocument, ...]
    unique_id: str
    source_id: str
    patient_id: str | None = None  # CX, e.g. INS ``<matricule>^^^&1.2.250.1.213.1.4.8&ISO``
    submission_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    author: str = ""  # the README's "made by" line (product name)

    @property
    def type_codes(self) -> tuple[str, ...]:
        """The documents' type codes in order, without repeats (``X-MSS-CODECDA``)."""
        return tuple(dict.fromkeys(d.type_code for d in self.documents if d.type_code))


def _xml_text(value: str) -> str:
    """One line of characters XML 1.0 §2.2 allows (attribute values are normalised anyway)."""
    kept = "".join(c for c in value if c >= " " and c not in "\ufffe\uffff")
    return " ".join(kept.split())


# -- writing ----------------------------------------------------------------------------


def _slot(name: str, *values: str) -> str:
    items = "".join(f"<rim:Value>{escape(v)}</rim:Value>" for v in values)
    return f"<rim:Slot name={quoteattr(name)}><rim:ValueList>{items}</rim:ValueList></rim:Slot>"


def _external_id(scheme: str, owner: str, value: str, label: str) -> str:
    return (
        f"<rim:ExternalIdentifier id={quoteattr(owner + '-' + label)} "
        f"registryObject={quoteattr(owner)} identificationScheme={quoteattr(scheme)} "
        f"value={quoteattr(value)}><rim:Name><rim:LocalizedString value={quoteattr(label)}/>"
        "</rim:Name></rim:ExternalIdentifier>"
    )


def _document_entry(index: int, document: XDMDocument, submission: XDMSubmission) -> str:
    entry = f"Document{index:02d}"
    parts = [
        f"<rim:ExtrinsicObject id={quoteattr(entry)} mimeType={quoteattr(document.mime_type)} "
        f"objectType={quoteattr(DOCUMENT_ENTRY)}>",
        _slot("creationTime", submission.submission_time.astimezone(UTC).strftime(_TIME)),
        _slot("hash", hashlib.sha1(document.content, usedforsecurity=False).hexdigest()),
        _slot("size", str(len(document.content))),
        _slot("URI", document.name),
        _slot("languageCode", "fr-FR"),
    ]
    if submission.patient_id:
        parts.append(_slot("sourcePatientId", submission.patient_id))
    parts.append(f"<rim:Name><rim:LocalizedString value={quoteattr(document.title)}/></rim:Name>")
    if document.type_code:
        parts.append(
            f"<rim:Classification id={quoteattr(entry + '-typeCode')} "
            f"classificationScheme={quoteattr(DE_TYPE_CODE)} classifiedObject={quoteattr(entry)} "
            f"nodeRepresentation={quoteattr(document.type_code)}>"
            f"{_slot('codingScheme', LOINC)}</rim:Classification>"
        )
    if submission.patient_id:
        parts.append(_external_id(DE_PATIENT_ID, entry, submission.patient_id, "patientId"))
    unique_id = document.unique_id or f"{submission.unique_id}.{index}"
    parts.append(_external_id(DE_UNIQUE_ID, entry, unique_id, "uniqueId"))
    parts.append("</rim:ExtrinsicObject>")
    return "".join(parts)


def _metadata(submission: XDMSubmission) -> bytes:
    entries = [
        _document_entry(i, d, submission) for i, d in enumerate(submission.documents, start=1)
    ]
    package = [
        '<rim:RegistryPackage id="SubmissionSet01">',
        _slot("submissionTime", submission.submission_time.astimezone(UTC).strftime(_TIME)),
        '<rim:Classification id="SubmissionSet01-class" classifiedObject="SubmissionSet01" '
        f"classificationNode={quoteattr(SUBMISSION_SET)}/>",
        _external_id(SS_UNIQUE_ID, "SubmissionSet01", submission.unique_id, "uniqueId"),
        _external_id(SS_SOURCE_ID, "SubmissionSet01", submission.source_id, "sourceId"),
    ]
    if submission.patient_id:
        package.append(
            _external_id(SS_PATIENT_ID, "SubmissionSet01", submission.patient_id, "patientId")
        )
    package.append("</rim:RegistryPackage>")
    associations = [
        f'<rim:Association id="Assoc{i:02d}" '
        'associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember" '
        f'sourceObject="SubmissionSet01" targetObject="Document{i:02d}">'
        f"{_slot('SubmissionSetStatus', 'Original')}</rim:Association>"
        for i in range(1, len(submission.documents) + 1)
    ]
    body = "".join([*entries, *package, *associations])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<lcm:SubmitObjectsRequest xmlns:lcm="{LCM}" xmlns:rim="{RIM}">'
        f"<rim:RegistryObjectList>{body}</rim:RegistryObjectList></lcm:SubmitObjectsRequest>\n"
    ).encode()


def _readme(submission: XDMSubmission) -> bytes:
    author = " ".join(submission.author.split()) or "Caducée"
    return (
        "IHE XDM (ITI-32) - archive de documents de santé / health documents archive\r\n"
        f"Produit par / made by: {author}\r\n"
        f"Documents: {len(submission.documents)} (voir/see INDEX.HTM)\r\n"
    ).encode()


def _index(submission: XDMSubmission) -> bytes:
    rows = "".join(
        f'<li><a href="IHE_XDM/SUBSET01/{html.escape(d.name)}">'
        f"{html.escape(d.title or d.name)}</a></li>"
        for d in submission.documents
    )
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        "<title>IHE XDM</title></head><body><h1>Documents / Documents</h1>"
        f"<ul>{rows}</ul></body></html>\n"
    ).encode()


def make_xdm(submission: XDMSubmission) -> bytes:
    """The ``IHE_XDM.ZIP`` of ``submission`` (deflated, fixed member times: reproducible)."""
    if not submission.documents or len(submission.documents) > MAX_DOCUMENTS:
        raise XDMError(f"a submission holds 1 to {MAX_DOCUMENTS} documents")
    names = [d.name.upper() for d in submission.documents]
    if len(set(names)) != len(names):
        raise XDMError("two documents have the same name")
    members = [
        ("README.TXT", _readme(submission)),
        ("INDEX.HTM", _index(submission)),
        (METADATA_PATH, _metadata(submission)),
        *((f"{SUBSET}/{d.name}", d.content) for d in submission.documents),
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


# -- reading ----------------------------------------------------------------------------


def _safe_name(name: str) -> str:
    """The member name if it stays inside the archive (no traversal), else ``XDMError``."""
    if (
        not name
        or len(name) > 255
        or "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or _DRIVE.match(name)
        or any(part in ("..", ".") for part in name.split("/"))
    ):
        raise XDMError("an archive member has an unsafe path (absolute, '..' or backslash)")
    return name


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """A member's bytes, counted while inflating: stop past the limits (RFC 1951 bombs)."""
    limit = min(MAX_MEMBER_BYTES, budget)
    chunks: list[bytes] = []
    size = 0
    with archive.open(info) as stream:
        while chunk := stream.read(65536):
            size += len(chunk)
            if size > limit:
                raise XDMError("an archive member inflates beyond the size limit (zip bomb?)")
            if size > 1024 * 1024 and size > MAX_RATIO * max(info.compress_size, 1):
                raise XDMError("an archive member has an implausible compression ratio")
            chunks.append(chunk)
    return b"".join(chunks)


def _members(data: bytes) -> dict[str, bytes]:
    if len(data) > MAX_ARCHIVE_BYTES:
        raise XDMError("the archive is larger than the limit")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise XDMError(f"the archive holds more than {MAX_MEMBERS} members")
        members: dict[str, bytes] = {}
        budget = MAX_TOTAL_BYTES
        for info in infos:
            name = _safe_name(info.filename)
            if name.endswith("/"):
                continue
            key = name.upper()
            if key in members:
                raise XDMError("the archive holds two members with the same name")
            if info.flag_bits & 0x1:
                raise XDMError("the archive holds an encrypted member")
            content = _inflate(archive, info, budget)
            budget -= len(content)
            members[key] = content
        return members
    except XDMError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as exc:
        raise XDMError(f"the archive is not a readable zip ({type(exc).__name__})") from None
    except (NotImplementedError, ValueError, RuntimeError, KeyError) as exc:
        raise XDMError(f"the archive uses an unsupported zip feature ({exc})") from None


@dataclass
class _Object:
    """What the metadata says of one registry object (ExtrinsicObject or RegistryPackage)."""

    kind: str
    attributes: dict[str, str]
    slots: dict[str, list[str]] = field(default_factory=dict)
    external: dict[str, str] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)
    title: str = ""


def _refuse(*_: object) -> NoReturn:
    raise XDMError("the XML may not declare a document type or entities")


def _expat() -> expat.XMLParserType:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    return parser


def _parse_xml(parser: expat.XMLParserType, data: bytes, what: str) -> None:
    try:
        parser.Parse(data, True)
    except XDMError:
        raise
    except (expat.ExpatError, ValueError, RecursionError) as exc:
        raise XDMError(f"{what} is not well-formed XML ({exc})") from None


def _registry_objects(metadata: bytes) -> list[_Object]:
    """ExtrinsicObjects and RegistryPackages of an ebRIM 3.0 SubmitObjectsRequest."""
    if len(metadata) > MAX_METADATA_BYTES:
        raise XDMError("METADATA.XML is larger than the limit")
    parser = _expat()
    objects: list[_Object] = []
    stack: list[str] = []
    current: list[_Object] = []
    slot: list[str] = []
    text: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        stack.append(name)
        if len(stack) > 32:
            raise XDMError("METADATA.XML nests too deep")
        if name in (f"{RIM} ExtrinsicObject", f"{RIM} RegistryPackage"):
            current.append(_Object(name.rpartition(" ")[2], dict(attributes)))
            objects.append(current[-1])
        elif not current:
            return
        elif name == f"{RIM} Slot":
            slot[:] = [attributes.get("name", "")]
            current[-1].slots.setdefault(slot[0], [])
        elif name == f"{RIM} Value":
            text.clear()
        elif name == f"{RIM} ExternalIdentifier":
            scheme = attributes.get("identificationScheme", "")
            current[-1].external[scheme] = attributes.get("value", "")
        elif name == f"{RIM} Classification":
            scheme = attributes.get("classificationScheme") or attributes.get(
                "classificationNode", ""
            )
            current[-1].classes[scheme] = attributes.get("nodeRepresentation", "")
        elif (
            name == f"{RIM} LocalizedString"
            and stack[-2:-1] == [f"{RIM} Name"]
            and len(stack) >= 3
            and stack[-3].endswith(("ExtrinsicObject", "RegistryPackage"))
        ):
            current[-1].title = attributes.get("value", "")

    def end(name: str) -> None:
        stack.pop()
        if name in (f"{RIM} ExtrinsicObject", f"{RIM} RegistryPackage"):
            current.pop()
        elif name == f"{RIM} Value" and current and slot:
            current[-1].slots[slot[0]].append("".join(text).strip())
        elif name == f"{RIM} Slot":
            slot.clear()

    def characters(data: str) -> None:
        if stack and stack[-1] == f"{RIM} Value":
            text.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    _parse_xml(parser, metadata, "METADATA.XML")
    return objects


def _first(obj: _Object, slot: str) -> str | None:
    values = obj.slots.get(slot)
    return values[0] if values else None


def _parse_time(value: str | None) -> datetime:
    if not value:
        return datetime(1970, 1, 1, tzinfo=UTC)
    digits = value[:14].ljust(14, "0")
    try:
        return datetime.strptime(digits, _TIME).replace(tzinfo=UTC)
    except ValueError:
        raise XDMError("submissionTime is not a DTM (YYYYMMDDHHMMSS)") from None


def _document(obj: _Object, members: dict[str, bytes]) -> XDMDocument:
    uri = _first(obj, "URI")
    if not uri:
        raise XDMError("a DocumentEntry has no URI slot")
    name = _safe_name(uri.removeprefix("./"))
    if "/" in name:
        raise XDMError("a DocumentEntry URI names a file outside SUBSET01")
    content = members.get(f"{SUBSET}/{name}".upper())
    if content is None:
        raise XDMError("a DocumentEntry names a document missing from the archive")
    size = _first(obj, "size")
    if size is not None and size != str(len(content)):
        raise XDMError("a document's size does not match its metadata")
    digest = _first(obj, "hash")
    if (
        digest is not None
        and digest.lower() != hashlib.sha1(content, usedforsecurity=False).hexdigest()
    ):
        raise XDMError("a document's SHA-1 does not match its metadata")
    try:
        return XDMDocument(
            name=name,
            content=content,
            mime_type=obj.attributes.get("mimeType", "application/octet-stream"),
            unique_id=obj.external.get(DE_UNIQUE_ID, ""),
            type_code=obj.classes.get(DE_TYPE_CODE) or None,
            title=obj.title,
        )
    except XDMError:
        raise XDMError("a DocumentEntry URI is not a plain file name") from None


def read_xdm(data: bytes) -> XDMSubmission:
    """Read an ``IHE_XDM.ZIP``; raise ``XDMError`` (a ``FormatError``) on anything unsafe."""
    if not isinstance(data, bytes | bytearray):
        raise XDMError("an XDM archive is bytes")
    members = _members(bytes(data))
    metadata = members.get(METADATA_PATH.upper())
    if metadata is None:
        raise XDMError(f"the archive has no {METADATA_PATH}")
    objects = _registry_objects(metadata)
    packages = [o for o in objects if o.kind == "RegistryPackage"]
    entries = [o for o in objects if o.kind == "ExtrinsicObject"]
    if len(packages) < 1:
        raise XDMError("METADATA.XML holds no submission set (RegistryPackage)")
    if not entries or len(entries) > MAX_DOCUMENTS:
        raise XDMError(f"METADATA.XML must list 1 to {MAX_DOCUMENTS} documents")
    package = next((p for p in packages if SUBMISSION_SET in p.classes), packages[0])
    documents = tuple(_document(e, members) for e in entries)
    return XDMSubmission(
        documents=documents,
        unique_id=package.external.get(SS_UNIQUE_ID, ""),
        source_id=package.external.get(SS_SOURCE_ID, ""),
        patient_id=package.external.get(SS_PATIENT_ID) or None,
        submission_time=_parse_time(_first(package, "submissionTime")),
        author=_readme_author(members.get("README.TXT", b"")),
    )


def _readme_author(readme: bytes) -> str:
    for line in _lines(readme):
        label, sep, value = line.partition(":")
        if sep and "made by" in label.lower():
            return value.strip()[:200]
    return ""


def _lines(data: bytes) -> Iterator[str]:
    yield from data[:4096].decode("utf-8", "replace").splitlines()


class _Found(Exception):
    """Stops the CDA parser once the header code is read."""


def cda_code(document: bytes) -> str | None:
    """The ``code/@code`` of a CDA R2 ``ClinicalDocument`` header (``X-MSS-CODECDA``)."""
    parser = _expat()
    depth = [0]

    def start(name: str, attributes: dict[str, str]) -> None:
        depth[0] += 1
        if depth[0] == 1 and name != f"{CDA} ClinicalDocument":
            raise XDMError("the document is not a CDA R2 ClinicalDocument")
        if depth[0] == 2 and name == f"{CDA} code":
            raise _Found(attributes.get("code", ""))

    def end(_name: str) -> None:
        depth[0] -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        _parse_xml(parser, document, "the CDA document")
    except _Found as found:
        return str(found.args[0]) or None
    return None
