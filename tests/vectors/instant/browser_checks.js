// Checks the browser core (/static/instant/) against the JSON vectors of make_vectors.py.
// Loaded by tests/instant/test_browser_*.py into a page of the real server; every check
// records its name, and a mismatch records what differs. SYNTHETIC TEST MATERIAL only.

import * as miss from "/static/instant/index.js";

const { fromHex, toHex } = miss;

/** @typedef {{checked: string[], failures: string[]}} Report */

/** @param {Report} report @param {string} name @param {string} got @param {string} want */
function same(report, name, got, want) {
  report.checked.push(name);
  if (got !== want)
    report.failures.push(`${name}: got ${got.slice(0, 80)}, want ${want.slice(0, 80)}`);
}

/**
 * The error code `action` fails with, or "accepted".
 * @param {() => Promise<unknown>} action @returns {Promise<string>}
 */
export async function errorCode(action) {
  try {
    await action();
  } catch (e) {
    return e instanceof miss.InstantCryptoError ? e.code : `not an InstantCryptoError: ${e}`;
  }
  return "accepted";
}

/** A device of devices.json with its private keys. @param {any} f */
async function device(f) {
  const hpke = await miss.importKeyPair(f.kem, fromHex(f.hpke_xwing_seed ?? f.hpke_private));
  const signing = await miss.importSigningKey(fromHex(f.signing_seed));
  return new miss.DeviceKeys(f.device_id, f.address, hpke, signing, f.created_at);
}

/** Every vector file, as make_vectors.py wrote them. @param {Record<string, any>} v */
export async function checkVectors(v) {
  /** @type {Report} */
  const report = { checked: [], failures: [] };
  const facts = v["devices.json"].devices;
  const devices = {
    alice: await device(facts.alice),
    bob: await device(facts.bob),
    carol: await device(facts.carol),
  };
  for (const [name, d] of Object.entries(devices)) {
    same(report, `${name} hpke public`, toHex(d.hpke.publicBytes), facts[name].hpke_public);
    same(
      report,
      `${name} signing public`,
      toHex(d.signing.publicBytes),
      facts[name].signing_public,
    );
  }

  for (const [c, chain] of v["ratchet.json"].chains.entries()) {
    let ck = fromHex(chain.start);
    for (const step of chain.steps) {
      const at = `ratchet ${c}.${step.counter}`;
      same(report, `${at} chain key`, toHex(ck), step.chain_key);
      same(report, `${at} seed`, toHex(await miss.messageSeed(ck)), step.message_seed);
      const key = await miss.messageKey(ck, step.counter);
      same(report, `${at} key`, toHex(key.key), step.key);
      same(report, `${at} nonce`, toHex(key.nonce), step.nonce);
      ck = await miss.nextChainKey(ck);
    }
    same(report, `ratchet ${c} after last`, toHex(ck), chain.after_last);
  }

  const hpke = v["hpke.json"];
  const x = hpke.x25519_seal;
  const carolPublic = fromHex(facts.carol.hpke_public);
  const sealed = await miss.seal(
    x.kem,
    carolPublic,
    fromHex(x.plaintext),
    fromHex(x.info),
    fromHex(x.ikm_e),
  );
  same(report, "hpke x25519 seal", toHex(sealed), x.sealed);
  same(
    report,
    "hpke x25519 open",
    toHex(await devices.carol.open(fromHex(x.sealed), fromHex(x.info))),
    x.plaintext,
  );
  const h = hpke.xwing_open;
  same(
    report,
    "hpke x-wing open",
    toHex(await devices.bob.open(fromHex(h.sealed), fromHex(h.info))),
    h.plaintext,
  );

  const dist = v["distribution.json"];
  const secret = miss.concat(miss.field(fromHex(dist.chain_key)), miss.integer(dist.counter));
  const header = miss.encodeDistributionHeader({
    caseId: dist.case_id,
    senderDeviceId: facts.alice.device_id,
    recipientDeviceId: facts.carol.device_id,
    generation: dist.generation,
    kem: miss.Kem.X25519,
  });
  same(report, "distribution header", toHex(header), dist.to_carol.header);
  const toCarol = await miss.signed(
    header,
    await miss.seal(miss.Kem.X25519, carolPublic, secret, header, fromHex(dist.to_carol.ikm_e)),
    (d) => devices.alice.sign(d),
  );
  same(report, "distribution to carol", toHex(toCarol), dist.to_carol.payload);

  const msgs = v["messages.json"];
  const sender = new miss.SenderKeyGroup(
    msgs.case_id,
    devices.alice,
    [devices.bob.public(), devices.carol.public()],
    {
      ownChain: {
        generation: msgs.generation,
        chainKey: fromHex(msgs.chain_key),
        counter: 0,
      },
    },
  );
  for (const m of msgs.messages) {
    same(
      report,
      `message ${m.counter}`,
      toHex(await sender.encrypt(fromHex(m.plaintext))),
      m.message,
    );
  }

  for (const [name, to] of [
    ["carol", "to_carol"],
    ["bob", "to_bob"],
  ]) {
    const group = new miss.SenderKeyGroup(msgs.case_id, devices[name], [devices.alice.public()]);
    await group.receiveKey(fromHex(dist[to].payload));
    for (const m of msgs.messages) {
      const got = await group.decrypt(fromHex(m.message));
      same(
        report,
        `${name} reads message ${m.counter}`,
        `${got.counter} ${toHex(got.plaintext)}`,
        `${m.counter} ${m.plaintext}`,
      );
    }
    const replay = await errorCode(() => group.decrypt(fromHex(msgs.messages[0].message)));
    same(report, `${name} refuses a replay`, replay, "instant-replayed");
  }
  const fresh = new miss.SenderKeyGroup(msgs.case_id, devices.carol, [devices.alice.public()]);
  await fresh.receiveKey(fromHex(dist.to_carol.payload));
  for (const r of msgs.refused) {
    same(
      report,
      `refused: ${r.why}`,
      await errorCode(() => fresh.decrypt(fromHex(r.message))),
      r.error,
    );
  }

  // A chain is sealed from its generation's start whatever its counter: a newcomer reads it
  // all; a receiver given it again from an earlier counter adds only the earlier keys.
  const newcomer = new miss.SenderKeyGroup(msgs.case_id, devices.carol, [devices.alice.public()]);
  const [toNewcomer] = await sender.addMembers([devices.carol.public()]);
  await newcomer.receiveKey(toNewcomer.payload);
  for (const m of msgs.messages) {
    const got = await newcomer.decrypt(fromHex(m.message));
    same(report, `newcomer reads message ${m.counter}`, toHex(got.plaintext), m.plaintext);
  }
  let atTwo = fromHex(msgs.chain_key);
  for (let n = 0; n < 2; n++) atTwo = await miss.nextChainKey(atTwo);
  const older = new miss.SenderKeyGroup(msgs.case_id, devices.alice, [], {
    ownChain: { generation: msgs.generation, chainKey: atTwo, counter: 2 },
  });
  const late = new miss.SenderKeyGroup(msgs.case_id, devices.bob, [devices.alice.public()]);
  await late.receiveKey((await older.addMembers([devices.bob.public()]))[0].payload);
  const message = (/** @type {number} */ n) => fromHex(msgs.messages[n].message);
  same(
    report,
    "given at 2, reads 2",
    toHex((await late.decrypt(message(2))).plaintext),
    msgs.messages[2].plaintext,
  );
  same(
    report,
    "given at 2, not 0",
    await errorCode(() => late.decrypt(message(0))),
    "instant-out-of-window",
  );
  await late.receiveKey((await sender.addMembers([devices.bob.public()]))[0].payload);
  for (const n of [1, 0, 3]) {
    same(
      report,
      `given again from 0, reads ${n}`,
      toHex((await late.decrypt(message(n))).plaintext),
      msgs.messages[n].plaintext,
    );
  }
  same(
    report,
    "given again from 0, 2 stays read",
    await errorCode(() => late.decrypt(message(2))),
    "instant-replayed",
  );

  for (const r of dist.refused) {
    const carol = new miss.SenderKeyGroup(msgs.case_id, devices.carol, [devices.alice.public()]);
    same(
      report,
      `refused sender key: ${r.why}`,
      await errorCode(() => carol.receiveKey(fromHex(r.payload))),
      r.error,
    );
  }

  const st = v["device_statements.json"];
  for (const r of st.refused) {
    const code = await errorCode(async () => miss.parseDeviceStatement(fromHex(r.statement)));
    same(report, `refused statement: ${r.why}`, code, r.error);
  }
  const person = {
    spki: fromHex(st.person_public_spki),
    addresses: Object.values(facts).map((f) => f.address),
  };
  for (const s of st.statements) {
    const parsed = miss.parseDeviceStatement(fromHex(s.statement));
    const d = parsed.device;
    const f = Object.values(facts).find((g) => g.device_id === s.device_id);
    same(report, `statement ${s.device_id} body`, toHex(parsed.body), s.body);
    same(
      report,
      `statement ${s.device_id} keys`,
      [d.address, d.kem, toHex(d.hpkePublic), toHex(d.signingPublic), d.createdAt].join(" "),
      [f.address, f.kem, f.hpke_public, f.signing_public, f.created_at].join(" "),
    );
    const verified = await miss.verifyDeviceStatement(fromHex(s.statement), person);
    same(report, `statement ${s.device_id} person signature`, verified.deviceId, s.device_id);
  }
  return report;
}

// -- live exchanges with Python (tests/instant/test_browser_crypto.py) -------------------

/** Devices made in this page, by device id. @type {Record<string, any>} */
const state = {};

/** @param {any} p @returns {miss.DevicePublicKeys} */
function publicKeys(p) {
  return new miss.DevicePublicKeys(
    p.device_id,
    p.address,
    p.kem,
    fromHex(p.hpke_public),
    fromHex(p.signing_public),
    p.created_at,
  );
}

/** @param {CryptoKey} key @returns {Promise<boolean>} whether WebCrypto refuses to export it */
async function staysInside(key) {
  return crypto.subtle.exportKey("pkcs8", key).then(
    () => false,
    () => true,
  );
}

/**
 * New device keys in the browser; only the public halves come out.
 * @param {[string, number]} args
 */
export async function makeDevice([deviceId, kem]) {
  const d = await miss.DeviceKeys.generate(deviceId, `${deviceId}@synthetic.caducee.test`, { kem });
  state[deviceId] = d;
  const hpkeIsWebCrypto = d.hpke.keyPair.privateKey instanceof CryptoKey;
  return {
    kem: d.hpke.kem,
    hpke_public: toHex(d.hpke.publicBytes),
    signing_public: toHex(d.signing.publicBytes),
    created_at: d.createdAt,
    signing_key_stays: await staysInside(d.signing.privateKey),
    hpke_key_is_webcrypto: hpkeIsWebCrypto,
    hpke_key_stays: hpkeIsWebCrypto && (await staysInside(d.hpke.keyPair.privateKey)),
  };
}

/**
 * Join the case with Python's device, read what it sent, answer it.
 * @param {[string, string, any, string, string[], string[]]} args
 */
export async function exchange([caseId, deviceId, peer, distribution, messages, replies]) {
  const group = new miss.SenderKeyGroup(caseId, state[deviceId], [publicKeys(peer)]);
  await group.receiveKey(fromHex(distribution));
  const read = [];
  for (const m of messages) {
    const got = await group.decrypt(fromHex(m));
    read.push([got.senderDeviceId, got.senderAddress, got.counter, toHex(got.plaintext)]);
  }
  const [mine] = await group.distributions();
  const sent = [];
  for (const r of replies) sent.push(toHex(await group.encrypt(fromHex(r))));
  return {
    read,
    distribution: { to: mine.recipientDeviceId, payload: toHex(mine.payload) },
    sent,
  };
}

/**
 * Seal to Python's public key; open what Python sealed to this page's device.
 * @param {[string, number, string, string]} args
 */
export async function hpkeBothWays([deviceId, kem, pythonPublic, sealed]) {
  const text = new TextEncoder();
  const toPython = await miss.seal(
    kem,
    fromHex(pythonPublic),
    text.encode("from the browser"),
    text.encode("info-2"),
  );
  const opened = await state[deviceId].open(fromHex(sealed), text.encode("info-1"));
  return [toHex(toPython), new TextDecoder().decode(opened)];
}

/** @param {() => Promise<unknown>} action @returns {Promise<[string, string, boolean]>} */
async function refusal(action) {
  try {
    await action();
    return ["accepted", "", false];
  } catch (e) {
    return [e.code ?? String(e), e.message, e instanceof miss.InstantCryptoError];
  }
}

/**
 * Bad input from Python's live messages, each refused with its typed error.
 * @param {[string, string, any, string, string, string, string]} args
 */
export async function refusals([caseId, deviceId, peer, distribution, first, flipped, second]) {
  const group = new miss.SenderKeyGroup(caseId, state[deviceId], [publicKeys(peer)]);
  const out = {};
  out.unknownKey = await refusal(() => group.decrypt(fromHex(first)));
  const forged = fromHex(distribution);
  forged[forged.length - 1] ^= 0x01;
  out.forgedKey = await refusal(() => group.receiveKey(forged));
  await group.receiveKey(fromHex(distribution));
  out.first = toHex((await group.decrypt(fromHex(first))).plaintext);
  out.replayed = await refusal(() => group.decrypt(fromHex(first)));
  out.badSignature = await refusal(() => group.decrypt(fromHex(flipped)));
  out.truncated = await refusal(() => group.decrypt(fromHex(second).slice(0, 50)));
  out.garbage = await refusal(() => group.decrypt(crypto.getRandomValues(new Uint8Array(200))));
  out.trailing = await refusal(() => group.decrypt(fromHex(`${second}00`)));
  out.notBytes = await refusal(() => group.decrypt(/** @type {any} */ ("hello")));
  out.second = toHex((await group.decrypt(fromHex(second))).plaintext);
  const strict = new miss.SenderKeyGroup(caseId, state[deviceId], [publicKeys(peer)], {
    maxSkip: 0,
  });
  await strict.receiveKey(fromHex(distribution));
  out.tooFarAhead = await refusal(() => strict.decrypt(fromHex(second)));
  const elsewhere = new miss.SenderKeyGroup(`${caseId}-other`, state[deviceId], [publicKeys(peer)]);
  out.otherCase = await refusal(() => elsewhere.decrypt(fromHex(first)));
  return out;
}

/**
 * Concurrent sends, then the removal of one Python device: the browser rotates and seals
 * the new generation to the remaining devices only.
 * @param {[string, string, any[], string, string[]]} args
 */
export async function sendThenRemove([caseId, deviceId, peers, removed, texts]) {
  const group = new miss.SenderKeyGroup(caseId, state[deviceId], peers.map(publicKeys));
  const hex = (/** @type {{recipientDeviceId: string, payload: Uint8Array}[]} */ list) =>
    list.map((d) => [d.recipientDeviceId, toHex(d.payload)]);
  const before = hex(await group.distributions());
  // Sent together: the queue must still give each its own counter.
  const concurrent = await Promise.all(texts.map((t) => group.encrypt(fromHex(t))));
  const after = hex(await group.removeMembers([removed]));
  const rotated = toHex(await group.encrypt(new TextEncoder().encode("after the removal")));
  return {
    before,
    concurrent: concurrent.map(toHex),
    after,
    generation: group.generation,
    rotated,
    members: [...group.memberDeviceIds()].sort(),
  };
}

/** Keep a device made here in IndexedDB. @param {[string, string]} args */
export async function keep([deviceId, passphrase]) {
  await miss.saveDevice(state[deviceId], passphrase, "caducee-miss-test-keys");
}

/**
 * Unlock a kept device (in another page: nothing of it is in this page's memory).
 * @param {[string, string]} args @returns {Promise<string>} "unlocked" or the error code
 */
export async function unlock([deviceId, passphrase]) {
  return errorCode(async () => {
    state[deviceId] = await miss.loadDevice(deviceId, passphrase, "caducee-miss-test-keys");
  }).then((code) => (code === "accepted" ? "unlocked" : code));
}

/**
 * Verify device statements Python certified, each against the person's key and addresses.
 * @param {[string, string, string[]][]} cases statement, person SPKI, addresses (hex, hex)
 */
export async function verifyStatements(cases) {
  const out = [];
  for (const [statement, spki, addresses] of cases) {
    const person = { spki: fromHex(spki), addresses };
    out.push(
      await errorCode(() => miss.verifyDeviceStatement(fromHex(statement), person)).then((c) =>
        c === "accepted" ? "verified" : c,
      ),
    );
  }
  return out;
}
