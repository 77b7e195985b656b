"""The hub's client frame parser: anything a client sends is a frame or one typed error."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caducee.instant.bus import parse_event
from caducee.instant.errors import MalformedInstantData
from caducee.instant.frames import MAX_FRAME, Hello, Ping, Typing, parse_client_frame

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.text(max_size=300))
def test_any_text_is_a_frame_or_a_malformed_error(text: str) -> None:
    try:
        frame = parse_client_frame(text)
    except MalformedInstantData:
        return
    assert isinstance(frame, Hello | Ping | Typing)


KINDS = st.sampled_from(["hello", "ping", "typing", "x"])
MEMBERS = st.sampled_from(["type", "device", "cursors", "token", "case_id", "x"])


@given(
    st.dictionaries(MEMBERS, json_values)
    | st.fixed_dictionaries(
        {"type": KINDS}, optional={"device": json_values, "case_id": json_values, "x": json_values}
    )
)
def test_any_json_object_is_a_frame_or_a_malformed_error(data: dict[str, object]) -> None:
    try:
        frame = parse_client_frame(json.dumps(data))
    except MalformedInstantData:
        return
    if isinstance(frame, Hello):
        assert data["type"] == "hello" and frame.device_id == data["device"]
        assert all(isinstance(v, int) and v >= 0 for v in frame.cursors.values())
    elif isinstance(frame, Typing):
        assert data == {"type": "typing", "case_id": frame.case_id}
        assert 0 < len(frame.case_id) <= 128 and frame.case_id.isprintable()
    else:
        assert data == {"type": "ping"}


@given(st.text(min_size=1, max_size=128).filter(str.isprintable))
def test_a_well_formed_typing_round_trips(case_id: str) -> None:
    assert parse_client_frame(json.dumps({"type": "typing", "case_id": case_id})) == Typing(case_id)


@given(
    st.text(min_size=1, max_size=128).filter(str.isprintable),
    st.dictionaries(
        st.text(min_size=1, max_size=36).filter(str.isprintable),
        st.integers(min_value=0, max_value=2**31 - 1),
        max_size=20,
    ),
)
def test_a_well_formed_hello_round_trips(device: str, cursors: dict[str, int]) -> None:
    frame = parse_client_frame(json.dumps({"type": "hello", "device": device, "cursors": cursors}))
    assert frame == Hello(device, cursors)


@pytest.mark.parametrize(
    "bad",
    [
        '{"type": "hello", "device": "d", "cursors": {"c": -1}}',
        '{"type": "hello", "device": "d", "cursors": {"c": true}}',
        '{"type": "hello", "device": "d", "cursors": {"c": 1.5}}',
        '{"type": "hello", "device": "d", "cursors": {"c": 2147483648}}',
        '{"type": "hello", "device": ""}',
        '{"type": "hello", "device": "a\\u0000b"}',
        '{"type": "hello", "device": "d", "token": ""}',
        '{"type": "ping", "device": "d"}',
        '{"type": "typing"}',
        '{"type": "typing", "case_id": ""}',
        '{"type": "typing", "case_id": 7}',
        '{"type": "typing", "case_id": null}',
        '{"type": "typing", "case_id": "a\\u0007b"}',
        '{"type": "typing", "case_id": "c", "text": "what is typed"}',
        f'{{"type": "typing", "case_id": "{"c" * 129}"}}',
        "[" * 100_000,
        " " * (MAX_FRAME + 1),
    ],
)
def test_bad_frames_are_refused(bad: str) -> None:
    with pytest.raises(MalformedInstantData):
        parse_client_frame(bad)


@given(st.text(max_size=80))
def test_bus_payloads_parse_to_ids_or_nothing(payload: str) -> None:
    event = parse_event(payload)
    if event is not None:
        assert payload == f"{event[0]} {event[1]}"


def test_a_bus_payload_round_trips() -> None:
    assert parse_event("0b6f3c7e-1d2a-4c8e-9f00-123456789abc 42") == (
        "0b6f3c7e-1d2a-4c8e-9f00-123456789abc",
        42,
    )
    assert parse_event("x; DROP TABLE 1") is None
    assert parse_event("abc 007") is None  # one spelling per event
