// The sender-key hash ratchet of caducee/instant/_ratchet.py over WebCrypto.
// From chain key ck: the message seed is HMAC(ck, 0x01), the next chain key HMAC(ck, 0x02);
// the AES-256-GCM key and nonce are the 44 bytes of HKDF-SHA256(salt = 32 zero bytes,
// ikm = seed, info = MESSAGE_INFO).
//
// Chain keys are plain bytes, not CryptoKeys: each one is the HMAC *output* of the previous
// one, and WebCrypto only returns HMAC outputs as bytes. They live in memory only and are
// overwritten as the chain moves forward.

import { utf8 } from "./bytes.js";

export const CHAIN_KEY_SIZE = 32;
export const MESSAGE_INFO = utf8.encode("caducee-miss-v1 message key");

/** @typedef {{counter: number, key: Uint8Array, nonce: Uint8Array}} MessageKey */

/** @param {Uint8Array} key @param {number} byte @returns {Promise<Uint8Array>} */
async function hmacByte(key, byte) {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, new Uint8Array([byte])));
}

/** @param {Uint8Array} chainKey @returns {Promise<Uint8Array>} */
export function messageSeed(chainKey) {
  return hmacByte(chainKey, 0x01);
}

/** @param {Uint8Array} chainKey @returns {Promise<Uint8Array>} */
export function nextChainKey(chainKey) {
  return hmacByte(chainKey, 0x02);
}

/**
 * The message key for `counter` from the chain key at that counter.
 * @param {Uint8Array} chainKey @param {number} counter @returns {Promise<MessageKey>}
 */
export async function messageKey(chainKey, counter) {
  const seed = await crypto.subtle.importKey("raw", await messageSeed(chainKey), "HKDF", false, [
    "deriveBits",
  ]);
  const okm = new Uint8Array(
    await crypto.subtle.deriveBits(
      {
        name: "HKDF",
        hash: "SHA-256",
        salt: new Uint8Array(32),
        info: MESSAGE_INFO,
      },
      seed,
      44 * 8,
    ),
  );
  return { counter, key: okm.slice(0, 32), nonce: okm.slice(32) };
}
