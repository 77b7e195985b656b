"""The strict DER fast readers (``_der``, ``_cms_read``) agree with asn1crypto, or step aside.

Valid inputs come from our own builders with random parameters, and from asn1crypto
encoders; mutated ones from the fuzz mutator. Wherever the fast reader answers, asn1crypto
must read the same input and find the same fields; the fast reader itself never raises.
"""

from __future__ import annotations

import datetime

from asn1crypto import cms, core, parser
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caducee.crypto._asn1 import load_certificate
from caducee.crypto._cms_read import Enveloped, Signed, read_enveloped, read_signed
from caducee.crypto._der import Unusual, children, integer, read, utc_time
from caducee.crypto.algorithms import (
    ContentEncryption,
    DigestAlgorithm,
    KeyTransport,
    SignatureScheme,
)
from caducee.crypto.cms_decrypt import decrypt_enveloped
from caducee.crypto.cms_envelope import envelope
from caducee.crypto.cms_sign import sign_data
from caducee.crypto.cms_verify import verify_signed_data

from .conftest import SyntheticPKI
from .test_fuzz import mutated

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RSA = ("rcpt1_rsa", "rcpt2_rsa", "sender_rsa")


def _same_enveloped(view: Enveloped, data: bytes) -> None:
    """asn1crypto reads ``data`` and finds what the fast reader found."""
    body = cms.ContentInfo.load(data, strict=True)["content"]
    eci = body["encrypted_content_info"]
    alg = eci["content_encryption_algorithm"]
    assert view.key_size == alg.key_length
    assert view.iv == alg["parameters"].native
    assert view.ciphertext == eci["encrypted_content"].native
    infos = list(body["recipient_infos"])
    assert len(infos) == len(view.recipients)
    for ri, mine in zip(infos, view.recipients, strict=True):
        ktri = ri.chosen
        assert ri.name == "ktri"
        rid = ktri["rid"]
        if rid.name == "issuer_and_serial_number":
            assert mine.issuer == rid.chosen["issuer"].dump()
            assert mine.serial == rid.chosen["serial_number"].native
            assert ktri["version"].native == "v0"
        else:
            assert mine.ski == rid.chosen.native
            assert ktri["version"].native == "v2"
        assert mine.key_algorithm == ktri["key_encryption_algorithm"].dump()
        assert mine.encrypted_key == ktri["encrypted_key"].native


def _same_signed(view: Signed, data: bytes) -> None:
    sd = cms.ContentInfo.load(data, strict=True)["content"]
    assert view.version == int(sd["version"].native[1:])
    assert view.digest_algorithms == tuple(a.dump() for a in sd["digest_algorithms"])
    encap = sd["encap_content_info"]
    assert encap["content_type"].native == "data"
    assert view.content == encap["content"].native
    assert view.certificates == tuple(c.chosen.dump() for c in sd["certificates"] or [])
    infos = list(sd["signer_infos"])
    assert len(infos) == len(view.signers)
    for si, mine in zip(infos, view.signers, strict=True):
        sid = si["sid"]
        if sid.name == "issuer_and_serial_number":
            assert (mine.issuer, mine.serial) == (
                sid.chosen["issuer"].dump(),
                sid.chosen["serial_number"].native,
            )
        else:
            assert mine.ski == sid.chosen.native
        assert mine.digest_algorithm == si["digest_algorithm"].dump()
        assert mine.signed_attrs == b"\x31" + si["signed_attrs"].dump()[1:]
        attrs = {a["type"].native: a["values"][0] for a in si["signed_attrs"]}
        assert mine.content_type == attrs["content_type"].dotted
        assert mine.message_digest == attrs["message_digest"].native
        st_ = attrs.get("signing_time")
        assert mine.signing_time == (None if st_ is None else st_.native)
        assert mine.signature_algorithm == si["signature_algorithm"].dump()
        assert mine.signature == si["signature"].native


@SETTINGS
@given(
    content=st.binary(max_size=2000),
    names=st.lists(st.sampled_from(RSA), min_size=1, max_size=3),
    transport=st.sampled_from(KeyTransport),
    encryption=st.sampled_from(ContentEncryption),
)
def test_enveloped_agrees(
    pki: SyntheticPKI,
    content: bytes,
    names: list[str],
    transport: KeyTransport,
    encryption: ContentEncryption,
) -> None:
    der = envelope(
        content, [pki[n].cert for n in names], encryption=encryption, key_transport=transport
    )
    view = read_enveloped(der)
    if encryption.is_aead:
        assert view is None  # AuthEnvelopedData: asn1crypto reads it
    else:
        assert view is not None
        _same_enveloped(view, der)
    assert decrypt_enveloped(der, pki[names[0]].cert, pki[names[0]].key) == content


def test_enveloped_by_subject_key_identifier(pki: SyntheticPKI) -> None:
    """A v2 KeyTransRecipientInfo naming the key by SKI (RFC 5652 §6.2.1) takes the fast path."""
    party = pki["rcpt1_rsa"]
    info = cms.ContentInfo.load(envelope(b"ski", [party.cert]))
    ktri = info["content"]["recipient_infos"][0].chosen
    ski = party.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    ktri["version"] = "v2"
    ktri["rid"] = cms.RecipientIdentifier({"subject_key_identifier": ski})
    info["content"]["version"] = "v2"
    der = info.dump(force=True)
    view = read_enveloped(der)
    assert view is not None and view.recipients[0].ski == ski
    _same_enveloped(view, der)
    assert decrypt_enveloped(der, party.cert, party.key) == b"ski"


@SETTINGS
@given(
    content=st.binary(max_size=2000),
    name=st.sampled_from(("sender_rsa", "sender_ec", "rcpt1_rsa")),
    digest=st.sampled_from(DigestAlgorithm),
    pss=st.booleans(),
    detached=st.booleans(),
    extra=st.lists(st.sampled_from(("rcpt1_rsa", "rcpt2_ec")), max_size=2, unique=True),
    when=st.datetimes(
        min_value=datetime.datetime(1900, 1, 1), max_value=datetime.datetime(2200, 1, 1)
    ),
)
def test_signed_agrees(
    pki: SyntheticPKI,
    content: bytes,
    name: str,
    digest: DigestAlgorithm,
    pss: bool,
    detached: bool,
    extra: list[str],
    when: datetime.datetime,
) -> None:
    party = pki[name]
    scheme = SignatureScheme.RSA_PSS if pss and name.endswith("rsa") else None
    der = sign_data(
        content,
        party.cert,
        party.key,
        digest=digest,
        scheme=scheme,
        detached=detached,
        extra_certs=[pki[e].cert for e in extra],
        signing_time=when.replace(tzinfo=datetime.UTC),
    )
    view = read_signed(der)
    if 1950 <= when.year < 2050:
        assert view is not None
        _same_signed(view, der)
    else:
        assert view is None  # GeneralizedTime signing-time: asn1crypto reads it
    result = verify_signed_data(der, detached_content=content if detached else None)
    assert result.content == content and result.signer_certificate == party.cert
    assert result.signing_time == when.replace(tzinfo=datetime.UTC, microsecond=0)


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["cbc", "signed", "detached"]))
def test_mutated_inputs_agree_or_step_aside(
    pki: SyntheticPKI, data: st.DataObject, kind: str
) -> None:
    r, s = pki["rcpt1_rsa"], pki["sender_rsa"]
    base = {
        "cbc": lambda: envelope(b"fuzz", [r.cert, s.cert]),
        "signed": lambda: sign_data(b"fuzz", s.cert, s.key, extra_certs=[r.cert]),
        "detached": lambda: sign_data(b"fuzz", s.cert, s.key, detached=True),
    }[kind]()
    der = data.draw(mutated(base))
    if kind == "cbc":
        env = read_enveloped(der)
        if env is not None:
            _same_enveloped(env, der)
    else:
        signed = read_signed(der)
        if signed is not None:
            _same_signed(signed, der)
            for cert_der in signed.certificates:
                load_certificate(cert_der)  # never raises


@SETTINGS
@given(data=st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    assert read_enveloped(data) is None or isinstance(read_enveloped(data), Enveloped)
    assert read_signed(data) is None or isinstance(read_signed(data), Signed)
    load_certificate(data)


@SETTINGS
@given(value=st.integers(min_value=-(2**200), max_value=2**200))
def test_integer_agrees(value: int) -> None:
    der = core.Integer(value).dump()
    tag, start, end = read(der, 0, len(der))
    assert tag == 0x02 and end == len(der)
    assert integer(der, start, end) == value


@SETTINGS
@given(payload=st.binary(max_size=70000), constructed=st.booleans())
def test_lengths_agree(payload: bytes, constructed: bool) -> None:
    der = parser.emit(0, int(constructed), 16 if constructed else 4, payload)
    tag, start, end = read(der, 0, len(der))
    assert der[start:end] == payload and end == len(der)
    assert tag == (0x30 if constructed else 0x04)


@SETTINGS
@given(
    when=st.datetimes(
        min_value=datetime.datetime(1950, 1, 1), max_value=datetime.datetime(2049, 12, 31)
    )
)
def test_utc_time_agrees(when: datetime.datetime) -> None:
    der = core.UTCTime(when.replace(microsecond=0, tzinfo=datetime.UTC)).dump()
    assert utc_time(der, 2, len(der)) == core.UTCTime.load(der).native


def test_non_der_forms_are_unusual() -> None:
    """Indefinite and non-minimal lengths, high tag numbers and padded INTEGERs (X.690 §10.1)."""
    for bad in (b"\x30\x80\x00\x00", b"\x04\x81\x01x", b"\x1f\x81\x01\x00", b"\x04\x82\x00\x80"):
        try:
            read(bad, 0, len(bad))
        except Unusual:
            continue
        raise AssertionError(bad)
    for bad_int in (b"\x00\x01", b"\xff\x80", b""):
        try:
            integer(bad_int, 0, len(bad_int))
        except Unusual:
            continue
        raise AssertionError(bad_int)
    assert children(b"\x02\x01\x05\x04\x00", 0, 5) == [(2, 2, 3, 0), (4, 5, 5, 3)]
