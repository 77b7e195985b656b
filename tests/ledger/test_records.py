"""Evidence records: canonical bytes, digests, Ed25519 signatures, strict reading."""

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.ledger.canonical_json import canonicalize
from caducee.ledger.errors import MalformedRecord, NotCanonicalizable, RecordSignatureInvalid
from caducee.ledger.merkle import leaf_hash
from caducee.ledger.records import (
    EvidenceEvent,
    EvidenceRecord,
    SignedRecord,
    format_time,
    parse_time,
    sign_record,
    verify_record,
)

from .conftest import make_record


def test_events_are_named_after_etsi_en_319_522() -> None:
    names = {e.value for e in EvidenceEvent}
    assert {
        "SubmissionAcceptance",
        "SubmissionRejection",
        "ContentConsignment",
        "ContentHandover",
        "ConsignmentAcceptance",
        "RelayToExternal",
        "ReceivedFromExternal",
        "CertificateIssued",
        "CertificateRevoked",
        "CharterSigned",
        "ModerationDecision",
        "PrescriptionTransition",
        "DeviceRegistered",
        "DeviceRevoked",
        "CaseRouted",
        "CaseEscalated",
        "CaseAcknowledged",
        "CaseRead",
    } == names


def test_canonical_bytes_are_stable() -> None:
    record = make_record()
    data = record.to_canonical_bytes()
    assert data == canonicalize(json.loads(data))
    assert data.startswith(b'{"actor":"server","ciphertext_sha256":"')
    assert b'"time":"2026-01-02T03:04:05Z"' in data
    assert b'"v":"caducee-evidence/1"' in data
    assert EvidenceRecord.from_json_dict(json.loads(data)) == record


def test_kept_canonical_bytes_follow_the_record() -> None:
    """The bytes are kept once computed: a changed copy gets its own, never the original's."""
    record = make_record(1)
    first = record.to_canonical_bytes()
    assert record.to_canonical_bytes() is first
    moved = dataclasses.replace(record, actor_id="another-relay")
    assert moved.to_canonical_bytes() == canonicalize(moved.to_json_dict()) != first
    assert record == make_record(1)  # what is kept takes no part in equality


def test_digest_chains_records_of_one_message() -> None:
    first = make_record(1)
    second = make_record(1, previous=first.record_digest())
    assert second.previous_record_sha256 == first.record_digest()
    assert len(first.record_digest()) == 64
    assert first.record_digest() != second.record_digest()


def test_sign_and_verify(log_key: Ed25519PrivateKey, other_key: Ed25519PrivateKey) -> None:
    signed = sign_record(make_record(), log_key)
    assert verify_record(signed, log_key.public_key()) == signed.record
    with pytest.raises(RecordSignatureInvalid, match="not signed by the ledger key"):
        verify_record(signed, other_key.public_key())
    tampered = SignedRecord(make_record(2), signed.signature)
    with pytest.raises(RecordSignatureInvalid):
        verify_record(tampered, log_key.public_key())


def test_leaf_is_the_canonical_signed_record(log_key: Ed25519PrivateKey) -> None:
    signed = sign_record(make_record(), log_key)
    assert signed.leaf_hash() == leaf_hash(canonicalize(signed.to_json_dict()))
    assert SignedRecord.from_json_dict(json.loads(signed.to_leaf_data())) == signed


def test_time_is_rfc3339_utc() -> None:
    paris = timezone(timedelta(hours=1))
    t = datetime(2026, 1, 2, 4, 4, 5, 120000, tzinfo=paris)
    assert format_time(t) == "2026-01-02T03:04:05.120000Z"
    assert parse_time("2026-01-02T03:04:05.120000Z") == t
    for bad in [
        "2026-01-02T03:04:05+00:00",
        "2026-01-02 03:04:05Z",
        "2026-02-30T00:00:00Z",
        "2026-01-02T03:04:05.000000Z",
        "2026-01-02T03:04:05.12Z",
        12,
    ]:
        with pytest.raises(MalformedRecord):
            parse_time(bad)  # type: ignore[arg-type]
    with pytest.raises(MalformedRecord, match="time zone"):
        format_time(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("v", "caducee-evidence/2"),
        ("event", "ContentAccessTracking"),
        ("message_id", ""),
        ("message_id", 3),
        ("ciphertext_sha256", "AB" * 32),
        ("ciphertext_sha256", "ab"),
        ("actor", None),
        ("recipients", "rpps:1"),
        ("recipients", [1]),
        ("previous", "zz"),
        ("extra", {"a": 1}),
        ("extra", [1]),
        ("time", "yesterday"),
    ],
)
def test_malformed_members_refused(member: str, value: object) -> None:
    d = make_record().to_json_dict()
    d[member] = value
    with pytest.raises(MalformedRecord):
        EvidenceRecord.from_json_dict(d)


def test_unknown_or_missing_members_refused() -> None:
    d = make_record().to_json_dict()
    with pytest.raises(MalformedRecord):
        EvidenceRecord.from_json_dict({**d, "patient": "x"})
    del d["extra"]
    with pytest.raises(MalformedRecord):
        EvidenceRecord.from_json_dict(d)


def test_signed_record_sig_must_be_canonical(log_key: Ed25519PrivateKey) -> None:
    d = sign_record(make_record(), log_key).to_json_dict()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    loose = d["sig"][:-3] + alphabet[alphabet.index(d["sig"][-3]) ^ 1] + "=="  # spare bits set
    for bad in ["", "AAAA", loose, d["sig"].rstrip("="), 5]:
        with pytest.raises(MalformedRecord):
            SignedRecord.from_json_dict({**d, "sig": bad})
    with pytest.raises(MalformedRecord):
        SignedRecord.from_json_dict({**d, "alg": "ES256"})


def test_extra_is_frozen() -> None:
    record = make_record()
    with pytest.raises(TypeError):
        record.extra["mailbox"] = "x"  # type: ignore[index]
    with pytest.raises(MalformedRecord):
        EvidenceRecord(**{**record.__dict__, "extra": {str(i): "" for i in range(17)}})


# Any code point: controls, lone surrogates, and the U+E000-U+FFFF / astral names whose
# UTF-16 order differs from their code point order.
_ALPHABET = st.one_of(
    st.characters(exclude_categories=()),
    st.sampled_from(["\ud800", "\ufb01", "\U0001f600", "\x7f", "\u2028"]),
)
_TEXT = st.text(_ALPHABET, min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    message_id=_TEXT,
    actor=_TEXT,
    recipients=st.lists(_TEXT, max_size=3),
    extra=st.dictionaries(_TEXT, st.text(_ALPHABET, max_size=12), max_size=4),
    when=st.datetimes(timezones=st.just(UTC)),
)
def test_the_records_fast_canonical_form_is_rfc_8785(
    message_id: str, actor: str, recipients: list[str], extra: dict[str, str], when: datetime
) -> None:
    """The C encoder's shortcut writes exactly what the general RFC 8785 writer writes."""
    record = EvidenceRecord(
        event=EvidenceEvent.CONTENT_HANDOVER,
        message_id=message_id,
        ciphertext_sha256="ab" * 32,
        actor_id=actor,
        time=when,
        recipient_ids=tuple(recipients),
        extra=extra,
    )
    try:
        expected = canonicalize(record.to_json_dict())
    except NotCanonicalizable:
        with pytest.raises(NotCanonicalizable):
            record.to_canonical_bytes()
        return
    assert record.to_canonical_bytes() == expected
    assert parse_time(format_time(when)) == when
