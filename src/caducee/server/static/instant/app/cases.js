// One case, seen from this device: its sender-key group, the member devices it seals keys to,
// and its messages decrypted here. The server sees only ids, kinds and ciphertexts; the
// patient's identity travels inside the first message's ciphertext.
//
// Payloads are UTF-8 JSON: {type: "patient", patient: {...}}, {type: "text", text},
// {type: "read", upTo}, {type: "ack"}. Bytes that are not such JSON (a Python agent's plain
// text) are shown as text.
//
// Each session starts its own chain at a new generation (the clock, in milliseconds), so a
// reloaded page never reuses a counter; receivers keep the two latest generations per sender.
// Replaying the case from sequence 1 rebuilds the chains in order. This device cannot read its
// own messages from an earlier session (a sender key is never sealed to its own device).

import { parseDeviceStatement } from "../device.js";
import { SenderKeyGroup } from "../sender_keys.js";
import { fromBase64, toBase64 } from "./client.js";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * @typedef {{sequence: number, messageId: string, kind: string, sender: string,
 *   senderDevice: string, at: string, body: any|null, error: string|null}} Entry
 */

/** @param {Uint8Array} bytes @returns {any} */
export function decodePayload(bytes) {
  const text = decoder.decode(bytes);
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object" && typeof value.type === "string") return value;
  } catch {
    // plain text from another client
  }
  return { type: "text", text };
}

export class CaseState {
  /**
   * @param {string} caseId @param {import("../device.js").DeviceKeys} device
   * @param {import("./client.js").Session} session
   */
  constructor(caseId, device, session) {
    this.caseId = caseId;
    this.device = device;
    this.session = session;
    this.group = new SenderKeyGroup(caseId, device, [], {
      ownChain: {
        generation: Date.now(),
        chainKey: crypto.getRandomValues(new Uint8Array(32)),
        counter: 0,
      },
    });
    /** Devices our current generation is sealed to. @type {Set<string>} */
    this.sealedTo = new Set();
    /** Addresses whose devices were fetched. @type {Map<string, Map<string, any>>} */
    this.devicesOf = new Map();
    this.cursor = 0;
    /** @type {Entry[]} */
    this.entries = [];
    /** What this device sent in this session (it cannot decrypt its own). @type {Map<string, any>} */
    this.sent = new Map();
    /** @type {string[]} */
    this.participants = [];
    this.syncing = Promise.resolve();
    /** @type {Promise<unknown>} */
    this.sending = Promise.resolve();
  }

  /**
   * An address's active devices, parsed from their statements (cached for this session).
   * @param {string} address @param {boolean} [fresh]
   */
  async devices(address, fresh = false) {
    if (!fresh && this.devicesOf.has(address)) return this.devicesOf.get(address);
    const answer = await this.session.api(`/people/${encodeURIComponent(address)}/devices`);
    const found = new Map();
    for (const d of answer.devices) {
      try {
        const { device } = parseDeviceStatement(fromBase64(d.statement));
        if (device.address === address.toLowerCase()) found.set(device.deviceId, device);
      } catch {
        // a statement this browser cannot parse is left out
      }
    }
    this.devicesOf.set(address, found);
    return found;
  }

  /** Make a sender device known to the group so that its keys and messages can be read. */
  async know(address, deviceId) {
    if (this.group.members.has(deviceId)) return true;
    let device = (await this.devices(address)).get(deviceId);
    if (!device) device = (await this.devices(address, true)).get(deviceId);
    if (!device) return false;
    this.group.members.set(deviceId, device);
    return true;
  }

  /**
   * Seal our chain to every device of the current participants, rotating first when a device
   * that is no longer in the case still holds it; posts the key distributions.
   */
  async shareKeys() {
    const view = await this.session.api(`/cases/${this.caseId}`);
    this.participants = view.participants;
    /** @type {Map<string, any>} */
    const target = new Map();
    for (const address of view.participants) {
      for (const [id, d] of await this.devices(address, true)) {
        if (id !== this.device.deviceId) target.set(id, d);
      }
    }
    const gone = [...this.group.members.keys()].filter(
      (id) => id !== this.device.deviceId && !target.has(id),
    );
    let distributions = [];
    if (gone.some((id) => this.sealedTo.has(id))) {
      distributions = await this.group.removeMembers(gone);
      this.sealedTo = new Set(distributions.map((d) => d.recipientDeviceId));
    } else {
      for (const id of gone) this.group.members.delete(id);
    }
    const fresh = [...target.values()].filter((d) => !this.sealedTo.has(d.deviceId));
    if (fresh.length) {
      distributions = distributions.concat(await this.group.addMembers(fresh));
      for (const d of fresh) this.sealedTo.add(d.deviceId);
    }
    for (const d of distributions) await this.post("key", d.payload);
  }

  /** @param {string} kind @param {Uint8Array} ciphertext @returns {Promise<any>} */
  post(kind, ciphertext) {
    const body = {
      message_id: `miss-${crypto.randomUUID()}@${this.device.deviceId}`,
      device_id: this.device.deviceId,
      kind,
      ciphertext: toBase64(ciphertext),
    };
    const path = kind === "ack" ? "acknowledge" : "messages";
    if (kind === "ack") delete body.kind;
    return this.session
      .api(`/cases/${this.caseId}/${path}`, { method: "POST", json: body })
      .then((answer) => ({ ...answer, message_id: body.message_id }));
  }

  /**
   * Encrypt `payload` for the case's devices and post it.
   * @param {"message"|"read"|"ack"} kind @param {any} payload @returns {Promise<any>}
   */
  send(kind, payload) {
    // One send at a time: keys sealed by a concurrent send could carry a later counter than
    // a message posted after them, and receivers would skip that message.
    const run = this.sending.then(async () => {
      await this.shareKeys();
      const ciphertext = await this.group.encrypt(encoder.encode(JSON.stringify(payload)));
      const answer = await this.post(kind, ciphertext);
      this.sent.set(answer.message_id, payload);
      return answer;
    });
    this.sending = run.catch(() => undefined);
    return run;
  }

  /** Fetch and decrypt what arrived after the cursor; returns the new entries. */
  sync() {
    const run = this.syncing.then(() => this.fetchNew());
    this.syncing = run.catch(() => undefined);
    return run;
  }

  async fetchNew() {
    /** @type {Entry[]} */
    const added = [];
    for (;;) {
      const page = await this.session.api(
        `/cases/${this.caseId}/messages?device=${encodeURIComponent(this.device.deviceId)}` +
          `&after=${this.cursor}&limit=200`,
      );
      for (const m of page.messages) {
        this.cursor = Math.max(this.cursor, m.sequence);
        const entry = await this.open(m);
        if (entry) {
          this.entries.push(entry);
          added.push(entry);
        }
      }
      if (page.messages.length < 200) break;
    }
    return added;
  }

  /** @param {any} m a listed message @returns {Promise<Entry|null>} */
  async open(m) {
    const data = fromBase64(m.ciphertext);
    /** @type {Entry} */
    const entry = {
      sequence: m.sequence,
      messageId: m.message_id,
      kind: m.kind,
      sender: m.sender,
      senderDevice: m.sender_device_id,
      at: m.created_at,
      body: null,
      error: null,
    };
    if (m.kind === "key") {
      if (m.recipient_device_id !== this.device.deviceId) return null;
      try {
        if (await this.know(m.sender, m.sender_device_id)) await this.group.receiveKey(data);
      } catch {
        // a key this device cannot take: the messages under it will say so
      }
      return null;
    }
    if (m.sender_device_id === this.device.deviceId) {
      entry.body = this.sent.get(m.message_id) ?? null;
      if (!entry.body) entry.error = "own-earlier-session";
      return entry;
    }
    try {
      if (!(await this.know(m.sender, m.sender_device_id))) throw new Error("unknown device");
      const { plaintext } = await this.group.decrypt(data);
      entry.body = decodePayload(plaintext);
    } catch (error) {
      entry.error = /** @type {any} */ (error).code ?? "instant-decryption-failed";
    }
    return entry;
  }

  /** The patient, from the first readable "patient" entry. */
  patient() {
    return this.entries.find((e) => e.body?.type === "patient")?.body.patient ?? null;
  }

  /**
   * Try to decrypt a ciphertext outside the log (what a removed member would get if it
   * obtained the bytes): its plaintext, or the error code. Used by the tests.
   * @param {string} base64 @returns {Promise<{text: string|null, error: string|null}>}
   */
  async tryDecrypt(base64) {
    try {
      const { plaintext } = await this.group.decrypt(fromBase64(base64));
      return { text: decoder.decode(plaintext), error: null };
    } catch (error) {
      return { text: null, error: /** @type {any} */ (error).code ?? String(error) };
    }
  }
}
