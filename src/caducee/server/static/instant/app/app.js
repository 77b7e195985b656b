// The MISS web app: pair this browser, unlock its keys, list my cases, talk in a case.
//
// Keys stay in this browser (keystore.js, unlocked by the passphrase); messages are
// decrypted here and written into the page with textContent only. The device id (not a
// secret) is kept in localStorage so that the next visit knows which keys to unlock.

import { DeviceKeys } from "../device.js";
import { loadDevice, saveDevice } from "../keystore.js";
import { ApiError, Hub, Session, fingerprint, readable, requestPairing } from "./client.js";
import { CaseState } from "./cases.js";
import { MAX_ATTACHMENT_BYTES } from "./payloads.js";
import { blurTool, loadPhoto, toJpeg } from "./photo.js";
import { approvePairing } from "./approve.js";
import { pinOperatorRoot } from "./peers.js";
import { attachRolePicker } from "./roles.js";
import { thread } from "./thread.js";
import {
  applyTexts,
  formatDateTime,
  formatList,
  language,
  localise,
  onLanguageChange,
  setLanguage,
  t,
  unlocalise,
} from "./i18n.js";

const DEVICE_KEY = "caducee-miss-device";
/** @type {{reset: () => void} | null} */
let rolePicker = null;
const POLL_PAIRING_MS = 3000;
/** At most one typing frame per case this often; a typist is shown this long after one. */
const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;

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
  /** People sharing a case with me who have a device connected (the hub says so). */
  online: /** @type {Set<string>} */ (new Set()),
  /** Who is typing in the open case, with the timer that forgets them. */
  typists: /** @type {Map<string, ReturnType<typeof setTimeout>>} */ (new Map()),
  /** When this page last said it was typing, by case (ms). */
  typedAt: /** @type {Map<string, number>} */ (new Map()),
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

/**
 * The status line, from the catalogue: said again in the new language after a switch.
 * @param {string} key @param {Record<string, string|number>} [params] @param {boolean} [error]
 */
function say(key, params, error = false) {
  const line = $("status");
  localise(line, key, params);
  line.classList.toggle("error", error);
}

/** Empty the status line. */
function quiet() {
  const line = $("status");
  unlocalise(line, "");
  line.classList.remove("error");
}

/** Show what went wrong, as the server or the browser said it (with its code). @param {unknown} error */
function fail(error) {
  const line = $("status");
  unlocalise(line, describe(error));
  line.classList.add("error");
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
    say("pair.too_short", { min: 8 }, true);
    return;
  }
  say("pair.creating");
  try {
    const deviceId = `web-${crypto.randomUUID()}`;
    const device = await DeviceKeys.generate(deviceId, address);
    // Trust on first use, checked by the person: the agent that approves shows its own root's
    // fingerprint beside this one. A root other than the pinned one is refused later.
    const root = await pinOperatorRoot();
    await saveDevice(device, passphrase);
    localStorage.setItem(DEVICE_KEY, deviceId);
    const { code } = await requestPairing(device, label);
    const pub = device.public();
    $("pair-code").textContent = code;
    $("pair-code-inline").textContent = code;
    $("pair-signing").textContent = await fingerprint(pub.signingPublic);
    $("pair-hpke").textContent = await fingerprint(pub.hpkePublic);
    $("pair-root").textContent = readable(root);
    show("code");
    say("pair.waiting");
    await waitForApproval(device);
  } catch (error) {
    fail(error);
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
  say("unlock.busy");
  try {
    const device = await loadDevice(deviceId, passphrase);
    form.reset();
    const session = new Session(device);
    await session.login();
    await start(device, session);
  } catch (error) {
    fail(error);
  }
}

/** @param {DeviceKeys} device @param {Session} session */
async function start(device, session) {
  state.device = device;
  state.session = session;
  $("me").textContent = `${device.address} · ${device.deviceId}`;
  show("cases");
  quiet();
  await refreshCases();
  state.hub = new Hub(session, cursors, onFrame, (connected) => {
    state.connected = connected;
    document.body.dataset.connected = String(connected);
    localise($("live"), connected ? "live.on" : "live.off");
    if (!connected) {
      state.online.clear(); // unknown until the hub says again
      forgetTypists();
      renderPeople();
    }
  });
  state.hub.connect();
}

/** @returns {Record<string, number>} */
function cursors() {
  return Object.fromEntries([...state.cases].map(([id, c]) => [id, c.cursor]));
}

/** @param {any} frame */
async function onFrame(frame) {
  if (frame.type === "presence") {
    if (frame.online) state.online.add(frame.address);
    else state.online.delete(frame.address);
    renderPeople();
    return;
  }
  if (frame.type === "typing") {
    if (frame.case_id === state.open) showTypist(frame.address);
    return;
  }
  if (frame.type === "ready") {
    state.online.clear(); // the presence frames that follow say who is online now
    renderPeople();
  }
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
    say("cases.need_someone", {}, true);
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
    fail(error);
  }
}

/** @param {string} caseId */
async function openCase(caseId) {
  state.open = caseId;
  state.composing = null;
  state.armedDelete = null;
  const c = caseState(caseId);
  forgetTypists();
  renderCase(c);
  show("case");
  try {
    await c.refreshView();
  } catch (error) {
    fail(error);
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
    fail(error);
  }
}

/** The patient and the retention notice. @param {CaseState} c */
function renderHeader(c) {
  const p = c.patient();
  if (p) {
    const text = `${p.name}${p.birth_date ? ` · ${p.birth_date}` : ""}${p.ins ? ` · INS ${p.ins}` : ""}`;
    unlocalise($("patient"), text);
  } else {
    localise($("patient"), "case.no_patient");
  }
  const retention = $("retention");
  retention.hidden = c.retentionDays === null;
  if (c.retentionDays === null) unlocalise(retention, "");
  else localise(retention, "case.retention", { count: c.retentionDays });
  renderPeople();
}

// -- presence and typing (ephemeral: what the hub says now, never stored) ------------------

/** The open case's other participants, a green dot by those online. */
function renderPeople() {
  const list = $("people");
  const me = state.device?.address;
  const c = state.open ? state.cases.get(state.open) : undefined;
  const others = (c?.participants ?? []).filter((/** @type {string} */ a) => a !== me);
  list.replaceChildren(
    ...others.map((/** @type {string} */ address) => {
      const online = state.online.has(address);
      const item = element("li", { "data-address": address });
      if (online) {
        const label = t("presence.online");
        const dot = { class: "online", role: "img", "aria-label": label, title: label };
        item.append(element("span", dot));
      }
      item.append(document.createTextNode(address));
      return item;
    }),
  );
}

/**
 * Someone types in the open case: say so for a few seconds after their last frame.
 * @param {string} address
 */
function showTypist(address) {
  if (address === state.device?.address) return;
  clearTimeout(state.typists.get(address));
  const timer = setTimeout(() => {
    state.typists.delete(address);
    renderTypists();
  }, TYPING_SHOWN_MS);
  state.typists.set(address, timer);
  renderTypists();
}

function forgetTypists() {
  for (const timer of state.typists.values()) clearTimeout(timer);
  state.typists.clear();
  renderTypists();
}

function renderTypists() {
  const line = $("typing");
  const typists = [...state.typists.keys()].sort();
  if (!typists.length) unlocalise(line, "");
  else localise(line, "case.typing", { who: formatList(typists), count: typists.length });
}

/** The composer changed: tell the others, at most once per TYPING_EVERY_MS (never what). */
function typed() {
  const box = /** @type {HTMLTextAreaElement} */ ($("send").querySelector("textarea"));
  if (!state.open || !state.hub || !box.value.trim()) return;
  const now = Date.now();
  if (now - (state.typedAt.get(state.open) ?? 0) < TYPING_EVERY_MS) return;
  state.typedAt.set(state.open, now);
  state.hub.typing(state.open);
}

/** @param {string} at an ISO date @returns {string} in the chosen language */
function when(at) {
  return formatDateTime(at);
}

/** @param {string} address @returns {string} */
function who(address) {
  return address === state.device?.address ? t("case.me") : address;
}

/** A short line for a quoted message. @param {import("./thread.js").MessageItem} item */
function snippet(item) {
  if (item.deleted) return t("thread.deleted_snippet");
  const b = item.body;
  if (b.type === "text") return b.text.length > 80 ? `${b.text.slice(0, 80)}…` : b.text;
  if (b.type === "photo") return `📷 ${b.caption ?? b.name}`;
  if (b.type === "file") return `📎 ${b.name}`;
  return t("case.opened");
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
  if (n < 1024) return t("size.bytes", { count: n });
  if (n < 1 << 20) return t("size.kilobytes", { size: Math.round(n / 1024) });
  return t("size.megabytes", { size: n / (1 << 20) });
}

/**
 * Rebuild the case's entries from its log (edits, deletions and receipts applied).
 * @param {CaseState} c @param {boolean} [scroll] to the last entry (not on a language switch)
 */
function renderCase(c, scroll = true) {
  const list = $("entries");
  const me = state.device?.address ?? "";
  const nodes = thread(c.entries, me).map((item) => renderItem(item, me));
  list.replaceChildren(...nodes);
  if (scroll) nodes.at(-1)?.scrollIntoView({ block: "end" });
}

/** The texts of the thread's notes, in the language of the moment. */
const NOTES = {
  ack: () => t("thread.ack"),
  "bad-edit": () => t("thread.bad_edit"),
  "bad-deletion": () => t("thread.bad_deletion"),
  unknown: () => t("thread.unknown"),
};

/** @param {import("./thread.js").Item} item @param {string} me @returns {HTMLElement} */
function renderItem(item, me) {
  if (item.kind === "read") {
    const readers = formatList(item.readers);
    return element("li", { class: "entry read" }, t("thread.read_by", { readers }));
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
    let text = NOTES[/** @type {keyof typeof NOTES} */ (item.note)]?.() ?? "";
    if (item.note === "unreadable") {
      node.classList.add("unreadable");
      text =
        entry.error === "own-earlier-session"
          ? t("thread.own_earlier")
          : t("thread.unreadable", { reason: entry.error ?? "?" });
    }
    node.append(element("span", { class: "what" }, text));
    return node;
  }
  if (item.replyTo || item.replyMissing) {
    const quote = element("blockquote", { class: "quote" });
    quote.textContent = item.replyTo
      ? t("thread.quote", { who: who(item.replyTo.entry.sender), text: snippet(item.replyTo) })
      : t("thread.quote_missing");
    node.append(quote);
  }
  if (item.deleted) {
    node.classList.add("deleted");
    const { by, at } = item.deleted;
    const text = t("thread.deleted", { by, at: when(at) });
    node.append(element("span", { class: "what" }, text));
    return node;
  }
  const body = item.body;
  if (body.type === "text") {
    node.append(element("span", { class: "what" }, body.text));
  } else if (body.type === "patient") {
    node.append(element("span", { class: "what" }, t("case.opened")));
  } else if (body.type === "photo") {
    const src = blobUrl(entry.messageId, body);
    const img = element("img", { class: "photo", src, alt: body.caption ?? t("thread.photo") });
    node.append(img);
    if (body.blurred) {
      node.append(element("small", { class: "blurred" }, t("thread.blurred")));
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
  if (item.edited) node.append(element("small", { class: "edited" }, t("thread.edited")));
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
  add("reply", t("thread.reply"), () => compose("reply", id, snippet(item)));
  if (mine && item.body.type === "text") {
    add("edit", t("thread.edit"), () => compose("edit", id, item.body.text));
  }
  if (mine) {
    const armed = state.armedDelete === id;
    add("delete", armed ? t("thread.confirm_delete") : t("thread.delete"), () =>
      armed ? removeMessage(id) : armDelete(id),
    );
  }
  return bar;
}

/** @param {"reply"|"edit"} mode @param {string} id @param {string} text */
function compose(mode, id, text) {
  state.composing = { mode, id };
  const box = /** @type {HTMLTextAreaElement} */ ($("send").querySelector("textarea"));
  if (mode === "reply") localise($("compose-what"), "compose.reply_to", { text });
  else localise($("compose-what"), "compose.editing");
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
    fail(error);
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
    fail(error);
  }
}

/** @param {Event} event */
async function pickFile(event) {
  const input = /** @type {HTMLInputElement} */ (event.target);
  const file = input.files?.[0];
  input.value = "";
  if (!file || !state.open) return;
  if (file.size === 0) {
    say("file.empty", {}, true);
    return;
  }
  if (file.size > MAX_ATTACHMENT_BYTES) {
    say("file.too_large", { max: MAX_ATTACHMENT_BYTES / (1 << 20) }, true);
    return;
  }
  try {
    say("status.encrypting");
    await caseState(state.open).send("message", {
      type: "file",
      name: file.name || t("file.default_name"),
      media_type: file.type || "application/octet-stream",
      data: new Uint8Array(await file.arrayBuffer()),
      caption: null,
      reply_to: state.composing?.mode === "reply" ? state.composing.id : null,
      blurred: false,
    });
    stopComposing();
    quiet();
    await syncOpen();
  } catch (error) {
    if (tooLarge(error)) say("file.too_large_for_server", {}, true);
    else fail(error);
  }
}

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
    fail(error);
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
    say("status.encrypting");
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
    quiet();
    await syncOpen();
  } catch (error) {
    fail(error);
  }
}

async function acknowledge() {
  if (!state.open) return;
  try {
    await caseState(state.open).send("ack", { type: "ack" });
    await syncOpen();
  } catch (error) {
    fail(error);
  }
}

async function turnOnPush() {
  const line = $("push-state");
  try {
    // Loaded on demand: the page still opens when the push module cannot be fetched.
    const { enablePush } = await import("./push.js");
    const ok = await enablePush(/** @type {Session} */ (state.session));
    localise(line, ok ? "push.enabled" : "push.unavailable");
  } catch (error) {
    localise(line, "push.failed", { reason: describe(error) });
  }
}

function leaveCase() {
  state.open = null;
  forgetTypists();
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
    fail(error);
  }
}

async function confirmApproval() {
  if (!pendingApproval) return;
  try {
    const device = await pendingApproval.confirm();
    say("approve.done", { device: device.device_id });
  } catch (error) {
    fail(error);
  } finally {
    cancelApproval();
    /** @type {HTMLFormElement} */ ($("approve-form")).reset();
  }
}

function cancelApproval() {
  pendingApproval = null;
  $("approve-check").hidden = true;
}

// -- language -------------------------------------------------------------------------------

/** The switch shows which language is on; the texts made here follow a change. */
function followLanguage() {
  for (const button of document.querySelectorAll("[data-language]")) {
    const on = button.getAttribute("data-language") === language();
    button.setAttribute("aria-pressed", String(on));
  }
  if (state.open) {
    const c = caseState(state.open);
    renderCase(c, false); // dates, names and notes of the thread
    renderHeader(c); // and the participants' "online" labels
    renderTypists(); // the list's "and" in the new language
  }
  void rememberNotice();
}

/** Keep the push notice in this language for the service worker (it cannot read the page). */
async function rememberNotice() {
  try {
    const { rememberNotice: remember } = await import("./push.js");
    await remember({ title: t("notice.title"), body: t("notice.body"), lang: language() });
  } catch {
    // the notice keeps its last language; the app works without it
  }
}

// -- start ----------------------------------------------------------------------------------

function main() {
  applyTexts(document);
  for (const button of document.querySelectorAll("[data-language]")) {
    button.addEventListener("click", () =>
      setLanguage(/** @type {string} */ (button.getAttribute("data-language"))),
    );
  }
  onLanguageChange(followLanguage);
  followLanguage();
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
  $("send").querySelector("textarea")?.addEventListener("input", typed);
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
