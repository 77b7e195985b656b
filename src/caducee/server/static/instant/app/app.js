// The MISS web app: pair this browser, unlock its keys, list my cases, talk in a case.
//
// Keys stay in this browser (keystore.js, unlocked by the passphrase); messages are
// decrypted here and written into the page with textContent only. The device id (not a
// secret) is kept in localStorage so that the next visit knows which keys to unlock.

import { DeviceKeys } from "../device.js";
import { loadDevice, saveDevice } from "../keystore.js";
import { ApiError, Hub, Session, fingerprint, requestPairing } from "./client.js";
import { CaseState } from "./cases.js";
import { MAX_ATTACHMENT_BYTES } from "./payloads.js";
import { blurTool, loadPhoto, toJpeg } from "./photo.js";
import { approvePairing } from "./approve.js";
import { attachRolePicker } from "./roles.js";
import { thread } from "./thread.js";

const DEVICE_KEY = "caducee-miss-device";
/** @type {{reset: () => void} | null} */
let rolePicker = null;
const POLL_PAIRING_MS = 3000;

/** What the page holds while unlocked (exported for the tests). */
export const state = {
  /** @type {DeviceKeys|null} */ device: null,
  /** @type {Session|null} */ session: null,
  /** @type {Hub|null} */ hub: null,
  /** @type {Map<string, CaseState>} */ cases: new Map(),
  /** @type {string|null} */ open: null,
  connected: false,
  /** The message the composer answers or edits. @type {{mode: "reply"|"edit", id: string}|null} */
  composing: null,
  /** A delete asked once, waiting for its confirmation. @type {string|null} */
  armedDelete: null,
  /** Blob URLs of decrypted photos and files, by message id. @type {Map<string, string>} */
  urls: new Map(),
  /** The photo being blurred before it is sent. */
  photo: /** @type {{canvas: HTMLCanvasElement, blurred: boolean, stop: () => void}|null} */ (null),
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
  const role = Number(data.get("role")) || null;
  if (!participants.length && role === null) {
    say("Indiquez des participants ou un rôle / give participants or a role", true);
    return;
  }
  const patient = {
    name: String(data.get("patient_name")).trim(),
    birth_date: String(data.get("patient_birth")).trim(),
    ins: String(data.get("patient_ins")).trim(),
  };
  try {
    const session = /** @type {Session} */ (state.session);
    const body = role === null ? { participants } : { participants, role };
    const created = await session.api("/cases", { method: "POST", json: body });
    const c = caseState(created.case_id);
    await c.send("message", { type: "patient", patient });
    form.reset();
    rolePicker?.reset();
    await refreshCases();
    await openCase(created.case_id);
  } catch (error) {
    say(describe(error), true);
  }
}

/** @param {string} caseId */
async function openCase(caseId) {
  state.open = caseId;
  state.composing = null;
  state.armedDelete = null;
  const c = caseState(caseId);
  renderCase(c);
  show("case");
  try {
    await c.refreshView();
  } catch (error) {
    say(describe(error), true);
  }
  renderHeader(c);
  await syncOpen();
}

async function syncOpen() {
  if (!state.open) return;
  const c = caseState(state.open);
  try {
    const added = await c.sync();
    if (added.length) renderCase(c);
    renderHeader(c);
    const last = [...added].reverse().find(
      (e) =>
        e.kind === "message" &&
        e.senderDevice !== state.device?.deviceId &&
        e.body &&
        e.body.type !== "read",
    );
    if (last && document.visibilityState !== "hidden") {
      await c.send("read", { type: "read", upTo: last.sequence });
    }
  } catch (error) {
    say(describe(error), true);
  }
}

/** The patient and the retention notice. @param {CaseState} c */
function renderHeader(c) {
  const p = c.patient();
  $("patient").textContent = p
    ? `${p.name}${p.birth_date ? ` · ${p.birth_date}` : ""}${p.ins ? ` · INS ${p.ins}` : ""}`
    : "Patient : — / patient: —";
  const retention = $("retention");
  retention.hidden = c.retentionDays === null;
  retention.textContent =
    c.retentionDays === null
      ? ""
      : `Messages effacés après ${c.retentionDays} jours / ` +
        `messages deleted after ${c.retentionDays} days`;
}

/** @param {string} at an ISO date @returns {string} */
function when(at) {
  const date = new Date(at);
  return Number.isNaN(date.getTime())
    ? at
    : date.toLocaleString("fr-FR", { dateStyle: "short", timeStyle: "short" });
}

/** @param {string} address @returns {string} */
function who(address) {
  return address === state.device?.address ? "moi / me" : address;
}

/** A short line for a quoted message. @param {import("./thread.js").MessageItem} item */
function snippet(item) {
  if (item.deleted) return "message supprimé / deleted message";
  const b = item.body;
  if (b.type === "text") return b.text.length > 80 ? `${b.text.slice(0, 80)}…` : b.text;
  if (b.type === "photo") return `📷 ${b.caption ?? b.name}`;
  if (b.type === "file") return `📎 ${b.name}`;
  return "Dossier ouvert / case opened";
}

/** Image types shown in the page; anything else is only ever a download. */
const SHOWN_IMAGES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

/**
 * A Blob URL for a decrypted photo or file, made once per message. The sender chooses the
 * declared type: a blob URL shares this page's origin, so one opened in a tab as HTML or SVG
 * would run the sender's script here. Only plain image types keep theirs.
 */
function blobUrl(/** @type {string} */ id, /** @type {any} */ body) {
  let url = state.urls.get(id);
  if (!url) {
    const shown = body.type === "photo" && SHOWN_IMAGES.has(body.media_type);
    const type = shown ? body.media_type : "application/octet-stream";
    url = URL.createObjectURL(new Blob([body.data], { type }));
    state.urls.set(id, url);
  }
  return url;
}

/** @param {number} n @returns {string} */
function size(n) {
  if (n < 1024) return `${n} o/B`;
  if (n < 1 << 20) return `${Math.round(n / 1024)} ko/kB`;
  return `${(n / (1 << 20)).toFixed(1)} Mo/MB`;
}

/**
 * Rebuild the case's entries from its log (edits, deletions and receipts applied).
 * @param {CaseState} c
 */
function renderCase(c) {
  const list = $("entries");
  const me = state.device?.address ?? "";
  const nodes = thread(c.entries, me).map((item) => renderItem(item, me));
  list.replaceChildren(...nodes);
  nodes.at(-1)?.scrollIntoView({ block: "end" });
}

const NOTES = {
  ack: "je m'en occupe / I'm handling it",
  "bad-edit":
    "(modification refusée : ce message est d'une autre personne / " +
    "edit refused: not the sender's message)",
  "bad-deletion":
    "(suppression refusée : ce message est d'une autre personne / " +
    "deletion refused: not the sender's message)",
  unknown: "(message d'un type inconnu / message of an unknown type)",
};

/** @param {import("./thread.js").Item} item @param {string} me @returns {HTMLElement} */
function renderItem(item, me) {
  if (item.kind === "read") {
    const readers = item.readers.join(", ");
    return element("li", { class: "entry read" }, `lu par ${readers} / read by ${readers}`);
  }
  const entry = item.entry;
  const mine = entry.sender === me;
  const node = element("li", {
    class: `entry ${item.kind === "note" ? item.note : "message"}${mine ? " mine" : ""}`,
    "data-sequence": String(entry.sequence),
    "data-message-id": entry.messageId,
  });
  node.append(element("span", { class: "who" }, who(entry.sender)));
  if (item.kind === "note") {
    let text = NOTES[/** @type {keyof typeof NOTES} */ (item.note)];
    if (item.note === "unreadable") {
      node.classList.add("unreadable");
      text =
        entry.error === "own-earlier-session"
          ? "(envoyé depuis cet appareil lors d'une session précédente / " +
            "sent from this device earlier)"
          : `(illisible sur cet appareil / unreadable on this device: ${entry.error ?? "?"})`;
    }
    node.append(element("span", { class: "what" }, text));
    return node;
  }
  if (item.replyTo || item.replyMissing) {
    const quote = element("blockquote", { class: "quote" });
    quote.textContent = item.replyTo
      ? `↪ ${who(item.replyTo.entry.sender)} : ${snippet(item.replyTo)}`
      : "↪ (message introuvable / message not found)";
    node.append(quote);
  }
  if (item.deleted) {
    node.classList.add("deleted");
    const { by, at } = item.deleted;
    const text = `supprimé par ${by} le ${when(at)} / deleted by ${by} at ${when(at)}`;
    node.append(element("span", { class: "what" }, text));
    return node;
  }
  const body = item.body;
  if (body.type === "text") {
    node.append(element("span", { class: "what" }, body.text));
  } else if (body.type === "patient") {
    node.append(element("span", { class: "what" }, "Dossier ouvert / case opened"));
  } else if (body.type === "photo") {
    const src = blobUrl(entry.messageId, body);
    const img = element("img", { class: "photo", src, alt: body.caption ?? "photo" });
    node.append(img);
    if (body.blurred) {
      node.append(element("small", { class: "blurred" }, "zones floutées / blurred areas"));
    }
  } else if (body.type === "file") {
    const href = blobUrl(entry.messageId, body);
    const link = element("a", { class: "file", href, download: body.name });
    link.textContent = `📎 ${body.name} (${size(body.data.length)})`;
    node.append(link);
  }
  if ((body.type === "photo" || body.type === "file") && body.caption) {
    node.append(element("span", { class: "caption" }, body.caption));
  }
  if (item.edited) node.append(element("small", { class: "edited" }, "modifié / edited"));
  node.append(element("small", { class: "when" }, when(entry.at)));
  if (body.type !== "patient") node.append(actions(item, mine));
  return node;
}

/**
 * Reply, and for one's own messages edit and delete.
 * @param {import("./thread.js").MessageItem} item @param {boolean} mine
 */
function actions(item, mine) {
  const bar = element("span", { class: "actions" });
  const id = item.entry.messageId;
  /** @param {string} cls @param {string} label @param {() => void} onClick */
  const add = (cls, label, onClick) => {
    const b = element("button", { type: "button", class: `link ${cls}` }, label);
    b.addEventListener("click", onClick);
    bar.append(b);
  };
  add("reply", "Répondre / Reply", () => compose("reply", id, snippet(item)));
  if (mine && item.body.type === "text") {
    add("edit", "Modifier / Edit", () => compose("edit", id, item.body.text));
  }
  if (mine) {
    const armed = state.armedDelete === id;
    add("delete", armed ? "Confirmer la suppression / confirm delete" : "Supprimer / Delete", () =>
      armed ? removeMessage(id) : armDelete(id),
    );
  }
  return bar;
}

/** @param {"reply"|"edit"} mode @param {string} id @param {string} text */
function compose(mode, id, text) {
  state.composing = { mode, id };
  const box = /** @type {HTMLTextAreaElement} */ ($("send").querySelector("textarea"));
  $("compose-what").textContent =
    mode === "reply" ? `Réponse à / reply to : ${text}` : "Modification / editing";
  $("compose-context").hidden = false;
  if (mode === "edit") box.value = text;
  box.focus();
}

function stopComposing() {
  state.composing = null;
  $("compose-context").hidden = true;
}

/** @param {string} id */
function armDelete(id) {
  state.armedDelete = id;
  if (state.open) renderCase(caseState(state.open));
}

/** @param {string} id */
async function removeMessage(id) {
  state.armedDelete = null;
  if (!state.open) return;
  try {
    await caseState(state.open).send("deletion", { type: "deletion", target: id });
    await syncOpen();
  } catch (error) {
    say(describe(error), true);
  }
}

/** @param {SubmitEvent} event */
async function sendText(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const text = String(new FormData(form).get("text")).trim();
  if (!text || !state.open) return;
  const composing = state.composing;
  try {
    const c = caseState(state.open);
    if (composing?.mode === "edit") {
      await c.send("edit", { type: "edit", target: composing.id, text });
    } else {
      await c.send("message", { type: "text", text, reply_to: composing?.id ?? null });
    }
    form.reset();
    stopComposing();
    await syncOpen();
  } catch (error) {
    say(describe(error), true);
  }
}

/** @param {Event} event */
async function pickFile(event) {
  const input = /** @type {HTMLInputElement} */ (event.target);
  const file = input.files?.[0];
  input.value = "";
  if (!file || !state.open) return;
  if (file.size === 0) {
    say("Fichier vide : choisissez-en un autre / empty file: pick another one", true);
    return;
  }
  if (file.size > MAX_ATTACHMENT_BYTES) {
    say(
      "Fichier trop grand (2 Mo au plus) : envoyez-le par la messagerie Caducée / " +
        "file too large (2 MB at most): send it by Caducée mail",
      true,
    );
    return;
  }
  try {
    say("Chiffrement… / encrypting…");
    await caseState(state.open).send("message", {
      type: "file",
      name: file.name || "fichier",
      media_type: file.type || "application/octet-stream",
      data: new Uint8Array(await file.arrayBuffer()),
      caption: null,
      reply_to: state.composing?.mode === "reply" ? state.composing.id : null,
      blurred: false,
    });
    stopComposing();
    say("");
    await syncOpen();
  } catch (error) {
    say(tooLarge(error) ? TOO_LARGE_FOR_SERVER : describe(error), true);
  }
}

const TOO_LARGE_FOR_SERVER =
  "Fichier trop grand pour le serveur : envoyez-le par la messagerie Caducée / " +
  "file too large for the server: send it by Caducée mail";

/** Whether the server refused a post for its size. @param {unknown} error */
function tooLarge(error) {
  return error instanceof ApiError && (error.status === 413 || error.status === 422);
}

/** A photo was taken or picked: scale it down and open the blur tool. @param {Event} event */
async function pickPhoto(event) {
  const input = /** @type {HTMLInputElement} */ (event.target);
  const file = input.files?.[0];
  input.value = "";
  if (!file) return;
  try {
    closePhoto();
    const canvas = await loadPhoto(file);
    canvas.id = "photo-canvas";
    const photo = { canvas, blurred: false, stop: () => {} };
    photo.stop = blurTool(canvas, () => {
      photo.blurred = true;
    });
    state.photo = photo;
    $("photo-frame").replaceChildren(canvas);
    $("photo-editor").hidden = false;
    $("photo-editor").scrollIntoView({ block: "start" });
  } catch (error) {
    say(describe(error), true);
  }
}

function closePhoto() {
  state.photo?.stop();
  state.photo = null;
  $("photo-frame").replaceChildren();
  $("photo-editor").hidden = true;
  /** @type {HTMLInputElement} */ ($("photo-caption")).value = "";
}

/** Re-encode the blurred canvas (never the original file), then encrypt and send it. */
async function sendPhoto() {
  const photo = state.photo;
  if (!photo || !state.open) return;
  try {
    say("Chiffrement… / encrypting…");
    const caption = /** @type {HTMLInputElement} */ ($("photo-caption")).value.trim();
    const data = await toJpeg(photo.canvas);
    await caseState(state.open).send("message", {
      type: "photo",
      name: `photo-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-")}.jpg`,
      media_type: "image/jpeg",
      data,
      caption: caption || null,
      reply_to: state.composing?.mode === "reply" ? state.composing.id : null,
      blurred: photo.blurred,
    });
    closePhoto();
    stopComposing();
    say("");
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

async function turnOnPush() {
  const line = $("push-state");
  try {
    // Loaded on demand: the page still opens when the push module cannot be fetched.
    const { enablePush } = await import("./push.js");
    const ok = await enablePush(/** @type {Session} */ (state.session));
    line.textContent = ok
      ? "Notifications activées (sans contenu) / notifications enabled (no content)"
      : "Notifications non disponibles sur cet appareil / " +
        "notifications not available on this device";
  } catch (error) {
    line.textContent = `Notifications : échec / failed: ${describe(error)}`;
  }
}

function leaveCase() {
  state.open = null;
  stopComposing();
  closePhoto();
  for (const url of state.urls.values()) URL.revokeObjectURL(url);
  state.urls.clear();
}

// -- approving a new device of mine ------------------------------------------------------------

/** @type {import("./approve.js").PendingApproval | null} */
let pendingApproval = null;

/** Fetch the pairing request behind a code and show its fingerprints. @param {SubmitEvent} event */
async function checkApproval(event) {
  event.preventDefault();
  try {
    const code = /** @type {HTMLInputElement} */ ($("approve-code")).value;
    pendingApproval = await approvePairing(
      /** @type {Session} */ (state.session),
      /** @type {DeviceKeys} */ (state.device),
      code,
    );
    $("approve-label").textContent = pendingApproval.label;
    $("approve-id").textContent = pendingApproval.deviceId;
    $("approve-hpke").textContent = pendingApproval.hpkeFingerprint;
    $("approve-signing").textContent = pendingApproval.signingFingerprint;
    $("approve-check").hidden = false;
  } catch (error) {
    say(describe(error), true);
  }
}

async function confirmApproval() {
  if (!pendingApproval) return;
  try {
    const device = await pendingApproval.confirm();
    say(`Appareil approuvé / device approved : ${device.device_id}`);
  } catch (error) {
    say(describe(error), true);
  } finally {
    cancelApproval();
    /** @type {HTMLFormElement} */ ($("approve-form")).reset();
  }
}

function cancelApproval() {
  pendingApproval = null;
  $("approve-check").hidden = true;
}

// -- start ----------------------------------------------------------------------------------

function main() {
  $("pair-form").addEventListener("submit", pair);
  $("unlock-form").addEventListener("submit", unlock);
  $("new-case").addEventListener("submit", createCase);
  $("approve-form").addEventListener("submit", checkApproval);
  $("approve-confirm").addEventListener("click", confirmApproval);
  $("approve-cancel").addEventListener("click", cancelApproval);
  rolePicker = attachRolePicker(
    {
      query: /** @type {HTMLInputElement} */ ($("role-query")),
      results: $("role-results"),
      chosen: $("role-chosen"),
      field: /** @type {HTMLInputElement} */ ($("role-field")),
      clear: $("role-clear"),
    },
    () => state.session,
  );
  $("send").addEventListener("submit", sendText);
  $("ack").addEventListener("click", acknowledge);
  $("compose-cancel").addEventListener("click", () => {
    stopComposing();
    /** @type {HTMLFormElement} */ ($("send")).reset();
  });
  $("file-input").addEventListener("change", pickFile);
  $("photo-input").addEventListener("change", pickPhoto);
  $("photo-send").addEventListener("click", sendPhoto);
  $("photo-cancel").addEventListener("click", closePhoto);
  $("push").addEventListener("click", turnOnPush);
  $("back").addEventListener("click", async () => {
    leaveCase();
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
