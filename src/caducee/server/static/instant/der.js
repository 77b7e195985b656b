// A strict DER reader (ITU-T X.690, distinguished encoding only): the bytes of certificates
// and CRLs the untrusted server hands out are read here, element by element, with lengths
// checked against what contains them; anything else throws UntrustedCertificate
// ("malformed-certificate"). x509.js builds certificates and CRLs on top of it.

import { toHex } from "./bytes.js";
import { UntrustedCertificate } from "./errors.js";

/** The refusal code of bytes that do not parse (as caducee.crypto.errors says it). */
export const MALFORMED = "malformed-certificate";
/** A certificate or CRL larger than this is refused before it is read. */
export const MAX_DER = 1 << 20;

export const TAG = Object.freeze({
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8: 0x0c,
  PRINTABLE: 0x13,
  TELETEX: 0x14,
  IA5: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
  CONTEXT_0: 0xa0,
  CONTEXT_3: 0xa3,
  RFC822_NAME: 0x81,
});

/** @param {string} message @returns {never} */
export function malformed(message) {
  throw new UntrustedCertificate(MALFORMED, `${message} / certificat ou LCR illisible`);
}

// -- the DER reader ---------------------------------------------------------------------------

/** One DER element inside the bytes it was read from. */
export class Element {
  /**
   * @param {number} tag @param {Uint8Array} bytes @param {number} start
   * @param {number} contentStart @param {number} end
   */
  constructor(tag, bytes, start, contentStart, end) {
    this.tag = tag;
    this.bytes = bytes;
    this.start = start;
    this.contentStart = contentStart;
    this.end = end;
  }

  /** The whole encoding (tag, length, contents). */
  get der() {
    return this.bytes.subarray(this.start, this.end);
  }

  get content() {
    return this.bytes.subarray(this.contentStart, this.end);
  }
}

/**
 * The element at `at`, ending by `limit`: low tag numbers, definite minimal lengths (DER).
 * @param {Uint8Array} bytes @param {number} at @param {number} limit @param {string} what
 * @returns {Element}
 */
export function readElement(bytes, at, limit, what) {
  if (at + 2 > limit) malformed(`${what}: truncated`);
  const tag = bytes[at];
  if ((tag & 0x1f) === 0x1f) malformed(`${what}: a high tag number`);
  let length = bytes[at + 1];
  let pos = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) malformed(`${what}: an indefinite length (BER, not DER)`);
    if (count > 3 || pos + count > limit) malformed(`${what}: a length out of bounds`);
    if (bytes[pos] === 0) malformed(`${what}: a length not in minimal form`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[pos++];
    if (length < 0x80) malformed(`${what}: a length not in minimal form`);
  }
  const end = pos + length;
  if (end > limit) malformed(`${what}: truncated`);
  return new Element(tag, bytes, at, pos, end);
}

/**
 * The one element `bytes` hold, nothing after it.
 * @param {Uint8Array} bytes @param {string} what @returns {Element}
 */
export function parseElement(bytes, what) {
  if (!(bytes instanceof Uint8Array)) malformed(`${what}: not bytes`);
  if (bytes.length > MAX_DER) malformed(`${what}: too large`);
  const element = readElement(bytes, 0, bytes.length, what);
  if (element.end !== bytes.length) malformed(`${what}: trailing bytes`);
  return element;
}

/** Reads the fields of a SEQUENCE (or SET) in order, optional ones by their tag. */
export class Fields {
  /** @param {Element} element @param {string} what @param {number} [tag] */
  constructor(element, what, tag = TAG.SEQUENCE) {
    if (element.tag !== tag) malformed(`${what}: unexpected type`);
    this.what = what;
    /** @type {Element[]} */
    this.items = [];
    for (let at = element.contentStart; at < element.end;) {
      const item = readElement(element.bytes, at, element.end, what);
      this.items.push(item);
      at = item.end;
    }
    this.index = 0;
  }

  /** @param {number} tag @param {string} name @returns {Element} */
  next(tag, name) {
    const item = this.items[this.index];
    if (!item || item.tag !== tag) malformed(`${this.what}: ${name} expected`);
    this.index += 1;
    return item;
  }

  /** @param {number} tag @returns {Element|null} */
  optional(tag) {
    const item = this.items[this.index];
    if (!item || item.tag !== tag) return null;
    this.index += 1;
    return item;
  }

  /** @returns {Element|null} */
  peek() {
    return this.items[this.index] ?? null;
  }

  end() {
    if (this.index !== this.items.length) malformed(`${this.what}: unexpected fields`);
  }
}

/** @param {Element} element @param {string} what @returns {string} dotted */
export function oid(element, what) {
  if (element.tag !== TAG.OID) malformed(`${what}: an object identifier expected`);
  const content = element.content;
  if (content.length === 0 || content.length > 64 || content[content.length - 1] & 0x80) {
    malformed(`${what}: a bad object identifier`);
  }
  /** @type {number[]} */
  const arcs = [];
  let value = 0;
  let digits = 0;
  for (const byte of content) {
    if (digits === 0 && byte === 0x80) malformed(`${what}: an object identifier not minimal`);
    value = value * 128 + (byte & 0x7f);
    digits += 1;
    if (digits > 7) malformed(`${what}: an object identifier arc too large`);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0;
      digits = 0;
    }
  }
  const first = arcs[0] < 80 ? Math.floor(arcs[0] / 40) : 2;
  return [first, arcs[0] - 40 * first, ...arcs.slice(1)].join(".");
}

/**
 * A non-negative INTEGER in minimal form, as hex without leading zeros ("0" for zero).
 * @param {Element} element @param {string} what @returns {string}
 */
export function unsignedHex(element, what) {
  if (element.tag !== TAG.INTEGER) malformed(`${what}: an integer expected`);
  const content = element.content;
  if (content.length === 0) malformed(`${what}: an empty integer`);
  if (content.length > 1 && content[0] === 0 && !(content[1] & 0x80)) {
    malformed(`${what}: an integer not in minimal form`);
  }
  if (content.length > 1 && content[0] === 0xff && content[1] & 0x80) {
    malformed(`${what}: an integer not in minimal form`);
  }
  if (content[0] & 0x80) malformed(`${what}: a negative integer`);
  return toHex(content).replace(/^0+(?=.)/, "");
}

/** @param {Element} element @param {string} what @param {number} max @returns {number} */
export function smallInteger(element, what, max) {
  const value = parseInt(unsignedHex(element, what), 16);
  if (!(value <= max)) malformed(`${what}: an integer out of range`);
  return value;
}

/** @param {Element} element @param {string} what @returns {boolean} */
export function boolean(element, what) {
  if (element.tag !== TAG.BOOLEAN || element.content.length !== 1) {
    malformed(`${what}: a boolean expected`);
  }
  const value = element.content[0];
  if (value !== 0 && value !== 0xff) malformed(`${what}: a boolean not in DER`);
  return value === 0xff;
}

/** @param {Element} element @param {string} what @returns {{unused: number, bits: Uint8Array}} */
export function bitString(element, what) {
  if (element.tag !== TAG.BIT_STRING || element.content.length === 0) {
    malformed(`${what}: a bit string expected`);
  }
  const unused = element.content[0];
  const bits = element.content.subarray(1);
  if (unused > 7 || (bits.length === 0 && unused !== 0)) malformed(`${what}: a bad bit string`);
  if (bits.length && bits[bits.length - 1] & ((1 << unused) - 1)) {
    malformed(`${what}: a bit string not in DER`);
  }
  return { unused, bits };
}

/** @param {Element} element @param {string} what @returns {Uint8Array} whole bytes only */
export function octets(element, what) {
  const { unused, bits } = bitString(element, what);
  if (unused !== 0) malformed(`${what}: not whole bytes`);
  return bits;
}

export const TIME_FORMATS = /** @type {Record<number, RegExp>} */ ({
  [TAG.UTC_TIME]: /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
  [TAG.GENERALIZED_TIME]: /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
});

/**
 * UTCTime or GeneralizedTime in RFC 5280's form (seconds, "Z"), as epoch milliseconds.
 * @param {Element} element @param {string} what @returns {number}
 */
export function time(element, what) {
  const format = TIME_FORMATS[element.tag];
  if (!format) malformed(`${what}: a time expected`);
  if (element.content.length > 15) malformed(`${what}: a time not in RFC 5280 form`);
  const match = format.exec(ascii(element.content, what));
  if (!match) malformed(`${what}: a time not in RFC 5280 form`);
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const fullYear = element.tag === TAG.UTC_TIME ? (year >= 50 ? 1900 : 2000) + year : year;
  const date = new Date(Date.UTC(fullYear, month - 1, day, hour, minute, second));
  if (
    date.getUTCFullYear() !== fullYear ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    malformed(`${what}: an impossible date`);
  }
  return date.getTime();
}

// -- names, algorithms, keys ------------------------------------------------------------------

// RFC 4514 §3 short names; others are written as dotted OIDs, as Python's rfc4514_string().
export const ATTRIBUTES = /** @type {Record<string, string>} */ ({
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "STREET",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
});

/** An attribute value escaped as RFC 4514 §2.4 says. @param {string} value */
export function escapeValue(value) {
  return value
    .replace(/[\\,+"<>;]/g, (c) => `\\${c}`)
    .replace(/^[#\s]/, (c) => `\\${c}`)
    .replace(/\s$/, (c) => `\\${c}`);
}

export const utf8Strict = new TextDecoder("utf-8", { fatal: true });
export const latin1 = new TextDecoder("latin1");

/** @param {Uint8Array} bytes @param {string} what @returns {string} */
export function ascii(bytes, what) {
  if (bytes.some((b) => b > 0x7e || b < 0x20)) malformed(`${what}: text that is not ASCII`);
  return latin1.decode(bytes);
}

/** @param {Element} element @param {string} what @returns {string|null} */
export function directoryString(element, what) {
  const content = element.content;
  switch (element.tag) {
    case TAG.UTF8:
      try {
        return utf8Strict.decode(content);
      } catch {
        return malformed(`${what}: a name that is not UTF-8`);
      }
    case TAG.PRINTABLE:
    case TAG.IA5:
    case TAG.TELETEX:
      return latin1.decode(content);
    case TAG.BMP: {
      if (content.length % 2) malformed(`${what}: a bad BMPString`);
      let text = "";
      for (let i = 0; i < content.length; i += 2) {
        text += String.fromCharCode((content[i] << 8) | content[i + 1]);
      }
      return text;
    }
    default:
      return null; // not a string: written as #hex
  }
}

/**
 * A Name: its DER (for exact comparison) and a readable form (for messages).
 * @param {Element} element @param {string} what @returns {{der: Uint8Array, text: string}}
 */
export function name(element, what) {
  const parts = [];
  const rdns = new Fields(element, what);
  for (const set of rdns.items) {
    const attributes = new Fields(set, what, TAG.SET);
    if (attributes.items.length === 0) malformed(`${what}: an empty name component`);
    for (const item of attributes.items) {
      const pair = new Fields(item, what);
      const type = oid(pair.next(TAG.OID, "attribute type"), what);
      const value = pair.items[pair.index];
      if (!value) malformed(`${what}: an attribute without a value`);
      pair.index += 1;
      pair.end();
      const text = directoryString(value, what);
      const written = text === null ? `#${toHex(value.der)}` : escapeValue(text);
      parts.push(`${ATTRIBUTES[type] ?? type}=${written}`);
    }
  }
  return { der: element.der, text: parts.reverse().join(",") };
}
