// Device keys and the device statement of caducee/instant/device_keys.py.
// A device holds an HPKE key pair (to receive sender keys) and an Ed25519 key (to sign what
// it sends); the person's certificate key signs a statement of both public keys (RSA PKCS#1
// v1.5 or ECDSA, SHA-256). This module builds, parses and verifies statements against the
// person's public key and addresses; reading those from the certificate and validating it
// (path, revocation) is the caller's job.
//
// An existing device may approve a new one of the same person with its own Ed25519 key: an
// endorsement (magic "caducee-miss-v1 device-endorsement", the new device's public fields as
// in a statement, then the endorser's device id; see caducee/instant/endorsement.py). Depth
// one: the endorser must be certified by a statement. Listings give an endorsed device's
// endorsement in `statement`, with `endorsed_by` and `endorser_statement`; `verifyListedDevice`
// checks both kinds against the person's certificate key.

import { concat, utf8 } from "./bytes.js";
import { ForgedDeviceStatement, MalformedInstantData, UnsupportedSuite } from "./errors.js";
import { Kem, checkPublicKey, generateKeyPair, open, suite } from "./hpke.js";
import { generateSigningKey, sign, verify } from "./signing.js";
import { Reader, afterMagic, field, fields, integer, text } from "./wire.js";

export const STATEMENT_MAGIC = utf8.encode("caducee-miss-v1 device");
export const ENDORSEMENT_MAGIC = utf8.encode("caducee-miss-v1 device-endorsement");
const MAX_DEVICE_ID = 128;

/** What a device publishes: enough to seal sender keys to it and to check its signatures. */
export class DevicePublicKeys {
  /**
   * @param {string} deviceId @param {string} address @param {number} kem
   * @param {Uint8Array} hpkePublic @param {Uint8Array} signingPublic
   * @param {number} createdAt seconds since the epoch
   */
  constructor(deviceId, address, kem, hpkePublic, signingPublic, createdAt) {
    this.deviceId = deviceId;
    this.address = address;
    this.kem = kem;
    this.hpkePublic = hpkePublic;
    this.signingPublic = signingPublic;
    this.createdAt = createdAt;
  }

  /** The exact bytes the person's certificate key signs. @returns {Uint8Array} */
  body() {
    return concat(STATEMENT_MAGIC, this.fields());
  }

  /** The public fields, as a statement and an endorsement carry them. @returns {Uint8Array} */
  fields() {
    return concat(
      text(this.deviceId),
      text(this.address.toLowerCase()),
      integer(this.kem),
      field(this.hpkePublic),
      field(this.signingPublic),
      integer(this.createdAt),
    );
  }

  /** @param {Uint8Array} signature @param {Uint8Array} data @returns {Promise<boolean>} */
  verify(signature, data) {
    return verify(this.signingPublic, signature, data);
  }
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function same(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * A device's public fields from `reader` (sizes, KEM checked).
 * @param {Reader} reader @param {string} what @returns {DevicePublicKeys}
 */
function parseDeviceFields(reader, what) {
  const deviceId = reader.text();
  const address = reader.text();
  const kem = reader.integer();
  suite(kem);
  const hpkePublic = reader.field();
  const signingPublic = reader.field({ exact: 32 });
  const createdAt = reader.integer();
  checkPublicKey(kem, hpkePublic);
  if (!deviceId || !address) {
    throw new MalformedInstantData(`${what}: empty device id or address`);
  }
  return new DevicePublicKeys(deviceId, address, kem, hpkePublic, signingPublic, createdAt);
}

/**
 * Read a statement without checking the person's signature.
 * @param {Uint8Array} statement
 * @returns {{device: DevicePublicKeys, body: Uint8Array, signature: Uint8Array}}
 */
export function parseDeviceStatement(statement) {
  const outer = new Reader(statement, "device statement");
  const body = outer.field();
  const signature = outer.field();
  outer.end();
  const reader = new Reader(
    afterMagic(body, STATEMENT_MAGIC, "device statement: not a Caducée MISS device statement"),
    "device statement",
  );
  const device = parseDeviceFields(reader, "device statement");
  reader.end();
  if (!same(device.body(), body)) {
    throw new MalformedInstantData("device statement: not in canonical form");
  }
  return { device, body, signature };
}

/**
 * The bytes an endorsing device signs.
 * @param {DevicePublicKeys} newPublic @param {string} endorserId @returns {Uint8Array}
 */
export function endorsementBody(newPublic, endorserId) {
  return concat(ENDORSEMENT_MAGIC, newPublic.fields(), text(endorserId));
}

/**
 * Read an endorsement without checking its signature (an unknown KEM is malformed here).
 * @param {Uint8Array} data
 * @returns {{device: DevicePublicKeys, endorserId: string, body: Uint8Array, signature: Uint8Array}}
 */
export function parseEndorsement(data) {
  const outer = new Reader(data, "device endorsement");
  const body = outer.field();
  const signature = outer.field({ exact: 64 });
  outer.end();
  const reader = new Reader(
    afterMagic(
      body,
      ENDORSEMENT_MAGIC,
      "device endorsement: not a Caducée MISS device endorsement",
    ),
    "device endorsement",
  );
  let device;
  try {
    device = parseDeviceFields(reader, "device endorsement");
  } catch (error) {
    if (error instanceof UnsupportedSuite) {
      throw new MalformedInstantData("device endorsement: an HPKE KEM nobody speaks");
    }
    throw error;
  }
  const endorserId = reader.text();
  reader.end();
  if (!endorserId || endorserId.length > MAX_DEVICE_ID) {
    throw new MalformedInstantData("device endorsement: bad endorser id");
  }
  if (!same(endorsementBody(device, endorserId), body)) {
    throw new MalformedInstantData("device endorsement: not in canonical form");
  }
  return { device, endorserId, body, signature };
}

/**
 * The new device's keys, if `endorserPublic` (from a verified statement) signed this
 * endorsement for its own address; else ForgedDeviceStatement or MalformedInstantData.
 * @param {Uint8Array} data @param {DevicePublicKeys} endorserPublic
 * @returns {Promise<DevicePublicKeys>}
 */
export async function verifyEndorsement(data, endorserPublic) {
  const { device, endorserId, body, signature } = parseEndorsement(data);
  if (endorserId !== endorserPublic.deviceId) {
    throw new ForgedDeviceStatement("the endorsement names another endorsing device");
  }
  if (device.address !== endorserPublic.address.toLowerCase()) {
    throw new ForgedDeviceStatement("the endorsement names an address its endorser does not hold");
  }
  if (device.deviceId === endorserPublic.deviceId) {
    throw new ForgedDeviceStatement("a device cannot endorse itself");
  }
  if (!(await endorserPublic.verify(signature, body))) {
    throw new ForgedDeviceStatement("the endorsement is not signed by its endorsing device");
  }
  return device;
}

/**
 * Vouch for `newPublic` with this browser's device keys (same address, another device).
 * @param {DevicePublicKeys} newPublic @param {DeviceKeys} endorserKeys
 * @returns {Promise<Uint8Array>}
 */
export async function endorseDevice(newPublic, endorserKeys) {
  if (newPublic.address.toLowerCase() !== endorserKeys.address) {
    throw new ForgedDeviceStatement("a device endorses devices of its own address only");
  }
  if (newPublic.deviceId === endorserKeys.deviceId) {
    throw new ForgedDeviceStatement("a device cannot endorse itself");
  }
  const body = endorsementBody(newPublic, endorserKeys.deviceId);
  return fields(body, await endorserKeys.sign(body));
}

/**
 * An ECDSA signature in DER (as Python writes it) to the r || s WebCrypto verifies.
 * @param {Uint8Array} der @param {number} size bytes of each of r and s
 * @returns {Uint8Array}
 */
function derToP1363(der, size) {
  const reader = new Reader(der, "ECDSA signature");
  const header = reader.take(2); // SEQUENCE; a P-521 length needs a second byte
  if (header[0] !== 0x30) throw new ForgedDeviceStatement("not an ECDSA signature");
  if (header[1] === 0x81) reader.take(1);
  const parts = [];
  for (let i = 0; i < 2; i++) {
    const [tag, n] = reader.take(2);
    if (tag !== 0x02) throw new ForgedDeviceStatement("not an ECDSA signature");
    let v = reader.take(n);
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw new ForgedDeviceStatement("not an ECDSA signature");
    parts.push(concat(new Uint8Array(size - v.length), v));
  }
  return concat(...parts);
}

const CURVES = /** @type {const} */ ([
  ["P-256", 32],
  ["P-384", 48],
  ["P-521", 66],
]);

/**
 * Whether `signature` over `body` is the person's, for an RSA or EC SubjectPublicKeyInfo.
 * @param {Uint8Array} spki @param {Uint8Array} signature @param {Uint8Array} body
 * @returns {Promise<boolean>}
 */
async function personSigned(spki, signature, body) {
  for (const [namedCurve, size] of CURVES) {
    const algorithm = { name: "ECDSA", namedCurve };
    const key = await crypto.subtle.importKey("spki", spki, algorithm, false, ["verify"]).then(
      (k) => k,
      () => null,
    );
    if (key) {
      let p1363;
      try {
        p1363 = derToP1363(signature, size);
      } catch {
        return false; // not even a signature: forged, as Python says
      }
      return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, p1363, body);
    }
  }
  const rsa = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  const key = await crypto.subtle.importKey("spki", spki, rsa, false, ["verify"]).catch(() => {
    throw new ForgedDeviceStatement("the person's certificate key cannot certify devices");
  });
  return crypto.subtle.verify(rsa, key, signature, body);
}

/**
 * The device's public keys, if the statement is signed by the person's key for one of the
 * person's addresses; else ForgedDeviceStatement (or MalformedInstantData), as in Python.
 * @param {Uint8Array} statement
 * @param {{spki: Uint8Array, addresses: string[]}} person the certificate's key and emails
 * @returns {Promise<DevicePublicKeys>}
 */
export async function verifyDeviceStatement(statement, person) {
  const { device, body, signature } = parseDeviceStatement(statement);
  if (!(await personSigned(person.spki, signature, body))) {
    throw new ForgedDeviceStatement("the device statement is not signed by this certificate");
  }
  if (!person.addresses.map((a) => a.toLowerCase()).includes(device.address)) {
    throw new ForgedDeviceStatement(
      "the device statement names an address the certificate does not hold",
    );
  }
  return device;
}

/** @param {string} value @returns {Uint8Array} */
function base64Bytes(value) {
  try {
    return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
  } catch {
    throw new MalformedInstantData("device listing: not base64");
  }
}

/**
 * A device of a listing (GET /people/{address}/devices), checked against the person's key:
 * a statement the person signed, or an endorsement by a device the person certified.
 * @param {{statement: string, endorsed_by?: string|null, endorser_statement?: string}} listed
 * @param {{spki: Uint8Array, addresses: string[]}} person
 * @returns {Promise<DevicePublicKeys>}
 */
export async function verifyListedDevice(listed, person) {
  if (!listed.endorsed_by) return verifyDeviceStatement(base64Bytes(listed.statement), person);
  const endorser = await verifyDeviceStatement(
    base64Bytes(listed.endorser_statement ?? ""),
    person,
  );
  return verifyEndorsement(base64Bytes(listed.statement), endorser);
}

/**
 * A device of a listing without the person's certificate at hand (as the app reads peers'
 * devices today): a statement is parsed; an endorsement must carry a good signature of the
 * listed endorser's statement (still to be checked with the certificate for full trust).
 * @param {{statement: string, endorsed_by?: string|null, endorser_statement?: string}} listed
 * @returns {Promise<DevicePublicKeys>}
 */
export async function parseListedDevice(listed) {
  if (!listed.endorsed_by) return parseDeviceStatement(base64Bytes(listed.statement)).device;
  const { device: endorser } = parseDeviceStatement(base64Bytes(listed.endorser_statement ?? ""));
  return verifyEndorsement(base64Bytes(listed.statement), endorser);
}

/** A device's private keys: both stay in the browser; publish `public()`. */
export class DeviceKeys {
  /**
   * @param {string} deviceId @param {string} address
   * @param {import("./hpke.js").HpkeKeyPair} hpke
   * @param {import("./signing.js").SigningKey} signing @param {number} createdAt
   */
  constructor(deviceId, address, hpke, signing, createdAt) {
    this.deviceId = deviceId;
    this.address = address.toLowerCase();
    this.hpke = hpke;
    this.signing = signing;
    this.createdAt = createdAt;
  }

  /**
   * New keys; post-quantum hybrid unless `kem` says otherwise.
   * @param {string} deviceId @param {string} address
   * @param {{kem?: number, now?: number}} [options] now in seconds
   */
  static async generate(deviceId, address, { kem = Kem.MLKEM768_X25519, now } = {}) {
    const createdAt = now ?? Math.floor(Date.now() / 1000);
    return new DeviceKeys(
      deviceId,
      address,
      await generateKeyPair(kem),
      await generateSigningKey(),
      createdAt,
    );
  }

  /** @returns {DevicePublicKeys} */
  public() {
    return new DevicePublicKeys(
      this.deviceId,
      this.address,
      this.hpke.kem,
      this.hpke.publicBytes,
      this.signing.publicBytes,
      this.createdAt,
    );
  }

  /** @param {Uint8Array} data @returns {Promise<Uint8Array>} */
  sign(data) {
    return sign(this.signing.privateKey, data);
  }

  /** @param {Uint8Array} sealed @param {Uint8Array} info @returns {Promise<Uint8Array>} */
  open(sealed, info) {
    return open(this.hpke, sealed, info);
  }
}
