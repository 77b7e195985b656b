// Key transparency in the browser: a person's certificate is trusted only if the operator's
// evidence log proves it was issued and not revoked, as the workstation agent checks before
// encrypting (caducee/agent/transparency.py, the reference behaviour).
//
// GET /api/v1/ledger/certificates/{sha256} answers {issued, revoked}: caducee-receipt/1
// receipts (a signed record, its RFC 9162 §2.1.3 inclusion proof, a C2SP signed checkpoint).
// Each is verified here as caducee/ledger/receipt.py verifies it, against the log key pinned
// in this browser: the checkpoint's Ed25519 signed-note signature and origin (checkpoint.py),
// the record's own signature (records.py), then the proof to the checkpoint's root
// (merkle.py). The issuance record must name this very certificate (its SHA-256) and address,
// and no revocation may be recorded. A certificate the server lists but never logged (a key
// it substituted) is refused. Every refusal is a CertificateNotInLog whose `reason` is the
// Python LedgerError code of the first failure, or a word naming the failed check.

import { concat, equal, toHex, utf8 } from "./bytes.js";
import { UntrustedCertificate } from "./errors.js";
import { verify } from "./signing.js";

export const RECEIPT_FORMAT = "caducee-receipt/1";
export const RECORD_VERSION = "caducee-evidence/1";
export const NOT_IN_LOG = "certificate-not-in-log";
export const ISSUED = "CertificateIssued";
export const REVOKED = "CertificateRevoked";

const SIGNATURE_DOMAIN = utf8.encode("caducee-evidence/1 signature\n");
const ED25519 = 0x01; // signed-note signature type
const HASH_SIZE = 32;
const MAX_SIGNATURES = 64;
const MAX_NOTE_BYTES = 64 * 1024;
const MAX_PROOF = 64;
const MAX_EXTRA = 16;
const MAX_TEXT = 1024;
const DASH = "\u2014 "; // EM DASH, space: the start of a signature line
const MAX_SIZE = 2n ** 63n;
const RECEIPT_MEMBERS = [
  "checkpoint",
  "format",
  "inclusion_proof",
  "leaf_index",
  "record",
  "tree_size",
];
const RECORD_MEMBERS = [
  "actor", "ciphertext_sha256", "event", "extra", "message_id", "previous", "recipients",
  "sender", "time", "v",
]; // prettier-ignore
// caducee.ledger.records.EvidenceEvent: a record of another event is malformed, as in Python.
const EVENTS = new Set([
  "SubmissionAcceptance", "SubmissionRejection", "ContentConsignment", "ContentHandover",
  "ConsignmentAcceptance", "RelayToExternal", "ReceivedFromExternal", ISSUED, REVOKED,
  "CharterSigned", "ModerationDecision", "PrescriptionTransition", "DeviceRegistered",
  "DeviceRevoked", "CaseRouted", "CaseEscalated", "CaseAcknowledged", "CaseRead",
]); // prettier-ignore
const HEX64 = /^[0-9a-f]{64}$/;
const TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{6})?Z$/;
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f]/; // eslint-disable-line no-control-regex
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const SPACE = /[\s\x1c-\x1f\x85]/; // what Python's str.isspace() calls a space, and a little more

// Python's LedgerError codes, so that both sides name a refusal the same way.
export const LEDGER = Object.freeze({
  MALFORMED_KEY: "ledger-malformed-key",
  MALFORMED_CHECKPOINT: "ledger-malformed-checkpoint",
  MALFORMED_RECEIPT: "ledger-malformed-receipt",
  NOT_CANONICALIZABLE: "ledger-not-canonicalizable",
  INCLUSION: "ledger-inclusion-proof-invalid",
  RECORD_SIGNATURE: "ledger-record-signature-invalid",
  CHECKPOINT_SIGNATURE: "ledger-checkpoint-signature-invalid",
  WRONG_LOG: "ledger-wrong-log",
});

/**
 * A certificate this browser does not trust because the log does not prove it (or the proof
 * does not verify). `why` is "certificate-not-in-log", as the agent's refusal code; `reason`
 * says which check failed: a LEDGER code, or "not-in-log", "no-receipt",
 * "another-certificate", "another-event", "another-address", "revoked".
 */
export class CertificateNotInLog extends UntrustedCertificate {
  /** @param {string} reason @param {string} detail (English, for the console) */
  constructor(reason, detail) {
    super(
      NOT_IN_LOG,
      `certificat non prouvé par le journal de preuves : écarté / ` +
        `certificate not proven in the evidence log (${detail}): left out`,
    );
    /** @type {string} */
    this.reason = reason;
  }
}

/** @param {string} reason @param {string} detail @returns {never} */
function fail(reason, detail) {
  throw new CertificateNotInLog(reason, detail);
}

/** @param {Uint8Array} data @returns {Promise<Uint8Array>} */
async function sha256(data) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/** @param {unknown} value @returns {value is Record<string, unknown>} */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** @param {string} name */
function validName(name) {
  return name.length > 0 && !name.includes("+") && !SPACE.test(name);
}

/**
 * Canonical base64 only (Python: b64decode(validate=True), then re-encoded to the same text).
 * @param {unknown} text @param {string} reason @param {string} what @returns {Uint8Array}
 */
function base64(text, reason, what) {
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    fail(reason, `${what} is not valid base64`);
  }
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  if (btoa(binary) !== text) fail(reason, `${what} is not canonical base64`);
  return bytes;
}

// -- RFC 9162 §2.1: hashes and the inclusion proof ----------------------------------------------

/** §2.1.1: HASH(0x00 || data). @param {Uint8Array} data */
export function leafHash(data) {
  return sha256(concat(new Uint8Array([0]), data));
}

/** §2.1.1: HASH(0x01 || left || right). @param {Uint8Array} left @param {Uint8Array} right */
function nodeHash(left, right) {
  return sha256(concat(new Uint8Array([1]), left, right));
}

/**
 * §2.1.3.2: return if `leaf` (a leaf hash) is at `index` of the tree of `size` with `root`.
 * Sizes go up to 2**63: BigInt, as JavaScript's bit operators stop at 32 bits.
 * @param {Uint8Array} leaf @param {number|bigint} index @param {number|bigint} size
 * @param {Uint8Array[]} proof @param {Uint8Array} root
 */
export async function verifyInclusion(leaf, index, size, proof, root) {
  if ([leaf, root, ...proof].some((h) => !(h instanceof Uint8Array) || h.length !== HASH_SIZE)) {
    fail(LEDGER.INCLUSION, "a proof element is not a 32-byte hash");
  }
  // 1. leaf_index < tree_size.  2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn < 0n || fn > sn) fail(LEDGER.INCLUSION, `leaf index ${index} is not below ${size}`);
  let r = leaf;
  for (const p of proof) {
    // 4a. sn == 0: the path is too long.
    if (sn === 0n) fail(LEDGER.INCLUSION, "the inclusion proof is longer than the tree is deep");
    // 4b. LSB(fn) set or fn == sn: p is on the left (climbing the right edge on an even fn).
    if (fn & 1n || fn === sn) {
      r = await nodeHash(p, r);
      while (fn !== 0n && !(fn & 1n)) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    // 4c. Shift once.
    fn >>= 1n;
    sn >>= 1n;
  }
  // 5. sn == 0 and r the root.
  if (sn !== 0n) fail(LEDGER.INCLUSION, "the inclusion proof is shorter than the tree is deep");
  if (!equal(r, root)) fail(LEDGER.INCLUSION, "the inclusion proof does not lead to the root");
}

// -- C2SP signed note and tlog-checkpoint (checkpoint.py) ---------------------------------------

/** A log's note verifier key: `<name>+<hex key ID>+base64(0x01 || Ed25519 key)`. */
export class LogKey {
  /** @param {string} name @param {Uint8Array} keyId @param {Uint8Array} publicBytes @param {string} text */
  constructor(name, keyId, publicBytes, text) {
    this.name = name;
    this.keyId = keyId;
    this.publicBytes = publicBytes;
    this.text = text;
  }
}

/** signed-note: SHA-256(name || 0x0A || 0x01 || public key)[:4]. @param {string} name @param {Uint8Array} publicBytes */
async function noteKeyId(name, publicBytes) {
  const digest = await sha256(
    concat(utf8.encode(name), new Uint8Array([0x0a, ED25519]), publicBytes),
  );
  return digest.slice(0, 4);
}

/**
 * Parse a verifier key (what GET /api/v1/ledger/key serves, without its newline); its key
 * ID must match its name and key. @param {unknown} text @returns {Promise<LogKey>}
 */
export async function parseLogKey(text) {
  const key = typeof text === "string" ? text : "";
  const first = key.indexOf("+");
  const second = first < 0 ? -1 : key.indexOf("+", first + 1);
  const name = key.slice(0, Math.max(first, 0));
  if (second < 0 || !validName(name)) {
    fail(LEDGER.MALFORMED_KEY, "a verifier key is <name>+<hex key ID>+<base64 key>");
  }
  const keyHex = key.slice(first + 1, second);
  if (!/^[0-9a-f]{8}$/.test(keyHex)) {
    fail(LEDGER.MALFORMED_KEY, "the key ID of a verifier key must be 8 lowercase hex digits");
  }
  const raw = base64(key.slice(second + 1), LEDGER.MALFORMED_KEY, "the verifier key material");
  if (raw.length !== 33 || raw[0] !== ED25519) {
    fail(LEDGER.MALFORMED_KEY, "only Ed25519 (type 0x01, 32-byte) verifier keys are supported");
  }
  const publicBytes = raw.slice(1);
  const keyId = await noteKeyId(name, publicBytes);
  if (toHex(keyId) !== keyHex) {
    fail(LEDGER.MALFORMED_KEY, "the key ID of the verifier key does not match its name and key");
  }
  return new LogKey(name, keyId, publicBytes, key);
}

/**
 * Split a signed note into its text and signature lines (nothing verified yet).
 * @param {unknown} note @returns {{text: string, signatures: {name: string, keyId: Uint8Array, signature: Uint8Array}[]}}
 */
function parseSignedNote(note) {
  const bad = (/** @type {string} */ why) => fail(LEDGER.MALFORMED_CHECKPOINT, why);
  if (typeof note !== "string") bad("checkpoint must be the signed note text");
  const text = /** @type {string} */ (note);
  if (LONE_SURROGATE.test(text) || CONTROL.test(text)) {
    bad("the note holds a control character or a lone surrogate");
  }
  if (utf8.encode(text).length > MAX_NOTE_BYTES)
    bad(`the note is larger than ${MAX_NOTE_BYTES} bytes`);
  // 1. The text ends at the last blank line; signatures follow, each ending in a newline.
  const cut = text.lastIndexOf("\n\n");
  if (cut < 0 || !text.endsWith("\n")) bad("the note has no blank line before its signatures");
  const lines = text.slice(cut + 2, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) bad(`the note has more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    // 2. "— <name> base64(4-byte key ID || signature)".
    const parts = line.slice(DASH.length).split(" ");
    if (!line.startsWith(DASH) || parts.length !== 2 || !validName(parts[0])) {
      bad("a signature line is not '— <name> <base64>'");
    }
    const blob = base64(parts[1], LEDGER.MALFORMED_CHECKPOINT, "a note signature");
    if (blob.length < 5) bad("a note signature is shorter than its key ID");
    return { name: parts[0], keyId: blob.slice(0, 4), signature: blob.slice(4) };
  });
  return { text: text.slice(0, cut + 1), signatures };
}

/**
 * A checkpoint body: origin, tree size, root hash, extension lines.
 * @param {string} text @returns {{origin: string, size: bigint, root: Uint8Array}}
 */
function parseCheckpoint(text) {
  const bad = (/** @type {string} */ why) => fail(LEDGER.MALFORMED_CHECKPOINT, why);
  if (!text.endsWith("\n")) bad("the checkpoint does not end in a newline");
  const [origin, size, root, ...extensions] = text.slice(0, -1).split("\n");
  if (root === undefined) bad("a checkpoint has an origin, a size and a root hash");
  if (!origin || origin !== origin.trim()) bad("the checkpoint origin is empty or padded");
  if (!/^(0|[1-9][0-9]{0,18})$/.test(size) || BigInt(size) >= MAX_SIZE) {
    bad(`tree size ${JSON.stringify(size)} is not a canonical decimal number`);
  }
  const rootHash = base64(root, LEDGER.MALFORMED_CHECKPOINT, "the root hash");
  if (rootHash.length !== HASH_SIZE) bad(`the root hash is not ${HASH_SIZE} bytes`);
  if (extensions.some((line) => !line)) bad("a checkpoint extension line is empty");
  return { origin, size: BigInt(size), root: rootHash };
}

/**
 * Verify the log's signature on a checkpoint note, then its origin (the key's name).
 * Unknown keys' signatures are ignored; a signature of this key must verify.
 * @param {unknown} note @param {LogKey} key
 */
export async function verifyCheckpoint(note, key) {
  const signed = parseSignedNote(note);
  const text = utf8.encode(signed.text);
  let verified = false;
  for (const s of signed.signatures) {
    if (s.name !== key.name || !equal(s.keyId, key.keyId)) continue;
    if (!(await verify(key.publicBytes, s.signature, text))) {
      fail(LEDGER.CHECKPOINT_SIGNATURE, `the signature of ${key.name} does not verify`);
    }
    verified = true;
  }
  if (!verified) {
    // Unverified text only names the error: another log's checkpoint is WrongLog.
    const claimed = signed.text.split("\n", 1)[0];
    if (claimed !== key.name) fail(LEDGER.WRONG_LOG, `the checkpoint claims log ${claimed}`);
    fail(LEDGER.CHECKPOINT_SIGNATURE, `the checkpoint is not signed by ${key.name}`);
  }
  const checkpoint = parseCheckpoint(signed.text);
  if (checkpoint.origin !== key.name) {
    fail(LEDGER.WRONG_LOG, `the checkpoint is of log ${checkpoint.origin}`);
  }
  return checkpoint;
}

// -- Evidence records and receipts (records.py, receipt.py) -------------------------------------

/** @param {string} s a string with no character from U+D800 up in object names */
function codePoints(s) {
  return [...s].length;
}

/** @param {unknown} value @returns {value is string} */
function isText(value) {
  return typeof value === "string" && value.length > 0 && codePoints(value) <= MAX_TEXT;
}

/** format_time's one spelling of an instant: a real date, microseconds only when not zero. */
function canonicalTime(/** @type {unknown} */ value) {
  const m = typeof value === "string" ? TIME.exec(value) : null;
  if (!m || m[7] === ".000000") return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const days = new Date(Date.UTC(2000, month, 0)).getUTCDate(); // the month's length, leap-free
  const leap =
    month === 2 && day === 29 && (year % 4 !== 0 || (year % 100 === 0 && year % 400 !== 0));
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= days && !leap &&
    hour < 24 && minute < 60 && second < 60; // prettier-ignore
}

/** Whether `names` (sorted) are exactly the member names `keys`. @param {string[]} keys @param {string[]} names */
function exactly(keys, names) {
  const sorted = [...keys].sort();
  return sorted.length === names.length && sorted.every((k, i) => k === names[i]);
}

/** @param {unknown} value @returns {value is string} */
function isHex64(value) {
  return typeof value === "string" && HEX64.test(value);
}

/**
 * SignedRecord.from_json_dict and EvidenceRecord's checks: the signed record, or a refusal
 * (MalformedRecord, which a receipt reports as MalformedReceipt).
 * @param {unknown} signed @returns {{record: Record<string, any>, sig: Uint8Array}}
 */
function readSignedRecord(signed) {
  const bad = (/** @type {string} */ why) => fail(LEDGER.MALFORMED_RECEIPT, `the record: ${why}`);
  if (!isObject(signed) || !exactly(Object.keys(signed), ["alg", "record", "sig"])) {
    bad("a signed record must have exactly record, alg and sig");
  }
  const { record: r, alg, sig: sigText } = /** @type {Record<string, any>} */ (signed);
  if (alg !== "Ed25519") bad("the signature algorithm is not Ed25519");
  const sig = base64(sigText, LEDGER.MALFORMED_RECEIPT, "sig");
  if (sig.length !== 64) bad("sig must be the canonical base64 of 64 bytes");
  if (!isObject(r) || !exactly(Object.keys(r), RECORD_MEMBERS)) bad("not exactly the v1 members");
  if (r.v !== RECORD_VERSION) bad(`version ${r.v} is not ${RECORD_VERSION}`);
  if (!EVENTS.has(r.event)) bad(`unknown event ${r.event}`);
  if (!Array.isArray(r.recipients) || !isObject(r.extra)) bad("recipients or extra mistyped");
  if (!canonicalTime(r.time)) bad("time is not RFC 3339 UTC in its canonical spelling");
  if (!isText(r.message_id) || !isText(r.actor)) bad("message_id or actor is not text");
  if (!isHex64(r.ciphertext_sha256)) bad("ciphertext_sha256 is not 64 lowercase hex");
  if (r.sender !== null && !isText(r.sender)) bad("sender is not text");
  if (!r.recipients.every(isText)) bad("a recipient id is not text");
  if (r.previous !== null && !isHex64(r.previous)) bad("previous is not 64 lowercase hex");
  const extra = Object.entries(r.extra);
  if (extra.length > MAX_EXTRA) bad(`extra has more than ${MAX_EXTRA} entries`);
  for (const [k, v] of extra) {
    if (!isText(k) || typeof v !== "string" || codePoints(v) > MAX_TEXT) bad("an extra entry");
  }
  return { record: r, sig };
}

/**
 * RFC 8785 canonical JSON of what a record holds (strings, null, lists, objects): names in
 * UTF-16 code-unit order (JavaScript's own sort), strings as JSON.stringify writes them,
 * which is §3.2.2.2; a lone surrogate is refused, as in Python.
 * @param {unknown} value @returns {string}
 */
function canonical(value) {
  if (value === null) return "null";
  if (typeof value === "string") {
    if (LONE_SURROGATE.test(value)) fail(LEDGER.NOT_CANONICALIZABLE, "a lone surrogate");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isObject(value)) {
    const names = Object.keys(value).sort();
    return `{${names.map((n) => `${canonical(n)}:${canonical(value[n])}`).join(",")}}`;
  }
  return fail(LEDGER.NOT_CANONICALIZABLE, `a ${typeof value} in a record`);
}

/**
 * Verify a caducee-receipt/1 receipt (its parsed JSON) as verify_receipt does, records signed
 * by the log key; return its record. @param {unknown} receipt @param {LogKey} key
 * @returns {Promise<Record<string, any>>}
 */
export async function verifyReceipt(receipt, key) {
  const bad = (/** @type {string} */ why) => fail(LEDGER.MALFORMED_RECEIPT, why);
  if (!isObject(receipt)) bad("the receipt is not an object");
  const r = /** @type {Record<string, any>} */ (receipt);
  const members = Object.keys(r).filter((name) => name !== "timestamp");
  if (!exactly(members, RECEIPT_MEMBERS)) {
    bad(`the receipt does not have the members of ${RECEIPT_FORMAT}`);
  }
  if (r.format !== RECEIPT_FORMAT) bad(`receipt format ${r.format} is not ${RECEIPT_FORMAT}`);
  const signed = readSignedRecord(r.record);
  if (!Array.isArray(r.inclusion_proof) || r.inclusion_proof.length > MAX_PROOF) {
    bad(`inclusion_proof must be a list of at most ${MAX_PROOF} hashes`);
  }
  const proof = r.inclusion_proof.map((/** @type {unknown} */ h) =>
    base64(h, LEDGER.MALFORMED_RECEIPT, "an inclusion proof hash"),
  );
  if (proof.some((/** @type {Uint8Array} */ h) => h.length !== HASH_SIZE)) {
    bad(`an inclusion proof hash is not ${HASH_SIZE} bytes`);
  }
  if (typeof r.checkpoint !== "string") bad("checkpoint must be the signed note text");
  if (r.timestamp != null) base64(r.timestamp, LEDGER.MALFORMED_RECEIPT, "timestamp"); // unused
  for (const count of [r.leaf_index, r.tree_size]) {
    if (!Number.isSafeInteger(count) || count < 0) bad("a count must be a non-negative integer");
  }
  // 1. The checkpoint: the log's signature, then the origin (another log: WrongLog).
  const checkpoint = await verifyCheckpoint(r.checkpoint, key);
  // 2. The record's own signature, over the domain and the record's canonical JSON.
  const body = utf8.encode(canonical(signed.record));
  if (!(await verify(key.publicBytes, signed.sig, concat(SIGNATURE_DOMAIN, body)))) {
    fail(LEDGER.RECORD_SIGNATURE, `the ${signed.record.event} record is not signed by the log`);
  }
  // 3. RFC 9162 §2.1.3.2 of the leaf (canonical JSON of the signed record) to the root.
  if (BigInt(r.tree_size) !== checkpoint.size) {
    fail(LEDGER.INCLUSION, `the proof is for size ${r.tree_size}, not ${checkpoint.size}`);
  }
  const leaf = await leafHash(utf8.encode(canonical(r.record)));
  await verifyInclusion(leaf, r.leaf_index, r.tree_size, proof, checkpoint.root);
  return signed.record;
}

// -- A certificate in the log (agent/transparency.py) -------------------------------------------

/**
 * The record of one receipt of `answer`, verified, about the certificate `sha256`.
 * @param {unknown} receipt @param {string} sha256 @param {LogKey} key @param {string} what
 */
async function provenRecord(receipt, sha256, key, what) {
  if (!isObject(receipt)) fail("no-receipt", `the server gave no ${what} receipt`);
  const record = await verifyReceipt(receipt, key);
  if (record.ciphertext_sha256 !== sha256) {
    fail("another-certificate", `the ${what} receipt is about another certificate`);
  }
  return record;
}

/**
 * Return if `answer` (the {issued, revoked} of GET /ledger/certificates/{sha256}) proves the
 * certificate `sha256` issued to `address` and not revoked; else throw CertificateNotInLog.
 * @param {unknown} answer @param {string} sha256 hex @param {string} address @param {LogKey} key
 */
export async function verifyCertificateReceipts(answer, sha256, address, key) {
  const receipts = isObject(answer) ? answer : {};
  const digest = sha256.toLowerCase();
  const issued = await provenRecord(receipts.issued, digest, key, "issuance");
  if (issued.event !== ISSUED) fail("another-event", "its issuance receipt is of another event");
  if ((issued.extra.subject_address ?? "").toLowerCase() !== address.toLowerCase()) {
    fail("another-address", "the log issued it to another address");
  }
  if (receipts.revoked != null) {
    const revoked = await provenRecord(receipts.revoked, digest, key, "revocation");
    if (revoked.event === REVOKED) fail("revoked", "the log records it as revoked");
    fail("another-event", "its revocation receipt is of another event");
  }
}

/**
 * The server's {issued, revoked} for a certificate, or null when the log holds no such
 * certificate (a 404 certificate-not-in-log).
 * @typedef {(sha256: string) => Promise<unknown>} FetchReceipts
 */

/**
 * The certificates this page has proven in the log, each asked for once: a proof is kept for
 * the page's life (issuance is append-only; revocation is also read in the CRL), a refusal or
 * a network failure is not (the next question asks again).
 */
export class CertificateLog {
  /** @param {LogKey} key the log key pinned in this browser */
  constructor(key) {
    this.key = key;
    /** @type {Map<string, Promise<void>>} "sha256 address" → its proof */
    this.proven = new Map();
  }

  /**
   * Return if the log proves the certificate (`sha256`, hex) issued to `address`, asking the
   * server with `fetchReceipts` unless this page proved it already.
   * @param {string} sha256 @param {string} address @param {FetchReceipts} fetchReceipts
   * @returns {Promise<void>}
   */
  check(sha256, address, fetchReceipts) {
    const digest = sha256.toLowerCase();
    const id = `${digest} ${address.toLowerCase()}`;
    let proof = this.proven.get(id);
    if (!proof) {
      proof = this.prove(digest, address, fetchReceipts);
      proof.catch(() => this.proven.delete(id));
      this.proven.set(id, proof);
    }
    return proof;
  }

  /** @param {string} sha256 @param {string} address @param {FetchReceipts} fetchReceipts */
  async prove(sha256, address, fetchReceipts) {
    const answer = await fetchReceipts(sha256);
    if (answer === null) fail("not-in-log", "the log holds no such certificate");
    await verifyCertificateReceipts(answer, sha256, address, this.key);
  }
}
