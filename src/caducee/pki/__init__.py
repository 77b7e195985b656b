"""The operator PKI: root and issuing CA, certificate profiles, issuance, CRLs and OCSP.

Pure library: no database, no web, no settings. Issued serials and revocation entries are
plain data passed in and out; the server's store persists them.
"""

from caducee.pki.authority import (
    CertificateAuthority,
    create_issuing_ca,
    create_root_ca,
    load_authority,
    random_serial,
    save_authority,
)
from caducee.pki.errors import (
    AlreadyRevoked,
    AuthorityError,
    InvalidCSR,
    PKIError,
    ProfileError,
    UnknownCertificate,
)
from caducee.pki.issuance import issue_certificate, issue_from_csr, load_csr
from caducee.pki.ocsp import OCSPResponder, build_ocsp_response, load_ocsp_request
from caducee.pki.profiles import Holder, PKIURLs, Profile, rpps_of
from caducee.pki.revocation import RevokedEntry, build_crl, revoke

__all__ = [
    "AlreadyRevoked",
    "AuthorityError",
    "CertificateAuthority",
    "Holder",
    "InvalidCSR",
    "OCSPResponder",
    "PKIError",
    "PKIURLs",
    "Profile",
    "ProfileError",
    "RevokedEntry",
    "UnknownCertificate",
    "build_crl",
    "build_ocsp_response",
    "create_issuing_ca",
    "create_root_ca",
    "issue_certificate",
    "issue_from_csr",
    "load_authority",
    "load_csr",
    "load_ocsp_request",
    "random_serial",
    "revoke",
    "rpps_of",
    "save_authority",
]
