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
//
// Whoever the case reaches reads it (as the desktop's case.py):
// - the chain is sealed to the participants' devices and to those of the escalation's reach
//   (`escalation_reach`: whom the escalation may still add), so a backup added while this
//   phone is in a pocket reads the question; someone who leaves the reach without being
//   added never was in the case, and needs no new chain;
// - a chain is sealed from its generation's start (sender_keys.js), and a key may come after
//   the messages it opens: entries left unreadable for want of a key are tried again after
//   each sync;
// - when this device starts a new generation and the latest card it reads was sent by this
//   device or by someone no longer in the case, it sends the card again in that generation,
//   so that a newcomer (given current generations only) reads it; the card is listed once.

import { SenderKeyGroup } from "../sender_keys.js";
import { fromBase64, toBase64 } from "./client.js";
import { decodePayload, encodePayload } from "./payloads.js";
import { caseDevices } from "./peers.js";

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
    /** Devices seen as a participant's (not only the reach's). @type {Set<string>} */
    this.participantDevices = new Set();
    /** Entries waiting for their key, with their ciphertext. @type {Map<Entry, Uint8Array>} */
    this.keyless = new Map();
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
   * An address's active devices that a valid certificate of the address vouches for
   * (app/peers.js: X.509 path to the pinned root, CRLs; cached for this session).
   * @param {string} address @param {boolean} [fresh]
   */
  devices(address, fresh = false) {
    return caseDevices(this, address, fresh);
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
    const reach = Array.isArray(view.escalation_reach) ? view.escalation_reach : [];
    for (const address of new Set([...view.participants, ...reach])) {
      for (const [id, d] of await this.devices(address, true)) {
        if (id === this.device.deviceId) continue;
        target.set(id, d);
        if (view.participants.includes(address)) this.participantDevices.add(id);
      }
    }
    const gone = [...this.group.members.keys()].filter(
      (id) => id !== this.device.deviceId && !target.has(id),
    );
    let distributions = [];
    // A new chain for this session (its first keys) or after a rotation: the card may go too.
    const fresh = this.selfSealed === null;
    const held = gone.some((id) => this.sealedTo.has(id) && this.participantDevices.has(id));
    const card = fresh || this.rotationDue() || held ? this.cardToCarry(view.participants) : null;
    if (this.rotationDue() || held) {
      distributions = await this.group.removeMembers(gone);
      this.sealedTo = new Set(distributions.map((d) => d.recipientDeviceId));
      this.chainStarted = Date.now();
      this.chainMessages = 0;
    } else {
      for (const id of gone) this.group.members.delete(id);
    }
    const added = [...target.values()].filter((d) => !this.sealedTo.has(d.deviceId));
    if (added.length) {
      distributions = distributions.concat(await this.group.addMembers(added));
      for (const d of added) this.sealedTo.add(d.deviceId);
    }
    for (const d of distributions) await this.post("key", d.payload);
    const generation = this.group.generation;
    if (this.selfSealed !== generation) {
      await this.post("key", (await this.group.sealToSelf()).payload);
      this.selfSealed = generation;
    }
    if (card) {
      const ciphertext = await this.group.encrypt(encodePayload(card));
      this.chainMessages += 1;
      const answer = await this.post("message", ciphertext);
      this.sent.set(answer.message_id, card);
    }
  }

  /**
   * The card to send again in a new generation: the latest readable one, when this device
   * sent it or its sender left the case (nobody else carries it into a current generation).
   * @param {string[]} participants @returns {any|null}
   */
  cardToCarry(participants) {
    const latest = [...this.entries].reverse().find((e) => e.body?.type === "patient");
    if (!latest) return null;
    const mine = latest.senderDevice === this.device.deviceId;
    return mine || !participants.includes(latest.sender) ? latest.body : null;
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
        if (entry && this.isCardCopy(entry.body)) continue; // the card is listed once
        if (entry) {
          this.entries.push(entry);
          added.push(entry);
        }
      }
      if (page.messages.length < 200) break;
    }
    await this.retryKeyless(added);
    return added;
  }

  /**
   * Decrypt the entries that waited for a key (a newcomer's key comes when its sender next
   * writes, after the messages it opens). @param {Entry[]} added
   */
  async retryKeyless(added) {
    for (const [entry, data] of [...this.keyless].sort((a, b) => a[0].sequence - b[0].sequence)) {
      try {
        const body = decodePayload((await this.group.decrypt(data)).plaintext);
        this.keyless.delete(entry);
        if (this.isCardCopy(body)) {
          this.entries.splice(this.entries.indexOf(entry), 1);
          continue;
        }
        entry.body = body;
        entry.error = null;
        if (!added.includes(entry)) added.push(entry);
      } catch (error) {
        const code = /** @type {any} */ (error).code ?? "instant-decryption-failed";
        if (code !== "instant-unknown-sender-key") {
          entry.error = code;
          this.keyless.delete(entry);
        }
      }
    }
  }

  /**
   * A card equal to one already listed (a copy carried into a later generation).
   * @param {any} body @returns {boolean}
   */
  isCardCopy(body) {
    if (body?.type !== "patient") return false;
    const known = this.patient();
    return known !== null && JSON.stringify(known) === JSON.stringify(body.patient);
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
      if (entry.error === "instant-unknown-sender-key") this.keyless.set(entry, data);
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
