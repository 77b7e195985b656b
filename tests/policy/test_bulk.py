"""Bulk detection: the recipient cap, the token buckets, first contacts (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caducee.policy.bulk import (
    HOUR,
    HoldReason,
    Limits,
    SenderBuckets,
    TokenBucket,
    Traffic,
    assess,
)
from caducee.policy.console_errors import InvalidLimits
from caducee.policy.limits import DEFAULTS, SenderProfile, check_scope, scopes_for

PERSON = DEFAULTS["personal"]


def test_the_2014_questionnaire_is_held_at_its_first_message() -> None:
    # One practitioner, a thesis questionnaire for ~11,000 users: 110 envelopes of 100
    # recipients (the relay's cap per message), none of whom they ever wrote to.
    buckets = SenderBuckets.full(PERSON, 0.0)
    verdict = assess(Traffic(recipients=100, new_recipients=100), PERSON, buckets, 0.0)
    assert verdict.reason is HoldReason.TOO_MANY_RECIPIENTS
    assert "100 recipients" in verdict.detail
    # Split into envelopes under the cap, it is still held once the strangers run out.
    held = None
    for i in range(20):
        verdict = assess(Traffic(10, 10), PERSON, buckets, float(i))
        if verdict.held:
            held = i
            break
    assert held == PERSON.new_recipients_per_hour // 10
    assert verdict.reason is HoldReason.TOO_MANY_NEW_RECIPIENTS


def test_a_lab_writing_to_its_usual_gps_is_never_held() -> None:
    lab = DEFAULTS["applicative"]
    buckets = SenderBuckets.full(lab, 0.0)
    for second in range(5_000):  # 5,000 results in 5,000 s to known recipients
        assert not assess(Traffic(1, 0), lab, buckets, float(second)).held


def test_message_bucket_refills_with_time() -> None:
    limits = Limits(5, 3, 100)
    buckets = SenderBuckets.full(limits, 0.0)
    for _ in range(3):
        assert not assess(Traffic(1, 0), limits, buckets, 0.0).held
    assert assess(Traffic(1, 0), limits, buckets, 0.0).reason is HoldReason.TOO_MANY_MESSAGES
    # one token comes back every HOUR / 3 seconds
    assert not assess(Traffic(1, 0), limits, buckets, HOUR / 3).held
    assert assess(Traffic(1, 0), limits, buckets, HOUR / 3).held


def test_held_messages_do_not_spend_tokens() -> None:
    limits = Limits(5, 10, 4)
    buckets = SenderBuckets.full(limits, 0.0)
    assert assess(Traffic(6, 6), limits, buckets, 0.0).held
    assert buckets.messages.level(0.0) == 10
    assert buckets.new_recipients.level(0.0) == 4


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_limits_must_be_positive_integers(bad: object) -> None:
    with pytest.raises(ValueError):
        Limits(bad, 1, 1)  # type: ignore[arg-type]


@given(
    capacity=st.integers(1, 10_000),
    steps=st.lists(
        st.tuples(st.floats(0, 10 * HOUR, allow_nan=False), st.integers(0, 50)), max_size=60
    ),
)
def test_a_bucket_never_exceeds_its_capacity_nor_lends(
    capacity: int, steps: list[tuple[float, int]]
) -> None:
    bucket = TokenBucket.full(capacity, 0.0)
    now = 0.0
    for delta, amount in steps:
        now += delta
        before = bucket.level(now)
        assert 0 <= before <= capacity + 1e-6 or before < 0  # negative only after a take
        if bucket.can_take(amount, now):
            bucket.take(amount, now)
            assert bucket.level(now) >= -1e-6
        assert bucket.level(now) <= capacity + 1e-6


@given(
    limits=st.builds(Limits, st.integers(1, 200), st.integers(1, 500), st.integers(1, 500)),
    traffic=st.lists(st.tuples(st.integers(1, 300), st.integers(0, 300)), max_size=80),
)
def test_accepted_traffic_within_an_instant_never_exceeds_the_limits(
    limits: Limits, traffic: list[tuple[int, int]]
) -> None:
    buckets = SenderBuckets.full(limits, 0.0)
    sent = new = 0
    for recipients, fresh in traffic:
        fresh = min(fresh, recipients)
        verdict = assess(Traffic(recipients, fresh), limits, buckets, 0.0)
        if not verdict.held:
            assert recipients <= limits.recipients_per_message
            sent += 1
            new += fresh
        else:
            assert verdict.detail
    assert sent <= limits.messages_per_hour
    assert new <= limits.new_recipients_per_hour


def test_scopes_most_specific_first() -> None:
    profile = SenderProfile("applicative", "750000001", "lab")
    assert scopes_for(profile) == [
        "org:750000001:applicative",
        "org:750000001",
        "type:lab:applicative",
        "type:lab",
        "kind:applicative",
        "*",
    ]
    assert scopes_for(SenderProfile("personal", None, None)) == ["kind:personal", "*"]


@pytest.mark.parametrize(
    "scope", ["*", "kind:personal", "type:lab", "type:lab:applicative", "org:750000001"]
)
def test_valid_scopes(scope: str) -> None:
    assert check_scope(scope) == scope


@pytest.mark.parametrize("scope", ["", "**", "kind:robot", "type:zoo", "org:12", "org:750000001:x"])
def test_invalid_scopes(scope: str) -> None:
    with pytest.raises(InvalidLimits):
        check_scope(scope)


@given(st.text(max_size=80))
def test_any_scope_text_is_accepted_or_refused_clearly(scope: str) -> None:
    try:
        assert check_scope(scope) == scope
    except InvalidLimits as exc:
        assert exc.code == "invalid-limits" and "scope" in exc.reason
