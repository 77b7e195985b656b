"""Errors of the prescriptions part: one tree, stable codes, messages French then English.

CaduceeError
 └── PrescriptionError
      ├── InvalidPrescription       the bundle is not valid FHIR or breaks our rules
      │    ├── InvalidDrugCode      a CIP13/UCD13 of the wrong shape, prefix or key
      │    ├── UnknownDrug          a well-formed code that the drug database lacks
      │    └── ImplausibleDosage    a dosage no prescriber means (0, 1000 a day, ...)
      ├── InvalidPrescriptionId     not ``FFF.NNN.NNN.NNN.NNN.CC`` or a wrong check
      ├── InvalidPaperCode          a scanned 2D code that is not ours
      ├── SignatureRejected         the prescriber's signature or certificate is refused
      ├── UnknownTask               no such prescription (or not visible to the caller)
      ├── TransitionRefused         the task is not in a state that allows the action
      ├── NotAllowed                the caller's role may not do this
      ├── DispenseRejected          dispensing lines that do not match the prescription
      └── CardRejected              the card's answer is refused
           ├── CardUntrusted        the card's certificate is not from a card CA we trust
           ├── CardExpired          the card's certificate is outside its validity
           ├── CardAccessExpired    the access granted by the card is over (30 min)
           └── CardAccessNotYours   another pharmacy's access token
"""

from __future__ import annotations

from caducee.errors import CaduceeError

__all__ = [
    "CardAccessExpired",
    "CardAccessNotYours",
    "CardExpired",
    "CardRejected",
    "CardUntrusted",
    "DispenseRejected",
    "ImplausibleDosage",
    "InvalidDrugCode",
    "InvalidPaperCode",
    "InvalidPrescription",
    "InvalidPrescriptionId",
    "NotAllowed",
    "PrescriptionError",
    "SignatureRejected",
    "TransitionRefused",
    "UnknownDrug",
    "UnknownTask",
]


class PrescriptionError(CaduceeError):
    """Something the prescriptions service refused, with a reason a person can act on."""

    code = "prescription-error"


class InvalidPrescription(PrescriptionError):
    code = "invalid-prescription"


class InvalidDrugCode(InvalidPrescription):
    code = "invalid-drug-code"


class UnknownDrug(InvalidPrescription):
    code = "unknown-drug"


class ImplausibleDosage(InvalidPrescription):
    code = "implausible-dosage"


class InvalidPrescriptionId(PrescriptionError):
    code = "invalid-prescription-id"


class InvalidPaperCode(PrescriptionError):
    code = "invalid-paper-code"


class SignatureRejected(PrescriptionError):
    code = "signature-rejected"


class UnknownTask(PrescriptionError):
    code = "unknown-prescription"


class TransitionRefused(PrescriptionError):
    """The action is not allowed from the task's current status (``status`` says which)."""

    code = "transition-refused"

    def __init__(self, message: str, *, status: str, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status


class NotAllowed(PrescriptionError):
    code = "not-allowed"


class DispenseRejected(PrescriptionError):
    code = "dispense-rejected"


class CardRejected(PrescriptionError):
    code = "card-rejected"


class CardUntrusted(CardRejected):
    code = "card-untrusted"


class CardExpired(CardRejected):
    code = "card-expired"


class CardAccessExpired(CardRejected):
    code = "card-access-expired"


class CardAccessNotYours(CardRejected):
    code = "card-access-not-yours"
