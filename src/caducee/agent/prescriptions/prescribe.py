"""From the prescriber's form to a signed bundle: read the fields, build, sign on this workstation.

The form is outside input: every field is checked by the pure core (NIR key, drug code,
plausible dosage) before anything is signed or sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from caducee.crypto.cms_sign import SignerKey, sign_data
from caducee.pki import rpps_of
from caducee.prescriptions import (
    Dosage,
    InvalidPrescription,
    PrescriptionLine,
    build_bundle,
    parse_drug_code,
)

__all__ = ["MAX_FORM_LINES", "lines_from_form", "sign_prescription"]

MAX_FORM_LINES = 3


def _int(form: Mapping[str, str], name: str, default: int | None = None) -> int:
    text = (form.get(name) or "").strip()
    if not text and default is not None:
        return default
    if not text.isdigit() or len(text) > 4:
        raise InvalidPrescription(f"{name} : nombre entier attendu / a whole number is expected")
    return int(text)


def lines_from_form(form: Mapping[str, str]) -> list[PrescriptionLine]:
    """The filled lines (``line{n}_code`` or ``line{n}_preparation`` set) of the form."""
    lines = []
    for n in range(1, MAX_FORM_LINES + 1):
        code = (form.get(f"line{n}_code") or "").strip()
        preparation = (form.get(f"line{n}_preparation") or "").strip()
        if not code and not preparation:
            continue
        dosage = Dosage.checked(
            form.get(f"line{n}_amount") or "",
            form.get(f"line{n}_unit") or "",
            _int(form, f"line{n}_frequency"),
            form.get(f"line{n}_period") or "d",
            _int(form, f"line{n}_duration"),
        )
        lines.append(
            PrescriptionLine(
                dosage=dosage,
                quantity=_int(form, f"line{n}_quantity", 1),
                drug=parse_drug_code(code) if code else None,
                preparation=None if code else preparation,
                label=(form.get(f"line{n}_label") or "")[:200] if code else "",
                renewals=_int(form, f"line{n}_renewals", 0),
            )
        )
    if not lines:
        raise InvalidPrescription("aucune ligne remplie / no line filled in")
    return lines


def _name(certificate: x509.Certificate) -> str:
    def first(oid: x509.ObjectIdentifier) -> str:
        values = certificate.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else ""

    name = f"{first(NameOID.GIVEN_NAME)} {first(NameOID.SURNAME)}".strip()
    return name or first(NameOID.COMMON_NAME) or first(NameOID.EMAIL_ADDRESS)


def sign_prescription(
    form: Mapping[str, str], task_id: str, certificate: x509.Certificate, key: SignerKey
) -> bytes:
    """The CMS SignedData (RFC 5652) of the bundle built from ``form``."""
    rpps = rpps_of(certificate.subject)
    if rpps is None:
        raise InvalidPrescription(
            "votre certificat ne porte pas de RPPS / your certificate carries no RPPS"
        )
    try:
        birth = date.fromisoformat((form.get("birth_date") or "").strip())
    except ValueError:
        raise InvalidPrescription("date de naissance invalide / invalid birth date") from None
    family, given = (form.get("family") or "").strip(), (form.get("given") or "").strip()
    if not family or not given or len(family) > 100 or len(given) > 100:
        raise InvalidPrescription("nom et prénom requis / name and given name required")
    bundle = build_bundle(
        prescription_id=task_id,
        nir=(form.get("nir") or "").strip(),
        patient_family=family,
        patient_given=given,
        birth_date=birth,
        gender="male" if form.get("gender") == "male" else "female",
        rpps=rpps,
        prescriber_name=_name(certificate),
        authored_on=datetime.now(UTC).replace(microsecond=0),
        lines=lines_from_form(form),
    )
    return sign_data(bundle, certificate, key)
