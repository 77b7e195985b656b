// One case, seen from this device: its sender-key group, the member devices it seals keys to,
// and its messages decrypted here. The server sees only ids, kinds and ciphertexts; the
// patient's identity travels inside the first message's ciphertext. What a message says is
// a payload of payloads.js (patient, text, edit, deletion, photo, file, read, ack).
//
// Each session starts its own chain at a new generation (the clock, in milliseconds), so a
// reloaded page never reuses a counter; receivers keep the two latest generations per sender.
// A generation is also sealed to this device itself (SenderKeyGroup.sealToSelf), so that
// replaying the case from sequence 1 rebuilds every chain, this device's included, and its
// earlier messages read again. The chain rotates when a device leaves, and on a schedule: after
// ROTATE_AFTER_MESSAGES messages or ROTATE_AFTER_MS.

import { parseListedDevice } from "../device.js";
import { SenderKeyGroup } from "../sender_keys.js";
import { fromBase64, toBase64 } from "./client.js";
import { decodePayload, encodePayload } from "./payloads.js";

export { decodePayload };

export const ROTATE_AFTER_MESSAGES = 500;
export const ROTATE_AFTER_MS = 24 * 60 * 60 * 1000;

const decoder = new TextDecoder();

/**
 * @typedef {{sequence: number, messageId: string, kind: string, sender: string,
 *   senderDevice: string, at: string, body: any|null, error: string|null}} Entry
 * @typedef {"message"|"edit"|"deletion"|"read"|"ack"} SendKind
 */

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
    /** The generation last sealed to this device itself. @type {number|null} */
    this.selfSealed = null;
    /** When the current chain started, and how many messages it encrypted. */
    this.chainStarted = Date.now();
    this.chainMessages = 0;
    /** The rotation schedule (lowered by the tests). */
    this.rotation = { messages: ROTATE_AFTER_MESSAGES, ms: ROTATE_AFTER_MS };
    /** Days the organisation keeps messages; null when unlimited or not said. */
    this.retentionDays = /** @type {number|null} */ (null);
    /** Addresses whose devices were fetched. @type {Map<string, Map<string, any>>} */
    this.devicesOf = new Map();
    this.cursor = 0;
    /** @type {Entry[]} */
    this.entries = [];
    /** What this device sent in this session, a fallback if its own key is missing. */
    /** @type {Map<string, any>} */
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
        // A device certified by the person, or endorsed by one of theirs (depth one).
        const device = await parseListedDevice(d);
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
  /** The case as the server describes it: participants, retention. */
  async refreshView() {
    const view = await this.session.api(`/cases/${this.caseId}`);
    this.participants = view.participants;
    const days = view.retention_days;
    this.retentionDays = Number.isInteger(days) && days > 0 ? days : null;
    return view;
  }

  /** Whether the scheduled rotation is due for the current chain. */
  rotationDue() {
    return (
      this.chainMessages >= this.rotation.messages ||
      Date.now() - this.chainStarted >= this.rotation.ms
    );
  }

  async shareKeys() {
    const view = await this.refreshView();
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
    if (this.rotationDue() || gone.some((id) => this.sealedTo.has(id))) {
      distributions = await this.group.removeMembers(gone);
      this.sealedTo = new Set(distributions.map((d) => d.recipientDeviceId));
      this.chainStarted = Date.now();
      this.chainMessages = 0;
    } else {
      for (const id of gone) this.group.members.delete(id);
    }
    const fresh = [...target.values()].filter((d) => !this.sealedTo.has(d.deviceId));
    if (fresh.length) {
      distributions = distributions.concat(await this.group.addMembers(fresh));
      for (const d of fresh) this.sealedTo.add(d.deviceId);
    }
    for (const d of distributions) await this.post("key", d.payload);
    const generation = this.group.generation;
    if (this.selfSealed !== generation) {
      await this.post("key", (await this.group.sealToSelf()).payload);
      this.selfSealed = generation;
    }
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
   * @param {SendKind} kind @param {import("./payloads.js").Payload} payload
   * @returns {Promise<any>}
   */
  send(kind, payload) {
    // One send at a time: keys sealed by a concurrent send could carry a later counter than
    // a message posted after them, and receivers would skip that message.
    const run = this.sending.then(async () => {
      await this.shareKeys();
      const ciphertext = await this.group.encrypt(encodePayload(payload));
      this.chainMessages += 1;
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
        // Our own device is a member too: a key sealed to itself reads our earlier messages.
        if (await this.know(m.sender, m.sender_device_id)) await this.group.receiveKey(data);
      } catch {
        // a key this device cannot take: the messages under it will say so
      }
      return null;
    }
    if (m.sender_device_id === this.device.deviceId) {
      try {
        entry.body = decodePayload((await this.group.decrypt(data)).plaintext);
      } catch {
        entry.body = this.sent.get(m.message_id) ?? null; // a key of ours that never posted
        if (!entry.body) entry.error = "own-earlier-session";
      }
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
