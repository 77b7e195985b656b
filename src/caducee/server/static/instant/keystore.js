// Device keys kept in this browser's IndexedDB, unlocked by the person's passphrase.
//
// The Ed25519 signing key and an X25519 HPKE key are non-extractable CryptoKeys: IndexedDB
// stores them as they are (a structured clone), and no script can ever read their bytes;
// scripts of this origin can use them, so the server's pages must stay trustworthy.
// The hybrid ML-KEM-768 + X25519 key is a 32-byte X-Wing seed in JavaScript memory (ML-KEM
// is not in WebCrypto), so it is stored encrypted: AES-256-GCM under a key derived from the
// passphrase (PBKDF2-SHA256, 600,000 iterations, random salt), the device id as associated
// data so that a record cannot be moved to another device. For an X25519 device the same
// encryption covers an empty value: the passphrase is checked either way, though for the
// CryptoKeys themselves it is a gate of this code, not an encryption of their bytes.

import { utf8 } from "./bytes.js";
import { DeviceKeys } from "./device.js";
import { InstantDecryptionFailed, NotAMember } from "./errors.js";
import { Kem, importKeyPair, suite } from "./hpke.js";

export const DATABASE = "caducee-miss-keys";
const STORE = "devices";
const ITERATIONS = 600_000;

/** @param {string} name @returns {Promise<IDBDatabase>} */
function database(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * One request in its own transaction, the database closed afterwards.
 * @template T @param {string} name @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T>} action @returns {Promise<T>}
 */
async function withStore(name, mode, action) {
  const db = await database(name);
  try {
    return await new Promise((resolve, reject) => {
      const request = action(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

/** @param {string} passphrase @param {Uint8Array} salt @returns {Promise<CryptoKey>} */
async function passphraseKey(passphrase, salt) {
  const material = await crypto.subtle.importKey("raw", utf8.encode(passphrase), "PBKDF2", false, [
    "deriveKey",
  ]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations: ITERATIONS },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/**
 * Keep `device` in this browser, locked by `passphrase`.
 * @param {DeviceKeys} device @param {string} passphrase @param {string} [name]
 */
export async function saveDevice(device, passphrase, name = DATABASE) {
  let secret = new Uint8Array(0);
  if (device.hpke.kem !== Kem.X25519) {
    const xwing = suite(Kem.MLKEM768_X25519).kem;
    // A copy: @hpke hands back the live key's own buffer, which must not be zeroed.
    const live = await xwing.serializePrivateKey(device.hpke.keyPair.privateKey);
    secret = new Uint8Array(live).slice();
  }
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8.encode(device.deviceId) },
    await passphraseKey(passphrase, salt),
    secret,
  );
  secret.fill(0);
  const record = {
    deviceId: device.deviceId,
    address: device.address,
    createdAt: device.createdAt,
    kem: device.hpke.kem,
    signing: device.signing,
    hpkeKeyPair: device.hpke.kem === Kem.X25519 ? device.hpke.keyPair : null,
    locked: { salt, iv, sealed: new Uint8Array(sealed) },
  };
  await withStore(name, "readwrite", (store) => store.put(record, device.deviceId));
}

/**
 * The device kept under `deviceId`, unlocked with `passphrase`.
 * @param {string} deviceId @param {string} passphrase @param {string} [name]
 * @returns {Promise<DeviceKeys>}
 */
export async function loadDevice(deviceId, passphrase, name = DATABASE) {
  const record = await withStore(name, "readonly", (store) => store.get(deviceId));
  if (!record) throw new NotAMember(`no keys for device ${deviceId} in this browser`);
  const { salt, iv, sealed } = record.locked;
  let secret;
  try {
    secret = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: utf8.encode(deviceId) },
        await passphraseKey(passphrase, salt),
        sealed,
      ),
    );
  } catch {
    throw new InstantDecryptionFailed("wrong passphrase: the device keys stay locked");
  }
  let hpke;
  if (record.hpkeKeyPair) {
    const publicKey = record.hpkeKeyPair.publicKey;
    const publicBytes = new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
    hpke = { kem: record.kem, keyPair: record.hpkeKeyPair, publicBytes };
  } else {
    hpke = await importKeyPair(record.kem, secret); // which keeps a copy
  }
  secret.fill(0);
  return new DeviceKeys(record.deviceId, record.address, hpke, record.signing, record.createdAt);
}

/** Delete the device's keys from this browser. @param {string} deviceId @param {string} [name] */
export async function forgetDevice(deviceId, name = DATABASE) {
  await withStore(name, "readwrite", (store) => store.delete(deviceId));
}
