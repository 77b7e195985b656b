"""Write the MISS test vectors that the browser implementation must reproduce.

    .venv/bin/python tests/vectors/instant/make_vectors.py          # rewrite the JSON files
    .venv/bin/python tests/vectors/instant/make_vectors.py --check  # fail if they drifted

SYNTHETIC TEST MATERIAL: every key below is derived from a public label, so anyone can
recompute it; none protects anything.

Everything is produced by the Python core (``caducee.instant``) except one thing it cannot
do: seal with a chosen ephemeral key. For the X25519 suite a small RFC 9180 base-mode sealer
below does it, and the core must open its output, so the vectors stay byte-exact. The
hybrid ML-KEM-768 + X25519 (X-Wing) encapsulation has randomness ``cryptography`` does not
let us fix, so its vectors are "open this" only: a committed sealed value is kept as long as
the core still opens it to the same plaintext, and resealed otherwise (which the drift
check then reports).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import struct
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from caducee.instant import _hpke, _ratchet, _wire
from caducee.instant._hpke import HpkeKeyPair, Kem
from caducee.instant.device_keys import DeviceKeys, parse_device_statement
from caducee.instant.errors import InstantCryptoError, MalformedInstantData
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
from caducee.instant.sender_keys import DistributionHeader, SenderKeyGroup, _OwnChain

HERE = Path(__file__).resolve().parent
CASE_ID = "case-vector-0001"
CREATED_AT = datetime.datetime(2026, 11, 29, 8, 0, tzinfo=datetime.UTC)
NOTE = "SYNTHETIC TEST MATERIAL: keys derived from public labels; see make_vectors.py."


def seed(label: str, size: int = 32) -> bytes:
    """Key material anyone can recompute from ``label``."""
    return hashlib.shake_256(b"caducee-miss-v1 test vector " + label.encode()).digest(size)


# -- a minimal RFC 9180 base-mode sealer for DHKEM(X25519, HKDF-SHA256), AES-256-GCM ---------


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or b"\x00" * 32, ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out, i = out + block, i + 1
    return out[:length]


def _labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def _labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, n: int) -> bytes:
    return _expand(prk, struct.pack(">H", n) + b"HPKE-v1" + suite_id + label + info, n)


def x25519_seal_with_ikm(public_key: bytes, plaintext: bytes, info: bytes, ikm_e: bytes) -> bytes:
    """``enc || ciphertext`` with the ephemeral key DeriveKeyPair(ikm_e) (RFC 9180 §7.1.3)."""
    kem_id = b"KEM" + struct.pack(">H", Kem.X25519.value)
    dkp_prk = _labeled_extract(kem_id, b"", b"dkp_prk", ikm_e)
    ephemeral = x25519.X25519PrivateKey.from_private_bytes(
        _labeled_expand(kem_id, dkp_prk, b"sk", b"", 32)
    )
    enc = ephemeral.public_key().public_bytes_raw()
    dh = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(public_key))
    eae_prk = _labeled_extract(kem_id, b"", b"eae_prk", dh)
    shared = _labeled_expand(kem_id, eae_prk, b"shared_secret", enc + public_key, 32)
    suite_id = b"HPKE" + struct.pack(">HHH", Kem.X25519.value, 0x0001, 0x0002)
    context = (
        b"\x00"
        + _labeled_extract(suite_id, b"", b"psk_id_hash", b"")
        + _labeled_extract(suite_id, b"", b"info_hash", info)
    )
    secret = _labeled_extract(suite_id, shared, b"secret", b"")
    key = _labeled_expand(suite_id, secret, b"key", context, 32)
    nonce = _labeled_expand(suite_id, secret, b"base_nonce", context, 12)
    return enc + AESGCM(key).encrypt(nonce, plaintext, None)


# -- the synthetic devices ----------------------------------------------------------------


def xwing_private_bytes(xwing_seed: bytes) -> bytes:
    """The core's hybrid private key (ML-KEM seed d||z, X25519 key) from an X-Wing seed.

    X-Wing (draft-connolly-cfrg-xwing-kem-06) expands its 32-byte private key with
    SHAKE256 into exactly these 96 bytes; the browser keeps the 32-byte seed.
    """
    return hashlib.shake_256(xwing_seed).digest(96)


def device(name: str, kem: Kem) -> tuple[DeviceKeys, dict[str, Any]]:
    """A device with keys derived from its name, and what the browser needs to rebuild it."""
    signing_seed = seed(f"{name} ed25519")
    facts: dict[str, Any] = {
        "device_id": f"{name}-device",
        "address": f"{name}@synthetic.caducee.test",
        "kem": kem.value,
        "signing_seed": signing_seed.hex(),
        "created_at": int(CREATED_AT.timestamp()),
    }
    if kem is Kem.MLKEM768_X25519:
        xwing_seed = seed(f"{name} x-wing")
        hpke_key = HpkeKeyPair.from_private_bytes(kem, xwing_private_bytes(xwing_seed))
        facts["hpke_xwing_seed"] = xwing_seed.hex()
    else:
        hpke_key = HpkeKeyPair.from_private_bytes(kem, seed(f"{name} x25519"))
    facts["hpke_private"] = hpke_key.private_bytes().hex()
    keys = DeviceKeys(
        facts["device_id"],
        facts["address"],
        hpke_key,
        ed25519.Ed25519PrivateKey.from_private_bytes(signing_seed),
        CREATED_AT,
    )
    public = keys.public()
    facts["hpke_public"] = public.hpke_public.hex()
    facts["signing_public"] = public.signing_public.hex()
    return keys, facts


ALICE, ALICE_FACTS = device("alice", Kem.MLKEM768_X25519)
BOB, BOB_FACTS = device("bob", Kem.MLKEM768_X25519)
CAROL, CAROL_FACTS = device("carol", Kem.X25519)
DEVICES = {"alice": ALICE_FACTS, "bob": BOB_FACTS, "carol": CAROL_FACTS}


def _error_code(action: Callable[[], object]) -> str:
    try:
        action()
    except InstantCryptoError as error:
        return error.code
    raise AssertionError("the Python core accepted a vector meant to be refused")


# -- the vector sets ----------------------------------------------------------------------


def ratchet_vectors() -> dict[str, Any]:
    chains = []
    for start in (bytes(range(32)), seed("ratchet chain")):
        steps, chain = [], start
        for counter in range(8):
            key = _ratchet.message_key(chain, counter)
            steps.append(
                {
                    "counter": counter,
                    "chain_key": chain.hex(),
                    "message_seed": _ratchet.message_seed(chain).hex(),
                    "key": key.key.hex(),
                    "nonce": key.nonce.hex(),
                }
            )
            chain = _ratchet.next_chain_key(chain)
        chains.append({"start": start.hex(), "steps": steps, "after_last": chain.hex()})
    return {"note": NOTE, "info": _ratchet.MESSAGE_INFO.decode(), "chains": chains}


def _kept_or_sealed(
    previous: dict[str, Any] | None, pair: HpkeKeyPair, plaintext: bytes, info: bytes
) -> bytes:
    """The committed hybrid seal if the core still opens it to ``plaintext``, else a new one."""
    if previous is not None:
        try:
            sealed = bytes.fromhex(previous["sealed"])
            if pair.open(sealed, info) == plaintext and previous["plaintext"] == plaintext.hex():
                return sealed
        except (InstantCryptoError, KeyError, ValueError):
            pass
    return _hpke.seal(pair.kem, pair.public_bytes(), plaintext, info)


def hpke_vectors(previous: dict[str, Any] | None) -> dict[str, Any]:
    info = b"caducee-miss-v1 vector info"
    plaintext = b"chain key of a synthetic case"
    ikm_e = seed("hpke ephemeral")
    sealed = x25519_seal_with_ikm(CAROL.hpke_key.public_bytes(), plaintext, info, ikm_e)
    assert CAROL.open(sealed, info) == plaintext, "the core does not open the RFC 9180 sealer"
    old = (previous or {}).get("xwing_open")
    xwing_sealed = _kept_or_sealed(old, BOB.hpke_key, plaintext, info)
    return {
        "note": NOTE,
        "x25519_seal": {
            "kem": Kem.X25519.value,
            "recipient": "carol",
            "ikm_e": ikm_e.hex(),
            "info": info.hex(),
            "plaintext": plaintext.hex(),
            "sealed": sealed.hex(),
        },
        "xwing_open": {
            "kem": Kem.MLKEM768_X25519.value,
            "recipient": "bob",
            "info": info.hex(),
            "plaintext": plaintext.hex(),
            "sealed": xwing_sealed.hex(),
        },
    }


def _signed(header: bytes, payload: bytes) -> bytes:
    signed = _wire.fields(header, payload)
    return signed + _wire.field(ALICE.sign(signed))


def distribution_vectors(
    previous: dict[str, Any] | None, chain_key: bytes, generation: int
) -> dict[str, Any]:
    secret = _wire.field(chain_key) + _wire.integer(0)
    to_carol = DistributionHeader(
        CASE_ID, ALICE.device_id, CAROL.device_id, generation, Kem.X25519
    ).encode()
    ikm_e = seed("distribution ephemeral")
    carol_payload = _signed(
        to_carol, x25519_seal_with_ikm(CAROL.hpke_key.public_bytes(), secret, to_carol, ikm_e)
    )
    to_bob = DistributionHeader(
        CASE_ID, ALICE.device_id, BOB.device_id, generation, Kem.MLKEM768_X25519
    ).encode()
    old = (previous or {}).get("to_bob")
    bob_sealed = _kept_or_sealed(
        old and {"sealed": old["sealed"], "plaintext": secret.hex()}, BOB.hpke_key, secret, to_bob
    )
    return {
        "note": NOTE,
        "case_id": CASE_ID,
        "sender": "alice",
        "generation": generation,
        "chain_key": chain_key.hex(),
        "counter": 0,
        "to_carol": {
            "header": to_carol.hex(),
            "ikm_e": ikm_e.hex(),
            "payload": carol_payload.hex(),
        },
        "to_bob": {
            "header": to_bob.hex(),
            "sealed": bob_sealed.hex(),
            "payload": _signed(to_bob, bob_sealed).hex(),
        },
    }


PLAINTEXTS = [
    b"bonjour",
    b"",
    "Patient synthétique : TA 12/8, rappel à 14 h ✓".encode(),
    bytes(range(256)) * 2,
]


def message_vectors(chain_key: bytes, generation: int) -> dict[str, Any]:
    group = SenderKeyGroup(CASE_ID, ALICE, [BOB.public(), CAROL.public()])
    group._own = _OwnChain(generation, chain_key)  # the chain the distributions carry
    messages = [group.encrypt(p) for p in PLAINTEXTS]
    first = messages[0]
    reader = _wire.Reader(first, "message")
    header, ciphertext = reader.field(), bytearray(reader.field())
    ciphertext[0] ^= 0x01
    bad_signature = bytearray(first)
    bad_signature[-1] ^= 0x01
    refused = {
        "signed by its sender, but the AES-GCM ciphertext was altered": _signed(
            header, bytes(ciphertext)
        ),
        "one bit of the signature flipped": bytes(bad_signature),
        "truncated": first[:-10],
        "not a MISS message": b"\x00\x00\x00\x03abc" * 3,
    }
    return {
        "note": NOTE,
        "case_id": CASE_ID,
        "sender": "alice",
        "generation": generation,
        "chain_key": chain_key.hex(),
        "messages": [
            {"counter": n, "plaintext": p.hex(), "message": m.hex()}
            for n, (p, m) in enumerate(zip(PLAINTEXTS, messages, strict=True))
        ],
        "refused": [{"why": why, "message": m.hex()} for why, m in refused.items()],
    }


def device_statement_vectors() -> dict[str, Any]:
    """Device statements to parse; the person's key signs with RFC 6979 ECDSA (repeatable)."""
    person = ec.derive_private_key(int.from_bytes(seed("person p-256")), ec.SECP256R1())
    statements = []
    for keys in (ALICE, CAROL):
        body = keys.public().body()
        signature = person.sign(body, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        statements.append(
            {
                "device_id": keys.device_id,
                "statement": _wire.fields(body, signature).hex(),
                "body": body.hex(),
                "signature_der": signature.hex(),
            }
        )
    spki = person.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for s in statements:
        parse_device_statement(bytes.fromhex(s["statement"]))
    return {
        "note": NOTE,
        "person_public_spki": spki.hex(),
        "statements": statements,
        "refused": [{"why": why, "statement": b.hex()} for why, b in _bad_statements().items()],
    }


def _bad_statements() -> dict[str, bytes]:
    """Statements both parsers must refuse, each for one reason."""
    good = ALICE.public()
    signature = b"\x30" * 70

    def body(
        *, kem: int = good.kem.value, hpke: bytes = good.hpke_public, address: str = "a@b"
    ) -> bytes:
        return (
            b"caducee-miss-v1 device"
            + _wire.text(good.device_id)
            + _wire.text(address)
            + _wire.integer(kem)
            + _wire.field(hpke)
            + _wire.field(good.signing_public)
            + _wire.integer(int(good.created_at.timestamp()))
        )

    return {
        "not a device statement": _wire.fields(b"caducee-miss-v1 message", signature),
        "an HPKE KEM nobody speaks (P-256)": _wire.fields(body(kem=0x0010), signature),
        "a hybrid public key of the wrong size": _wire.fields(body(hpke=b"\x01" * 32), signature),
        "an address in capitals (not canonical)": _wire.fields(body(address="A@B"), signature),
        "trailing bytes": _wire.fields(body(), signature) + b"\x00",
        "a length beyond the end": b"\x00\x10\x00\x00" + body(),
    }


# -- decrypted payloads (app/payloads.js mirrors caducee.instant.payloads) -------------------

PAYLOADS: dict[str, Payload] = {
    "patient with a stay": PatientCard("299127512345678", "ESSAI Zoé", "1999-12-31", "S-42"),
    "patient without INS": PatientCard("", "SYNTHÈSE Léo", ""),
    "text": Text("Kaliémie à 6,1 : rappelez-moi ✓"),
    "text with controls and quotes": Text('ligne 1\nligne "2"\t\\ \u2028 \x7f \x01'),
    "reply": Text("D'accord", reply_to="miss-0001@web-a"),
    "edit": Edit("miss-0001@web-a", "Kaliémie à 6,2"),
    "deletion": Deletion("miss-0001@web-a"),
    "blurred photo": Attachment(
        "photo", "plaie.jpg", "image/jpeg", seed("photo", 40), caption="J3", blurred=True
    ),
    "photo not blurred": Attachment("photo", "ecg.png", "image/png", b"\x89PNG\r\n"),
    "file in reply": Attachment(
        "file", "cr.pdf", "application/pdf", seed("file", 31), reply_to="miss-2@web-b"
    ),
    "read": Read(17),
    "ack": Acknowledgement(),
}

# Bytes another client may send: read as given, not as written back.
READ_AS: dict[str, bytes] = {
    "plain text": "Vu, je passe à 14 h".encode(),
    "not UTF-8": b"\xff\xfeab\xc3",
    "a byte-order mark": b'\xef\xbb\xbf{"type":"ack"}',
    "JSON that is not an object": b'["type", "text"]',
    "a JSON string": b'"bonjour"',
    "a type that is not a string": b'{"type": 3, "text": "x"}',
    "a type from a newer client": '{"type":"poll","q":[1,true,null,{"a":"é\\n"}]}'.encode(),
    "spaces and unknown fields": b' { "type" : "text", "text" : "ok", "extra": [1] } ',
    "a file flagged blurred": b'{"type":"file","name":"a.txt","media_type":"text/plain",'
    b'"data":"QUJD","blurred":true}',
    "optional fields set to null": b'{"type":"text","text":"x","reply_to":null}',
    "an empty optional INS": b'{"type":"patient","patient":{"ins":"","name":"N"}}',
}

REFUSED: dict[str, bytes] = {
    "patient without a card": b'{"type":"patient"}',
    "patient card as a string": b'{"type":"patient","patient":"ESSAI"}',
    "patient without a name": b'{"type":"patient","patient":{"ins":"1"}}',
    "patient INS as a number": b'{"type":"patient","patient":{"ins":1,"name":"N"}}',
    "text without text": b'{"type":"text"}',
    "empty text": b'{"type":"text","text":""}',
    "reply_to as a number": b'{"type":"text","text":"x","reply_to":4}',
    "edit without target": b'{"type":"edit","text":"x"}',
    "deletion with an empty target": b'{"type":"deletion","target":""}',
    "photo without data": b'{"type":"photo","name":"p.jpg","media_type":"image/jpeg"}',
    "photo data not base64": b'{"type":"photo","name":"p","media_type":"image/jpeg","data":"*"}',
    "photo data without padding": b'{"type":"photo","name":"p","media_type":"i","data":"QQ"}',
    "photo data with a newline": b'{"type":"photo","name":"p","media_type":"i","data":"QQ==\\n"}',
    "photo data after padding": b'{"type":"photo","name":"p","media_type":"i","data":"QQ==QQ=="}',
    "photo blurred as a string": b'{"type":"photo","name":"p","media_type":"i","data":"QQ==",'
    b'"blurred":"yes"}',
    "file without a name": b'{"type":"file","media_type":"text/plain","data":"QUJD"}',
    "file without a media type": b'{"type":"file","name":"a","data":"QUJD"}',
    "read without upTo": b'{"type":"read"}',
    "read upTo negative": b'{"type":"read","upTo":-1}',
    "read upTo as a string": b'{"type":"read","upTo":"3"}',
    "read upTo true": b'{"type":"read","upTo":true}',
    "read upTo fractional": b'{"type":"read","upTo":1.5}',
}


def _value(payload: Payload) -> dict[str, Any]:
    """A decoded payload as JSON, with every field (absent optional ones as null)."""
    match payload:
        case PatientCard(ins, name, birth_date, stay):
            card = {"ins": ins, "name": name, "birth_date": birth_date}
            return {"type": "patient", "patient": card, "stay": stay}
        case Text(text, reply_to):
            return {"type": "text", "text": text, "reply_to": reply_to}
        case Edit(target, text):
            return {"type": "edit", "target": target, "text": text}
        case Deletion(target):
            return {"type": "deletion", "target": target}
        case Attachment():
            return {
                "type": payload.kind,
                "name": payload.name,
                "media_type": payload.media_type,
                "data": base64.b64encode(payload.data).decode(),
                "caption": payload.caption,
                "reply_to": payload.reply_to,
                "blurred": payload.blurred,
            }
        case Read(up_to):
            return {"type": "read", "upTo": up_to}
        case Acknowledgement():
            return {"type": "ack"}
    raise TypeError(payload)  # pragma: no cover - exhaustive above


def _malformed(data: bytes) -> str:
    try:
        decode_payload(data)
    except MalformedInstantData as error:
        return str(error)
    raise AssertionError(f"the core accepted a payload meant to be refused: {data!r}")


def payload_vectors() -> dict[str, Any]:
    """Payloads with their exact bytes (both ways), bytes read as given, bytes refused."""
    written = []
    for why, payload in PAYLOADS.items():
        data = encode_payload(payload)
        assert decode_payload(data) == payload, why
        written.append({"why": why, "value": _value(payload), "bytes": data.hex()})
    read = []
    for why, data in READ_AS.items():
        decoded = decode_payload(data)
        read.append({"why": why, "bytes": data.hex(), "value": _value(decoded)})
    refused = [
        {"why": why, "bytes": data.hex(), "error": _malformed(data)}
        for why, data in REFUSED.items()
    ]
    return {"note": NOTE, "written": written, "read": read, "refused": refused}


def check_with_the_core(vectors: dict[str, dict[str, Any]]) -> None:
    """The Python core reads every vector as the browser must: accepted ones and refused ones."""
    dist, msgs = vectors["distribution.json"], vectors["messages.json"]
    for name, keys in (("to_carol", CAROL), ("to_bob", BOB)):
        group = SenderKeyGroup(CASE_ID, keys, [ALICE.public()])
        group.receive_key(bytes.fromhex(dist[name]["payload"]))
        for m in msgs["messages"]:
            got = group.decrypt(bytes.fromhex(m["message"]))
            assert got.plaintext.hex() == m["plaintext"] and got.counter == m["counter"]
        first = bytes.fromhex(msgs["messages"][0]["message"])
        assert _error_code(partial(group.decrypt, first)) == "instant-replayed"
    fresh = SenderKeyGroup(CASE_ID, CAROL, [ALICE.public()])
    fresh.receive_key(bytes.fromhex(dist["to_carol"]["payload"]))
    codes = [
        _error_code(partial(fresh.decrypt, bytes.fromhex(r["message"]))) for r in msgs["refused"]
    ]
    for refused, code in zip(msgs["refused"], codes, strict=True):
        refused["error"] = code
    for refused in vectors["device_statements.json"]["refused"]:
        statement = bytes.fromhex(refused["statement"])
        refused["error"] = _error_code(partial(parse_device_statement, statement))
    _refused_distributions(vectors["distribution.json"])


def _refused_distributions(dist: dict[str, Any]) -> None:
    """Sender keys carol must refuse: for bob, a flipped signature, an unknown KEM."""
    carol = SenderKeyGroup(CASE_ID, CAROL, [ALICE.public()])
    payload = bytes.fromhex(dist["to_carol"]["payload"])
    flipped = bytearray(payload)
    flipped[-1] ^= 0x01
    header = DistributionHeader(CASE_ID, ALICE.device_id, CAROL.device_id, 3, Kem.X25519).encode()
    unknown_kem = header[:-8] + _wire.integer(0x0010)
    cases = {
        "sealed to another device (bob)": bytes.fromhex(dist["to_bob"]["payload"]),
        "one bit of the signature flipped": bytes(flipped),
        "an HPKE KEM nobody speaks (P-256)": _signed(unknown_kem, b"\x00" * 64),
    }
    dist["refused"] = [
        {"why": why, "payload": p.hex(), "error": _error_code(partial(carol.receive_key, p))}
        for why, p in cases.items()
    ]


def build(previous: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    chain_key, generation = seed("sender chain"), 3
    vectors = {
        "devices.json": {"note": NOTE, "case_id": CASE_ID, "devices": DEVICES},
        "ratchet.json": ratchet_vectors(),
        "hpke.json": hpke_vectors(previous.get("hpke.json")),
        "distribution.json": distribution_vectors(
            previous.get("distribution.json"), chain_key, generation
        ),
        "messages.json": message_vectors(chain_key, generation),
        "device_statements.json": device_statement_vectors(),
        "payloads.json": payload_vectors(),
    }
    check_with_the_core(vectors)
    return vectors


def committed() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(HERE.glob("*.json"))}


def render(vector: dict[str, Any]) -> str:
    return json.dumps(vector, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    previous = committed()
    fresh = build(previous)
    if "--check" in argv:
        drifted = [n for n, v in fresh.items() if render(v) != render(previous.get(n, {}))]
        if drifted:
            print("drifted: " + ", ".join(drifted))
        return 1 if drifted else 0
    for name, vector in fresh.items():
        (HERE / name).write_text(render(vector))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
