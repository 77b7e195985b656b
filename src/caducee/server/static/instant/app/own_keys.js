// A device reading its own messages after a reload.
//
// The sender-key core never seals a chain to its own device (a chain key in memory only
// dies with the page). The app therefore seals each new generation to this device as well,
// through the same signed HPKE distribution as for any member, and on replay takes those
// keys back as a receiver chain of its own device id, so that the group's ordinary
// decrypt() reads what this device sent in an earlier session.

import { InstantSignatureInvalid, NotAMember } from "../errors.js";
import { parseDistributionHeader, splitSigned } from "../formats.js";
import { CHAIN_KEY_SIZE } from "../ratchet.js";
import { GENERATIONS_KEPT } from "../sender_keys.js";
import { Reader } from "../wire.js";

/**
 * The group's current chain sealed to its own device (post it as a "key" message).
 * @param {import("../sender_keys.js").SenderKeyGroup} group
 * @returns {Promise<import("../sender_keys.js").KeyDistribution>}
 */
export function sealToSelf(group) {
  return group.serial(() => group.sealTo(group.me.public()));
}

/**
 * Take back a chain this device sealed to itself; later messages of that generation decrypt.
 * @param {import("../sender_keys.js").SenderKeyGroup} group @param {Uint8Array} payload
 */
export function receiveOwnKey(group, payload) {
  return group.serial(async () => {
    const me = group.me;
    const { header: rawHeader, payload: sealed, signed, signature } = splitSigned(
      payload,
      "sender key",
    );
    const header = parseDistributionHeader(rawHeader);
    if (
      header.caseId !== group.caseId ||
      header.senderDeviceId !== me.deviceId ||
      header.recipientDeviceId !== me.deviceId
    ) {
      throw new NotAMember("this key is not one this device sealed to itself for this case");
    }
    if (!(await me.public().verify(signature, signed))) {
      throw new InstantSignatureInvalid("the key is not signed by this device");
    }
    const secret = new Reader(await me.open(sealed, rawHeader), "sender key");
    const chainKey = secret.field({ exact: CHAIN_KEY_SIZE }).slice();
    const counter = secret.integer();
    secret.end();
    let chains = group.chains.get(me.deviceId);
    if (!chains) group.chains.set(me.deviceId, (chains = new Map()));
    const known = chains.get(header.generation);
    if (known && known.nextCounter >= counter) return; // never wind a chain back
    chains.set(header.generation, {
      generation: header.generation,
      chainKey,
      nextCounter: counter,
      skipped: new Map(),
      forgottenBelow: counter,
    });
    const generations = [...chains.keys()].sort((a, b) => a - b);
    for (const old of generations.slice(0, -GENERATIONS_KEPT)) chains.delete(old);
  });
}
