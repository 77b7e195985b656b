"""Hypothesis round trips over random contents, recipient sets and algorithm choices."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
from caducee.crypto.errors import NoRecipientForKey
from caducee.crypto.smime import build_smime, open_smime

from .conftest import FakeValidator, SyntheticPKI, inner_message

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RSA_PARTIES = ("rcpt1_rsa", "rcpt2_rsa", "sender_rsa")


@SETTINGS
@given(
    content=st.binary(max_size=3000),
    names=st.sets(st.sampled_from(RSA_PARTIES), min_size=1),
    encryption=st.sampled_from(ContentEncryption),
    transport=st.sampled_from(KeyTransport),
)
def test_envelope_round_trip(
    pki: SyntheticPKI,
    content: bytes,
    names: set[str],
    encryption: ContentEncryption,
    transport: KeyTransport,
) -> None:
    der = envelope(
        content,
        [pki[n].cert for n in sorted(names)],
        encryption=encryption,
        key_transport=transport,
    )
    for name in RSA_PARTIES:
        p = pki[name]
        if name in names:
            assert decrypt_enveloped(der, p.cert, p.key) == content
        else:
            try:
                decrypt_enveloped(der, p.cert, p.key)
            except NoRecipientForKey:
                pass
            else:
                raise AssertionError("a non-recipient decrypted the message")


@SETTINGS
@given(
    content=st.binary(max_size=3000),
    signer=st.sampled_from(
        [
            ("sender_rsa", SignatureScheme.RSA_PKCS1V15),
            ("sender_rsa", SignatureScheme.RSA_PSS),
            ("sender_ec", SignatureScheme.ECDSA),
        ]
    ),
    digest=st.sampled_from(DigestAlgorithm),
    detached=st.booleans(),
)
def test_sign_round_trip(
    pki: SyntheticPKI,
    content: bytes,
    signer: tuple[str, SignatureScheme],
    digest: DigestAlgorithm,
    detached: bool,
) -> None:
    p = pki[signer[0]]
    der = sign_data(content, p.cert, p.key, digest=digest, scheme=signer[1], detached=detached)
    result = verify_signed_data(der, detached_content=content if detached else None)
    assert result.content == content and result.digest_algorithm is digest


@SETTINGS
@given(
    body=st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=400),
    sender=st.sampled_from(["sender_rsa", "sender_ec"]),
    names=st.sets(st.sampled_from(RSA_PARTIES[:2]), min_size=1),
    encryption=st.sampled_from(ContentEncryption),
)
def test_smime_round_trip(
    pki: SyntheticPKI,
    validator: FakeValidator,
    body: str,
    sender: str,
    names: set[str],
    encryption: ContentEncryption,
) -> None:
    s = pki[sender]
    inner = inner_message(s.email, "dest@synthetic.caducee.test", body + "\n")
    out = build_smime(
        inner, s.cert, s.key, [pki[n].cert for n in sorted(names)], encryption=encryption
    )
    for name in names:
        opened = open_smime(out, pki[name].cert, pki[name].key, validator)
        assert opened.sender == s.email
        assert opened.content == inner.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
