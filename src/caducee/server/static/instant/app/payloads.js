// What a MISS message says once decrypted: the browser mirror of caducee/instant/payloads.py.
//
// Every payload is one UTF-8 JSON object with a `type`: patient, text (reply_to?), edit,
// deletion, photo / file (base64 `data`, caption?, reply_to?, a photo's `blurred`), read
// {upTo}, ack. Bytes that are not such an object (an older client's plain text) read as
// text; a type from a newer client reads as text (its JSON, written as Python writes it); a
// known type lacking what it needs is refused with MalformedPayload. The vectors in
// tests/vectors/instant/payloads.json prove both sides read and write the same bytes.

import { MalformedInstantData } from "../errors.js";
import { fromBase64, toBase64 } from "./client.js";

/** A photo or a file rides inside one message; bigger documents go by Caducée mail. */
export const MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024; // as payloads.py: fits the server's 3 MiB of ciphertext

/**
 * The decoded forms; optional fields are null when absent (as in the Python dataclasses).
 * @typedef {{type: "patient", patient: {ins: string, name: string, birth_date: string},
 *   stay: string|null}} PatientCard
 * @typedef {{type: "text", text: string, reply_to: string|null}} Text
 * @typedef {{type: "edit", target: string, text: string}} Edit
 * @typedef {{type: "deletion", target: string}} Deletion
 * @typedef {{type: "photo"|"file", name: string, media_type: string, data: Uint8Array,
 *   caption: string|null, reply_to: string|null, blurred: boolean}} Attachment
 * @typedef {{type: "read", upTo: number}} Read
 * @typedef {{type: "ack"}} Acknowledgement
 * @typedef {PatientCard|Text|Edit|Deletion|Attachment|Read|Acknowledgement} Payload
 */

/** A known type lacking what it needs: the core's error (code "instant-malformed"). */
export const MalformedPayload = MalformedInstantData;

const encoder = new TextEncoder();
// Strict UTF-8 that keeps a byte-order mark, as Python's bytes.decode() does.
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * @param {Record<string, unknown>} value
 * @returns {Record<string, unknown>}
 */
function withoutNull(value) {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
}

/**
 * The UTF-8 JSON a client encrypts for `payload` (the same bytes as Python's encode_payload).
 * @param {Payload} payload @returns {Uint8Array}
 */
export function encodePayload(payload) {
  return encoder.encode(JSON.stringify(toJson(payload)));
}

/** @param {Payload} p @returns {Record<string, unknown>} */
function toJson(p) {
  switch (p.type) {
    case "patient": {
      const { ins, name, birth_date } = p.patient;
      return withoutNull({ type: "patient", patient: { ins, name, birth_date }, stay: p.stay });
    }
    case "text":
      return withoutNull({ type: "text", text: p.text, reply_to: p.reply_to });
    case "edit":
      return { type: "edit", target: p.target, text: p.text };
    case "deletion":
      return { type: "deletion", target: p.target };
    case "photo":
    case "file": {
      /** @type {Record<string, unknown>} */
      const out = withoutNull({
        type: p.type,
        name: p.name,
        media_type: p.media_type,
        data: toBase64(p.data),
        caption: p.caption,
        reply_to: p.reply_to,
      });
      if (p.type === "photo") out.blurred = Boolean(p.blurred);
      return out;
    }
    case "read":
      return { type: "read", upTo: p.upTo };
    case "ack":
      return { type: "ack" };
  }
  throw new TypeError(`not a payload: ${/** @type {any} */ (p)?.type}`);
}

/**
 * What a decrypted message says; plain bytes that are not a payload read as text.
 * @param {Uint8Array} bytes @returns {Payload}
 */
export function decodePayload(bytes) {
  let text;
  try {
    text = strict.decode(bytes);
  } catch {
    return { type: "text", text: lenient.decode(bytes), reply_to: null };
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return { type: "text", text, reply_to: null };
  }
  if (!isObject(value) || typeof value.type !== "string") {
    return { type: "text", text, reply_to: null };
  }
  return fromJson(value);
}

/** @param {unknown} v @returns {v is Record<string, any>} */
function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** @param {Record<string, any>} value @returns {Payload} */
function fromJson(value) {
  const kind = value.type;
  if (kind === "patient") {
    const card = value.patient;
    if (!isObject(card)) {
      throw new MalformedPayload("patient sans identité / patient card without identity");
    }
    return {
      type: "patient",
      patient: {
        ins: field(card, "ins", true) ?? "",
        name: /** @type {string} */ (field(card, "name")),
        birth_date: field(card, "birth_date", true) ?? "",
      },
      stay: field(value, "stay", true),
    };
  }
  if (kind === "text") {
    return {
      type: "text",
      text: /** @type {string} */ (field(value, "text")),
      reply_to: field(value, "reply_to", true),
    };
  }
  if (kind === "edit") {
    return {
      type: "edit",
      target: /** @type {string} */ (field(value, "target")),
      text: /** @type {string} */ (field(value, "text")),
    };
  }
  if (kind === "deletion") {
    return { type: "deletion", target: /** @type {string} */ (field(value, "target")) };
  }
  if (kind === "photo" || kind === "file") return attachment(kind, value);
  if (kind === "read") {
    const upTo = value.upTo;
    if (typeof upTo !== "number" || !Number.isInteger(upTo) || upTo < 0) {
      throw new MalformedPayload("accusé de lecture invalide / invalid read receipt");
    }
    return { type: "read", upTo };
  }
  if (kind === "ack") return { type: "ack" };
  // A type from a newer client: shown as text rather than lost.
  return { type: "text", text: pythonJson(value), reply_to: null };
}

/** @param {"photo"|"file"} kind @param {Record<string, any>} value @returns {Attachment} */
function attachment(kind, value) {
  const encoded = /** @type {string} */ (field(value, "data"));
  if (encoded.length > Math.floor((MAX_ATTACHMENT_BYTES * 4) / 3) + 4) {
    throw new MalformedPayload("pièce jointe trop grande / attachment too large");
  }
  if (!BASE64.test(encoded)) {
    throw new MalformedPayload("pièce jointe illisible / attachment not base64");
  }
  const blurred = value.blurred ?? false;
  if (typeof blurred !== "boolean") {
    throw new MalformedPayload("champ blurred invalide / invalid blurred flag");
  }
  return {
    type: kind,
    name: /** @type {string} */ (field(value, "name")),
    media_type: /** @type {string} */ (field(value, "media_type")),
    data: fromBase64(encoded),
    caption: field(value, "caption", true),
    reply_to: field(value, "reply_to", true),
    blurred,
  };
}

/**
 * A string field: required ones are non-empty, optional ones may be absent (null).
 * @param {Record<string, any>} value @param {string} key @param {boolean} [optional]
 * @returns {string|null}
 */
function field(value, key, optional = false) {
  const found = value[key];
  if ((found === null || found === undefined) && optional) return null;
  if (typeof found !== "string" || (!found && !optional)) {
    throw new MalformedPayload(`champ ${key} manquant ou invalide / ${key} missing or invalid`);
  }
  return found;
}

/**
 * JSON as Python's json.dumps(ensure_ascii=False) writes it (", " and ": " separators), so
 * that an unknown payload reads as the same text on both sides. Floats with an integral
 * value (1.0) are written "1" here and "1.0" by Python: JSON.parse cannot tell them apart.
 * @param {unknown} v @returns {string}
 */
export function pythonJson(v) {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(", ")}]`;
  if (isObject(v)) {
    const items = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pythonJson(x)}`);
    return `{${items.join(", ")}}`;
  }
  if (typeof v === "number" && !Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  return JSON.stringify(v);
}
