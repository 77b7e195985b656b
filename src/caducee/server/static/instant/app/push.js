// Push notifications for this device. Placeholder until push lands.

/** @param {import("./client.js").Session} _session @returns {Promise<boolean>} */
export async function enablePush(_session) {
  return false;
}
