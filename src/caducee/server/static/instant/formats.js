// The wire formats of caducee/instant/sender_keys.py: a message and a sender-key
// distribution are both `field(header) field(payload) field(Ed25519 signature)`, the
// signature covering the two fields before it.

import { concat, utf8 } from "./bytes.js";
import { suite } from "./hpke.js";
import { Reader, afterMagic, field, integer, text } from "./wire.js";

export const MESSAGE_MAGIC = utf8.encode("caducee-miss-v1 message");
export const DISTRIBUTION_MAGIC = utf8.encode("caducee-miss-v1 sender-key");

/**
 * @typedef {{caseId: string, senderDeviceId: string, generation: number, counter: number}}
 *   MessageHeader
 * @typedef {{caseId: string, senderDeviceId: string, recipientDeviceId: string,
 *   generation: number, kem: number}} DistributionHeader
 * @typedef {{header: Uint8Array, payload: Uint8Array, signed: Uint8Array,
 *   signature: Uint8Array}} Signed
 */

/** @param {MessageHeader} h @returns {Uint8Array} */
export function encodeMessageHeader(h) {
  return concat(
    MESSAGE_MAGIC,
    text(h.caseId),
    text(h.senderDeviceId),
    integer(h.generation),
    integer(h.counter),
  );
}

/** @param {DistributionHeader} h @returns {Uint8Array} */
export function encodeDistributionHeader(h) {
  return concat(
    DISTRIBUTION_MAGIC,
    text(h.caseId),
    text(h.senderDeviceId),
    text(h.recipientDeviceId),
    integer(h.generation),
    integer(h.kem),
  );
}

/** @param {Uint8Array} raw @returns {MessageHeader} */
export function parseMessageHeader(raw) {
  const reader = new Reader(
    afterMagic(raw, MESSAGE_MAGIC, "message: not a Caducée MISS message"),
    "message header",
  );
  const header = {
    caseId: reader.text(),
    senderDeviceId: reader.text(),
    generation: reader.integer(),
    counter: reader.integer(),
  };
  reader.end();
  return header;
}

/** @param {Uint8Array} raw @returns {DistributionHeader} */
export function parseDistributionHeader(raw) {
  const reader = new Reader(
    afterMagic(raw, DISTRIBUTION_MAGIC, "sender key: not a Caducée MISS sender key"),
    "sender key header",
  );
  const header = {
    caseId: reader.text(),
    senderDeviceId: reader.text(),
    recipientDeviceId: reader.text(),
    generation: reader.integer(),
    kem: reader.integer(),
  };
  suite(header.kem); // UnsupportedSuite for a KEM we do not speak
  reader.end();
  return header;
}

/** @param {Uint8Array} data @param {string} what @returns {Signed} */
export function splitSigned(data, what) {
  const reader = new Reader(data, what);
  const header = reader.field();
  const payload = reader.field();
  const signed = reader.consumed();
  const signature = reader.field({ exact: 64 });
  reader.end();
  return { header, payload, signed, signature };
}

/**
 * `field(header) field(payload) field(signature)`, signed by `sign`.
 * @param {Uint8Array} header @param {Uint8Array} payload
 * @param {(data: Uint8Array) => Promise<Uint8Array>} sign @returns {Promise<Uint8Array>}
 */
export async function signed(header, payload, sign) {
  const body = concat(field(header), field(payload));
  return concat(body, field(await sign(body)));
}
