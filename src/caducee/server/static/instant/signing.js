// Ed25519 device signatures over WebCrypto (Chromium ships Ed25519 since version 137).
// The private key is a non-extractable CryptoKey: it can sign, never be read back.

import { concat } from "./bytes.js";

const ED25519 = { name: "Ed25519" };
// PKCS#8 prefix of an Ed25519 private key (RFC 8410), before its 32-byte seed.
const PKCS8_PREFIX = new Uint8Array([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

/** @typedef {{privateKey: CryptoKey, publicBytes: Uint8Array}} SigningKey */

/** @param {CryptoKey} publicKey @returns {Promise<Uint8Array>} */
async function rawPublic(publicKey) {
  return new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
}

/** A fresh device signing key. @returns {Promise<SigningKey>} */
export async function generateSigningKey() {
  const pair = /** @type {CryptoKeyPair} */ (
    await crypto.subtle.generateKey(ED25519, false, ["sign", "verify"])
  );
  return {
    privateKey: pair.privateKey,
    publicBytes: await rawPublic(pair.publicKey),
  };
}

/**
 * A signing key from its 32-byte seed (test vectors, or a key restored from a backup).
 * @param {Uint8Array} seed @returns {Promise<SigningKey>}
 */
export async function importSigningKey(seed) {
  const pkcs8 = concat(PKCS8_PREFIX, seed);
  // Extractable only for the moment needed to read its public half, then re-imported.
  const open = await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", open);
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    { kty: "OKP", crv: "Ed25519", x: jwk.x },
    ED25519,
    true,
    ["verify"],
  );
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, false, ["sign"]);
  return { privateKey, publicBytes: await rawPublic(publicKey) };
}

/** @param {CryptoKey} privateKey @param {Uint8Array} data @returns {Promise<Uint8Array>} */
export async function sign(privateKey, data) {
  return new Uint8Array(await crypto.subtle.sign(ED25519, privateKey, data));
}

/**
 * Whether `signature` is the Ed25519 signature of `publicBytes` over `data`; never throws.
 * @param {Uint8Array} publicBytes @param {Uint8Array} signature @param {Uint8Array} data
 * @returns {Promise<boolean>}
 */
export async function verify(publicBytes, signature, data) {
  if (publicBytes.length !== 32 || signature.length !== 64) return false;
  try {
    const key = await crypto.subtle.importKey("raw", publicBytes, ED25519, false, ["verify"]);
    return await crypto.subtle.verify(ED25519, key, signature, data);
  } catch {
    return false;
  }
}
