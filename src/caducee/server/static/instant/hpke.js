// HPKE (RFC 9180) single-shot seal and open, as caducee/instant/_hpke.py does them:
// base mode, HKDF-SHA256, AES-256-GCM, the AAD empty and `info` binding the context; the
// sealed bytes are `enc || ciphertext`. Two KEMs, named by their HPKE identifiers:
//   0x647a  ML-KEM-768 + X25519 (X-Wing), post-quantum, the default;
//   0x0020  DHKEM(X25519, HKDF-SHA256), the fallback.
//
// Which private keys are non-extractable CryptoKeys:
// - X25519: yes, a WebCrypto CryptoKey created with extractable = false.
// - ML-KEM-768 + X25519: no. ML-KEM is not in WebCrypto, so the hybrid key is @hpke's
//   XCryptoKey holding the 32-byte X-Wing seed in JavaScript memory (its X25519 half is
//   derived from that seed, so it cannot be a WebCrypto key either). Store it wrapped
//   (AES-GCM under a non-extractable key) and never export it.
// A hybrid private key here is that 32-byte seed; Python stores the 96 bytes SHAKE256
// expands it to. Keys never move between the two: each device makes its own.

import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, XWing } from "./vendor/hpke.js";
import { concat } from "./bytes.js";
import { InstantDecryptionFailed, MalformedInstantData, UnsupportedSuite } from "./errors.js";

/** HPKE KEM identifiers (IANA HPKE KEM registry). */
export const Kem = Object.freeze({ MLKEM768_X25519: 0x647a, X25519: 0x0020 });

/** @type {Record<number, number>} */
const PUBLIC_SIZE = { [Kem.MLKEM768_X25519]: 1184 + 32, [Kem.X25519]: 32 };
const X25519 = { name: "X25519" };
// PKCS#8 prefix of an X25519 private key (RFC 8410), before its 32 bytes.
const X25519_PKCS8 = new Uint8Array([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);

/** @type {Map<number, CipherSuite>} */
const suites = new Map();

/** @param {number} kem @returns {CipherSuite} */
export function suite(kem) {
  if (!(kem in PUBLIC_SIZE)) {
    throw new UnsupportedSuite(`HPKE KEM 0x${kem.toString(16).padStart(4, "0")} is not supported`);
  }
  let s = suites.get(kem);
  if (!s) {
    const k = kem === Kem.X25519 ? new DhkemX25519HkdfSha256() : new XWing();
    s = new CipherSuite({
      kem: k,
      kdf: new HkdfSha256(),
      aead: new Aes256Gcm(),
    });
    suites.set(kem, s);
  }
  return s;
}

/**
 * One device's HPKE private key for one KEM, with its serialised public key.
 * @typedef {{kem: number, keyPair: CryptoKeyPair, publicBytes: Uint8Array}} HpkeKeyPair
 */

/** @param {CryptoKeyPair} pair @returns {Promise<HpkeKeyPair>} */
async function x25519Pair(pair) {
  const publicBytes = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { kem: Kem.X25519, keyPair: pair, publicBytes };
}

/** @param {CryptoKeyPair} pair @returns {Promise<HpkeKeyPair>} */
async function xwingPair(pair) {
  const kem = suite(Kem.MLKEM768_X25519).kem;
  const publicBytes = new Uint8Array(await kem.serializePublicKey(pair.publicKey));
  return { kem: Kem.MLKEM768_X25519, keyPair: pair, publicBytes };
}

/**
 * A new key pair; post-quantum hybrid unless `kem` says otherwise.
 * @param {number} [kem] @returns {Promise<HpkeKeyPair>}
 */
export async function generateKeyPair(kem = Kem.MLKEM768_X25519) {
  suite(kem);
  if (kem === Kem.X25519) {
    const pair = await crypto.subtle.generateKey(X25519, false, ["deriveBits"]);
    return x25519Pair(/** @type {CryptoKeyPair} */ (pair));
  }
  return xwingPair(await suite(kem).kem.generateKeyPair());
}

/**
 * A key pair from its private bytes: 32 X25519 bytes, or a 32-byte X-Wing seed.
 * @param {number} kem @param {Uint8Array} privateBytes @returns {Promise<HpkeKeyPair>}
 */
export async function importKeyPair(kem, privateBytes) {
  suite(kem);
  if (privateBytes.length !== 32)
    throw new MalformedInstantData("HPKE private key of the wrong size");
  if (kem === Kem.MLKEM768_X25519) {
    const xwing = /** @type {XWing} */ (suite(kem).kem);
    // A copy of its own: @hpke keeps the buffer it is given, which the caller may reuse.
    return xwingPair(await xwing.generateKeyPairDerand(privateBytes.slice()));
  }
  const pkcs8 = concat(X25519_PKCS8, privateBytes);
  // Extractable only long enough to read its public half; the key kept is not.
  const open = await crypto.subtle.importKey("pkcs8", pkcs8, X25519, true, ["deriveBits"]);
  const jwk = await crypto.subtle.exportKey("jwk", open);
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    { kty: "OKP", crv: "X25519", x: jwk.x },
    X25519,
    true,
    [],
  );
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, X25519, false, ["deriveBits"]);
  return x25519Pair({ privateKey, publicKey });
}

/**
 * Check a published public key's size for `kem`, as Python's load_public_key does.
 * @param {number} kem @param {Uint8Array} publicBytes
 */
export function checkPublicKey(kem, publicBytes) {
  suite(kem);
  if (publicBytes.length !== PUBLIC_SIZE[kem]) {
    throw new MalformedInstantData(
      `HPKE public key for KEM 0x${kem.toString(16)} of the wrong size`,
    );
  }
}

/**
 * Single-shot seal to a published public key. `ikmE` fixes the ephemeral randomness
 * (32 bytes for X25519, 64 for X-Wing): for known-answer tests only, never in use.
 * @param {number} kem @param {Uint8Array} publicBytes @param {Uint8Array} plaintext
 * @param {Uint8Array} info @param {Uint8Array} [ikmE] @returns {Promise<Uint8Array>}
 */
export async function seal(kem, publicBytes, plaintext, info, ikmE) {
  checkPublicKey(kem, publicBytes);
  const s = suite(kem);
  const recipientPublicKey = await s.kem.deserializePublicKey(publicBytes);
  const sender = await s.createSenderContext({
    recipientPublicKey,
    info,
    ...(ikmE ? { ekm: ikmE } : {}),
  });
  const ciphertext = new Uint8Array(await sender.seal(plaintext));
  return concat(new Uint8Array(sender.enc), ciphertext);
}

/**
 * Single-shot open; any failure is an InstantDecryptionFailed, as in Python.
 * @param {HpkeKeyPair} pair @param {Uint8Array} sealed @param {Uint8Array} info
 * @returns {Promise<Uint8Array>}
 */
export async function open(pair, sealed, info) {
  const s = suite(pair.kem);
  const encSize = s.kem.encSize;
  try {
    if (sealed.length < encSize + 16) throw new Error("too short");
    const recipient = await s.createRecipientContext({
      recipientKey: pair.keyPair,
      enc: sealed.slice(0, encSize),
      info,
    });
    return new Uint8Array(await recipient.open(sealed.slice(encSize)));
  } catch {
    throw new InstantDecryptionFailed("HPKE: the sealed key does not open with this device key");
  }
}
