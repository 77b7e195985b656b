"""Message Disposition Notifications (RFC 8098) in the ANS (MSSanté) form, made and read.

An MDN is ``multipart/report; report-type=disposition-notification`` (RFC 6522) with:
1. a ``text/plain`` part for people (French, then English);
2. a ``message/disposition-notification`` part (RFC 8098 §3.1): ``Reporting-UA``,
   ``Original-Recipient``, ``Final-Recipient``, ``Original-Message-ID``, ``Disposition``;
3. the original message as ``message/rfc822`` (so its IHE_XDM.ZIP and PDF ride along).

The ANS integration guide ("struct-msg-mdn", "error-codes") adds: the error form
``Disposition: automatic-action/MDN-sent-automatically; processed/Error: 902^Identifiant de
patient inconnu`` (written with an RFC 8098 §3.2.7 ``Error`` field as well), and the subject
``[KO Intégration système !][<code>] <original subject>``. An MDN is sent only when the
original carries ``Disposition-Notification-To``, and automatically only when that address
is the ``Return-Path`` (RFC 8098 §2.1). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from email import policy
from email.errors import MessageError
from email.header import Header, decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import formatdate, getaddresses, parseaddr

from caducee.formats.errors import FormatError

__all__ = [
    "ANS_ERROR_CODES",
    "DISPOSITION_TYPES",
    "MDN",
    "IntegrationError",
    "MDNError",
    "auto_send_allowed",
    "make_mdn",
    "mdn_requested",
    "read_mdn",
]

DISPOSITION_TYPES = ("displayed", "dispatched", "processed", "deleted")  # RFC 8098 §3.2.6.2
ACTION_MODES = ("manual-action", "automatic-action")
SENDING_MODES = ("MDN-sent-manually", "MDN-sent-automatically")
# ANS "error-codes": application codes of a failed integration (900-906) and the HL7
# conditions the guide reuses (0, 100-103, 198-203, 207).
ANS_ERROR_CODES: dict[str, str] = {
    "0": "Message accepté",
    "100": "Erreur de séquence de segment",
    "101": "Champ obligatoire manquant",
    "102": "Erreur de type de données",
    "103": "Valeur de table introuvable",
    "198": "Version non prise en charge",
    "199": "Autre erreur HL7",
    "200": "Type de message non pris en charge",
    "201": "Événement non pris en charge",
    "202": "Identifiant de traitement non pris en charge",
    "203": "Identifiant de version non pris en charge",
    "207": "Erreur interne de l'application",
    "900": "Version du document incorrecte pour un remplacement",
    "901": "Auteur non autorisé à remplacer ou supprimer le document",
    "902": "Identifiant de patient inconnu",
    "903": "Absence d'INS",
    "904": "Incohérence de l'INS",
    "905": "INS incomplet",
    "906": "Autre erreur",
}
KO_PREFIX = "[KO Intégration système !]"
MAX_MDN_BYTES = 64 * 1024 * 1024
_DISPOSITION = re.compile(
    r"\s*(?P<action>[\w-]+)\s*/\s*(?P<sending>[\w-]+)\s*;\s*(?P<type>[\w-]+)"
    r"(?:\s*/\s*(?P<modifier>.*))?\s*",
    re.ASCII,
)
_ERROR = re.compile(r"(?:Error\s*:\s*)?(?P<code>\d{1,4})\s*\^\s*(?P<text>.*)", re.IGNORECASE)


class MDNError(FormatError):
    """A message that is not a readable disposition notification."""

    code = "malformed-mdn"


@dataclass(frozen=True)
class IntegrationError:
    """An ANS integration error: a code of ``ANS_ERROR_CODES`` and its text."""

    code: str
    text: str = ""

    def __post_init__(self) -> None:
        if self.code not in ANS_ERROR_CODES:
            raise MDNError(f"error code {self.code!r} is not an ANS integration code")
        text = " ".join((self.text or ANS_ERROR_CODES[self.code]).split())
        object.__setattr__(self, "text", text.replace("^", " ")[:200])

    def field(self) -> str:
        """``code^text`` in US-ASCII (header fields, RFC 5322 §2.2; accents dropped)."""
        ascii_text = unicodedata.normalize("NFKD", self.text).encode("ascii", "ignore")
        return f"{self.code}^{ascii_text.decode('ascii')}"


@dataclass(frozen=True)
class MDN:
    """What a disposition notification says (RFC 8098 §3.2)."""

    original_message_id: str
    final_recipient: str
    disposition_type: str
    automatic: bool = True
    original_recipient: str | None = None
    reporting_ua: str = ""
    error: IntegrationError | None = None
    subject: str = ""

    def __post_init__(self) -> None:
        if self.disposition_type not in DISPOSITION_TYPES:
            raise MDNError(f"disposition type {self.disposition_type!r} is not RFC 8098's")

    @property
    def ok(self) -> bool:
        return self.error is None

    def disposition(self) -> str:
        mode = (
            "automatic-action/MDN-sent-automatically"
            if self.automatic
            else ("manual-action/MDN-sent-manually")
        )
        suffix = f"/Error: {self.error.field()}" if self.error else ""
        return f"{mode}; {self.disposition_type}{suffix}"


def mdn_requested(message: Message) -> str | None:
    """The address of ``Disposition-Notification-To`` (RFC 8098 §2.1), or None."""
    value = message.get("Disposition-Notification-To")
    if value is None:
        return None
    addresses = [a for _, a in getaddresses([str(value)]) if "@" in a]
    return addresses[0] if addresses else None


def auto_send_allowed(message: Message) -> bool:
    """RFC 8098 §2.1: send without asking only if the MDN goes back to the Return-Path."""
    requested = mdn_requested(message)
    return_path = parseaddr(str(message.get("Return-Path", "")))[1]
    return requested is not None and requested.lower() == return_path.lower()


def _one_line(value: object) -> str:
    return " ".join(str(value or "").split())


def _human_text(mdn: MDN) -> str:
    if mdn.error is None:
        return (
            f"Votre message {mdn.original_message_id} a été {_french(mdn.disposition_type)} "
            f"par {mdn.final_recipient}.\r\n\r\n"
            f"Your message {mdn.original_message_id} was {mdn.disposition_type} "
            f"by {mdn.final_recipient}.\r\n"
        )
    return (
        f"Le message {mdn.original_message_id} n'a pas pu être intégré par "
        f"{mdn.final_recipient} : erreur {mdn.error.code} ({mdn.error.text}).\r\n\r\n"
        f"The message {mdn.original_message_id} could not be integrated by "
        f"{mdn.final_recipient}: error {mdn.error.code}.\r\n"
    )


def _french(disposition_type: str) -> str:
    return {
        "displayed": "lu",
        "dispatched": "transmis",
        "processed": "traité",
        "deleted": "supprimé",
    }[disposition_type]


def make_mdn(
    original: bytes,
    mdn: MDN,
    *,
    from_address: str,
    message_id: str,
    date: str | None = None,
) -> bytes:
    """The MDN for ``original`` (the raw RFC 5322 message) as bytes with CRLF line ends."""
    headers = BytesParser(policy=policy.compat32).parsebytes(original, headersonly=True)
    to = mdn_requested(headers)
    if to is None:
        raise MDNError("the original message did not ask for an MDN (Disposition-Notification-To)")
    subject = _one_line(headers.get("Subject", ""))
    if mdn.error is not None:
        subject = f"{KO_PREFIX}[{mdn.error.code}] {subject}".strip()
    else:
        subject = f"Accusé de lecture / Read: {subject}".strip()
    original_id = _one_line(headers.get("Message-ID", "")) or f"<{mdn.original_message_id}>"
    head = [
        ("From", from_address),
        ("To", to),
        ("Subject", Header(subject, "utf-8").encode() if not subject.isascii() else subject),
        ("Date", date or formatdate(usegmt=True)),
        ("Message-ID", f"<{message_id}>"),
        ("In-Reply-To", original_id),
        ("References", original_id),
        ("Auto-Submitted", "auto-replied" if mdn.automatic else "auto-generated"),
        ("MIME-Version", "1.0"),
    ]
    boundary = "=_mdn_" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
    fields = [
        f"Reporting-UA: {_one_line(mdn.reporting_ua) or 'Caducee'}",
        *(
            [f"Original-Recipient: rfc822;{mdn.original_recipient}"]
            if mdn.original_recipient
            else []
        ),
        f"Final-Recipient: rfc822;{mdn.final_recipient}",
        f"Original-Message-ID: {original_id}",
        f"Disposition: {mdn.disposition()}",
        *([f"Error: {mdn.error.field()}"] if mdn.error else []),
    ]
    notification = "\r\n".join(fields).encode("utf-8") + b"\r\n"
    text = _human_text(mdn).encode("utf-8")
    body = b"".join(
        [
            f"--{boundary}\r\n".encode(),
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            text,
            f"\r\n--{boundary}\r\n".encode(),
            b"Content-Type: message/disposition-notification\r\n\r\n",
            notification,
            f"\r\n--{boundary}\r\n".encode(),
            b"Content-Type: message/rfc822\r\n\r\n",
            _crlf(original),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    head.append(
        (
            "Content-Type",
            f'multipart/report; report-type=disposition-notification;\r\n boundary="{boundary}"',
        )
    )
    header_block = "".join(f"{name}: {value}\r\n" for name, value in head)
    return header_block.encode("utf-8") + b"\r\n" + body


def _crlf(data: bytes) -> bytes:
    return re.sub(rb"\r?\n", b"\r\n", data)


def _address(value: str | None) -> str | None:
    """``rfc822;addr`` (RFC 8098 §3.2.3/§3.2.4) → ``addr``."""
    if not value:
        return None
    kind, sep, address = _one_line(value).partition(";")
    return (address if sep else kind).strip() or None


def read_mdn(data: bytes) -> MDN:
    """Read an MDN; raise ``MDNError`` if it is not one (RFC 8098 §3, ANS error form)."""
    if not isinstance(data, bytes | bytearray) or len(data) > MAX_MDN_BYTES:
        raise MDNError("an MDN is bytes of a sane size")
    try:
        message = BytesParser(policy=policy.compat32).parsebytes(bytes(data))
        if message.get_content_type() != "multipart/report" or (
            str(message.get_param("report-type", "")).lower() != "disposition-notification"
        ):
            raise MDNError("not a multipart/report of type disposition-notification")
        parts = message.get_payload()
        if not isinstance(parts, list):
            raise MDNError("the report has no parts")
        notification = next(
            (
                p
                for p in parts
                if isinstance(p, Message)
                and p.get_content_type() == "message/disposition-notification"
            ),
            None,
        )
        if notification is None:
            raise MDNError("the report has no message/disposition-notification part")
        return _mdn(_fields(notification), _subject(message))
    except MDNError:
        raise
    except (ValueError, LookupError, TypeError, AttributeError, MessageError) as exc:
        raise MDNError(f"the MDN cannot be read ({type(exc).__name__})") from None


def _subject(message: Message) -> str:
    """The Subject, RFC 2047 words decoded (a bad word is kept as written)."""
    raw = _one_line(message.get("Subject", ""))
    try:
        return _one_line(str(make_header(decode_header(raw))))
    except (ValueError, LookupError, UnicodeError, MessageError):
        return raw


def _fields(part: Message) -> Message:
    """The notification fields: a parsed sub-message (email) or its raw text."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the parser read the fields as a nested message
        if not payload or not isinstance(payload[0], Message):
            raise MDNError("the notification part is empty")
        fields = payload[0]
        # The email package splits the fields into per-message groups (RFC 3464 style).
        for extra in payload[1:]:
            if not isinstance(extra, Message):
                continue
            for key, value in extra.items():
                fields[key] = value
        return fields
    if isinstance(payload, str):
        return HeaderParser().parsestr(payload)
    raise MDNError("the notification part is not text")


def _mdn(fields: Message, subject: str) -> MDN:
    disposition = _one_line(fields.get("Disposition", ""))
    match = _DISPOSITION.fullmatch(disposition)
    if match is None:
        raise MDNError("the Disposition field is not RFC 8098's action/sending; type")
    action, sending = match["action"].lower(), match["sending"]
    if action not in ACTION_MODES or sending.lower() not in (s.lower() for s in SENDING_MODES):
        raise MDNError("the Disposition field has an unknown action or sending mode")
    kind = match["type"].lower()
    if kind not in DISPOSITION_TYPES:
        raise MDNError(f"disposition type {kind!r} is not RFC 8098's")
    final = _address(fields.get("Final-Recipient"))
    original_id = _one_line(fields.get("Original-Message-ID", "")).strip("<>")
    if not final or not original_id:
        raise MDNError("the notification lacks Final-Recipient or Original-Message-ID")
    error = _error(match["modifier"], fields.get("Error"))
    return MDN(
        original_message_id=original_id,
        final_recipient=final,
        disposition_type=kind,
        automatic=action == "automatic-action",
        original_recipient=_address(fields.get("Original-Recipient")),
        reporting_ua=_one_line(fields.get("Reporting-UA", "")),
        error=error,
        subject=subject,
    )


def _error(modifier: str | None, field: object) -> IntegrationError | None:
    """The ANS error from the Disposition modifier or the Error field, if any."""
    for value in (modifier, field):
        if value is None:
            continue
        found = _ERROR.fullmatch(_one_line(value))
        if found is not None:
            code = found["code"]
            if code not in ANS_ERROR_CODES:
                code = "906"
            return IntegrationError(code, found["text"])
    if modifier and modifier.strip().lower().startswith("error"):
        return IntegrationError("906", "")
    return None
