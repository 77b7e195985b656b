"""Key transparency in the browser (static/instant/transparency.js) against the Python ledger.

``tests/vectors/transparency/make_vectors.py`` builds a small evidence log with
``caducee.ledger`` and writes what ``GET /api/v1/ledger/certificates/{sha256}`` could answer:
valid receipts and tampered ones (a proof hash, the index, the tree size, the root, the
checkpoint's signature or key or log, the record's signature, another certificate, another
address, a revocation, malformed members). Chromium must reach, for each, the verdict of the
workstation agent (``caducee.agent.transparency``), refused for the same reason (the
``LedgerError`` code of the first failure). The Merkle verifier is also checked against the
RFC 6962 vectors of transparency-dev/merkle, and the signed-note verifier against the Go
example, both independent of our Python. Then what the page keeps: proofs per certificate
for its life (a refusal is asked again), and the log key pinned once in IndexedDB.

The modules are served from the source tree on a routed https origin (a secure context for
WebCrypto and IndexedDB). SYNTHETIC TEST MATERIAL only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from playwright.sync_api import Page

from caducee.ledger import LedgerError, parse_verifier_key, verify_checkpoint
from tests.browser import chromium, module_page
from tests.instant.miss import vector_generator

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "transparency"
MERKLE = ROOT / "tests" / "vectors" / "ledger" / "rfc6962_merkle.json"
ORIGIN = "https://transparency.test"
PAGE = """<!doctype html><meta charset="utf-8"><title>Transparency checks</title>
<script type="module">
import * as transparency from "/static/instant/transparency.js";
import * as keystore from "/static/instant/keystore.js";
import * as errors from "/static/instant/errors.js";
import * as bytes from "/static/instant/bytes.js";
Object.assign(window, { transparency, keystore, errors, bytes });
</script>"""

# Each case through a CertificateLog whose server answers the case (null: the 404).
CHECK_CASES = """async ({ logKey, cases }) => {
  const key = await transparency.parseLogKey(logKey);
  const out = {};
  for (const [name, c] of Object.entries(cases)) {
    const log = new transparency.CertificateLog(key);
    try {
      await log.check(c.sha256, c.address, async () => c.answer);
      out[name] = "ok";
    } catch (e) {
      const kept = e instanceof errors.UntrustedCertificate && e.why === "certificate-not-in-log";
      out[name] = kept ? e.reason : `crash ${e}`;
    }
  }
  return out;
}"""

PARSE_KEYS = """async (keys) => {
  const out = {};
  for (const [name, k] of Object.entries(keys)) {
    try {
      const key = await transparency.parseLogKey(k.text);
      out[name] = key.text === k.text ? "ok" : "changed";
    } catch (e) {
      out[name] = e instanceof transparency.CertificateNotInLog ? e.reason : `crash ${e}`;
    }
  }
  return out;
}"""


def _generator() -> ModuleType:
    return vector_generator(VECTORS, "kt_make_vectors")


def _vectors() -> dict[str, Any]:
    vectors: dict[str, Any] = json.loads((VECTORS / "receipts.json").read_text())
    return vectors


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with chromium() as browser:
        page = module_page(browser, ORIGIN, PAGE, "window.transparency !== undefined")
        yield page


def test_the_committed_vectors_are_what_the_python_ledger_and_agent_give_today() -> None:
    """A change of record, receipt or checkpoint format in Python fails here first."""
    generator = _generator()
    assert generator.render(generator.build()) == (VECTORS / "receipts.json").read_text()


def test_the_vectors_cover_acceptance_and_every_refusal() -> None:
    expected = {case["expect"] for case in _vectors()["cases"].values()}
    assert expected >= {
        "ok",
        "not-in-log",
        "no-receipt",
        "ledger-inclusion-proof-invalid",
        "ledger-checkpoint-signature-invalid",
        "ledger-wrong-log",
        "ledger-record-signature-invalid",
        "ledger-malformed-receipt",
        "another-certificate",
        "another-address",
        "another-event",
        "revoked",
    }


def test_the_browser_decides_every_case_as_the_agent_does(page: Page) -> None:
    vectors = _vectors()
    verdicts = page.evaluate(CHECK_CASES, {"logKey": vectors["log_key"], "cases": vectors["cases"]})
    expected = {name: case["expect"] for name, case in vectors["cases"].items()}
    assert verdicts == expected


def test_receipts_are_refused_under_another_pinned_key(page: Page) -> None:
    """The valid receipts, checked with a key the log never signed with: none is accepted."""
    vectors = _vectors()
    valid = {n: c for n, c in vectors["cases"].items() if c["expect"] == "ok"}
    assert len(valid) >= 4
    verdicts = page.evaluate(CHECK_CASES, {"logKey": vectors["other_log_key"], "cases": valid})
    assert verdicts == dict.fromkeys(valid, "ledger-checkpoint-signature-invalid")


def test_verifier_keys_are_read_as_python_reads_them(page: Page) -> None:
    keys = _vectors()["keys"]
    assert page.evaluate(PARSE_KEYS, keys) == {name: k["expect"] for name, k in keys.items()}


def _python_checkpoint(note: str, key: str) -> str:
    try:
        verify_checkpoint(note, parse_verifier_key(key))
    except LedgerError as exc:
        return exc.code
    return "ok"


def test_the_go_signed_note_example_verifies(page: Page) -> None:
    """golang.org/x/mod/sumdb/note's example: its signature verifies (the body is not a
    checkpoint, so both sides then refuse it as one); one flipped bit and it does not."""
    go = _vectors()["go_note"]
    flipped = go["note"].replace("6KE6R", "6KE6S")  # in the signature, not the key ID
    outcome = page.evaluate(
        """async ({ key, notes }) => {
          const k = await transparency.parseLogKey(key);
          const out = [];
          for (const note of notes) {
            try { await transparency.verifyCheckpoint(note, k); out.push("ok"); }
            catch (e) { out.push(e.reason ?? `crash ${e}`); }
          }
          return out;
        }""",
        {"key": go["key"], "notes": [go["note"], flipped]},
    )
    python = [_python_checkpoint(note, go["key"]) for note in (go["note"], flipped)]
    assert python == ["ledger-malformed-checkpoint", "ledger-checkpoint-signature-invalid"]
    assert outcome == python


def test_inclusion_proofs_of_rfc6962_vectors(page: Page) -> None:
    """Every inclusion proof of transparency-dev/merkle verifies; with one bit flipped in any
    element, or the index moved, none does."""
    merkle = json.loads(MERKLE.read_text())
    outcome = page.evaluate(
        """async ({ leaves, roots, inclusion }) => {
          const { fromHex } = bytes;
          const run = async (leaf, index, size, proof, root) => {
            try {
              await transparency.verifyInclusion(leaf, index, size, proof, root);
              return "ok";
            } catch (e) { return e.reason ?? `crash ${e}`; }
          };
          const out = [];
          for (const c of inclusion) {
            const leaf = await transparency.leafHash(fromHex(leaves[c.index]));
            const root = fromHex(roots[c.size - 1]);
            const proof = c.proof.map(fromHex);
            out.push(await run(leaf, c.index, c.size, proof, root));
            for (let i = 0; i < proof.length; i++) {
              const bad = proof.map((p) => p.slice());
              bad[i][0] ^= 1;
              out.push(await run(leaf, c.index, c.size, bad, root));
            }
            if (c.size > 1) {
              out.push(await run(leaf, (c.index + 1) % c.size, c.size, proof, root));
            }
          }
          return out;
        }""",
        merkle,
    )
    assert outcome.count("ok") == len(merkle["inclusion"])
    assert set(outcome) == {"ok", "ledger-inclusion-proof-invalid"}


def test_a_proof_is_kept_for_the_page_and_a_refusal_asked_again(page: Page) -> None:
    vectors = _vectors()
    good, ghost = vectors["cases"]["issued"], vectors["cases"]["not-in-log"]
    asked = page.evaluate(
        """async ({ logKey, good, ghost }) => {
          const key = await transparency.parseLogKey(logKey);
          const asked = [];
          const log = new transparency.CertificateLog(key);
          const fetch = async (sha256) => {
            asked.push(sha256);
            return sha256 === good.sha256 ? good.answer : null;
          };
          await Promise.all([log.check(good.sha256, good.address, fetch),
                             log.check(good.sha256.toUpperCase(), good.address, fetch)]);
          await log.check(good.sha256, good.address.toUpperCase(), fetch);
          for (let i = 0; i < 2; i++) {
            await log.check(ghost.sha256, ghost.address, fetch).catch(() => {});
          }
          let other = null;  // the same certificate asked for another address is not proven
          await log.check(good.sha256, "dr.autre@caducee.test", fetch)
            .catch((e) => { other = e.reason; });
          return { asked, other };
        }""",
        {"logKey": vectors["log_key"], "good": good, "ghost": ghost},
    )
    assert asked == {
        "asked": [good["sha256"], ghost["sha256"], ghost["sha256"], good["sha256"]],
        "other": "another-address",
    }


def test_the_log_key_is_pinned_once_and_another_is_refused(page: Page) -> None:
    vectors = _vectors()
    outcome = page.evaluate(
        """async ({ logKey, otherKey }) => {
          const db = "caducee-transparency-test";
          const before = await keystore.pinnedLogKey(db);
          await keystore.pinLogKey(logKey, db);
          await keystore.pinLogKey(logKey, db);  // the same again: kept
          let refused = null;
          try { await keystore.pinLogKey(otherKey, db); }
          catch (e) { refused = { why: e.why, message: e.message }; }
          return { before, after: await keystore.pinnedLogKey(db), refused };
        }""",
        {"logKey": vectors["log_key"], "otherKey": vectors["other_log_key"]},
    )
    assert outcome["before"] is None
    assert outcome["after"] == vectors["log_key"]
    assert outcome["refused"]["why"] == "certificate-untrusted"
    message = outcome["refused"]["message"]
    assert "clé du journal de preuves" in message and "another evidence log key" in message
