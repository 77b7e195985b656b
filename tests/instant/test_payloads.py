"""The decrypted payload format shared by the browser app and the Python client.

SYNTHETIC TEST MATERIAL: patients and texts are invented.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.instant.errors import MalformedInstantData
from caducee.instant.payloads import (
    Acknowledgement,
    Attachment,
    Deletion,
    Edit,
    PatientCard,
    Payload,
    Read,
    Text,
    decode_payload,
    encode_payload,
)

PAYLOAD_TYPES = (PatientCard, Text, Edit, Deletion, Attachment, Read, Acknowledgement)
SAMPLES: list[Payload] = [
    PatientCard("1234567890123", "DUPONT Jeanne", "1950-01-02", stay="S-1"),
    PatientCard("", "MARTIN Paul", ""),
    Text("Kaliémie à 6,1 : rappelez-moi"),
    Text("oui", reply_to="miss-1@web-a"),
    Edit("miss-1@web-a", "Kaliémie à 6,2"),
    Deletion("miss-1@web-a"),
    Attachment("photo", "plaie.jpg", "image/jpeg", b"\xff\xd8\xff", caption="J3", blurred=True),
    Attachment("file", "cr.pdf", "application/pdf", b"%PDF-1.7", reply_to="miss-2@web-b"),
    Read(17),
    Acknowledgement(),
]


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda p: type(p).__name__)
def test_every_payload_reads_back_as_written(payload: Payload) -> None:
    assert decode_payload(encode_payload(payload)) == payload


def test_the_wire_form_is_the_documented_json() -> None:
    assert json.loads(encode_payload(Read(3))) == {"type": "read", "upTo": 3}
    assert json.loads(encode_payload(Deletion("m"))) == {"type": "deletion", "target": "m"}
    photo = json.loads(encode_payload(SAMPLES[6]))
    assert photo["data"] == "/9j/" and photo["blurred"] is True
    assert "blurred" not in json.loads(encode_payload(SAMPLES[7]))


def test_plain_bytes_from_an_older_client_read_as_text() -> None:
    assert decode_payload(b"bonjour") == Text("bonjour")
    assert decode_payload(b"[1, 2]") == Text("[1, 2]")
    assert decode_payload(b"\xff\xfe") == Text("\ufffd\ufffd")


def test_an_unknown_type_is_shown_not_lost() -> None:
    found = decode_payload(b'{"type": "poll", "question": "?"}')
    assert isinstance(found, Text) and '"poll"' in found.text


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type": "text"}',
        b'{"type": "text", "text": 3}',
        b'{"type": "edit", "text": "x"}',
        b'{"type": "deletion", "target": ""}',
        b'{"type": "photo", "name": "a", "media_type": "image/png", "data": "***"}',
        b'{"type": "file", "name": "a", "media_type": "x", "data": "AA==", "blurred": 1}',
        b'{"type": "read", "upTo": -1}',
        b'{"type": "read", "upTo": true}',
        b'{"type": "patient", "patient": "DUPONT"}',
    ],
)
def test_a_known_type_without_what_it_needs_is_refused(raw: bytes) -> None:
    with pytest.raises(MalformedInstantData):
        decode_payload(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_read_as_a_payload_or_a_clear_refusal(raw: bytes) -> None:
    with contextlib.suppress(MalformedInstantData):
        assert isinstance(decode_payload(raw), PAYLOAD_TYPES)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["patient", "text", "edit", "deletion", "photo", "file", "read", "ack"]),
    st.dictionaries(
        st.sampled_from(["text", "target", "name", "media_type", "data", "upTo", "patient"]),
        json_values,
    ),
)
def test_objects_of_known_types_with_any_fields_never_crash(kind: str, fields: dict) -> None:
    raw = json.dumps({**fields, "type": kind}).encode()
    with contextlib.suppress(MalformedInstantData):
        assert isinstance(decode_payload(raw), PAYLOAD_TYPES)
