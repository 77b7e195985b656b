"""The inner message is read back by the standard library's MIME parser exactly as written."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.agent.incoming import attachments_of, parse_inner
from caducee.agent.inner import build_inner_message
from caducee.policy.content import unique_names

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_headers_and_parts() -> None:
    raw = build_inner_message(
        sender="labo.fictif@caducee.test",
        recipients=["dr.a@caducee.test", "dr.b@caducee.test"],
        filename="résultat ÉTÉ.hpr",
        data=b"contenu\r\n",
        message_id="abc@caducee.test",
        date=WHEN,
        companions=[("résultat ÉTÉ.pdf", b"%PDF-1.7")],
    )
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    message = _parse(raw)
    assert message["From"] == "labo.fictif@caducee.test"
    assert message["To"] == "dr.a@caducee.test, dr.b@caducee.test"
    assert message["Message-ID"] == "<abc@caducee.test>"
    assert message["Subject"] == "Document : résultat ÉTÉ.hpr"
    assert message["Date"].datetime == WHEN
    assert message.defects == []
    assert attachments_of(message) == [
        ("résultat ÉTÉ.hpr", b"contenu\r\n"),
        ("résultat ÉTÉ.pdf", b"%PDF-1.7"),
    ]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "Caducée" in body.get_content()


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=300), st.binary(max_size=3000)),
        min_size=1,
        max_size=4,
    )
)
@settings(max_examples=150, deadline=None)
def test_any_names_and_bytes_come_back_unchanged(files: list[tuple[str, bytes]]) -> None:
    (name, data), *companions = files
    raw = build_inner_message(
        sender="labo.fictif@caducee.test",
        recipients=["dr.a@caducee.test"],
        filename=name,
        data=data,
        message_id="m@caducee.test",
        date=WHEN,
        companions=companions,
    )
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    expected = list(zip(unique_names([n for n, _ in files]), (d for _, d in files), strict=True))
    assert attachments_of(_parse(raw)) == expected  # the default policy
    assert attachments_of(parse_inner(raw)) == expected  # what the receiver uses


def test_a_message_from_another_mailer_is_read_too() -> None:
    """A peer's message: an inline HTML body, a named inline part, a text-only message."""
    raw = (
        b"From: x@caducee.test\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/html\r\n\r\n<p>Bonjour</p>\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: inline; filename="cr.pdf"\r\n\r\n%PDF-1.7\r\n--b--\r\n'
    )
    assert attachments_of(parse_inner(raw)) == [("cr.pdf", b"%PDF-1.7")]
    text = b"From: x@caducee.test\r\nContent-Type: text/plain\r\n\r\nBonjour\r\n"
    assert attachments_of(parse_inner(text)) == [("message.txt", b"Bonjour\n")]
