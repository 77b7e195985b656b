"""Errors of the operator PKI.

CaduceeError
 └── PKIError
      ├── InvalidCSR            the request's signature or key is not acceptable
      ├── ProfileError          the operator's identity data does not fit the profile
      ├── UnknownCertificate    no certificate with this serial was issued here
      ├── AlreadyRevoked        the certificate is already on the revocation list
      └── AuthorityError        a CA directory that cannot be created or read
"""

from caducee.errors import CaduceeError

__all__ = [
    "AlreadyRevoked",
    "AuthorityError",
    "InvalidCSR",
    "PKIError",
    "ProfileError",
    "UnknownCertificate",
]


class PKIError(CaduceeError):
    code = "pki-error"


class InvalidCSR(PKIError):
    code = "invalid-csr"


class ProfileError(PKIError):
    code = "profile-error"


class UnknownCertificate(PKIError):
    code = "unknown-certificate"


class AlreadyRevoked(PKIError):
    code = "already-revoked"


class AuthorityError(PKIError):
    code = "authority-error"
