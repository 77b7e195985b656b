"""Dematerialised prescriptions: deposit, card access, dispensing (issue #9).

The pure core (bundle, codes, ids, dosages, paper code, states, card, receipt, BDPM reader)
imports no database; the services (``service``, ``access``, ``drugs``) run on the store and
write evidence to the ledger in the same transaction as each transition.
"""

from caducee.prescriptions.access import AccessEntry, CardAccess, Grant
from caducee.prescriptions.bdpm import BDPMDrug, BDPMImport, read_bdpm, sample_bdpm
from caducee.prescriptions.bundle import Prescription, PrescriptionLine, build_bundle, parse_bundle
from caducee.prescriptions.card import (
    CARD_ACCESS_LIFETIME,
    PATIENT_AUDIENCE,
    CardHolder,
    CardVerifier,
    card_challenge_data,
    create_card_ca,
    issue_card_certificate,
    sign_card_challenge,
)
from caducee.prescriptions.codes import DrugCode, DrugCodeKind, ean13_check_digit, parse_drug_code
from caducee.prescriptions.dispense import DispenseItem, Outcome, check_dispense
from caducee.prescriptions.dosage import Dosage
from caducee.prescriptions.drugs import DrugCatalogue, DrugEntry
from caducee.prescriptions.errors import (
    CardAccessExpired,
    CardAccessNotYours,
    CardExpired,
    CardRejected,
    CardUntrusted,
    DispenseRejected,
    ImplausibleDosage,
    InvalidDrugCode,
    InvalidPaperCode,
    InvalidPrescription,
    InvalidPrescriptionId,
    NotAllowed,
    PrescriptionError,
    SignatureRejected,
    TransitionRefused,
    UnknownDrug,
    UnknownTask,
)
from caducee.prescriptions.ids import new_prescription_id, parse_prescription_id
from caducee.prescriptions.paper_code import (
    PaperCode,
    paper_code_payload,
    parse_paper_code,
    to_qr_svg,
)
from caducee.prescriptions.receipt import ReceiptInvalid, SignedReceipt, verify_receipt
from caducee.prescriptions.roles import Caller, Role, load_caller
from caducee.prescriptions.service import AcceptedTask, PrescriptionService, TaskView
from caducee.prescriptions.states import Action, TaskStatus, next_status

__all__ = [
    "CARD_ACCESS_LIFETIME",
    "PATIENT_AUDIENCE",
    "AcceptedTask",
    "AccessEntry",
    "Action",
    "BDPMDrug",
    "BDPMImport",
    "Caller",
    "CardAccess",
    "CardAccessExpired",
    "CardAccessNotYours",
    "CardExpired",
    "CardHolder",
    "CardRejected",
    "CardUntrusted",
    "CardVerifier",
    "DispenseItem",
    "DispenseRejected",
    "Dosage",
    "DrugCatalogue",
    "DrugCode",
    "DrugCodeKind",
    "DrugEntry",
    "Grant",
    "ImplausibleDosage",
    "InvalidDrugCode",
    "InvalidPaperCode",
    "InvalidPrescription",
    "InvalidPrescriptionId",
    "NotAllowed",
    "Outcome",
    "PaperCode",
    "Prescription",
    "PrescriptionError",
    "PrescriptionLine",
    "PrescriptionService",
    "ReceiptInvalid",
    "Role",
    "SignatureRejected",
    "SignedReceipt",
    "TaskStatus",
    "TaskView",
    "TransitionRefused",
    "UnknownDrug",
    "UnknownTask",
    "build_bundle",
    "card_challenge_data",
    "check_dispense",
    "create_card_ca",
    "ean13_check_digit",
    "issue_card_certificate",
    "load_caller",
    "new_prescription_id",
    "next_status",
    "paper_code_payload",
    "parse_bundle",
    "parse_drug_code",
    "parse_paper_code",
    "parse_prescription_id",
    "read_bdpm",
    "sample_bdpm",
    "sign_card_challenge",
    "to_qr_svg",
    "verify_receipt",
]
