"""The directory: organisations, people, mailboxes, their certificates and credentials."""

from caducee.directory.credentials import (
    AuthenticatedMailbox,
    CredentialService,
    EnrolmentSubject,
    IssuedToken,
    verify_signature,
)
from caducee.directory.errors import (
    AlreadyRegistered,
    CertificateNotValid,
    CertificateRevoked,
    CredentialError,
    DirectoryError,
    InvalidChallenge,
    InvalidEnrolmentCode,
    InvalidEntry,
    InvalidIdentifier,
    InvalidSignature,
    InvalidToken,
    TokenExpired,
    UnknownMailbox,
    UnknownOrganisation,
    UnknownPerson,
)
from caducee.directory.identifiers import luhn_complete, parse_finess, parse_rpps
from caducee.directory.models import MailboxKind, OrganisationType
from caducee.directory.service import DirectoryService, MailboxEntry, SearchQuery

__all__ = [
    "AlreadyRegistered",
    "AuthenticatedMailbox",
    "CertificateNotValid",
    "CertificateRevoked",
    "CredentialError",
    "CredentialService",
    "DirectoryError",
    "DirectoryService",
    "EnrolmentSubject",
    "InvalidChallenge",
    "InvalidEnrolmentCode",
    "InvalidEntry",
    "InvalidIdentifier",
    "InvalidSignature",
    "InvalidToken",
    "IssuedToken",
    "MailboxEntry",
    "MailboxKind",
    "OrganisationType",
    "SearchQuery",
    "TokenExpired",
    "UnknownMailbox",
    "UnknownOrganisation",
    "UnknownPerson",
    "luhn_complete",
    "parse_finess",
    "parse_rpps",
    "verify_signature",
]
