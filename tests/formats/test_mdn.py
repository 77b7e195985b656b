"""MDN (RFC 8098) in the ANS form: made, read back, an ANS-shaped MDN read, bad input refused.

The hand-written MDN below follows the ANS guide "struct-msg-mdn" (error form
``processed/Error: 902^Identifiant de patient inconnu``); addresses are synthetic.
"""

from __future__ import annotations

import contextlib
from email import message_from_bytes, policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.formats.errors import FormatError
from caducee.formats.mdn import (
    ANS_ERROR_CODES,
    MDN,
    IntegrationError,
    MDNError,
    auto_send_allowed,
    make_mdn,
    mdn_requested,
    read_mdn,
)

SUBJECT = "XDM/1.0/DDM+CR de consultation DUPONT Jean 01/02/1960"  # synthetic patient
ORIGINAL = (
    "Return-Path: <dr.martin@cab-exemple.mssante.fr>\r\n"
    "From: dr.martin@cab-exemple.mssante.fr\r\n"
    "To: secretariat.cardio@ch-exemple.mssante.fr\r\n"
    f"Subject: {SUBJECT}\r\n"
    "Message-ID: <orig-1@cab-exemple.mssante.fr>\r\n"
    "Disposition-Notification-To: dr.martin@cab-exemple.mssante.fr\r\n"
    "X-MSS-NIL: CADUCEE-TEST\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nCorps synthétique.\r\n"
).encode()


def test_processed_made_and_read_back() -> None:
    mdn = MDN(
        "orig-1@cab-exemple.mssante.fr",
        "secretariat.cardio@ch-exemple.mssante.fr",
        "processed",
        original_recipient="secretariat.cardio@ch-exemple.mssante.fr",
        reporting_ua="Caducee test",
    )
    raw = make_mdn(ORIGINAL, mdn, from_address=mdn.final_recipient, message_id="mdn-1@ch.test")
    back = read_mdn(raw)
    assert back.ok
    assert back.original_message_id == "orig-1@cab-exemple.mssante.fr"
    assert back.final_recipient == mdn.final_recipient
    assert back.original_recipient == mdn.original_recipient
    assert back.disposition_type == "processed"
    assert back.automatic
    assert back.subject.endswith(SUBJECT)
    # An independent reading with the email package's modern policy: three parts, in order.
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "disposition-notification"
    kinds = [p.get_content_type() for p in parsed.iter_parts()]
    assert kinds == ["text/plain", "message/disposition-notification", "message/rfc822"]
    assert parsed["To"] == "dr.martin@cab-exemple.mssante.fr"
    assert parsed["In-Reply-To"] == "<orig-1@cab-exemple.mssante.fr>"
    assert b"Corps synth" in raw  # the original rides along


@pytest.mark.parametrize("code", sorted(ANS_ERROR_CODES))
def test_error_codes_round_trip(code: str) -> None:
    mdn = MDN(
        "orig-1@cab-exemple.mssante.fr", "b@ch.test", "processed", error=IntegrationError(code)
    )
    raw = make_mdn(ORIGINAL, mdn, from_address="b@ch.test", message_id=f"mdn-{code}@ch.test")
    back = read_mdn(raw)
    assert back.error is not None
    assert back.error.code == code
    assert back.subject.startswith(f"[KO Intégration système !][{code}] XDM/1.0/DDM+")
    assert f"processed/Error: {code}^".encode() in raw


ANS_MDN = b"""From: secretariat.cardio@ch-exemple.mssante.fr\r
To: dr.martin@cab-exemple.mssante.fr\r
Subject: =?UTF-8?Q?[KO_Int=C3=A9gration_syst=C3=A8me_!][902]_XDM/1.0/DDM+CR?=\r
Message-ID: <ack-902@ch-exemple.mssante.fr>\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=disposition-notification; boundary="b1"\r
\r
--b1\r
Content-Type: text/plain; charset=UTF-8\r
\r
Erreur d'integration.\r
--b1\r
Content-Type: message/disposition-notification\r
\r
Reporting-UA: PFI-HOPITAL; synthetique\r
Original-Recipient: rfc822;secretariat.cardio@ch-exemple.mssante.fr\r
Final-Recipient: rfc822;secretariat.cardio@ch-exemple.mssante.fr\r
Original-Message-ID: <orig-1@cab-exemple.mssante.fr>\r
Disposition: automatic-action/MDN-sent-automatically; processed/Error: 902^Identifiant de patient inconnu\r
--b1\r
Content-Type: message/rfc822\r
\r
Subject: x\r
\r
original\r
--b1--\r
"""  # noqa: E501 (the Disposition line is written as the ANS guide writes it)


def test_ans_shaped_mdn_read() -> None:
    mdn = read_mdn(ANS_MDN)
    assert mdn.error == IntegrationError("902", "Identifiant de patient inconnu")
    assert mdn.original_message_id == "orig-1@cab-exemple.mssante.fr"
    assert mdn.reporting_ua == "PFI-HOPITAL; synthetique"
    assert mdn.subject.startswith("[KO Intégration système !][902]")


def test_requested_and_auto_send() -> None:
    headers = message_from_bytes(ORIGINAL)
    assert mdn_requested(headers) == "dr.martin@cab-exemple.mssante.fr"
    assert auto_send_allowed(headers)
    other = message_from_bytes(ORIGINAL.replace(b"Return-Path: <dr.martin", b"Return-Path: <x"))
    assert not auto_send_allowed(other)
    plain = message_from_bytes(b"Subject: x\r\n\r\nbody")
    assert mdn_requested(plain) is None and not auto_send_allowed(plain)
    with pytest.raises(MDNError, match="did not ask"):
        make_mdn(b"Subject: x\r\n\r\n", MDN("a@b.c", "d@e.f", "processed"), from_address="d@e.f",
                 message_id="m@e.f")  # fmt: skip


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"Subject: x\r\n\r\nbody", "not a multipart/report"),
        (ANS_MDN.replace(b"message/disposition-notification", b"text/plain"), "no message/disp"),
        (ANS_MDN.replace(b"Disposition: automatic-action", b"Disposition: sideways"), "Disp"),
        (ANS_MDN.replace(b"processed/Error", b"exploded/Error"), "disposition type"),
        (ANS_MDN.replace(b"Final-Recipient", b"X-Final"), "lacks Final-Recipient"),
    ],
)
def test_bad_mdn_refused(data: bytes, reason: str) -> None:
    with pytest.raises(MDNError, match=reason):
        read_mdn(data)


def test_values_checked() -> None:
    with pytest.raises(MDNError):
        IntegrationError("999")
    with pytest.raises(MDNError):
        MDN("a@b.c", "d@e.f", "read")
    assert IntegrationError("906", "a^b\r\nc").text == "a b c"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=0, max_value=len(ANS_MDN)))
def test_fuzz_only_mdn_errors(noise: bytes, position: int) -> None:
    mutated = ANS_MDN[:position] + noise + ANS_MDN[position + len(noise) :]
    with contextlib.suppress(MDNError):
        mdn = read_mdn(mutated)
        assert mdn.disposition_type in ("displayed", "dispatched", "processed", "deleted")
    assert issubclass(MDNError, FormatError)
