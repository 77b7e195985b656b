"""Write the endorsement vectors the browser must reproduce (beside ``../make_vectors.py``).

    .venv/bin/python tests/vectors/instant/endorsement/make_vectors.py          # rewrite
    .venv/bin/python tests/vectors/instant/endorsement/make_vectors.py --check  # drifted?

SYNTHETIC TEST MATERIAL: the devices and the person's P-256 key are derived from public
labels with ``../make_vectors.py``'s ``seed``; Ed25519 and RFC 6979 ECDSA are deterministic,
so every byte is repeatable. Kept in this folder so the main generator's file set is unchanged.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from caducee.instant import _wire
from caducee.instant._hpke import HpkeKeyPair, Kem
from caducee.instant.device_keys import DeviceKeys
from caducee.instant.endorsement import endorse_device, endorsement_body, verify_endorsement
from caducee.instant.errors import InstantCryptoError

HERE = Path(__file__).resolve().parent
FILE = HERE / "endorsements.json"


def _main_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("miss_vectors", HERE.parent / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _main_generator()


def sibling(name: str, kem: Kem) -> DeviceKeys:
    """A new device of ALICE's address, keys derived from ``name``."""
    if kem is Kem.MLKEM768_X25519:
        private = GEN.xwing_private_bytes(GEN.seed(f"{name} x-wing"))
    else:
        private = GEN.seed(f"{name} x25519")
    return DeviceKeys(
        f"{name}-device",
        GEN.ALICE.address,
        HpkeKeyPair.from_private_bytes(kem, private),
        ed25519.Ed25519PrivateKey.from_private_bytes(GEN.seed(f"{name} ed25519")),
        GEN.CREATED_AT,
    )


def _public(keys: DeviceKeys) -> dict[str, Any]:
    p = keys.public()
    return {
        "device_id": p.device_id,
        "address": p.address,
        "kem": p.kem.value,
        "hpke_public": p.hpke_public.hex(),
        "signing_public": p.signing_public.hex(),
        "created_at": int(p.created_at.timestamp()),
    }


def _error(data: bytes) -> str:
    try:
        verify_endorsement(data, GEN.ALICE.public())
    except InstantCryptoError as exc:
        return exc.code
    return "accepted"


def build() -> dict[str, Any]:
    person = ec.derive_private_key(int.from_bytes(GEN.seed("person p-256")), ec.SECP256R1())
    endorser = GEN.ALICE
    body = endorser.public().body()
    signature = person.sign(body, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    spki = person.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    endorsements: list[dict[str, Any]] = []
    for name, kem in (("alice-tablet", Kem.X25519), ("alice-laptop", Kem.MLKEM768_X25519)):
        new = sibling(name, kem)
        data = endorse_device(new.public(), endorser)
        assert verify_endorsement(data, endorser.public()) == new.public()
        endorsements.append(
            {
                "new_device": _public(new),
                "body": endorsement_body(new.public(), endorser.device_id).hex(),
                "endorsement": data.hex(),
            }
        )
    tablet = sibling("alice-tablet", Kem.X25519)
    good = bytes.fromhex(endorsements[0]["endorsement"])
    flipped = bytearray(good)
    flipped[-1] ^= 1
    other = endorsement_body(tablet.public(), "carol-device")
    x25519 = _wire.integer(Kem.X25519.value)
    unknown_kem = endorsement_body(tablet.public(), endorser.device_id).replace(
        x25519, _wire.integer(0x0010), 1
    )
    statement = _wire.fields(body, signature)
    bad = {
        "one bit of the signature flipped": bytes(flipped),
        "another endorser named": _wire.fields(other, endorser.sign(other)),
        "an HPKE KEM nobody speaks (P-256)": _wire.fields(unknown_kem, endorser.sign(unknown_kem)),
        "a device statement, not an endorsement": statement,
        "truncated": good[:-1],
        "trailing bytes": good + b"\x00",
    }
    return {
        "note": GEN.NOTE,
        "person_public_spki": spki.hex(),
        "person_addresses": [endorser.address],
        "endorser": GEN.ALICE_FACTS,
        "endorser_statement": statement.hex(),
        "endorsements": endorsements,
        "refused": [{"why": w, "endorsement": b.hex(), "error": _error(b)} for w, b in bad.items()],
    }


def render(vector: dict[str, Any]) -> str:
    return json.dumps(vector, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    fresh = render(build())
    if "--check" in argv:
        drifted = not FILE.exists() or FILE.read_text() != fresh
        print("drifted: endorsements.json" if drifted else "ok")
        return 1 if drifted else 0
    FILE.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
