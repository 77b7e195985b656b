// Other people's devices, checked in this browser before a sender key is sealed to them or a
// message of theirs is read: the web app's caducee/agent/instant/peers.py.
//
// GET /people/{address}/devices lists the statements the server holds; the server could add
// a device of its own. So the person's certificates (GET /people/{address}/certificates) are
// each validated here against the root pinned at pairing, with the issuing CA's certificate
// and both CRLs from /pki (x509.js), and every listed device must be vouched for by one of
// them (verifyListedDevice: a statement the certificate key signed, or an endorsement by a
// device it certified). A device no valid certificate vouches for is left out (logged by its
// id only). Certificates are kept a minute, as in Python; so are the CA material and CRLs.
//
// Key transparency (transparency.js, as the agent checks before encrypting): a certificate
// counts only if the evidence log proves it issued to the address and not revoked, against
// the log key pinned with the root; one the server lists but never logged is left out the
// same way. Proofs are kept for the page's life.

import { verifyListedDevice } from "../device.js";
import { InstantCryptoError, UntrustedCertificate } from "../errors.js";
import { pinLogKey, pinRoot, pinnedLogKey, pinnedRoot } from "../keystore.js";
import { CertificateLog, parseLogKey } from "../transparency.js";
import {
  Certificate,
  WHY,
  readCrl,
  readRoot,
  sha256Hex,
  validatePersonCertificate,
} from "../x509.js";
import { ApiError, fromBase64 } from "./client.js";

export const CACHE_MS = 60_000;
export const PKI = "/pki";
export const LOG_KEY = "/api/v1/ledger/key";

/**
 * @typedef {import("../x509.js").Authority} Authority
 * @typedef {import("../device.js").DevicePublicKeys} DevicePublicKeys
 * @typedef {{spki: Uint8Array, addresses: string[]}} Person
 */

/** @param {string} path @returns {Promise<Uint8Array>} */
async function fetchBytes(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * At pairing: pin the operator's root the server publishes (trust on first use), or check it
 * against the one already pinned, or against `expectedSha256` (hex) when the person has it.
 * @param {{expectedSha256?: string|null, database?: string}} [options]
 * @returns {Promise<string>} the pinned root's SHA-256, hex (to show beside the pairing code)
 */
export async function pinOperatorRoot({ expectedSha256 = null, database } = {}) {
  const der = await fetchBytes(`${PKI}/ca/root.der`);
  await readRoot(der); // a self-signed CA certificate, or UntrustedCertificate
  const sha256 = await pinRoot(der, { expectedSha256, name: database });
  await pinEvidenceLogKey({ database });
  return sha256;
}

/**
 * Pin the evidence log's key the server publishes (trust on first use, beside the root), or
 * check it is the one already pinned: another is refused (keystore.js says so in FR/EN).
 * @param {{database?: string}} [options]
 */
export async function pinEvidenceLogKey({ database } = {}) {
  const text = new TextDecoder().decode(await fetchBytes(LOG_KEY)).trim();
  await parseLogKey(text); // a well-formed Ed25519 key whose ID matches, or a refusal
  await pinLogKey(text, database);
}

/**
 * {issued, revoked} receipts of a certificate, or null when the log holds none (404).
 * @param {import("./client.js").Session} session @param {string} sha256
 */
async function logReceipts(session, sha256) {
  try {
    return await session.api(`/ledger/certificates/${sha256}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** What this browser trusts: the pinned root, and the person certificates checked against it. */
export class PeerTrust {
  /**
   * @param {Certificate} root the pinned root
   * @param {import("../transparency.js").LogKey} logKey the pinned evidence log key
   * @param {{clock?: () => number, fetchBytes?: (path: string) => Promise<Uint8Array>}} [options]
   *   clock in epoch milliseconds (a test passes a fixed "now")
   */
  constructor(root, logKey, { clock = Date.now, fetchBytes: fetcher = fetchBytes } = {}) {
    this.root = root;
    this.log = new CertificateLog(logKey);
    this.clock = clock;
    this.fetchBytes = fetcher;
    /** @type {{at: number, authority: Promise<Authority>}|null} */
    this.authorityCache = null;
    /** @type {Map<string, {at: number, people: Promise<Person[]>}>} */
    this.certificateCache = new Map();
  }

  /**
   * The trust of this browser, from the root and log key pinned at pairing. A browser paired
   * before they were pinned pins the server's now if `pinIfNone` (trust on first use, later).
   * @param {object} [options] as the constructor's, plus `database` (IndexedDB name)
   * @param {string} [options.database] @param {boolean} [options.pinIfNone]
   * @returns {Promise<PeerTrust>}
   */
  static async open({ database, pinIfNone = false, ...options } = {}) {
    if (pinIfNone && !(await pinnedRoot(database))) await pinOperatorRoot({ database });
    const der = await pinnedRoot(database);
    if (!der) {
      throw new UntrustedCertificate(
        WHY.UNTRUSTED,
        "aucune racine épinglée : appairez de nouveau cet appareil / " +
          "no pinned root: pair this device again",
      );
    }
    if (pinIfNone && !(await pinnedLogKey(database))) await pinEvidenceLogKey({ database });
    const logKey = await pinnedLogKey(database);
    if (!logKey) {
      throw new UntrustedCertificate(
        WHY.UNTRUSTED,
        "aucune clé du journal de preuves épinglée : appairez de nouveau cet appareil / " +
          "no evidence log key pinned: pair this device again",
      );
    }
    return new PeerTrust(await readRoot(der), await parseLogKey(logKey), options);
  }

  /**
   * The issuing CA and both CRLs from the server (a minute). The issuing CA is checked with
   * each certificate against the root; unreadable CRLs count as none (revocation unknown).
   * @returns {Promise<Authority>}
   */
  authority() {
    const now = Date.now();
    if (!this.authorityCache || now - this.authorityCache.at >= CACHE_MS) {
      const authority = Promise.all([
        this.fetchBytes(`${PKI}/ca/issuing.der`),
        this.fetchBytes(`${PKI}/crl/issuing.crl`).catch(() => new Uint8Array()),
        this.fetchBytes(`${PKI}/crl/root.crl`).catch(() => new Uint8Array()),
      ]).then(([issuing, issuingCrl, rootCrl]) => ({
        root: this.root,
        issuing: new Certificate(issuing),
        issuingCrl: readCrl(issuingCrl),
        rootCrl: readCrl(rootCrl),
      }));
      authority.catch(() => {
        this.authorityCache = null; // try again on the next call
      });
      this.authorityCache = { at: now, authority };
    }
    return this.authorityCache.authority;
  }

  /**
   * `address`'s certificates that validate here and that the log proves, as the keys and
   * addresses devices are checked against (a minute).
   * @param {import("./client.js").Session} session @param {string} address
   * @returns {Promise<Person[]>}
   */
  certificates(session, address) {
    const key = address.toLowerCase();
    const now = Date.now();
    const cached = this.certificateCache.get(key);
    if (cached && now - cached.at < CACHE_MS) return cached.people;
    const people = this.validCertificates(session, key);
    people.catch(() => this.certificateCache.delete(key));
    this.certificateCache.set(key, { at: now, people });
    return people;
  }

  /** @param {import("./client.js").Session} session @param {string} address */
  async validCertificates(session, address) {
    const [answer, authority] = await Promise.all([
      session.api(`/people/${encodeURIComponent(address)}/certificates`),
      this.authority(),
    ]);
    /** @type {Person[]} */
    const valid = [];
    for (const encoded of answer.certificates ?? []) {
      try {
        const leaf = new Certificate(fromBase64(String(encoded)));
        const person = await validatePersonCertificate(leaf, authority, this.clock());
        const fetchReceipts = (/** @type {string} */ sha256) => logReceipts(session, sha256);
        await this.log.check(await sha256Hex(leaf.der), address, fetchReceipts);
        valid.push(person);
      } catch (error) {
        if (!(error instanceof InstantCryptoError) && !(error instanceof DOMException)) {
          throw error;
        }
        const why = error instanceof UntrustedCertificate ? error.why : "malformed-certificate";
        console.warn(`a certificate of ${address} does not validate: ${why}`);
      }
    }
    return valid;
  }
}

/**
 * The device of a listing if one of `people` (valid certificates of `address`) vouches for it.
 * @param {any} listed @param {string} address @param {Person[]} people
 * @returns {Promise<DevicePublicKeys|null>}
 */
async function vouched(listed, address, people) {
  for (const person of people) {
    try {
      const device = await verifyListedDevice(listed, person);
      if (device.address === address) return device;
    } catch (error) {
      if (!(error instanceof InstantCryptoError)) throw error;
    }
  }
  return null;
}

/**
 * `address`'s active devices whose statements a valid certificate of `address` signed (or
 * that a device so certified endorsed): deviceId → DevicePublicKeys. Others are left out.
 * @param {import("./client.js").Session} session @param {string} address
 * @param {PeerTrust} trust @returns {Promise<Map<string, DevicePublicKeys>>}
 */
export async function verifiedDevices(session, address, trust) {
  const lower = address.toLowerCase();
  const [answer, people] = await Promise.all([
    session.api(`/people/${encodeURIComponent(lower)}/devices`),
    trust.certificates(session, lower),
  ]);
  /** @type {Map<string, DevicePublicKeys>} */
  const found = new Map();
  for (const listed of answer.devices ?? []) {
    const device = await vouched(listed, lower, people);
    if (device) {
      found.set(device.deviceId, device);
    } else {
      const id = String(listed?.device_id ?? "?").slice(0, 128);
      console.warn(`device ${id} of ${lower} is not certified by a valid certificate: left out`);
    }
  }
  return found;
}

/** @type {Promise<PeerTrust>|null} */
let shared = null;

/** This page's trust, opened once (its caches shared by every case). @returns {Promise<PeerTrust>} */
export function browserTrust() {
  if (!shared) {
    shared = PeerTrust.open({ pinIfNone: true });
    shared.catch(() => {
      shared = null; // the network, or no root yet: try again next time
    });
  }
  return shared;
}

/**
 * What CaseState.devices() (app/cases.js) does: `address`'s verified devices, kept in the
 * case's `devicesOf` for the session unless `fresh`.
 * @param {{session: import("./client.js").Session, devicesOf: Map<string, any>}} state
 * @param {string} address @param {boolean} [fresh]
 * @returns {Promise<Map<string, DevicePublicKeys>>}
 */
export async function caseDevices(state, address, fresh = false) {
  const known = state.devicesOf.get(address);
  if (!fresh && known) return known;
  const found = await verifiedDevices(state.session, address, await browserTrust());
  state.devicesOf.set(address, found);
  return found;
}
