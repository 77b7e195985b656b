// Device keys and the device statement of caducee/instant/device_keys.py.
// A device holds an HPKE key pair (to receive sender keys) and an Ed25519 key (to sign what
// it sends); the person's certificate key signs a statement of both public keys. This
// module builds the statement body and parses statements; checking the person's signature
// against their certificate (path, revocation) is left to the caller.

import { concat, utf8 } from "./bytes.js";
import { MalformedInstantData } from "./errors.js";
import { Kem, checkPublicKey, generateKeyPair, open, suite } from "./hpke.js";
import { generateSigningKey, sign, verify } from "./signing.js";
import { Reader, afterMagic, field, integer, text } from "./wire.js";

export const STATEMENT_MAGIC = utf8.encode("caducee-miss-v1 device");

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
    return concat(
      STATEMENT_MAGIC,
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
  const deviceId = reader.text();
  const address = reader.text();
  const kem = reader.integer();
  suite(kem);
  const hpkePublic = reader.field();
  const signingPublic = reader.field({ exact: 32 });
  const createdAt = reader.integer();
  reader.end();
  checkPublicKey(kem, hpkePublic);
  if (!deviceId || !address) {
    throw new MalformedInstantData("device statement: empty device id or address");
  }
  const device = new DevicePublicKeys(deviceId, address, kem, hpkePublic, signingPublic, createdAt);
  const again = device.body();
  if (again.length !== body.length || again.some((b, i) => b !== body[i])) {
    throw new MalformedInstantData("device statement: not in canonical form");
  }
  return { device, body, signature };
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
