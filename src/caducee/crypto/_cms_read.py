"""Fast readers for the CMS shapes we meet most (private): RFC 5652 §3, §5, §6 in strict DER.

``read_enveloped`` and ``read_signed`` accept only the plain shapes that we, ``openssl cms``
(without ``-stream``) and most peers write; for anything else (BER, unknown algorithms or
attributes, CRLs, other recipient kinds, ...) they return None and the caller reads the
input with asn1crypto, whose checks and typed errors stay the reference. They never raise.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from caducee.crypto._der import TLV, Unusual, children, integer, oid_name, read, utc_time

__all__ = ["Enveloped", "KeyTrans", "Signed", "Signer", "read_enveloped", "read_signed"]

_ENVELOPED = "1.2.840.113549.1.7.3"
_SIGNED = "1.2.840.113549.1.7.2"
_DATA = "1.2.840.113549.1.7.1"
_CBC = {"2.16.840.1.101.3.4.1.2": 16, "2.16.840.1.101.3.4.1.42": 32}
_CONTENT_TYPE = "1.2.840.113549.1.9.3"
_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
_SIGNING_TIME = "1.2.840.113549.1.9.5"
_CAPABILITIES = "1.2.840.113549.1.9.15"
_KNOWN_ATTRIBUTES = {_CONTENT_TYPE, _MESSAGE_DIGEST, _SIGNING_TIME, _CAPABILITIES}


@dataclass(frozen=True, slots=True)
class KeyTrans:
    """A KeyTransRecipientInfo (RFC 5652 §6.2.1) whose version agrees with its identifier."""

    issuer: bytes | None  # DER Name of issuerAndSerialNumber (version 0)
    serial: int
    ski: bytes | None  # subjectKeyIdentifier (version 2)
    key_algorithm: bytes  # DER AlgorithmIdentifier
    encrypted_key: bytes


@dataclass(frozen=True, slots=True)
class Enveloped:
    """An EnvelopedData with only KeyTransRecipientInfos and AES-CBC content (RFC 3565 §4.1)."""

    recipients: tuple[KeyTrans, ...]
    key_size: int
    iv: bytes
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class Signer:
    """A SignerInfo (RFC 5652 §5.3) with signed attributes and no unsigned ones."""

    issuer: bytes | None
    serial: int
    ski: bytes | None
    digest_algorithm: bytes  # DER AlgorithmIdentifier
    signed_attrs: bytes  # DER, re-tagged as SET OF for the signature (§5.4)
    content_type: str | None
    message_digest: bytes | None
    signing_time: datetime.datetime | None
    signature_algorithm: bytes  # DER AlgorithmIdentifier
    signature: bytes


@dataclass(frozen=True, slots=True)
class Signed:
    """A SignedData (RFC 5652 §5.1) of id-data, with certificates and no CRLs."""

    version: int
    digest_algorithms: tuple[bytes, ...]
    content: bytes | None  # None when detached (§5.2)
    certificates: tuple[bytes, ...]  # DER
    signers: tuple[Signer, ...]


def _content_info(data: bytes, want: str) -> tuple[int, int]:
    """ContentInfo (RFC 5652 §3) with ``want`` as contentType; the [0] EXPLICIT content."""
    tag, start, end = read(data, 0, len(data))
    if tag != 0x30 or end != len(data):
        raise Unusual
    (t_oid, o_start, o_end, _), (t_content, c_start, c_end, _) = children(data, start, end)
    if t_oid != 0x06 or t_content != 0xA0 or oid_name(data, o_start, o_end) != want:
        raise Unusual
    tag, start, end = read(data, c_start, c_end)
    if tag != 0x30 or end != c_end:
        raise Unusual
    return start, end


def _identifier(
    data: bytes, version: TLV, sid: TLV, v_ias: int
) -> tuple[bytes | None, int, bytes | None]:
    """(issuer, serial, ski): issuerAndSerialNumber with version ``v_ias``, [0] SKI with +2."""
    if version[0] != 0x02:
        raise Unusual
    number = integer(data, version[1], version[2])
    tag, start, end, _ = sid
    if tag == 0x30 and number == v_ias:
        name, serial = children(data, start, end)
        if name[0] != 0x30 or serial[0] != 0x02:
            raise Unusual
        return data[name[3] : name[2]], integer(data, serial[1], serial[2]), None
    if tag == 0x80 and number == v_ias + 2:
        return None, 0, data[start:end]
    raise Unusual


def _key_trans(data: bytes, item: TLV) -> KeyTrans:
    if item[0] != 0x30:
        raise Unusual  # KeyAgree, KEK, password or other recipient info
    version, rid, alg, key = children(data, item[1], item[2])
    if alg[0] != 0x30 or key[0] != 0x04:
        raise Unusual
    issuer, serial, ski = _identifier(data, version, rid, 0)
    return KeyTrans(issuer, serial, ski, data[alg[3] : alg[2]], data[key[1] : key[2]])


def _enveloped(data: bytes) -> Enveloped:
    version, infos, eci = children(data, *_content_info(data, _ENVELOPED))
    if version[0] != 0x02 or integer(data, version[1], version[2]) not in (0, 2):
        raise Unusual
    if infos[0] != 0x31 or eci[0] != 0x30:
        raise Unusual
    recipients = tuple(_key_trans(data, ri) for ri in children(data, infos[1], infos[2]))
    ctype, alg, content = children(data, eci[1], eci[2])
    if ctype[0] != 0x06 or oid_name(data, ctype[1], ctype[2]) != _DATA:
        raise Unusual
    if alg[0] != 0x30 or content[0] != 0x80:
        raise Unusual
    oid, iv = children(data, alg[1], alg[2])
    if oid[0] != 0x06 or iv[0] != 0x04 or iv[2] - iv[1] != 16:
        raise Unusual
    key_size = _CBC.get(oid_name(data, oid[1], oid[2]))
    ciphertext = data[content[1] : content[2]]
    if key_size is None or not recipients or not ciphertext or len(ciphertext) % 16:
        raise Unusual
    return Enveloped(recipients, key_size, data[iv[1] : iv[2]], ciphertext)


def read_enveloped(data: bytes) -> Enveloped | None:
    """The EnvelopedData in ``data`` if it has the plain DER shape, else None."""
    try:
        return _enveloped(data)
    except (Unusual, ValueError):  # ValueError: a wrong number of children to unpack
        return None


def _attributes(data: bytes, start: int, end: int) -> dict[str, TLV]:
    """Signed attributes by type: each type once, with one value (RFC 5652 §5.3, §11)."""
    found: dict[str, TLV] = {}
    for tag, a_start, a_end, _ in children(data, start, end):
        if tag != 0x30:
            raise Unusual
        oid, values = children(data, a_start, a_end)
        if oid[0] != 0x06 or values[0] != 0x31:
            raise Unusual
        name = oid_name(data, oid[1], oid[2])
        (value,) = children(data, values[1], values[2])
        if name in found:
            raise Unusual
        found[name] = value
    return found


def _signer(data: bytes, item: TLV) -> Signer:
    if item[0] != 0x30:
        raise Unusual
    version, sid, d_alg, attrs, s_alg, sig = children(data, item[1], item[2])
    if d_alg[0] != 0x30 or attrs[0] != 0xA0 or s_alg[0] != 0x30 or sig[0] != 0x04:
        raise Unusual
    issuer, serial, ski = _identifier(data, version, sid, 1)
    found = _attributes(data, attrs[1], attrs[2])
    if not found.keys() <= _KNOWN_ATTRIBUTES:
        raise Unusual
    ct, md = found.get(_CONTENT_TYPE), found.get(_MESSAGE_DIGEST)
    st, caps = found.get(_SIGNING_TIME), found.get(_CAPABILITIES)
    if (ct and ct[0] != 0x06) or (md and md[0] != 0x04) or (st and st[0] != 0x17):
        raise Unusual
    if caps and (caps[0] != 0x30 or any(c[0] != 0x30 for c in children(data, *caps[1:3]))):
        raise Unusual
    return Signer(
        issuer=issuer,
        serial=serial,
        ski=ski,
        digest_algorithm=data[d_alg[3] : d_alg[2]],
        signed_attrs=b"\x31" + data[attrs[3] + 1 : attrs[2]],
        content_type=None if ct is None else oid_name(data, ct[1], ct[2]),
        message_digest=None if md is None else data[md[1] : md[2]],
        signing_time=None if st is None else utc_time(data, st[1], st[2]),
        signature_algorithm=data[s_alg[3] : s_alg[2]],
        signature=data[sig[1] : sig[2]],
    )


def _signed(data: bytes) -> Signed:
    parts = children(data, *_content_info(data, _SIGNED))
    if len(parts) == 5 and parts[3][0] == 0xA0:
        version, d_algs, encap, certs, infos = parts
        certificates = children(data, certs[1], certs[2])
    elif len(parts) == 4:
        version, d_algs, encap, infos = parts
        certificates = []
    else:
        raise Unusual  # CRLs, or a shape we do not know
    if version[0] != 0x02 or integer(data, version[1], version[2]) not in (1, 3):
        raise Unusual
    if d_algs[0] != 0x31 or encap[0] != 0x30 or infos[0] != 0x31:
        raise Unusual
    inner = children(data, encap[1], encap[2])
    if not 1 <= len(inner) <= 2 or inner[0][0] != 0x06:
        raise Unusual
    if oid_name(data, inner[0][1], inner[0][2]) != _DATA:
        raise Unusual
    content = None
    if len(inner) == 2:
        tag, start, end, _ = inner[1]
        octets = read(data, start, end) if tag == 0xA0 else (0, 0, 0)
        if octets[0] != 0x04 or octets[2] != end:
            raise Unusual
        content = data[octets[1] : octets[2]]
    algs = children(data, d_algs[1], d_algs[2])
    if any(t[0] != 0x30 for t in (*algs, *certificates)):
        raise Unusual  # other certificate formats (§10.2.2)
    signers = tuple(_signer(data, si) for si in children(data, infos[1], infos[2]))
    if not signers:
        raise Unusual
    return Signed(
        version=integer(data, version[1], version[2]),
        digest_algorithms=tuple(data[a[3] : a[2]] for a in algs),
        content=content,
        certificates=tuple(data[c[3] : c[2]] for c in certificates),
        signers=signers,
    )


def read_signed(data: bytes) -> Signed | None:
    """The SignedData in ``data`` if it has the plain DER shape, else None."""
    try:
        return _signed(data)
    except (Unusual, ValueError):
        return None
