"""Property tests of what the server parses from clients: ciphertext envelopes and JSON bodies.

Whatever the bytes or the JSON, the answer is a checked envelope or request, or one of the
typed errors the routes map to problem+json; never another exception.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from caducee.instant._hpke import Kem
from caducee.instant.device_keys import DeviceKeys
from caducee.instant.envelope import Envelope, MessageKind, check_envelope
from caducee.instant.errors import (
    InstantSignatureInvalid,
    MalformedInstantData,
    NotAMember,
    UnsupportedSuite,
)
from caducee.instant.sender_keys import SenderKeyGroup
from caducee.server.instant_cases import CaseRequest, MessageRequest
from caducee.server.instant_devices import DeviceRequest
from caducee.server.instant_roles import ShiftRequest, UnitRequest

CASE = "0b6f3c7e-1d2a-4c8e-9f00-123456789abc"
ME = DeviceKeys.generate("phone-1", "dr.a@synthetic.caducee.test", kem=Kem.X25519)
PEER = DeviceKeys.generate("laptop-1", "dr.b@synthetic.caducee.test", kem=Kem.X25519)
CIPHER = SenderKeyGroup(CASE, ME, [PEER.public()])
MESSAGE = CIPHER.encrypt(b"synthetic")
KEY = CIPHER.distributions()[0].payload
SIGNING = ME.public().signing_public
REFUSALS = (MalformedInstantData, NotAMember, InstantSignatureInvalid, UnsupportedSuite)
kinds = st.sampled_from(list(MessageKind))


def check(kind: MessageKind, data: bytes) -> Envelope:
    return check_envelope(
        kind, data, case_id=CASE, sender_device_id="phone-1", signing_public=SIGNING
    )


def test_genuine_envelopes_are_read() -> None:
    envelope = check(MessageKind.MESSAGE, MESSAGE)
    assert envelope.counter == 0 and envelope.recipient_device_id is None
    assert check(MessageKind.KEY, KEY).recipient_device_id == "laptop-1"


@given(kinds, st.binary(max_size=500))
def test_any_bytes_are_refused_with_a_typed_error(kind: MessageKind, data: bytes) -> None:
    with pytest.raises(REFUSALS):
        check(kind, data)


@given(kinds, st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_any_flipped_byte_of_a_genuine_envelope_is_refused(
    kind: MessageKind, at: int, mask: int
) -> None:
    genuine = KEY if kind is MessageKind.KEY else MESSAGE
    data = bytearray(genuine)
    data[at % len(data)] ^= mask
    with pytest.raises(REFUSALS):
        check(kind, bytes(data))


@given(kinds, st.integers(min_value=0, max_value=len(MESSAGE) - 1))
def test_any_truncation_is_refused(kind: MessageKind, size: int) -> None:
    genuine = KEY if kind is MessageKind.KEY else MESSAGE
    with pytest.raises(REFUSALS):
        check(kind, genuine[: size % len(genuine)])


def test_another_case_or_device_is_refused() -> None:
    with pytest.raises(NotAMember):
        check_envelope(
            MessageKind.MESSAGE,
            MESSAGE,
            case_id="other",
            sender_device_id="phone-1",
            signing_public=SIGNING,
        )
    with pytest.raises(InstantSignatureInvalid):
        check_envelope(
            MessageKind.MESSAGE,
            MESSAGE,
            case_id=CASE,
            sender_device_id="phone-1",
            signing_public=PEER.public().signing_public,
        )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=12,
)
MODELS: list[tuple[type[Any], list[str]]] = [
    (MessageRequest, ["message_id", "device_id", "kind", "ciphertext"]),
    (CaseRequest, ["participants", "role"]),
    (DeviceRequest, ["statement"]),
    (UnitRequest, ["organisation", "kind", "name", "service", "head", "escalation_seconds"]),
    (ShiftRequest, ["address", "position", "starts_at", "ends_at", "day", "start", "end"]),
]


@pytest.mark.parametrize(("model", "names"), MODELS)
@given(data=st.data())
def test_request_bodies_parse_or_fail_validation_only(
    model: type[Any], names: list[str], data: st.DataObject
) -> None:
    body = data.draw(st.dictionaries(st.sampled_from([*names, "extra"]), json_values))
    try:
        parsed = model.model_validate(body)
    except ValidationError:
        return
    assert "extra" not in body  # unknown members are refused
    assert set(parsed.model_dump(exclude_unset=True)) <= set(names)


@given(st.text(max_size=30))
def test_a_message_kind_is_one_of_six_or_refused(kind: str) -> None:
    body = {"message_id": "m", "device_id": "d", "kind": kind, "ciphertext": "eA=="}
    try:
        parsed = MessageRequest.model_validate(body)
    except ValidationError:
        assert kind not in {k.value for k in MessageKind}
        return
    assert parsed.kind.value == kind
