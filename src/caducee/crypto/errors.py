"""Errors of the crypto core.

    CaduceeError
     └── CryptoError
          ├── MalformedMessage        DER/BER/MIME that cannot be read
          ├── UnsupportedAlgorithm    an algorithm we do not (or refuse to) implement
          ├── NoRecipientForKey       no RecipientInfo for our certificate
          ├── DecryptionFailed        the content key or the content does not decrypt
          ├── SignatureInvalid        the signature, or the message digest, does not match
          ├── CertificateError        the signer's (or recipient's) certificate is not acceptable
          │    ├── CertificateMissing
          │    ├── CertificateExpired
          │    ├── CertificateRevoked
          │    ├── UntrustedCertificate   no path to a trust anchor
          │    ├── KeyUsageNotAllowed     keyUsage / extendedKeyUsage forbid this use
          │    ├── RevocationUnknown      no CRL or OCSP answer could be had
          │    └── SenderMismatch         the certificate's address is not the message's From
          └── KeySourceError
               ├── WrongPassphrase
               ├── TokenAbsent
               └── KeyNotFound

Verifiers raise one of these; they never return a bare boolean.
"""

from caducee.errors import CaduceeError


class CryptoError(CaduceeError):
    code = "crypto-error"


class MalformedMessage(CryptoError):
    code = "malformed-message"


class UnsupportedAlgorithm(CryptoError):
    code = "unsupported-algorithm"


class NoRecipientForKey(CryptoError):
    code = "no-recipient-for-key"


class DecryptionFailed(CryptoError):
    code = "decryption-failed"


class SignatureInvalid(CryptoError):
    code = "signature-invalid"


class CertificateError(CryptoError):
    code = "certificate-error"


class CertificateMissing(CertificateError):
    code = "certificate-missing"


class CertificateExpired(CertificateError):
    code = "certificate-expired"


class CertificateRevoked(CertificateError):
    code = "certificate-revoked"


class UntrustedCertificate(CertificateError):
    code = "certificate-untrusted"


class KeyUsageNotAllowed(CertificateError):
    code = "key-usage-not-allowed"


class RevocationUnknown(CertificateError):
    code = "revocation-unknown"


class SenderMismatch(CertificateError):
    code = "sender-mismatch"


class KeySourceError(CryptoError):
    code = "key-source-error"


class WrongPassphrase(KeySourceError):
    code = "wrong-passphrase"


class TokenAbsent(KeySourceError):
    code = "token-absent"


class KeyNotFound(KeySourceError):
    code = "key-not-found"
