// Sender keys, the GroupCipher of caducee/instant/sender_keys.py, in the browser.
// Each member device owns a chain (generation, chain key, counter); every message key comes
// from the hash ratchet (ratchet.js) and is forgotten once used. A message is AES-256-GCM
// with its header as associated data, then signed with the sender device's Ed25519 key. A
// chain is handed to each member device sealed with HPKE, `info` being the distribution
// header. Removing a member starts a new generation with a new random chain key, sealed to
// the remaining devices only. Receivers keep at most `maxSkip` keys of skipped counters.
//
// History for newcomers (as in Python): a chain is always sealed as it stood at the start of
// its generation (its first chain key, counter 0), so a device added later reads what its
// sender said in the current generation; the wire is unchanged. A receiver given a chain it
// holds from an earlier counter adds the earlier counters' keys as skipped keys (within
// `maxSkip`), so what it already read stays refused as a replay.
//
// Operations run one at a time (a promise queue): two encrypts never share a counter.

import {
  NotAMember,
  InstantDecryptionFailed,
  InstantSignatureInvalid,
  MessageOutOfWindow,
  ReplayedMessage,
  UnknownSenderKey,
  UnsupportedSuite,
} from "./errors.js";
import {
  encodeDistributionHeader,
  encodeMessageHeader,
  parseDistributionHeader,
  parseMessageHeader,
  signed,
  splitSigned,
} from "./formats.js";
import { concat } from "./bytes.js";
import { seal } from "./hpke.js";
import { CHAIN_KEY_SIZE, messageKey, nextChainKey } from "./ratchet.js";
import { Reader, field, integer } from "./wire.js";

export const DEFAULT_MAX_SKIP = 1000;
export const GENERATIONS_KEPT = 2;

/**
 * @typedef {import("./device.js").DeviceKeys} DeviceKeys
 * @typedef {import("./device.js").DevicePublicKeys} DevicePublicKeys
 * @typedef {import("./ratchet.js").MessageKey} MessageKey
 * @typedef {{generation: number, chainKey: Uint8Array, counter: number,
 *   startKey?: Uint8Array, startCounter?: number}} OwnChain
 * @typedef {{generation: number, chainKey: Uint8Array, nextCounter: number,
 *   skipped: Map<number, MessageKey>, forgottenBelow: number, startsAt: number}} ReceiverChain
 * @typedef {{recipientDeviceId: string, payload: Uint8Array}} KeyDistribution
 * @typedef {{caseId: string, senderDeviceId: string, senderAddress: string,
 *   generation: number, counter: number, plaintext: Uint8Array}} DecryptedMessage
 */

/** @param {Uint8Array} key @param {"encrypt"|"decrypt"} use @returns {Promise<CryptoKey>} */
function aesKey(key, use) {
  return crypto.subtle.importKey("raw", key, "AES-GCM", false, [use]);
}

/** @returns {Uint8Array} */
function randomChainKey() {
  return crypto.getRandomValues(new Uint8Array(CHAIN_KEY_SIZE));
}

/**
 * A chain that remembers where its generation started (what is sealed to new devices).
 * @param {OwnChain} chain @returns {OwnChain}
 */
function ownChain(chain) {
  return {
    ...chain,
    startKey: chain.startKey ?? chain.chainKey,
    startCounter: chain.startKey ? (chain.startCounter ?? 0) : chain.counter,
  };
}

/** One device's sender-key state for one case. */
export class SenderKeyGroup {
  /**
   * `members` must already be verified (their device statements checked).
   * `ownChain` restores a saved chain (or fixes one in a known-answer test).
   * @param {string} caseId @param {DeviceKeys} me @param {DevicePublicKeys[]} [members]
   * @param {{maxSkip?: number, ownChain?: OwnChain}} [options]
   */
  constructor(caseId, me, members = [], options = {}) {
    const { maxSkip = DEFAULT_MAX_SKIP } = options;
    this.caseId = caseId;
    this.me = me;
    /** @type {Map<string, DevicePublicKeys>} */
    this.members = new Map([[me.deviceId, me.public()]]);
    for (const d of members) this.members.set(d.deviceId, d);
    this.maxSkip = maxSkip;
    /** @type {OwnChain} */
    this.own = ownChain(
      options.ownChain ?? { generation: 0, chainKey: randomChainKey(), counter: 0 },
    );
    /** @type {Map<string, Map<number, ReceiverChain>>} */
    this.chains = new Map();
    /** @type {Promise<unknown>} */
    this.queue = Promise.resolve();
  }

  /**
   * Run `task` after every operation queued before it.
   * @template T @param {() => Promise<T>} task @returns {Promise<T>}
   */
  serial(task) {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  get generation() {
    return this.own.generation;
  }

  /** @returns {Set<string>} */
  memberDeviceIds() {
    return new Set(this.members.keys());
  }

  // -- membership ---------------------------------------------------------------------------

  /**
   * The current chain sealed to this very device: posted like any key, it lets the device
   * read its own messages again after a reload (receiveKey takes it back).
   * @returns {Promise<KeyDistribution>}
   */
  sealToSelf() {
    return this.serial(() => this.sealTo(this.me.public()));
  }

  /** @param {DevicePublicKeys} device @returns {Promise<KeyDistribution>} */
  async sealTo(device) {
    const header = encodeDistributionHeader({
      caseId: this.caseId,
      senderDeviceId: this.me.deviceId,
      recipientDeviceId: device.deviceId,
      generation: this.own.generation,
      kem: device.kem,
    });
    // The generation's start, not the current counter: a new device reads its history.
    const own = /** @type {{startKey: Uint8Array, startCounter: number}} */ (this.own);
    const secret = concat(field(own.startKey), integer(own.startCounter));
    const sealed = await seal(device.kem, device.hpkePublic, secret, header);
    const payload = await signed(header, sealed, (d) => this.me.sign(d));
    return { recipientDeviceId: device.deviceId, payload };
  }

  /** @param {Iterable<string>} deviceIds @returns {Promise<KeyDistribution[]>} */
  async distribute(deviceIds) {
    const ids = [...new Set(deviceIds)].filter((d) => d !== this.me.deviceId).sort();
    const out = [];
    for (const id of ids)
      out.push(await this.sealTo(/** @type {DevicePublicKeys} */ (this.members.get(id))));
    return out;
  }

  /**
   * Let verified devices read what this device sends in its current generation (from its
   * start: the case's recent history) and from now on.
   * @param {DevicePublicKeys[]} devices @returns {Promise<KeyDistribution[]>}
   */
  addMembers(devices) {
    return this.serial(async () => {
      for (const d of devices) this.members.set(d.deviceId, d);
      return this.distribute(devices.map((d) => d.deviceId));
    });
  }

  /**
   * Drop devices and rotate, so that they cannot read anything sent afterwards.
   * @param {string[]} deviceIds @returns {Promise<KeyDistribution[]>}
   */
  removeMembers(deviceIds) {
    return this.serial(async () => {
      for (const id of deviceIds) {
        if (id === this.me.deviceId) {
          throw new NotAMember("a device cannot remove itself from its own group state");
        }
        this.members.delete(id);
        this.chains.delete(id);
      }
      this.own = ownChain({
        generation: this.own.generation + 1,
        chainKey: randomChainKey(),
        counter: 0,
      });
      return this.distribute(this.members.keys());
    });
  }

  /** Our current chain sealed to every other member. @returns {Promise<KeyDistribution[]>} */
  distributions() {
    return this.serial(() => this.distribute(this.members.keys()));
  }

  /** A new generation for the same members (the scheduled rotation). */
  rotate() {
    return this.removeMembers([]);
  }

  /** Take in a sender key another member sealed to this device. @param {Uint8Array} payload */
  receiveKey(payload) {
    return this.serial(async () => {
      const {
        header: rawHeader,
        payload: sealed,
        signed: body,
        signature,
      } = splitSigned(payload, "sender key");
      const header = parseDistributionHeader(rawHeader);
      if (header.caseId !== this.caseId || header.recipientDeviceId !== this.me.deviceId) {
        throw new NotAMember("this sender key is for another case or another device");
      }
      const sender = this.members.get(header.senderDeviceId);
      // This device is a member of its own group: it takes back what it sealed to itself.
      if (!sender) {
        throw new NotAMember(
          "this sender key comes from a device that is not a member of the case",
        );
      }
      if (!(await sender.verify(signature, body))) {
        throw new InstantSignatureInvalid("the sender key is not signed by its sender device");
      }
      if (header.kem !== this.me.hpke.kem) {
        throw new UnsupportedSuite(
          "the sender key is sealed with another HPKE suite than this device's",
        );
      }
      const secret = new Reader(await this.me.open(sealed, rawHeader), "sender key");
      const chainKey = secret.field({ exact: CHAIN_KEY_SIZE }).slice();
      const counter = secret.integer();
      secret.end();
      let chains = this.chains.get(header.senderDeviceId);
      if (!chains) this.chains.set(header.senderDeviceId, (chains = new Map()));
      const known = chains.get(header.generation);
      if (known && counter < known.startsAt) return this.extendBack(known, chainKey, counter);
      if (known && known.nextCounter >= counter) return; // never wind a chain back
      chains.set(header.generation, {
        generation: header.generation,
        chainKey,
        nextCounter: counter,
        skipped: new Map(),
        forgottenBelow: counter,
        startsAt: counter,
      });
      const generations = [...chains.keys()].sort((a, b) => a - b);
      for (const old of generations.slice(0, -GENERATIONS_KEPT)) chains.delete(old);
    });
  }

  /**
   * Take the keys of counters [counter, chain.startsAt) from a chain given from an earlier
   * counter, as skipped keys: what was read stays read (replays stay refused). A key of
   * another chain opens nothing, so none is checked.
   * @param {ReceiverChain} chain @param {Uint8Array} chainKey @param {number} counter
   */
  async extendBack(chain, chainKey, counter) {
    /** @type {Map<number, MessageKey>} */
    const skipped = new Map();
    let key = chainKey;
    for (let n = counter; n < chain.startsAt; n++) {
      // older ones would be dropped at once
      if (chain.startsAt - n <= this.maxSkip) skipped.set(n, await messageKey(key, n));
      key = await nextChainKey(key);
    }
    const lowest = skipped.size ? Math.min(...skipped.keys()) : counter;
    for (const [n, k] of chain.skipped) skipped.set(n, k);
    chain.skipped = skipped;
    chain.forgottenBelow = Math.min(chain.forgottenBelow, lowest);
    chain.startsAt = counter;
    for (const oldest of chain.skipped.keys()) {
      if (chain.skipped.size <= this.maxSkip) break;
      chain.skipped.delete(oldest);
      chain.forgottenBelow = Math.max(chain.forgottenBelow, oldest + 1);
    }
  }

  // -- messages -----------------------------------------------------------------------------

  /** @param {Uint8Array} plaintext @returns {Promise<Uint8Array>} */
  encrypt(plaintext) {
    return this.serial(async () => {
      const own = this.own;
      const key = await messageKey(own.chainKey, own.counter);
      const header = encodeMessageHeader({
        caseId: this.caseId,
        senderDeviceId: this.me.deviceId,
        generation: own.generation,
        counter: own.counter,
      });
      own.chainKey = await nextChainKey(own.chainKey);
      own.counter += 1;
      const ciphertext = new Uint8Array(
        await crypto.subtle.encrypt(
          { name: "AES-GCM", iv: key.nonce, additionalData: header },
          await aesKey(key.key, "encrypt"),
          plaintext,
        ),
      );
      return signed(header, ciphertext, (d) => this.me.sign(d));
    });
  }

  /**
   * The key for `counter`, the keys skipped to reach it, and the chain key after it.
   * @param {ReceiverChain} chain @param {number} counter
   * @returns {Promise<{key: MessageKey, skipped: MessageKey[], next: Uint8Array}>}
   */
  async keyFor(chain, counter) {
    const kept = chain.skipped.get(counter);
    if (kept) return { key: kept, skipped: [], next: chain.chainKey };
    if (counter < chain.nextCounter) {
      if (counter < chain.forgottenBelow) {
        throw new MessageOutOfWindow("this message is older than the keys this device keeps");
      }
      throw new ReplayedMessage(`message counter ${counter} was already received`);
    }
    if (counter - chain.nextCounter > this.maxSkip) {
      throw new MessageOutOfWindow("this message is too far ahead of the last one received");
    }
    let chainKey = chain.chainKey;
    const skipped = [];
    for (let n = chain.nextCounter; n < counter; n++) {
      skipped.push(await messageKey(chainKey, n));
      chainKey = await nextChainKey(chainKey);
    }
    return {
      key: await messageKey(chainKey, counter),
      skipped,
      next: await nextChainKey(chainKey),
    };
  }

  /** @param {Uint8Array} message @returns {Promise<DecryptedMessage>} */
  decrypt(message) {
    return this.serial(async () => {
      const {
        header: rawHeader,
        payload: ciphertext,
        signed: body,
        signature,
      } = splitSigned(message, "message");
      const header = parseMessageHeader(rawHeader);
      if (header.caseId !== this.caseId) {
        throw new NotAMember("this message belongs to a case this device is not in");
      }
      const sender = this.members.get(header.senderDeviceId);
      if (!sender) {
        throw new NotAMember("this message comes from a device that is not a member of the case");
      }
      if (!(await sender.verify(signature, body))) {
        throw new InstantSignatureInvalid("the message is not signed by its sender device");
      }
      const chain = this.chains.get(header.senderDeviceId)?.get(header.generation);
      if (!chain)
        throw new UnknownSenderKey("no sender key received for this device and generation");
      const { key, skipped, next } = await this.keyFor(chain, header.counter);
      let plaintext;
      try {
        plaintext = new Uint8Array(
          await crypto.subtle.decrypt(
            { name: "AES-GCM", iv: key.nonce, additionalData: rawHeader },
            await aesKey(key.key, "decrypt"),
            ciphertext,
          ),
        );
      } catch {
        throw new InstantDecryptionFailed("the message does not decrypt");
      }
      if (chain.skipped.has(header.counter)) {
        chain.skipped.delete(header.counter);
      } else {
        for (const k of skipped) chain.skipped.set(k.counter, k);
        chain.chainKey = next;
        chain.nextCounter = header.counter + 1;
        for (const oldest of chain.skipped.keys()) {
          if (chain.skipped.size <= this.maxSkip) break;
          chain.skipped.delete(oldest);
          chain.forgottenBelow = Math.max(chain.forgottenBelow, oldest + 1);
        }
      }
      return {
        caseId: this.caseId,
        senderDeviceId: header.senderDeviceId,
        senderAddress: sender.address,
        generation: header.generation,
        counter: header.counter,
        plaintext,
      };
    });
  }
}
