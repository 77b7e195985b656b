"""Errors of the directory: people, organisations, mailboxes and their credentials.

::

    DirectoryError
    ├── InvalidIdentifier        a FINESS/RPPS-like number with a bad length or Luhn key
    ├── InvalidEntry             a field out of its allowed values
    ├── AlreadyRegistered        the id or address exists already
    ├── UnknownOrganisation
    ├── UnknownPerson
    ├── UnknownMailbox
    └── CredentialError          authentication and enrolment refusals
        ├── InvalidChallenge     unknown, expired or already used
        ├── InvalidSignature
        ├── CertificateNotValid  not this mailbox's, revoked, or outside its validity
        ├── InvalidToken         unknown access token
        ├── TokenExpired
        ├── CertificateRevoked   the token's certificate was revoked since
        └── InvalidEnrolmentCode unknown, expired or already used
"""

from caducee.errors import CaduceeError

__all__ = [
    "AlreadyRegistered",
    "CertificateNotValid",
    "CertificateRevoked",
    "CredentialError",
    "DirectoryError",
    "InvalidChallenge",
    "InvalidEnrolmentCode",
    "InvalidEntry",
    "InvalidIdentifier",
    "InvalidSignature",
    "InvalidToken",
    "TokenExpired",
    "UnknownCertificate",
    "UnknownMailbox",
    "UnknownOrganisation",
    "UnknownPerson",
]


class DirectoryError(CaduceeError):
    code = "directory-error"


class InvalidIdentifier(DirectoryError):
    code = "invalid-identifier"


class InvalidEntry(DirectoryError):
    code = "invalid-entry"


class AlreadyRegistered(DirectoryError):
    code = "already-registered"


class UnknownOrganisation(DirectoryError):
    code = "unknown-organisation"


class UnknownPerson(DirectoryError):
    code = "unknown-person"


class UnknownMailbox(DirectoryError):
    code = "unknown-mailbox"


class UnknownCertificate(DirectoryError):
    code = "unknown-certificate"


class CredentialError(DirectoryError):
    code = "credential-error"


class InvalidChallenge(CredentialError):
    code = "invalid-challenge"


class InvalidSignature(CredentialError):
    code = "invalid-signature"


class CertificateNotValid(CredentialError):
    code = "certificate-not-valid"


class InvalidToken(CredentialError):
    code = "unauthenticated"


class TokenExpired(CredentialError):
    code = "token-expired"


class CertificateRevoked(CredentialError):
    code = "certificate-revoked"


class InvalidEnrolmentCode(CredentialError):
    code = "invalid-enrolment-code"
