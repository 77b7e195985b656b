// Approving a new device of the same person from this one (an endorsement).
//
// The new browser asked to be paired and shows a code; here the person types that code, this
// page fetches the request (public keys and label), shows fingerprints computed *here* from
// those keys, so that the person compares them with the new browser's screen, and only on
// confirmation signs the endorsement with this device's key and posts it. Only public keys
// travel; the server refuses unless this device is active and certified by the agent.

import { DevicePublicKeys, endorseDevice } from "../device.js";
import { fingerprint, fromBase64, toBase64 } from "./client.js";
import { t } from "./i18n.js";

/**
 * @typedef {object} PendingApproval
 * @property {string} label what the new browser called itself
 * @property {string} deviceId
 * @property {string} hpkeFingerprint to compare with the new browser's screen
 * @property {string} signingFingerprint to compare with the new browser's screen
 * @property {() => Promise<any>} confirm sign and post; resolves to the registered device
 */

/** @param {string} code @returns {string} what people type: any case, spaces and dashes */
function normalise(code) {
  return code.toUpperCase().replace(/[\s-]/g, "");
}

/**
 * Fetch the pairing request behind `code` for `device` (this browser's keys) to approve.
 * @param {import("./client.js").Session} session logged in as `device`
 * @param {import("../device.js").DeviceKeys} device
 * @param {string} code
 * @returns {Promise<PendingApproval>}
 */
export async function approvePairing(session, device, code) {
  const path = `/pairing/${encodeURIComponent(normalise(code))}/endorsement`;
  const request = await session.api(path);
  const keys = new DevicePublicKeys(
    request.device_id,
    request.address,
    request.kem,
    fromBase64(request.hpke_public),
    fromBase64(request.signing_public),
    request.created_at,
  );
  if (keys.address.toLowerCase() !== device.address) {
    throw new Error(t("approve.other_address"));
  }
  return {
    label: request.label,
    deviceId: keys.deviceId,
    hpkeFingerprint: await fingerprint(keys.hpkePublic),
    signingFingerprint: await fingerprint(keys.signingPublic),
    async confirm() {
      const endorsement = await endorseDevice(keys, device);
      return session.api(path, { method: "POST", json: { endorsement: toBase64(endorsement) } });
    },
  };
}
