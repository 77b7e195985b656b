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
//
// Beside the devices, the same store keeps the operator's root CA certificate, pinned when
// the browser is paired (trust on first use): every person's certificate must chain to it
// before this browser trusts the devices it signed (x509.js, app/peers.js, which checks the
// root is a CA before pinning it). Its key, "#root", is never a device id ([A-Za-z0-9._:-]).
// So is the evidence log's note verifier key, under "#log-key", pinned the same way: every
// person's certificate must then be proven in the log it signs (transparency.js).

import { toHex, utf8 } from "./bytes.js";
import { DeviceKeys } from "./device.js";
import { InstantDecryptionFailed, NotAMember, UntrustedCertificate } from "./errors.js";
import { Kem, importKeyPair, suite } from "./hpke.js";

export const DATABASE = "caducee-miss-keys";
const STORE = "devices";
const ITERATIONS = 600_000;
const ROOT = "#root";
const LOG_KEY = "#log-key";

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

/**
 * Pin the operator's root CA certificate (DER) in this browser. A root already pinned stays:
 * another one is refused, as is one whose SHA-256 (hex) differs from `expectedSha256` when
 * the caller knows it (e.g. shown by the approving agent).
 * @param {Uint8Array} der
 * @param {{expectedSha256?: string|null, name?: string}} [options]
 * @returns {Promise<string>} the pinned root's SHA-256, hex
 */
export async function pinRoot(der, { expectedSha256 = null, name = DATABASE } = {}) {
  const sha256 = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", der)));
  if (expectedSha256 !== null && expectedSha256.replace(/[\s:]/g, "").toLowerCase() !== sha256) {
    throw new UntrustedCertificate(
      "certificate-untrusted",
      "la racine du serveur n'est pas celle de votre agent : n'appairez pas cet appareil / " +
        "the server's root differs from your agent's: do not pair this device",
    );
  }
  const known = await withStore(name, "readonly", (store) => store.get(ROOT));
  if (known && known.sha256 !== sha256) {
    throw new UntrustedCertificate(
      "certificate-untrusted",
      "le serveur présente une autre racine que celle épinglée : prévenez l'opérateur / " +
        "the server shows another root than the pinned one: tell the operator",
    );
  }
  if (!known) {
    const record = { der: new Uint8Array(der), sha256, pinnedAt: Date.now() };
    await withStore(name, "readwrite", (store) => store.put(record, ROOT));
  }
  return sha256;
}

/**
 * The pinned root's DER, or null if this browser pinned none (paired before pinning existed).
 * @param {string} [name] @returns {Promise<Uint8Array|null>}
 */
export async function pinnedRoot(name = DATABASE) {
  const record = await withStore(name, "readonly", (store) => store.get(ROOT));
  return record ? new Uint8Array(record.der) : null;
}

/**
 * Pin the evidence log's note verifier key (`<origin>+<key ID>+<base64 key>`, which the caller
 * has parsed: transparency.js parseLogKey). A key already pinned stays: another is refused.
 * @param {string} text @param {string} [name]
 */
export async function pinLogKey(text, name = DATABASE) {
  const known = await withStore(name, "readonly", (store) => store.get(LOG_KEY));
  if (known && known.text !== text) {
    throw new UntrustedCertificate(
      "certificate-untrusted",
      "le serveur présente une autre clé du journal de preuves que celle épinglée : " +
        "prévenez l'opérateur / the server shows another evidence log key than the pinned " +
        "one: tell the operator",
    );
  }
  if (!known) {
    const record = { text, pinnedAt: Date.now() };
    await withStore(name, "readwrite", (store) => store.put(record, LOG_KEY));
  }
}

/**
 * The pinned log key's text, or null if this browser pinned none (paired before pinning).
 * @param {string} [name] @returns {Promise<string|null>}
 */
export async function pinnedLogKey(name = DATABASE) {
  const record = await withStore(name, "readonly", (store) => store.get(LOG_KEY));
  return record ? String(record.text) : null;
}
