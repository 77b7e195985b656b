"""Map the domain's typed errors to problem+json answers at the HTTP boundary.

Routes catch ``CaduceeError`` from the directory, relay and PKI, and raise
``to_problem(exc)``: the stable ``code`` is the domain error's, the status is chosen here.
"""

from __future__ import annotations

from caducee.directory.errors import (
    AlreadyRegistered,
    CredentialError,
    InvalidEnrolmentCode,
    InvalidEntry,
    UnknownCertificate,
    UnknownMailbox,
    UnknownOrganisation,
    UnknownPerson,
)
from caducee.errors import CaduceeError
from caducee.instant.errors import (
    ForgedDeviceStatement,
    InstantCryptoError,
    InstantSignatureInvalid,
    UnsupportedSuite,
)
from caducee.instant.service_errors import (
    CaseNotFound,
    DeviceRevoked,
    DeviceTaken,
    InvalidInstantRequest,
    MessageReplayed,
    NobodyOnDuty,
    UnknownDevice,
    UnknownParticipant,
    UnknownUnit,
)
from caducee.pki.errors import PKIError
from caducee.policy.sanctions import SenderBlocked
from caducee.relay.errors import (
    DuplicateMessageId,
    FetchAlone,
    InactiveRecipient,
    InvalidAcknowledgement,
    MessageTooLarge,
    NotSMIME,
    NotYourMailbox,
    UnknownMessage,
    UnknownRecipient,
)
from caducee.server.problems import ProblemError
from caducee.store.errors import StoreUnavailable

__all__ = ["STATUS_BY_ERROR", "to_problem"]

STATUS_BY_ERROR: tuple[tuple[type[CaduceeError], int], ...] = (
    (InvalidEnrolmentCode, 403),
    (CredentialError, 401),
    (AlreadyRegistered, 409),
    (UnknownOrganisation, 404),
    (UnknownPerson, 404),
    (UnknownMailbox, 404),
    (UnknownCertificate, 404),
    (InvalidEntry, 400),
    (UnknownRecipient, 422),
    (InactiveRecipient, 422),
    (MessageTooLarge, 413),
    (FetchAlone, 413),
    (NotSMIME, 415),
    (DuplicateMessageId, 409),
    (NotYourMailbox, 403),
    (SenderBlocked, 403),
    (UnknownMessage, 404),
    (InvalidAcknowledgement, 422),
    (PKIError, 400),
    (StoreUnavailable, 503),
    # MISS: nobody outside a case learns that it exists (404, never 403).
    (CaseNotFound, 404),
    (UnknownUnit, 404),
    (UnknownDevice, 404),
    (DeviceRevoked, 403),
    (DeviceTaken, 409),
    (MessageReplayed, 409),
    (NobodyOnDuty, 422),
    (UnknownParticipant, 422),
    (InvalidInstantRequest, 400),
    (ForgedDeviceStatement, 422),
    (InstantSignatureInvalid, 422),
    (UnsupportedSuite, 422),
    (InstantCryptoError, 400),
)


def to_problem(exc: CaduceeError) -> ProblemError:
    """The problem answer for a domain error (400 unless the table says otherwise)."""
    if isinstance(exc, ProblemError):
        return exc
    status = next((s for kind, s in STATUS_BY_ERROR if isinstance(exc, kind)), 400)
    extra = {}
    addresses = getattr(exc, "addresses", None)
    if addresses is not None:
        extra["addresses"] = list(addresses)
    return ProblemError(status, exc.code, exc.reason, **extra)
