// The MISS web app: pair this browser, unlock its keys, list my cases, talk in a case.
//
// Keys stay in this browser (keystore.js, unlocked by the passphrase); messages are
// decrypted here and written into the page with textContent only. The device id (not a
// secret) is kept in localStorage so that the next visit knows which keys to unlock.

import { DeviceKeys } from "../device.js";
import { loadDevice, saveDevice } from "../keystore.js";
import { ApiError, Hub, Session, fingerprint, requestPairing } from "./client.js";
import { CaseState } from "./cases.js";

const DEVICE_KEY = "caducee-miss-device";
const POLL_PAIRING_MS = 3000;

/** What the page holds while unlocked (exported for the tests). */
export const state = {
  /** @type {DeviceKeys|null} */ device: null,
  /** @type {Session|null} */ session: null,
  /** @type {Hub|null} */ hub: null,
  /** @type {Map<string, CaseState>} */ cases: new Map(),
  /** @type {string|null} */ open: null,
  connected: false,
};

/** @param {string} id @returns {HTMLElement} */
function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node;
}

/** @param {string} name */
function show(name) {
  for (const view of document.querySelectorAll("[data-view]")) {
    /** @type {HTMLElement} */ (view).hidden = view.getAttribute("data-view") !== name;
  }
  document.body.dataset.screen = name;
}

/** @param {string} text @param {boolean} [error] */
function say(text, error = false) {
  const line = $("status");
  line.textContent = text;
  line.classList.toggle("error", error);
}

/** @param {unknown} error @returns {string} */
function describe(error) {
  if (error instanceof ApiError) return `${error.detail || error.message} (${error.code})`;
  const e = /** @type {any} */ (error);
  return e?.code ? `${e.message} (${e.code})` : String(e?.message ?? e);
}

/**
 * @param {string} tag @param {Record<string, string>} [attrs] @param {string} [text]
 * @returns {HTMLElement}
 */
function element(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

// -- pairing and unlocking ----------------------------------------------------------------

/** @param {SubmitEvent} event */
async function pair(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const data = new FormData(form);
  const address = String(data.get("address")).trim().toLowerCase();
  const label = String(data.get("label")).trim();
  const passphrase = String(data.get("passphrase"));
  if (passphrase.length < 8) {
    say("Phrase secrète trop courte (8 caractères au moins) / passphrase too short (8+)", true);
    return;
  }
  say("Création des clés… / creating keys…");
  try {
    const deviceId = `web-${crypto.randomUUID()}`;
    const device = await DeviceKeys.generate(deviceId, address);
    await saveDevice(device, passphrase);
    localStorage.setItem(DEVICE_KEY, deviceId);
    const { code } = await requestPairing(device, label);
    const pub = device.public();
    $("pair-code").textContent = code;
    $("pair-code-inline").textContent = code;
    $("pair-signing").textContent = await fingerprint(pub.signingPublic);
    $("pair-hpke").textContent = await fingerprint(pub.hpkePublic);
    show("code");
    say("En attente d'approbation / waiting for approval");
    await waitForApproval(device);
  } catch (error) {
    say(describe(error), true);
  }
}

/** Try to log in until the person's agent approved the device. @param {DeviceKeys} device */
async function waitForApproval(device) {
  const session = new Session(device);
  for (;;) {
    try {
      await session.login();
      await start(device, session);
      return;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_PAIRING_MS));
  }
}

/** @param {SubmitEvent} event */
async function unlock(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const passphrase = String(new FormData(form).get("passphrase"));
  const deviceId = localStorage.getItem(DEVICE_KEY);
  if (!deviceId) return;
  say("Déverrouillage… / unlocking…");
  try {
    const device = await loadDevice(deviceId, passphrase);
    form.reset();
    const session = new Session(device);
    await session.login();
    await start(device, session);
  } catch (error) {
    say(describe(error), true);
  }
}

/** @param {DeviceKeys} device @param {Session} session */
async function start(device, session) {
  state.device = device;
  state.session = session;
  $("me").textContent = `${device.address} · ${device.deviceId}`;
  show("cases");
  say("");
  await refreshCases();
  state.hub = new Hub(session, cursors, onFrame, (connected) => {
    state.connected = connected;
    document.body.dataset.connected = String(connected);
    $("live").textContent = connected ? "● en direct / live" : "○ hors ligne / offline";
  });
  state.hub.connect();
}

/** @returns {Record<string, number>} */
function cursors() {
  return Object.fromEntries([...state.cases].map(([id, c]) => [id, c.cursor]));
}

/** @param {any} frame */
async function onFrame(frame) {
  if (frame.type === "case") {
    await refreshCases();
  } else if (frame.type === "message" || frame.type === "ready") {
    const ids = frame.type === "message" ? [frame.case_id] : Object.keys(frame.cases ?? {});
    for (const id of ids) if (id === state.open) await syncOpen();
    if (frame.type === "ready") await refreshCases();
  }
}

// -- cases ----------------------------------------------------------------------------------

/** @param {string} caseId @returns {CaseState} */
function caseState(caseId) {
  let c = state.cases.get(caseId);
  if (!c) {
    c = new CaseState(caseId, /** @type {DeviceKeys} */ (state.device), /** @type {Session} */ (state.session));
    state.cases.set(caseId, c);
  }
  return c;
}

async function refreshCases() {
  const session = /** @type {Session} */ (state.session);
  const { cases } = await session.api("/cases");
  const list = $("case-list");
  list.replaceChildren();
  for (const c of cases) {
    const others = c.participants.filter((/** @type {string} */ a) => a !== state.device?.address);
    const item = element("li");
    const button = element("button", { type: "button", "data-case": c.case_id });
    button.textContent = `${others.join(", ") || "—"} (${c.last_sequence})`;
    button.addEventListener("click", () => openCase(c.case_id));
    item.append(button);
    list.append(item);
  }
  $("no-cases").hidden = cases.length > 0;
}

/** @param {SubmitEvent} event */
async function createCase(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const data = new FormData(form);
  const participants = String(data.get("participants"))
    .split(/[\s,;]+/)
    .map((a) => a.trim().toLowerCase())
    .filter(Boolean);
  const patient = {
    name: String(data.get("patient_name")).trim(),
    birth_date: String(data.get("patient_birth")).trim(),
    ins: String(data.get("patient_ins")).trim(),
  };
  try {
    const session = /** @type {Session} */ (state.session);
    const created = await session.api("/cases", { method: "POST", json: { participants } });
    const c = caseState(created.case_id);
    await c.send("message", { type: "patient", patient });
    form.reset();
    await refreshCases();
    await openCase(created.case_id);
  } catch (error) {
    say(describe(error), true);
  }
}

/** @param {string} caseId */
async function openCase(caseId) {
  state.open = caseId;
  const c = caseState(caseId);
  $("entries").replaceChildren();
  for (const entry of c.entries) render(entry);
  show("case");
  await syncOpen();
}

async function syncOpen() {
  if (!state.open) return;
  const c = caseState(state.open);
  try {
    const added = await c.sync();
    for (const entry of added) render(entry);
    renderPatient(c);
    const last = [...added].reverse().find(
      (e) => e.kind === "message" && e.senderDevice !== state.device?.deviceId && e.body,
    );
    if (last && document.visibilityState !== "hidden") {
      await c.send("read", { type: "read", upTo: last.sequence });
    }
  } catch (error) {
    say(describe(error), true);
  }
}

/** @param {CaseState} c */
function renderPatient(c) {
  const p = c.patient();
  $("patient").textContent = p
    ? `${p.name}${p.birth_date ? ` · ${p.birth_date}` : ""}${p.ins ? ` · INS ${p.ins}` : ""}`
    : "Patient : — / patient: —";
}

/** @param {import("./cases.js").Entry} entry */
function render(entry) {
  const mine = entry.senderDevice === state.device?.deviceId;
  const item = element("li", {
    class: `entry ${entry.kind}${mine ? " mine" : ""}`,
    "data-sequence": String(entry.sequence),
  });
  const who = element("span", { class: "who" }, mine ? "moi / me" : entry.sender);
  const what = element("span", { class: "what" });
  if (entry.error) {
    what.textContent =
      entry.error === "own-earlier-session"
        ? "(envoyé depuis cet appareil lors d'une session précédente / sent from this device earlier)"
        : `(illisible sur cet appareil / unreadable on this device: ${entry.error})`;
    item.classList.add("unreadable");
  } else if (entry.body?.type === "text") {
    what.textContent = entry.body.text;
  } else if (entry.body?.type === "patient") {
    what.textContent = "Dossier ouvert / case opened";
  } else if (entry.body?.type === "read" || entry.kind === "read") {
    what.textContent = "a lu / read";
  } else if (entry.body?.type === "ack" || entry.kind === "ack") {
    what.textContent = "je m'en occupe / I'm handling it";
  } else {
    what.textContent = JSON.stringify(entry.body);
  }
  item.append(who, what);
  $("entries").append(item);
  item.scrollIntoView({ block: "end" });
}

/** @param {SubmitEvent} event */
async function sendText(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const text = String(new FormData(form).get("text")).trim();
  if (!text || !state.open) return;
  try {
    await caseState(state.open).send("message", { type: "text", text });
    form.reset();
    await syncOpen();
  } catch (error) {
    say(describe(error), true);
  }
}

async function acknowledge() {
  if (!state.open) return;
  try {
    await caseState(state.open).send("ack", { type: "ack" });
    await syncOpen();
  } catch (error) {
    say(describe(error), true);
  }
}

// -- start ----------------------------------------------------------------------------------

function main() {
  $("pair-form").addEventListener("submit", pair);
  $("unlock-form").addEventListener("submit", unlock);
  $("new-case").addEventListener("submit", createCase);
  $("send").addEventListener("submit", sendText);
  $("ack").addEventListener("click", acknowledge);
  $("back").addEventListener("click", async () => {
    state.open = null;
    show("cases");
    await refreshCases();
  });
  $("forget").addEventListener("click", () => {
    localStorage.removeItem(DEVICE_KEY);
    show("pair");
  });
  show(localStorage.getItem(DEVICE_KEY) ? "unlock" : "pair");
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/instant/sw.js", { scope: "/instant/" }).catch(() => {});
  }
  document.body.dataset.ready = "true";
}

main();
