"""X-MSS-* headers (MSSanté Référentiel #2 §3.8), read and set."""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser

import pytest

from caducee.gateway import HeaderError, MSSHeaders, read_mss_headers, set_mss_headers
from caducee.gateway.errors import SMTPRefusal, TooLarge

SAMPLE = (
    b"From: dr.martin@cab-exemple.mssante.fr\r\n"
    b"To: secretariat.cardio@ch-exemple.mssante.fr\r\n"
    b"X-MSS-NIL: REF-PRODUIT-SYNTH\r\n"
    b"X-MSS-CODECDA: 11488-4, PRESC-BIO\r\n"
    b"X-MSS-INS: o\r\n\r\nbody\r\n"
)


def test_read() -> None:
    headers = read_mss_headers(BytesParser().parsebytes(SAMPLE))
    assert headers == MSSHeaders(
        codes_cda=("11488-4", "PRESC-BIO"), ins_qualified=True, nil="REF-PRODUIT-SYNTH"
    )
    headers.check_for(["secretariat.cardio@ch-exemple.mssante.fr"])
    empty = read_mss_headers(Message())
    assert empty == MSSHeaders()
    with pytest.raises(HeaderError):
        empty.check_for(["a@b.fr"])  # X-MSS-NIL on every message


def test_set_replaces() -> None:
    message = BytesParser().parsebytes(SAMPLE)
    wanted = MSSHeaders(nil="REF-2", end_of_conversation=True)
    set_mss_headers(message, wanted)
    assert message.get_all("X-MSS-CODECDA") is None and message["X-MSS-MES"] == "FIN"
    assert read_mss_headers(message) == wanted
    wanted.check_for(["123456789012345@patient.mssante.fr"])
    with pytest.raises(HeaderError):
        wanted.check_for(["dr@ch-exemple.mssante.fr"])  # FIN only towards patients


@pytest.mark.parametrize(
    "raw",
    [
        b"X-MSS-INS: maybe\r\nX-MSS-CODECDA: 1\r\n\r\n",
        b"X-MSS-MES: NOT-FIN\r\n\r\n",
        b"X-MSS-NIL: a\r\nX-MSS-NIL: b\r\n\r\n",
        b"X-MSS-INS: O\r\n\r\n",  # INS without CODECDA
        b"X-MSS-CODECDA: bad code!\r\n\r\n",
        b"X-MSS-NIL: \xc3\xa9t\xc3\xa9\r\n\r\n",
    ],
)
def test_invalid(raw: bytes) -> None:
    with pytest.raises(HeaderError):
        read_mss_headers(BytesParser().parsebytes(raw))


def test_refusal_reply_is_one_ascii_line() -> None:
    reply = TooLarge("trop\r\ngrand: réessayez " + "x" * 600).reply
    assert reply.startswith("552 5.3.4 trop grand: reessayez ")
    assert reply.isascii() and "\n" not in reply and len(reply) <= 510
    assert isinstance(TooLarge("x"), SMTPRefusal)
