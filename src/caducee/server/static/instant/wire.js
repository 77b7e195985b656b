// The length-prefixed encoding of caducee/instant/_wire.py, byte for byte: each field is a
// 4-byte big-endian length then its bytes; integers are 8-byte big-endian. Every read
// failure is a MalformedInstantData.

import { concat, utf8 } from "./bytes.js";
import { MalformedInstantData } from "./errors.js";

export const MAX_FIELD = 1 << 20;

/** @param {Uint8Array} value @returns {Uint8Array} */
export function field(value) {
  const out = new Uint8Array(4 + value.length);
  new DataView(out.buffer).setUint32(0, value.length);
  out.set(value, 4);
  return out;
}

/** @param {string} value @returns {Uint8Array} */
export function text(value) {
  return field(utf8.encode(value));
}

/** @param {number} value a non-negative safe integer @returns {Uint8Array} */
export function integer(value) {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError("not a wire integer");
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/** @param {...Uint8Array} values @returns {Uint8Array} */
export function fields(...values) {
  return concat(...values.map(field));
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads fields in order from outside bytes; `end()` refuses trailing bytes. */
export class Reader {
  /** @param {Uint8Array} data @param {string} what */
  constructor(data, what) {
    if (!(data instanceof Uint8Array)) throw new MalformedInstantData(`${what}: expected bytes`);
    this.data = data;
    this.at = 0;
    this.what = what;
  }

  /** @param {number} n @returns {Uint8Array} */
  take(n) {
    if (n < 0 || this.at + n > this.data.length) {
      throw new MalformedInstantData(`${this.what}: truncated`);
    }
    const chunk = this.data.subarray(this.at, this.at + n);
    this.at += n;
    return chunk;
  }

  /** @param {{exact?: number}} [options] @returns {Uint8Array} */
  field({ exact } = {}) {
    const size = this.take(4);
    const n = new DataView(size.buffer, size.byteOffset, 4).getUint32(0);
    if (n > MAX_FIELD) throw new MalformedInstantData(`${this.what}: field too long`);
    const value = this.take(n);
    if (exact !== undefined && n !== exact) {
      throw new MalformedInstantData(`${this.what}: field of ${n} bytes, expected ${exact}`);
    }
    return value;
  }

  /** @returns {string} */
  text() {
    const raw = this.field();
    try {
      return strictUtf8.decode(raw);
    } catch {
      throw new MalformedInstantData(`${this.what}: text is not UTF-8`);
    }
  }

  /** Python reads any 64-bit value; above 2^53 we refuse rather than round. @returns {number} */
  integer() {
    const raw = this.take(8);
    const value = new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new MalformedInstantData(`${this.what}: integer too large`);
    }
    return Number(value);
  }

  /** The bytes read so far (what a trailing signature covers). @returns {Uint8Array} */
  consumed() {
    return this.data.subarray(0, this.at);
  }

  end() {
    if (this.at !== this.data.length)
      throw new MalformedInstantData(`${this.what}: trailing bytes`);
  }
}

/**
 * `magic` then the rest, or MalformedInstantData.
 * @param {Uint8Array} raw @param {Uint8Array} magic @param {string} what @returns {Uint8Array}
 */
export function afterMagic(raw, magic, what) {
  if (raw.length < magic.length || magic.some((b, i) => raw[i] !== b)) {
    throw new MalformedInstantData(what);
  }
  return raw.subarray(magic.length);
}
