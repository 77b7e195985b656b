// X.509 certificates and CRLs (RFC 5280) in the browser: what MISS needs to check a person's
// certificate before trusting the devices it signed, as caducee.crypto.x509_validation does
// in Python. The server is untrusted: it hands out the issuing CA's certificate, the CRLs and
// the person's certificates, so every byte is read by a strict DER reader and every link is
// checked against the operator's root this browser pinned when it was paired.
//
// Only what the operator's CA (caducee.pki) makes is accepted: v3 certificates signed with
// RSA PKCS#1 v1.5 or ECDSA (P-256, P-384) over SHA-256/384/512, a path leaf → issuing CA →
// pinned root. Every refusal is an UntrustedCertificate whose `why` is the code Python gives
// the same refusal (caducee.crypto.errors); bytes that do not parse are "malformed-certificate".

import { concat, equal, toHex } from "./bytes.js";
import { UntrustedCertificate } from "./errors.js";
import {
  ascii,
  bitString,
  boolean,
  Element,
  Fields,
  malformed,
  MALFORMED,
  MAX_DER,
  name,
  octets,
  oid,
  parseElement,
  smallInteger,
  TAG,
  time,
  unsignedHex,
} from "./der.js";

export { MAX_DER };

export const WHY = Object.freeze({
  EXPIRED: "certificate-expired",
  REVOKED: "certificate-revoked",
  UNTRUSTED: "certificate-untrusted",
  REVOCATION: "revocation-unknown",
  USAGE: "key-usage-not-allowed",
  MALFORMED,
});

/** Tolerated clock difference for CRLs, as in Python (certificates: none). */
export const CRL_SKEW_MS = 5 * 60 * 1000;

/** Signature algorithms the operator's CA may use, as WebCrypto names them. */
const SIGNATURES = /** @type {Record<string, {name: string, hash: string}>} */ ({
  "1.2.840.113549.1.1.11": { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  "1.2.840.113549.1.1.12": { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" },
  "1.2.840.113549.1.1.13": { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" },
  "1.2.840.10045.4.3.2": { name: "ECDSA", hash: "SHA-256" },
  "1.2.840.10045.4.3.3": { name: "ECDSA", hash: "SHA-384" },
  "1.2.840.10045.4.3.4": { name: "ECDSA", hash: "SHA-512" },
});

/**
 * An AlgorithmIdentifier: its OID, its DER, and whether parameters are absent or NULL.
 * @param {Element} element @param {string} what
 * @returns {{oid: string, der: Uint8Array, parameters: Element|null}}
 */
function algorithm(element, what) {
  const parts = new Fields(element, what);
  const id = oid(parts.next(TAG.OID, "algorithm"), what);
  const parameters = parts.peek();
  if (parameters) parts.index += 1;
  parts.end();
  return { oid: id, der: element.der, parameters };
}

/**
 * The WebCrypto algorithm of a signature AlgorithmIdentifier, or null if not one we verify.
 * @param {{oid: string, parameters: Element|null}} id
 */
function signatureAlgorithm(id) {
  const known = SIGNATURES[id.oid];
  if (!known) return null;
  const p = id.parameters;
  if (known.name === "ECDSA" && p) return null; // RFC 5758 §3.2: absent
  if (known.name !== "ECDSA" && p && (p.tag !== TAG.NULL || p.content.length)) return null;
  return known;
}

const CURVES = /** @type {Record<string, {namedCurve: string, size: number}>} */ ({
  "1.2.840.10045.3.1.7": { namedCurve: "P-256", size: 32 },
  "1.3.132.0.34": { namedCurve: "P-384", size: 48 },
});
const RSA_KEY = "1.2.840.113549.1.1.1";
const EC_KEY = "1.2.840.10045.2.1";

/**
 * A SubjectPublicKeyInfo: its DER (to import into WebCrypto) and what kind of key it is.
 * @param {Element} element @param {string} what
 * @returns {{der: Uint8Array, kind: "RSA"|"EC"|null, curve: {namedCurve: string, size: number}|null}}
 */
function publicKeyInfo(element, what) {
  const parts = new Fields(element, what);
  const id = algorithm(parts.next(TAG.SEQUENCE, "key algorithm"), what);
  octets(parts.next(TAG.BIT_STRING, "public key"), what);
  parts.end();
  if (id.oid === RSA_KEY) return { der: element.der, kind: "RSA", curve: null };
  if (id.oid === EC_KEY && id.parameters?.tag === TAG.OID) {
    const curve = CURVES[oid(id.parameters, what)] ?? null;
    return { der: element.der, kind: curve ? "EC" : null, curve };
  }
  return { der: element.der, kind: null, curve: null };
}

// -- extensions -------------------------------------------------------------------------------

const EXT = Object.freeze({
  BASIC_CONSTRAINTS: "2.5.29.19",
  KEY_USAGE: "2.5.29.15",
  SUBJECT_ALT_NAME: "2.5.29.17",
  EXT_KEY_USAGE: "2.5.29.37",
  CRL_DISTRIBUTION_POINTS: "2.5.29.31",
  CRL_NUMBER: "2.5.29.20",
  CRL_REASON: "2.5.29.21",
  AUTHORITY_KEY_ID: "2.5.29.35",
});
/** Extensions this module acts on, hence accepted when critical. */
const UNDERSTOOD = new Set([
  EXT.BASIC_CONSTRAINTS,
  EXT.KEY_USAGE,
  EXT.SUBJECT_ALT_NAME,
  EXT.EXT_KEY_USAGE,
]);
const UNDERSTOOD_IN_CRL = new Set([EXT.CRL_NUMBER, EXT.AUTHORITY_KEY_ID]);
const UNDERSTOOD_IN_CRL_ENTRY = new Set([EXT.CRL_REASON]);
const KEY_USAGE_BITS = [
  "digitalSignature",
  "contentCommitment",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
];
const EMAIL_PROTECTION = "1.3.6.1.5.5.7.3.4";
const ANY_EXTENDED_KEY_USAGE = "2.5.29.37.0";

/**
 * Extensions by OID (each once), refusing unknown critical ones.
 * @param {Element} element a SEQUENCE OF Extension @param {string} what
 * @param {Set<string>} understood @returns {Map<string, Element>} OID → the inner value
 */
function extensions(element, what, understood) {
  /** @type {Map<string, Element>} */
  const found = new Map();
  const list = new Fields(element, what);
  if (list.items.length === 0) malformed(`${what}: empty extensions`);
  for (const item of list.items) {
    const parts = new Fields(item, what);
    const id = oid(parts.next(TAG.OID, "extension id"), what);
    const flag = parts.optional(TAG.BOOLEAN);
    const critical = flag ? boolean(flag, what) : false;
    const wrapped = parts.next(TAG.OCTET_STRING, "extension value");
    parts.end();
    if (found.has(id)) malformed(`${what}: extension ${id} twice`);
    if (critical && !understood.has(id)) {
      throw new UntrustedCertificate(
        WHY.UNTRUSTED,
        `${what}: une extension critique inconnue (${id}) / an unknown critical extension (${id})`,
      );
    }
    found.set(id, parseElement(wrapped.content, `${what} extension ${id}`));
  }
  return found;
}

/** @param {Element|undefined} element @param {string} what */
function basicConstraints(element, what) {
  if (!element) return { ca: false, pathLength: null };
  const parts = new Fields(element, what);
  const flag = parts.optional(TAG.BOOLEAN);
  const limit = parts.optional(TAG.INTEGER);
  parts.end();
  return {
    ca: flag ? boolean(flag, what) : false,
    pathLength: limit ? smallInteger(limit, what, 255) : null,
  };
}

/** @param {Element|undefined} element @param {string} what @returns {Set<string>|null} */
function keyUsage(element, what) {
  if (!element) return null;
  const { bits } = bitString(element, what);
  const usage = new Set();
  KEY_USAGE_BITS.forEach((label, i) => {
    if ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) usage.add(label);
  });
  return usage;
}

/** @param {Element|undefined} element @param {string} what @returns {string[]} */
function emailAddresses(element, what) {
  if (!element) return [];
  const names = new Fields(element, what);
  if (names.items.length === 0) malformed(`${what}: an empty subjectAltName`);
  return names.items
    .filter((n) => n.tag === TAG.RFC822_NAME)
    .map((n) => ascii(n.content, what).toLowerCase());
}

/** @param {Element|undefined} element @param {string} what @returns {string[]|null} */
function extendedKeyUsage(element, what) {
  if (!element) return null;
  const list = new Fields(element, what);
  if (list.items.length === 0) malformed(`${what}: an empty extendedKeyUsage`);
  return list.items.map((item) => oid(item, what));
}

// -- certificates and CRLs --------------------------------------------------------------------

/** A parsed certificate: what validation and device checks need. */
export class Certificate {
  /** @param {Uint8Array} der the certificate as the server sent it */
  constructor(der) {
    const what = "certificate";
    const outer = new Fields(parseElement(der, what), what);
    const tbsElement = outer.next(TAG.SEQUENCE, "tbsCertificate");
    const outerAlgorithm = algorithm(outer.next(TAG.SEQUENCE, "signatureAlgorithm"), what);
    this.signature = octets(outer.next(TAG.BIT_STRING, "signatureValue"), what);
    outer.end();
    const tbs = new Fields(tbsElement, what);
    const version = tbs.next(TAG.CONTEXT_0, "version (v3)");
    const versionValue = new Fields(version, what, TAG.CONTEXT_0);
    if (smallInteger(versionValue.next(TAG.INTEGER, "version"), what, 2) !== 2) {
      malformed("certificate: not a version 3 certificate");
    }
    versionValue.end();
    this.der = der;
    this.tbs = tbsElement.der;
    this.serial = unsignedHex(tbs.next(TAG.INTEGER, "serialNumber"), what);
    const inner = algorithm(tbs.next(TAG.SEQUENCE, "signature"), what);
    if (!equal(inner.der, outerAlgorithm.der)) {
      malformed("certificate: two different signature algorithms");
    }
    this.signatureAlgorithm = outerAlgorithm;
    this.issuer = name(tbs.next(TAG.SEQUENCE, "issuer"), what);
    const validity = new Fields(tbs.next(TAG.SEQUENCE, "validity"), what);
    const [notBefore, notAfter] = validity.items;
    if (validity.items.length !== 2) malformed("certificate: a bad validity");
    this.notBefore = time(notBefore, what);
    this.notAfter = time(notAfter, what);
    this.subject = name(tbs.next(TAG.SEQUENCE, "subject"), what);
    this.publicKey = publicKeyInfo(tbs.next(TAG.SEQUENCE, "subjectPublicKeyInfo"), what);
    tbs.optional(0x81); // issuerUniqueID, unused by the operator's CA
    tbs.optional(0x82); // subjectUniqueID
    const wrapped = tbs.optional(TAG.CONTEXT_3);
    tbs.end();
    let found = new Map();
    if (wrapped) {
      const list = new Fields(wrapped, what, TAG.CONTEXT_3);
      found = extensions(list.next(TAG.SEQUENCE, "extensions"), what, UNDERSTOOD);
      list.end();
    }
    this.basicConstraints = basicConstraints(found.get(EXT.BASIC_CONSTRAINTS), what);
    this.keyUsage = keyUsage(found.get(EXT.KEY_USAGE), what);
    this.emails = emailAddresses(found.get(EXT.SUBJECT_ALT_NAME), what);
    this.extendedKeyUsage = extendedKeyUsage(found.get(EXT.EXT_KEY_USAGE), what);
    this.hasCrlDistributionPoint = found.has(EXT.CRL_DISTRIBUTION_POINTS);
  }

  /** How messages name it: subject and serial (as Python's describe_certificate). */
  describe() {
    return `certificate "${this.subject.text}" (serial ${this.serial})`;
  }

  /** The SubjectPublicKeyInfo, for verifyListedDevice. */
  get spki() {
    return this.publicKey.der;
  }
}

/** A parsed CRL (RFC 5280 §5): issuer, times, revoked serials. */
export class Crl {
  /** @param {Uint8Array} der */
  constructor(der) {
    const what = "CRL";
    const outer = new Fields(parseElement(der, what), what);
    const tbsElement = outer.next(TAG.SEQUENCE, "tbsCertList");
    const outerAlgorithm = algorithm(outer.next(TAG.SEQUENCE, "signatureAlgorithm"), what);
    this.signature = octets(outer.next(TAG.BIT_STRING, "signatureValue"), what);
    outer.end();
    const tbs = new Fields(tbsElement, what);
    const version = tbs.optional(TAG.INTEGER);
    if (version && smallInteger(version, what, 1) !== 1) malformed("CRL: not a version 2 CRL");
    const inner = algorithm(tbs.next(TAG.SEQUENCE, "signature"), what);
    if (!equal(inner.der, outerAlgorithm.der)) malformed("CRL: two different signature algorithms");
    this.der = der;
    this.tbs = tbsElement.der;
    this.signatureAlgorithm = outerAlgorithm;
    this.issuer = name(tbs.next(TAG.SEQUENCE, "issuer"), what);
    const thisUpdate = tbs.peek();
    if (!thisUpdate) malformed("CRL: thisUpdate expected");
    tbs.index += 1;
    this.thisUpdate = time(thisUpdate, what);
    const next = tbs.peek();
    /** @type {number|null} */
    this.nextUpdate = null;
    if (next && (next.tag === TAG.UTC_TIME || next.tag === TAG.GENERALIZED_TIME)) {
      tbs.index += 1;
      this.nextUpdate = time(next, what);
    }
    /** Revoked serial (hex) → when, epoch milliseconds. @type {Map<string, number>} */
    this.revoked = new Map();
    const list = tbs.optional(TAG.SEQUENCE);
    if (list) {
      for (const item of new Fields(list, what).items) {
        const entry = new Fields(item, what);
        const serial = unsignedHex(entry.next(TAG.INTEGER, "userCertificate"), what);
        const when = entry.peek();
        if (!when) malformed("CRL: revocationDate expected");
        entry.index += 1;
        const entryExtensions = entry.optional(TAG.SEQUENCE);
        entry.end();
        if (entryExtensions) extensions(entryExtensions, what, UNDERSTOOD_IN_CRL_ENTRY);
        if (this.revoked.has(serial)) malformed(`CRL: serial ${serial} listed twice`);
        this.revoked.set(serial, time(when, what));
      }
    }
    const wrapped = tbs.optional(TAG.CONTEXT_0);
    tbs.end();
    if (wrapped) {
      const holder = new Fields(wrapped, what, TAG.CONTEXT_0);
      extensions(holder.next(TAG.SEQUENCE, "crlExtensions"), what, UNDERSTOOD_IN_CRL);
      holder.end();
    }
  }
}

// -- signatures -------------------------------------------------------------------------------

/**
 * An ECDSA signature in DER to the r || s WebCrypto verifies (RFC 5480 §2.2 to IEEE P1363).
 * @param {Uint8Array} der @param {number} size bytes of each of r and s @returns {Uint8Array}
 */
export function ecdsaDerToP1363(der, size) {
  const parts = new Fields(parseElement(der, "ECDSA signature"), "ECDSA signature");
  const halves = [parts.next(TAG.INTEGER, "r"), parts.next(TAG.INTEGER, "s")].map((element) => {
    const hex = unsignedHex(element, "ECDSA signature");
    if (hex.length > 2 * size) malformed("ECDSA signature: a value too large for the curve");
    const value = element.content.subarray(element.content.length - Math.ceil(hex.length / 2));
    return concat(new Uint8Array(size - value.length), value);
  });
  parts.end();
  return concat(...halves);
}

/**
 * Whether `issuer`'s key signed `data` with `signature` under `algorithmId`.
 * @param {Certificate} issuer @param {{oid: string, parameters: Element|null}} algorithmId
 * @param {Uint8Array} signature @param {Uint8Array} data @returns {Promise<boolean>}
 */
export async function signedBy(issuer, algorithmId, signature, data) {
  const known = signatureAlgorithm(algorithmId);
  const key = issuer.publicKey;
  if (!known) return false;
  try {
    if (known.name === "ECDSA") {
      if (key.kind !== "EC" || !key.curve) return false;
      const imported = await crypto.subtle.importKey(
        "spki",
        key.der,
        { name: "ECDSA", namedCurve: key.curve.namedCurve },
        false,
        ["verify"],
      );
      const p1363 = ecdsaDerToP1363(signature, key.curve.size);
      return await crypto.subtle.verify({ name: "ECDSA", hash: known.hash }, imported, p1363, data);
    }
    if (key.kind !== "RSA") return false;
    const imported = await crypto.subtle.importKey(
      "spki",
      key.der,
      { name: known.name, hash: known.hash },
      false,
      ["verify"],
    );
    return await crypto.subtle.verify(known.name, imported, signature, data);
  } catch {
    return false; // a key WebCrypto will not import, or a signature that is not one
  }
}

// -- validation -------------------------------------------------------------------------------

/** @param {string} why @param {string} french @param {string} english @returns {never} */
function refuse(why, french, english) {
  throw new UntrustedCertificate(why, `${french} / ${english}`);
}

/** @param {number} ms */
const iso = (ms) => new Date(ms).toISOString();

/**
 * @param {Certificate} certificate @param {number} now @param {string} what
 * @param {string} why expired for the person's, untrusted for a CA's (as Python's path check)
 */
function checkValidity(certificate, now, what, why = WHY.EXPIRED) {
  if (now < certificate.notBefore) {
    refuse(
      why,
      `${what} ${certificate.describe()} n'est pas encore valide (${iso(certificate.notBefore)})`,
      `${what} ${certificate.describe()} is not valid before ${iso(certificate.notBefore)}`,
    );
  }
  if (now > certificate.notAfter) {
    refuse(
      why,
      `${what} ${certificate.describe()} a expiré le ${iso(certificate.notAfter)}`,
      `${what} ${certificate.describe()} expired on ${iso(certificate.notAfter)}`,
    );
  }
}

/** digitalSignature and emailProtection, as Python's KeyPurpose.EMAIL_SIGNATURE. */
function checkPersonUsage(/** @type {Certificate} */ leaf) {
  const eku = leaf.extendedKeyUsage;
  if (eku && !eku.includes(EMAIL_PROTECTION) && !eku.includes(ANY_EXTENDED_KEY_USAGE)) {
    refuse(
      WHY.USAGE,
      `${leaf.describe()} : extendedKeyUsage sans emailProtection`,
      `${leaf.describe()}: extendedKeyUsage lacks emailProtection`,
    );
  }
  const usage = leaf.keyUsage;
  if (usage && !usage.has("digitalSignature") && !usage.has("contentCommitment")) {
    refuse(
      WHY.USAGE,
      `${leaf.describe()} : keyUsage sans digitalSignature`,
      `${leaf.describe()}: keyUsage lacks digitalSignature`,
    );
  }
}

/**
 * `subject` issued by `issuer`: names chain, the issuer is a CA that may sign certificates
 * (at `below` CA certificates under it), and its signature verifies.
 * @param {Certificate} subject @param {Certificate} issuer @param {number} below
 */
async function checkIssued(subject, issuer, below) {
  const untrusted = (/** @type {string} */ fr, /** @type {string} */ en) =>
    refuse(WHY.UNTRUSTED, `${subject.describe()} : ${fr}`, `${subject.describe()}: ${en}`);
  if (!equal(subject.issuer.der, issuer.subject.der)) {
    untrusted(
      `n'est pas émis par l'AC attendue (${issuer.subject.text})`,
      `not issued by the expected CA (${issuer.subject.text})`,
    );
  }
  const { ca, pathLength } = issuer.basicConstraints;
  if (!ca || !issuer.keyUsage?.has("keyCertSign")) {
    untrusted(
      "son émetteur n'est pas une AC (basicConstraints, keyCertSign)",
      "its issuer is not a CA (basicConstraints, keyCertSign)",
    );
  }
  if (pathLength !== null && pathLength < below) {
    untrusted("le chemin dépasse pathLenConstraint", "the path exceeds pathLenConstraint");
  }
  if (!(await signedBy(issuer, subject.signatureAlgorithm, subject.signature, subject.tbs))) {
    untrusted(
      "la signature de l'AC ne se vérifie pas (pas émis par l'AC épinglée ?)",
      "the CA's signature does not verify (not issued by the pinned CA?)",
    );
  }
}

/**
 * RFC 5280 §6.3.3 as Python's _check_crl: the CRL's issuer, signature and freshness, then
 * `subject`'s serial. No CRL is acceptable only for a certificate without a CRL pointer.
 * @param {Certificate} subject @param {Certificate} issuer @param {Crl|null} crl
 * @param {number} now
 */
async function checkRevocation(subject, issuer, crl, now) {
  const unknown = (/** @type {string} */ fr, /** @type {string} */ en) =>
    refuse(WHY.REVOCATION, `${subject.describe()} : ${fr}`, `${subject.describe()}: ${en}`);
  if (!crl) {
    if (subject.hasCrlDistributionPoint) {
      unknown("aucune LCR lisible, réessayez plus tard", "no readable CRL, try again later");
    }
    return;
  }
  if (!equal(crl.issuer.der, issuer.subject.der)) {
    unknown("la LCR n'est pas celle de son émetteur", "the CRL is not from its issuer");
  }
  if (issuer.keyUsage && !issuer.keyUsage.has("cRLSign")) {
    unknown("l'émetteur ne peut pas signer de LCR", "the issuer may not sign CRLs");
  }
  if (!(await signedBy(issuer, crl.signatureAlgorithm, crl.signature, crl.tbs))) {
    unknown("la signature de la LCR ne se vérifie pas", "the CRL signature does not verify");
  }
  if (crl.thisUpdate > now + CRL_SKEW_MS || crl.nextUpdate === null) {
    unknown("la LCR n'est pas à jour", "the CRL is not current (stale or future)");
  }
  if (/** @type {number} */ (crl.nextUpdate) + CRL_SKEW_MS < now) {
    unknown("la LCR n'est pas à jour", "the CRL is not current (stale or future)");
  }
  const revokedAt = crl.revoked.get(subject.serial);
  if (revokedAt !== undefined) {
    refuse(
      WHY.REVOKED,
      `${subject.describe()} a été révoqué le ${iso(revokedAt)}`,
      `${subject.describe()} was revoked on ${iso(revokedAt)}`,
    );
  }
}

/**
 * What a relying party needs to check a person's certificate: the pinned root, and from the
 * server the issuing CA's certificate and both CRLs (null when unreadable).
 * @typedef {{root: Certificate, issuing: Certificate, issuingCrl: Crl|null,
 *   rootCrl: Crl|null}} Authority
 */

/**
 * Accept `leaf` as a person's certificate at `now` (epoch milliseconds), as Python's
 * PathValidator does for KeyPurpose.EMAIL_SIGNATURE: validity, usage, the path leaf → issuing
 * CA → pinned root, then revocation of the leaf and of the issuing CA. Returns the key and
 * addresses verifyListedDevice needs; throws UntrustedCertificate saying why not.
 * @param {Certificate} leaf @param {Authority} authority @param {number} now
 * @returns {Promise<{spki: Uint8Array, addresses: string[], certificate: Certificate}>}
 */
export async function validatePersonCertificate(leaf, authority, now) {
  const { root, issuing, issuingCrl, rootCrl } = authority;
  checkValidity(leaf, now, "le certificat / the certificate");
  checkPersonUsage(leaf);
  if (leaf.basicConstraints.ca) {
    refuse(
      WHY.UNTRUSTED,
      `${leaf.describe()} est une AC, pas une personne`,
      `${leaf.describe()} is a CA, not a person`,
    );
  }
  await checkIssued(leaf, issuing, 0);
  await checkIssued(issuing, root, 1);
  if (!equal(root.issuer.der, root.subject.der)) {
    refuse(
      WHY.UNTRUSTED,
      "la racine épinglée n'est pas auto-émise",
      "the pinned root is not self-issued",
    );
  }
  checkValidity(issuing, now, "l'AC émettrice / the issuing CA", WHY.UNTRUSTED);
  checkValidity(root, now, "la racine / the root", WHY.UNTRUSTED);
  await checkRevocation(leaf, issuing, issuingCrl, now);
  await checkRevocation(issuing, root, rootCrl, now);
  return { spki: leaf.spki, addresses: leaf.emails, certificate: leaf };
}

/**
 * The operator's root as a browser pins it: a self-issued, self-signed CA certificate.
 * @param {Uint8Array} der @returns {Promise<Certificate>}
 */
export async function readRoot(der) {
  const root = new Certificate(der);
  if (!equal(root.issuer.der, root.subject.der)) {
    refuse(WHY.UNTRUSTED, "la racine n'est pas auto-émise", "the root is not self-issued");
  }
  await checkIssued(root, root, 1);
  return root;
}

/**
 * A CRL from outside bytes, or null if they do not parse (then revocation is unknown, as in
 * Python, and every certificate that points to a CRL is refused).
 * @param {Uint8Array} der @returns {Crl|null}
 */
export function readCrl(der) {
  try {
    return new Crl(der);
  } catch (error) {
    if (error instanceof UntrustedCertificate) return null;
    throw error;
  }
}

/** The SHA-256 of DER bytes, hex (how a pinned root is named). @param {Uint8Array} der */
export async function sha256Hex(der) {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", der)));
}
