"""Write the key transparency vectors the browser (static/instant/transparency.js) must agree on.

    .venv/bin/python tests/vectors/transparency/make_vectors.py          # rewrite receipts.json
    .venv/bin/python tests/vectors/transparency/make_vectors.py --check  # fail if it drifted

A small evidence log is built with the ledger's pure core (``caducee.ledger``) as the server
builds its own: certificate issuance and revocation records among message records, RFC 9162
inclusion proofs, C2SP checkpoints signed with Ed25519 (deterministic, so the file is
byte-stable). Each case is what ``GET /api/v1/ledger/certificates/{sha256}`` could answer
(``null``: a 404, the log holds no such certificate), with the certificate's SHA-256 and the
address it was asked for. The expected verdict is what the workstation agent decides
(``caducee.agent.transparency.CertificateLog``, the reference behaviour), and its reason the
``LedgerError`` code of ``verify_receipt`` or the name of the agent's failed check.

SYNTHETIC TEST MATERIAL: keys derived from public labels; "certificates" are the SHA-256 of
labels (the log names a certificate by its digest only); invented addresses.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caducee.agent.errors import CertificateNotInLog, ServerError
from caducee.agent.transparency import CertificateLog
from caducee.directory.certificates import certificate_log_id
from caducee.ledger import (
    Checkpoint,
    EvidenceEvent,
    EvidenceRecord,
    InMemoryTree,
    LedgerError,
    NoteVerifierKey,
    Receipt,
    format_verifier_key,
    inclusion_proof,
    parse_verifier_key,
    sign_checkpoint,
    sign_record,
    verify_receipt,
)

HERE = Path(__file__).resolve().parent
FILE = "receipts.json"
NOTE = "SYNTHETIC TEST MATERIAL: keys derived from public labels; see make_vectors.py."
ORIGIN = "caducee.test/journal-essai"
ISSUER = "CN=Caducée AC Essai,O=Caducée Essai,C=FR"  # an issuer's RFC 4514 name, accents
TIME = datetime.datetime(2026, 11, 29, 8, 0, tzinfo=datetime.UTC)
ALICE = "dr.alice.transparence@caducee.test"
BOB = "dr.bob.transparence@caducee.test"
CAROL = "dr.carol.transparence@caducee.test"
ELODIE = "dr.élodie.transparence@caducee.test"
# The signed-note example of golang.org/x/mod/sumdb/note (see tests/vectors/ledger/VECTORS.md).
GO_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_NOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
    "vqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def private_key(label: str) -> Ed25519PrivateKey:
    """An Ed25519 key anyone can recompute from ``label``."""
    seed = hashlib.shake_256(b"caducee transparency test vector " + label.encode()).digest(32)
    return Ed25519PrivateKey.from_private_bytes(seed)


def certificate(label: str) -> str:
    """The SHA-256 (hex) standing for a certificate's DER."""
    return hashlib.sha256(b"synthetic certificate " + label.encode()).hexdigest()


LOG = private_key("log")
KEY = NoteVerifierKey.from_public_key(ORIGIN, LOG.public_key())
CERTS = {name: certificate(name) for name in ("alice", "bob", "carol", "elodie", "ghost")}


def issued(sha256: str, address: str, serial: str) -> EvidenceRecord:
    extra = {"certificate_sha256": sha256, "serial": serial, "subject_address": address}
    return EvidenceRecord(
        event=EvidenceEvent.CERTIFICATE_ISSUED,
        message_id=certificate_log_id(sha256),
        ciphertext_sha256=sha256,
        actor_id=ISSUER,
        time=TIME,
        recipient_ids=(address,),
        extra=extra | {"not_after": "2027-11-29T08:00:00Z"},
    )


def revoked(sha256: str, address: str, serial: str, previous: EvidenceRecord) -> EvidenceRecord:
    return EvidenceRecord(
        event=EvidenceEvent.CERTIFICATE_REVOKED,
        message_id=certificate_log_id(sha256),
        ciphertext_sha256=sha256,
        actor_id=address,
        time=TIME + datetime.timedelta(hours=1, microseconds=250_000),
        recipient_ids=(address,),
        previous_record_sha256=previous.record_digest(),
        extra={"serial": serial, "reason": "keyCompromise"},
    )


def message(n: int, event: EvidenceEvent) -> EvidenceRecord:
    return EvidenceRecord(
        event=event,
        message_id=f"<vecteur-{n}@caducee.test>",
        ciphertext_sha256=hashlib.sha256(f"ciphertext {n}".encode()).hexdigest(),
        actor_id=ALICE,
        time=TIME,
        sender_id=ALICE,
        recipient_ids=(BOB,),
    )


class Log:
    """Records signed by the log key, in an RFC 9162 tree; receipts against signed checkpoints."""

    def __init__(self, records: list[EvidenceRecord], key: Ed25519PrivateKey = LOG) -> None:
        self.signed = [sign_record(r, key) for r in records]
        self.tree = InMemoryTree()
        for s in self.signed:
            self.tree.append(s.to_leaf_data())

    def checkpoint(self, size: int, key: Ed25519PrivateKey = LOG, name: str = ORIGIN) -> str:
        return sign_checkpoint(Checkpoint(name, size, self.tree.root(size)), key, name)

    def receipt(
        self, index: int, size: int | None = None, note: str | None = None
    ) -> dict[str, Any]:
        size = self.tree.size if size is None else size
        return Receipt(
            record=self.signed[index],
            leaf_index=index,
            tree_size=size,
            inclusion_proof=tuple(inclusion_proof(self.tree, index, size)),
            checkpoint=self.checkpoint(size) if note is None else note,
        ).to_json_dict()


ALICE_ISSUED = issued(CERTS["alice"], ALICE, "a1")
CAROL_ISSUED = issued(CERTS["carol"], CAROL, "c3")
RECORDS = [
    ALICE_ISSUED,  # 0
    message(1, EvidenceEvent.SUBMISSION_ACCEPTANCE),  # 1
    issued(CERTS["bob"], BOB, "b2"),  # 2
    CAROL_ISSUED,  # 3
    revoked(CERTS["carol"], CAROL, "c3", CAROL_ISSUED),  # 4
    message(2, EvidenceEvent.CONTENT_CONSIGNMENT),  # 5
    issued(CERTS["elodie"], ELODIE, "e4"),  # 6: the last leaf of a tree of 7
]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _flip(text: str, at: int = 0) -> str:
    """The base64 of the same bytes with one bit flipped at byte ``at``."""
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 0x01
    return _b64(bytes(raw))


def _with(receipt: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``receipt`` with some members replaced."""
    return copy.deepcopy(receipt) | changes


def _proof(receipt: dict[str, Any], change: Callable[[list[str]], None]) -> dict[str, Any]:
    """A copy of ``receipt`` whose inclusion proof ``change`` edited."""
    copied = copy.deepcopy(receipt)
    change(copied["inclusion_proof"])
    return copied


def _record(receipt: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``receipt`` whose signed record is changed, its signature kept."""
    copied = copy.deepcopy(receipt)
    copied["record"]["record"].update(changes)
    return copied


def _bad_signature(note: str) -> str:
    """The note with one bit of its signature flipped (the key ID kept)."""
    text, _, line = note.rpartition("\n— ")
    name, blob = line.removesuffix("\n").split(" ")
    return f"{text}\n— {name} {_flip(blob, 10)}\n"


def _flip_first(proof: list[str]) -> None:
    proof[1] = _flip(proof[1])


def _cases() -> dict[str, dict[str, Any]]:
    log = Log(RECORDS)
    alice, bob, elodie = log.receipt(0), log.receipt(2), log.receipt(6)
    carol_issued, carol_revoked = log.receipt(3), log.receipt(4)
    # Another tree of the same size: a root the log did sign, but not over this leaf.
    other_tree = Log([message(10 + i, EvidenceEvent.CONTENT_HANDOVER) for i in range(7)])
    other_key = private_key("another log")
    note = alice["checkpoint"]
    witness = sign_checkpoint(Checkpoint(ORIGIN, 7, log.tree.root()), other_key, "temoin")
    witnessed = note + witness.rpartition("\n\n")[2]  # one more signature, by a key not pinned
    root_changed = note.replace(_b64(log.tree.root()), _b64(other_tree.tree.root()))
    other_alice = copy.deepcopy(alice["record"]["record"]["extra"]) | {"subject_address": BOB}

    def ask(answer: Any, cert: str = "alice", address: str = ALICE) -> dict[str, Any]:
        return {"sha256": CERTS[cert], "address": address, "answer": answer}

    def only(receipt: dict[str, Any]) -> dict[str, Any]:
        return {"issued": receipt, "revoked": None}

    def carol(revocation: dict[str, Any]) -> dict[str, Any]:
        return ask({"issued": carol_issued, "revoked": revocation}, "carol", CAROL)

    return {
        "issued": ask(only(alice)),
        "issued-size-1-empty-proof": ask(only(Log(RECORDS[:1]).receipt(0))),
        "issued-last-leaf-utf8": ask(only(elodie), "elodie", ELODIE),
        "issued-address-in-capitals": ask(only(bob), "bob", BOB.upper()),
        "issued-with-an-unknown-signature": ask(only(_with(alice, checkpoint=witnessed))),
        "not-in-log": ask(None, "ghost"),
        "no-issuance-receipt": ask({"issued": None, "revoked": None}),
        "bad-proof-hash": ask(only(_proof(alice, _flip_first))),
        "wrong-index": ask(only(_with(alice, leaf_index=1))),
        "index-beyond-the-tree": ask(only(_with(alice, leaf_index=7))),
        "proof-too-long": ask(only(_proof(alice, lambda p: p.append(p[0])))),
        "proof-too-short": ask(only(_proof(alice, lambda p: p.pop()))),
        "tree-size-not-the-checkpoint-s": ask(only(_with(alice, tree_size=6))),
        "wrong-root-signed": ask(only(_with(alice, checkpoint=other_tree.checkpoint(7)))),
        "root-text-changed": ask(only(_with(alice, checkpoint=root_changed))),
        "bad-checkpoint-signature": ask(only(_with(alice, checkpoint=_bad_signature(note)))),
        "checkpoint-by-another-key": ask(only(log.receipt(0, note=log.checkpoint(7, other_key)))),
        "checkpoint-of-another-log": ask(
            only(log.receipt(0, note=log.checkpoint(7, other_key, "caducee.invalid/autre")))
        ),
        "record-signed-by-another-key": ask(only(Log(RECORDS, other_key).receipt(0))),
        "record-changed-after-signing": ask(only(_record(alice, extra=other_alice))),
        "receipt-of-another-certificate": ask(only(bob)),
        "another-address": ask(only(alice), address=BOB),
        "issuance-receipt-of-a-revocation": ask(only(carol_revoked), "carol", CAROL),
        "revoked": carol(carol_revoked),
        "revocation-receipt-does-not-verify": carol(_with(carol_revoked, leaf_index=3)),
        "revocation-receipt-not-a-revocation": carol(carol_issued),
        "malformed-format": ask(only(_with(alice, format="caducee-receipt/2"))),
        "malformed-proof-base64": ask(
            only(_proof(alice, lambda p: p.__setitem__(0, p[0][:-2] + "==")))
        ),
        "malformed-record-time": ask(only(_record(alice, time="2026-11-29T08:00:00.000000Z"))),
        "malformed-unknown-member": ask(only(_with(alice, extra="x"))),
    }


class _Answers:
    """The agent's server client, answering one case (``None``: the 404 of the route)."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def ledger_certificate(self, sha256: str) -> Any:
        if self.answer is None:
            raise ServerError("certificate-not-in-log", status=404, code="certificate-not-in-log")
        return self.answer


class _Digest:
    """Stands for a certificate: the agent only asks for its SHA-256."""

    def __init__(self, sha256: str) -> None:
        self.sha256 = sha256

    def fingerprint(self, _algorithm: object) -> bytes:
        return bytes.fromhex(self.sha256)


def agent_accepts(case: dict[str, Any]) -> bool:
    """What the workstation agent decides (caducee.agent.transparency, the reference)."""
    checker = CertificateLog(_Answers(case["answer"]), lambda: KEY)  # type: ignore[arg-type]
    try:
        checker.check(_Digest(case["sha256"]), case["address"])  # type: ignore[arg-type]
    except CertificateNotInLog:
        return False
    return True


def _receipt_reason(receipt: Any, sha256: str) -> str | None:
    if not isinstance(receipt, dict):
        return "no-receipt"
    try:
        record = verify_receipt(json.dumps(receipt).encode(), log_key=KEY).record
    except LedgerError as exc:
        return exc.code
    return None if record.ciphertext_sha256 == sha256 else "another-certificate"


def reason(case: dict[str, Any]) -> str:
    """Why the agent refuses, step by step as it checks ("ok" when it accepts)."""
    answer, sha256, address = case["answer"], case["sha256"], case["address"]
    if answer is None:
        return "not-in-log"
    why = _receipt_reason(answer["issued"], sha256)
    if why:
        return why
    record = verify_receipt(json.dumps(answer["issued"]).encode(), log_key=KEY).record
    if record.event is not EvidenceEvent.CERTIFICATE_ISSUED:
        return "another-event"
    if record.extra.get("subject_address", "").lower() != address.lower():
        return "another-address"
    if answer["revoked"] is not None:
        why = _receipt_reason(answer["revoked"], sha256)
        if why:
            return why
        record = verify_receipt(json.dumps(answer["revoked"]).encode(), log_key=KEY).record
        return "revoked" if record.event is EvidenceEvent.CERTIFICATE_REVOKED else "another-event"
    return "ok"


def _key_reason(text: str) -> str:
    try:
        parse_verifier_key(text)
    except LedgerError as exc:
        return exc.code
    return "ok"


def key_vectors() -> dict[str, dict[str, str]]:
    good = format_verifier_key(KEY)
    name, key_id, material = good.split("+", 2)
    x25519 = _b64(bytes([0x02]) + base64.b64decode(material)[1:])  # another signature type
    texts = {
        "log": good,
        "go-example": GO_KEY,
        "wrong-key-id": f"{name}+{'0' * 8}+{material}",
        "upper-hex-key-id": f"{name}+{key_id.upper()}+{material}",
        "not-ed25519": f"{name}+{key_id}+{x25519}",
        "short-material": f"{name}+{key_id}+{material[:-4]}",
        "space-in-name": f"caducee test+{key_id}+{material}",
        "no-material": f"{name}+{key_id}",
    }
    return {label: {"text": t, "expect": _key_reason(t)} for label, t in texts.items()}


def build() -> dict[str, Any]:
    cases = _cases()
    for label, case in cases.items():
        case["expect"] = reason(case)
        if (case["expect"] == "ok") != agent_accepts(case):  # the reason mirrors the agent
            raise AssertionError(f"{label}: the agent disagrees with {case['expect']!r}")
    return {
        "note": NOTE,
        "log_key": format_verifier_key(KEY),
        "other_log_key": format_verifier_key(
            NoteVerifierKey.from_public_key(ORIGIN, private_key("another log").public_key())
        ),
        "go_note": {"key": GO_KEY, "note": GO_NOTE},
        "keys": key_vectors(),
        "cases": cases,
    }


def render(vector: dict[str, Any]) -> str:
    return json.dumps(vector, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    fresh = render(build())
    if "--check" in argv:
        drifted = fresh != (HERE / FILE).read_text()
        if drifted:
            print(f"drifted: {FILE}")
        return 1 if drifted else 0
    (HERE / FILE).write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
