"""A sent message's journey, from its evidence receipts, checked here before it is shown.

The server gives the receipts of every record of the message (``GET /api/v1/ledger/messages/
{id}/records``); each is verified offline against the log key pinned at ``init`` (record
signature, inclusion proof, checkpoint signature) before it becomes a line of the page. The
``ConsignmentAcceptance`` line also checks the recipient's signed acknowledgement: its
SHA-256 must be the one the record holds, its CMS signature must verify, and its statement
must name this message. Each receipt can be saved as it came: ``caducee verify RECEIPT
--log-key KEY`` checks the file anywhere, offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from caducee.agent.client import ServerClient
from caducee.crypto.cms_verify import verify_signed_data
from caducee.crypto.errors import CryptoError
from caducee.ledger import (
    AckStatement,
    EvidenceEvent,
    EvidenceRecord,
    LedgerError,
    NoteVerifierKey,
    verify_receipt,
)

__all__ = ["JourneyStep", "journey_of", "receipt_of"]

_KNOWN = {
    EvidenceEvent.SUBMISSION_ACCEPTANCE: "journey.accepted",
    EvidenceEvent.SUBMISSION_REJECTION: "journey.rejected",
    EvidenceEvent.CONTENT_CONSIGNMENT: "journey.consigned",
    EvidenceEvent.CONTENT_HANDOVER: "journey.fetched",
    EvidenceEvent.CONSIGNMENT_ACCEPTANCE: "journey.acknowledged",
    EvidenceEvent.RELAY_TO_EXTERNAL: "journey.relayed",
    EvidenceEvent.RECEIVED_FROM_EXTERNAL: "journey.received",
}


@dataclass(frozen=True)
class JourneyStep:
    """One verified line of the journey (``text``: a message id of the pages' catalogue)."""

    index: int
    text: str
    who: str
    time: str  # UTC, "YYYY-MM-DD HH:MM:SS UTC"
    verified: bool
    problem: str = ""  # why the receipt (or the acknowledgement) did not verify
    signed_ack: str = ""  # "verified", "unsigned", "invalid" or "" (not an acknowledgement)


def _who(record: EvidenceRecord) -> str:
    if record.event is EvidenceEvent.CONTENT_CONSIGNMENT:
        return ", ".join(record.recipient_ids) or record.actor_id
    return record.actor_id


def _ack_state(record: EvidenceRecord, acknowledgements: dict[str, bytes]) -> str:
    """Whether the recipient's signed acknowledgement behind this record checks out."""
    digest = record.extra.get("ack_sha256")
    if not digest:
        return "unsigned"
    der = acknowledgements.get(record.actor_id.lower())
    if der is None or hashlib.sha256(der).hexdigest() != digest:
        return "invalid"
    try:
        statement = AckStatement.from_bytes(verify_signed_data(der).content)
    except (CryptoError, LedgerError):
        return "invalid"
    if statement.message_id != record.message_id or statement.recipient != record.actor_id:
        return "invalid"
    return "verified"


def _acknowledgements(client: ServerClient, message_id: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for item in client.message_acknowledgements(message_id):
        try:
            found[str(item["recipient"]).lower()] = base64.b64decode(item["acknowledgement"])
        except (KeyError, TypeError, ValueError, binascii.Error):
            continue
    return found


def journey_of(
    client: ServerClient, message_id: str, log_key: NoteVerifierKey
) -> list[JourneyStep]:
    """Every record of ``message_id``, each receipt verified offline, in log order."""
    steps: list[JourneyStep] = []
    acknowledgements: dict[str, bytes] | None = None
    for receipt in client.message_receipts(message_id):
        index = int(receipt.get("leaf_index", -1)) if isinstance(receipt, dict) else -1
        try:
            verified = verify_receipt(json.dumps(receipt).encode("utf-8"), log_key=log_key)
        except LedgerError as exc:
            steps.append(JourneyStep(index, "journey.unverified", "", "", False, exc.reason))
            continue
        record = verified.record
        if record.message_id != message_id:
            steps.append(JourneyStep(index, "journey.unverified", "", "", False, "other message"))
            continue
        signed = ""
        if record.event is EvidenceEvent.CONSIGNMENT_ACCEPTANCE:
            if acknowledgements is None:
                acknowledgements = _acknowledgements(client, message_id)
            signed = _ack_state(record, acknowledgements)
        when = record.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        text = _KNOWN.get(record.event, "journey.other")
        steps.append(JourneyStep(verified.leaf_index, text, _who(record), when, True, "", signed))
    return sorted(steps, key=lambda s: s.index)


def receipt_of(client: ServerClient, message_id: str, index: int) -> dict[str, Any] | None:
    """The receipt of the record at ``index`` if it is one of this message's, as served."""
    for receipt in client.message_receipts(message_id):
        if isinstance(receipt, dict) and receipt.get("leaf_index") == index:
            return receipt
    return None
