"""Errors of the MISS crypto core.

    CaduceeError
     └── InstantCryptoError
          ├── MalformedInstantData     bytes from outside that do not parse
          ├── UnsupportedSuite         an HPKE suite or wire version we do not speak
          ├── ForgedDeviceStatement    a device statement not signed by the person's certificate
          ├── InstantSignatureInvalid  a message or a key distribution with a bad Ed25519 signature
          ├── InstantDecryptionFailed  the AEAD (AES-GCM or HPKE) refuses the ciphertext
          ├── NotAMember               a case or a device we are not in (or no longer)
          ├── UnknownSenderKey         no sender key received yet for that device and generation
          ├── ReplayedMessage          a message counter already used
          └── MessageOutOfWindow       too old (its key is gone) or too far ahead (skip bound)

Parsers of outside input raise one of these and nothing else.
"""

from caducee.errors import CaduceeError


class InstantCryptoError(CaduceeError):
    code = "instant-crypto-error"


class MalformedInstantData(InstantCryptoError):
    code = "instant-malformed"


class UnsupportedSuite(InstantCryptoError):
    code = "instant-unsupported-suite"


class ForgedDeviceStatement(InstantCryptoError):
    code = "instant-forged-device"


class InstantSignatureInvalid(InstantCryptoError):
    code = "instant-signature-invalid"


class InstantDecryptionFailed(InstantCryptoError):
    code = "instant-decryption-failed"


class NotAMember(InstantCryptoError):
    code = "instant-not-a-member"


class UnknownSenderKey(InstantCryptoError):
    code = "instant-unknown-sender-key"


class ReplayedMessage(InstantCryptoError):
    code = "instant-replayed"


class MessageOutOfWindow(InstantCryptoError):
    code = "instant-out-of-window"
