// Checks device.js's endorsements against endorsements.json (make_vectors.py beside it) and
// runs approve.js against the real server. Loaded by tests/instant/test_endorsement_browser.py.
// SYNTHETIC TEST MATERIAL only.

import { fromHex, toHex } from "/static/instant/bytes.js";
import * as device from "/static/instant/device.js";
import { InstantCryptoError } from "/static/instant/errors.js";
import { importKeyPair, Kem } from "/static/instant/hpke.js";
import { importSigningKey } from "/static/instant/signing.js";
import { approvePairing } from "/static/instant/app/approve.js";
import { Session, fingerprint, requestPairing, toBase64 } from "/static/instant/app/client.js";

/** @param {() => Promise<unknown>} action @returns {Promise<string>} */
async function errorCode(action) {
  try {
    await action();
  } catch (e) {
    return e instanceof InstantCryptoError ? e.code : `not an InstantCryptoError: ${e}`;
  }
  return "accepted";
}

/** @param {any} f */
function publicOf(f) {
  return new device.DevicePublicKeys(
    f.device_id,
    f.address,
    f.kem,
    fromHex(f.hpke_public),
    fromHex(f.signing_public),
    f.created_at,
  );
}

/** Every vector of endorsements.json; the failures (empty when all agree). @param {any} v */
export async function checkVectors(v) {
  const failures = [];
  const f = v.endorser;
  const hpke = await importKeyPair(f.kem, fromHex(f.hpke_xwing_seed ?? f.hpke_private));
  const signing = await importSigningKey(fromHex(f.signing_seed));
  const endorser = new device.DeviceKeys(f.device_id, f.address, hpke, signing, f.created_at);
  const person = { spki: fromHex(v.person_public_spki), addresses: v.person_addresses };
  for (const e of v.endorsements) {
    const fresh = await device.endorseDevice(publicOf(e.new_device), endorser);
    if (toHex(fresh) !== e.endorsement) failures.push(`endorse ${e.new_device.device_id}`);
    const body = device.endorsementBody(publicOf(e.new_device), endorser.deviceId);
    if (toHex(body) !== e.body) failures.push(`body ${e.new_device.device_id}`);
    const listed = {
      statement: toBase64(fromHex(e.endorsement)),
      endorsed_by: endorser.deviceId,
      endorser_statement: toBase64(fromHex(v.endorser_statement)),
    };
    const checked = await device.verifyListedDevice(listed, person);
    if (toHex(checked.body()) !== toHex(publicOf(e.new_device).body())) {
      failures.push(`verify ${e.new_device.device_id}`);
    }
    const parsed = await device.parseListedDevice(listed);
    if (parsed.deviceId !== e.new_device.device_id) failures.push(`parse listed ${parsed.deviceId}`);
    const other = { ...person, addresses: ["someone.else@synthetic.caducee.test"] };
    const code = await errorCode(() => device.verifyListedDevice(listed, other));
    if (code !== "instant-forged-device") failures.push(`another person accepted: ${code}`);
  }
  const statementListed = { statement: toBase64(fromHex(v.endorser_statement)), endorsed_by: null };
  const own = await device.verifyListedDevice(statementListed, person);
  if (own.deviceId !== f.device_id) failures.push("the endorser's own listing");
  for (const r of v.refused) {
    const code = await errorCode(() =>
      device.verifyEndorsement(fromHex(r.endorsement), endorser.public()),
    );
    if (code !== r.error) failures.push(`${r.why}: ${code}, want ${r.error}`);
  }
  return failures;
}

/** Endorse a Python device with browser keys; the public facts and the endorsement (hex). */
export async function endorseFromBrowser(/** @type {any} */ newDevice) {
  const me = await device.DeviceKeys.generate("browser-endorser", newDevice.address, {
    kem: Kem.X25519,
  });
  const endorsement = await device.endorseDevice(publicOf(newDevice), me);
  const p = me.public();
  return {
    endorser: {
      device_id: p.deviceId,
      address: p.address,
      kem: p.kem,
      hpke_public: toHex(p.hpkePublic),
      signing_public: toHex(p.signingPublic),
      created_at: p.createdAt,
    },
    endorsement: toHex(endorsement),
  };
}

/** @type {Record<string, any>} */
const state = {};

/** A first browser device asks to be paired (the agent approves it); its code. */
export async function firstDevice(/** @type {string} */ address) {
  state.first = await device.DeviceKeys.generate("browser-first", address, { kem: Kem.X25519 });
  return (await requestPairing(state.first, "Poste de garde")).code;
}

/** A second browser device asks; the first approves it with approve.js; the second logs in. */
export async function secondDevice([address, spkiHex]) {
  const first = new Session(state.first);
  await first.login();
  const second = await device.DeviceKeys.generate("browser-second", address);
  const asked = await requestPairing(second, "Tablette");
  const pending = await approvePairing(first, state.first, asked.code.toLowerCase());
  const shown = {
    label: pending.label,
    deviceId: pending.deviceId,
    hpke: pending.hpkeFingerprint,
    signing: pending.signingFingerprint,
    ownHpke: await fingerprint(second.public().hpkePublic),
    ownSigning: await fingerprint(second.public().signingPublic),
  };
  const registered = await pending.confirm();
  const session = new Session(second);
  const login = await session.login();
  const listing = await session.api(`/people/${encodeURIComponent(address)}/devices`);
  const person = { spki: fromHex(spkiHex), addresses: [address] };
  const verified = [];
  for (const d of listing.devices) verified.push((await device.verifyListedDevice(d, person)).deviceId);
  /** @param {() => Promise<unknown>} action the refusal's stable code */
  const refused = (action) => action().then(() => "accepted", (e) => e.code);
  const again = await refused(() => approvePairing(first, state.first, asked.code));
  const third = await device.DeviceKeys.generate("browser-third", address, { kem: Kem.X25519 });
  const thirdCode = (await requestPairing(third, "Autre")).code;
  const refusal = await refused(() => approvePairing(session, second, thirdCode));
  return { shown, registered, login, verified, again, refusal };
}
