// The MISS app's texts, French first, with English: one catalogue, one place to translate.
//
// `t(key, params)` returns the text in the chosen language with its named placeholders
// (`{name}`) filled in; a text that depends on a count holds one form per plural category
// (Intl.PluralRules) and takes the count from `params.count`. An unknown key or a missing
// placeholder value throws: a missing text must be loud, never a silent blank.
//
// The language is the person's saved choice, else the browser's (French when any of its
// languages is French, else English), else French. Static texts of the page carry
// `data-i18n="key"` (and `data-i18n-attr="attribute:key;…"` for attributes); `localise` and
// `applyTexts` (re)write them, so that a change of language needs no reload.

export const LANGUAGES = /** @type {const} */ (["fr", "en"]);
/** @typedef {"fr"|"en"} Language */
/** @typedef {string | {one?: string, other: string, zero?: string, two?: string, few?: string, many?: string}} Form */
/** @typedef {Record<string, string|number>} Params */

const CHOICE_KEY = "caducee-miss-language";

/** @type {Record<string, Record<Language, Form>>} */
export const CATALOGUE = {
  // -- the page's frame
  "app.tagline": { fr: "messagerie instantanée sécurisée", en: "secure instant messaging" },
  "lang.switch": { fr: "Langue", en: "Language" },
  "live.on": { fr: "● en direct", en: "● live" },
  "live.off": { fr: "○ hors ligne", en: "○ offline" },
  "common.cancel": { fr: "Annuler", en: "Cancel" },

  // -- pairing this browser
  "pair.title": { fr: "Associer cet appareil", en: "Pair this device" },
  "pair.address": { fr: "Adresse MSSanté", en: "MSSanté address" },
  "pair.label": { fr: "Nom de l'appareil", en: "Device name" },
  "pair.default_label": { fr: "Téléphone", en: "Phone" },
  "pair.passphrase": { fr: "Phrase secrète de cet appareil", en: "This device's passphrase" },
  "pair.submit": {
    fr: "Créer les clés et demander l'approbation",
    en: "Create the keys and ask for approval",
  },
  "pair.too_short": {
    fr: "Phrase secrète trop courte : choisissez-en une de {min} caractères au moins.",
    en: "Passphrase too short: choose one of at least {min} characters.",
  },
  "pair.creating": { fr: "Création des clés…", en: "Creating the keys…" },
  "pair.waiting": { fr: "En attente d'approbation", en: "Waiting for approval" },
  "code.title": { fr: "Code d'appairage", en: "Pairing code" },
  "code.agent": { fr: "Sur votre poste, tapez :", en: "On your workstation, type:" },
  "code.other_device": {
    fr: "… ou, sur un appareil déjà approuvé, ouvrez « Approuver un nouvel appareil » et saisissez ce code :",
    en: "… or, on a device already approved, open “Approve a new device” and enter this code:",
  },
  "code.compare": {
    fr: "Vérifiez que l'agent ou l'autre appareil affiche les mêmes empreintes :",
    en: "Check that the agent or the other device shows the same fingerprints:",
  },
  "code.signing": { fr: "Signature", en: "Signature" },
  "code.encryption": { fr: "Chiffrement", en: "Encryption" },
  "code.root": { fr: "Autorité racine", en: "Root authority" },
  "code.valid": { fr: "Valable 10 minutes.", en: "Valid for 10 minutes." },

  // -- unlocking
  "unlock.title": { fr: "Déverrouiller", en: "Unlock" },
  "unlock.passphrase": { fr: "Phrase secrète", en: "Passphrase" },
  "unlock.submit": { fr: "Déverrouiller", en: "Unlock" },
  "unlock.forget": { fr: "Associer un autre appareil", en: "Pair another device" },
  "unlock.busy": { fr: "Déverrouillage…", en: "Unlocking…" },

  // -- the list of cases and a new case
  "cases.title": { fr: "Mes dossiers", en: "My cases" },
  "cases.none": { fr: "Aucun dossier.", en: "No case yet." },
  "cases.new": { fr: "Nouveau dossier", en: "New case" },
  "cases.participants": { fr: "Participants (adresses)", en: "Participants (addresses)" },
  "cases.role": {
    fr: "… ou un rôle (ex. « cardiologue de garde Lyon »)",
    en: "… or a role (e.g. “cardiologue de garde Lyon”)",
  },
  "cases.role_remove": { fr: "Retirer", en: "Remove" },
  "cases.role_none": { fr: "Aucun rôle trouvé", en: "No role found" },
  "cases.role_hint": {
    fr: "Le serveur trouve qui est de garde et relance le suivant si personne ne répond.",
    en: "The server finds who is on duty and escalates to the next one if nobody answers.",
  },
  "cases.patient_name": { fr: "Patient : nom", en: "Patient: name" },
  "cases.patient_birth": { fr: "Date de naissance", en: "Date of birth" },
  "cases.patient_hint": {
    fr: "L'identité du patient est chiffrée : le serveur ne la voit pas.",
    en: "The patient's identity is encrypted: the server never sees it.",
  },
  "cases.open": { fr: "Ouvrir le dossier", en: "Open the case" },
  "cases.need_someone": {
    fr: "Indiquez des participants ou un rôle.",
    en: "Give participants or a role.",
  },

  // -- notifications
  "push.enable": { fr: "Activer les notifications", en: "Enable notifications" },
  "push.enabled": {
    fr: "Notifications activées (sans contenu)",
    en: "Notifications enabled (no content)",
  },
  "push.unavailable": {
    fr: "Notifications non disponibles sur cet appareil",
    en: "Notifications not available on this device",
  },
  "push.failed": {
    fr: "Notifications : échec ({reason}). Réessayez plus tard.",
    en: "Notifications failed ({reason}). Try again later.",
  },
  "notice.title": { fr: "Nouveau message sécurisé", en: "New secure message" },
  "notice.body": { fr: "Ouvrez Caducée pour le lire", en: "Open Caducée to read it" },

  // -- approving a new device from this one
  "approve.title": { fr: "Approuver un nouvel appareil", en: "Approve a new device" },
  "approve.code": { fr: "Code affiché sur le nouvel appareil", en: "Code shown on the new device" },
  "approve.check": { fr: "Vérifier", en: "Check" },
  "approve.device": { fr: "Appareil :", en: "Device:" },
  "approve.compare": {
    fr: "Comparez avec l'écran du nouvel appareil :",
    en: "Compare with the new device's screen:",
  },
  "approve.hpke": { fr: "HPKE :", en: "HPKE:" },
  "approve.signing": { fr: "Signature :", en: "Signature:" },
  "approve.confirm": {
    fr: "Les empreintes sont identiques, approuver",
    en: "The fingerprints match, approve",
  },
  "approve.done": { fr: "Appareil approuvé : {device}", en: "Device approved: {device}" },
  "approve.other_address": {
    fr: "Cette demande est pour une autre adresse : vérifiez le code affiché sur le nouvel appareil.",
    en: "This request is for another address: check the code shown on the new device.",
  },

  // -- a case
  "case.back": { fr: "← Dossiers", en: "← Cases" },
  "case.no_patient": { fr: "Patient : —", en: "Patient: —" },
  "case.retention": {
    fr: { one: "Messages effacés après {count} jour", other: "Messages effacés après {count} jours" },
    en: { one: "Messages deleted after {count} day", other: "Messages deleted after {count} days" },
  },
  "case.opened": { fr: "Dossier ouvert", en: "Case opened" },
  "case.me": { fr: "moi", en: "me" },
  "case.participants": { fr: "Participants", en: "Participants" },
  "case.typing": {
    fr: { one: "{who} écrit…", other: "{who} écrivent…" },
    en: { one: "{who} is typing…", other: "{who} are typing…" },
  },
  "presence.online": { fr: "en ligne", en: "online" },
  "compose.label": { fr: "Message", en: "Message" },
  "compose.send": { fr: "Envoyer", en: "Send" },
  "compose.reply_to": { fr: "Réponse à : {text}", en: "Reply to: {text}" },
  "compose.editing": { fr: "Modification", en: "Editing" },
  "tools.photo": { fr: "Photo", en: "Photo" },
  "tools.file": { fr: "Fichier", en: "File" },
  "tools.ack": { fr: "Je m'en occupe", en: "I'm handling it" },
  "status.encrypting": { fr: "Chiffrement…", en: "Encrypting…" },

  // -- the thread
  "thread.read_by": { fr: "lu par {readers}", en: "read by {readers}" },
  "thread.ack": { fr: "je m'en occupe", en: "I'm handling it" },
  "thread.bad_edit": {
    fr: "(modification refusée : ce message est d'une autre personne)",
    en: "(edit refused: the message is someone else's)",
  },
  "thread.bad_deletion": {
    fr: "(suppression refusée : ce message est d'une autre personne)",
    en: "(deletion refused: the message is someone else's)",
  },
  "thread.unknown": {
    fr: "(message d'un type inconnu)",
    en: "(message of an unknown type)",
  },
  "thread.own_earlier": {
    fr: "(envoyé depuis cet appareil lors d'une session précédente)",
    en: "(sent from this device in an earlier session)",
  },
  "thread.unreadable": {
    fr: "(illisible sur cet appareil : {reason})",
    en: "(unreadable on this device: {reason})",
  },
  "thread.quote": { fr: "↪ {who} : {text}", en: "↪ {who}: {text}" },
  "thread.quote_missing": { fr: "↪ (message introuvable)", en: "↪ (message not found)" },
  "thread.deleted": { fr: "supprimé par {by} le {at}", en: "deleted by {by} on {at}" },
  "thread.deleted_snippet": { fr: "message supprimé", en: "deleted message" },
  "thread.blurred": { fr: "zones floutées", en: "blurred areas" },
  "thread.edited": { fr: "modifié", en: "edited" },
  "thread.photo": { fr: "photo", en: "photo" },
  "thread.reply": { fr: "Répondre", en: "Reply" },
  "thread.edit": { fr: "Modifier", en: "Edit" },
  "thread.delete": { fr: "Supprimer", en: "Delete" },
  "thread.confirm_delete": { fr: "Confirmer la suppression", en: "Confirm the deletion" },

  // -- photos and files
  "photo.hint": {
    fr: "Glissez le doigt ou la souris sur les zones à flouter (visages, noms) ; seule l'image floutée est envoyée.",
    en: "Drag a finger or the mouse over the areas to blur (faces, names); only the blurred image is sent.",
  },
  "photo.caption": { fr: "Légende", en: "Caption" },
  "photo.send": { fr: "Envoyer la photo", en: "Send the photo" },
  "photo.unreadable": {
    fr: "Image illisible : choisissez une photo JPEG ou PNG.",
    en: "Unreadable image: pick a JPEG or PNG photo.",
  },
  "photo.encoding_failed": {
    fr: "Encodage JPEG impossible : réessayez ou choisissez une autre photo.",
    en: "JPEG encoding failed: try again or pick another photo.",
  },
  "file.default_name": { fr: "fichier", en: "file" },
  "file.empty": {
    fr: "Fichier vide : choisissez-en un autre.",
    en: "Empty file: pick another one.",
  },
  "file.too_large": {
    fr: "Fichier trop grand ({max} Mo au plus) : envoyez-le par la messagerie Caducée.",
    en: "File too large ({max} MB at most): send it by Caducée mail.",
  },
  "file.too_large_for_server": {
    fr: "Fichier trop grand pour le serveur : envoyez-le par la messagerie Caducée.",
    en: "File too large for the server: send it by Caducée mail.",
  },
  "size.bytes": {
    fr: { one: "{count} octet", other: "{count} octets" },
    en: { one: "{count} byte", other: "{count} bytes" },
  },
  "size.kilobytes": { fr: "{size} ko", en: "{size} kB" },
  "size.megabytes": { fr: "{size} Mo", en: "{size} MB" },
};

/** @type {Language} */
let current = initialLanguage();
/** @type {Set<(language: Language) => void>} */
const listeners = new Set();

/** @param {unknown} value @returns {value is Language} */
function isLanguage(value) {
  return typeof value === "string" && LANGUAGES.includes(/** @type {Language} */ (value));
}

/**
 * French when any preferred language is French, else English; French when none is known.
 * @param {readonly string[]} preferred the browser's languages, best first
 * @returns {Language}
 */
export function fromBrowser(preferred) {
  if (!preferred.length) return "fr";
  return preferred.some((tag) => tag.toLowerCase().startsWith("fr")) ? "fr" : "en";
}

/** @returns {Language} */
function initialLanguage() {
  let saved = null;
  try {
    saved = globalThis.localStorage?.getItem(CHOICE_KEY) ?? null;
  } catch {
    saved = null; // storage refused (private mode): the browser's language then
  }
  if (isLanguage(saved)) return saved;
  const nav = globalThis.navigator;
  return fromBrowser(nav?.languages?.length ? nav.languages : nav?.language ? [nav.language] : []);
}

/** @returns {Language} */
export function language() {
  return current;
}

/**
 * The locale used for dates and numbers: the browser's own variant of the chosen language
 * when it has one (en-GB, fr-CA…), else the language itself.
 * @returns {string}
 */
export function locale() {
  const preferred = globalThis.navigator?.languages ?? [];
  return preferred.find((tag) => tag.toLowerCase().split("-")[0] === current) ?? current;
}

/**
 * Choose the language, remember it, rewrite the page's texts and tell the listeners.
 * @param {string} next
 */
export function setLanguage(next) {
  if (!isLanguage(next)) {
    throw new Error(`unknown language "${next}": use one of ${LANGUAGES.join(", ")}`);
  }
  current = next;
  try {
    globalThis.localStorage?.setItem(CHOICE_KEY, next);
  } catch {
    // not remembered (storage refused); the choice still holds for this page
  }
  if (globalThis.document) applyTexts(document);
  for (const listener of listeners) listener(next);
}

/** Call `listener` after each change of language. @param {(language: Language) => void} listener */
export function onLanguageChange(listener) {
  listeners.add(listener);
}

/** @param {string} key @returns {Record<Language, Form>} */
function entry(key) {
  const found = Object.hasOwn(CATALOGUE, key) ? CATALOGUE[key] : undefined;
  if (!found) throw new Error(`unknown text key "${key}": add it to CATALOGUE in app/i18n.js`);
  return found;
}

/**
 * The text of `key` in the chosen language (or `lang`), placeholders filled from `params`.
 * @param {string} key @param {Params} [params] @param {Language} [lang]
 * @returns {string}
 */
export function t(key, params = {}, lang = current) {
  let form = entry(key)[lang];
  if (typeof form !== "string") {
    if (typeof params.count !== "number") {
      throw new Error(`text "${key}" depends on a count: pass {count: <number>}`);
    }
    const category = new Intl.PluralRules(lang).select(params.count);
    form = form[category] ?? form.other;
  }
  return form.replace(/\{(\w+)\}/g, (_, name) => {
    if (!Object.hasOwn(params, name)) {
      throw new Error(`text "${key}" needs a value for {${name}}`);
    }
    const value = params[name];
    return typeof value === "number" ? formatNumber(value, lang) : String(value);
  });
}

/** @param {number} n @param {Language} [lang] @returns {string} */
export function formatNumber(n, lang = current) {
  return new Intl.NumberFormat(lang === current ? locale() : lang, {
    maximumFractionDigits: 1,
  }).format(n);
}

/**
 * A date and time, short, in the chosen language; the text itself when it is no date.
 * @param {string|Date} at an ISO date or a Date @returns {string}
 */
export function formatDateTime(at) {
  const date = at instanceof Date ? at : new Date(at);
  if (Number.isNaN(date.getTime())) return String(at);
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short" }).format(date);
}

/** "a, b et c" / "a, b, and c". @param {string[]} items @returns {string} */
export function formatList(items) {
  return new Intl.ListFormat(locale(), { style: "long", type: "conjunction" }).format(items);
}

/**
 * Give `node` the text of `key` now and after each change of language.
 * @param {HTMLElement} node @param {string} key @param {Params} [params]
 */
export function localise(node, key, params) {
  node.dataset.i18n = key;
  if (params && Object.keys(params).length) node.dataset.i18nParams = JSON.stringify(params);
  else delete node.dataset.i18nParams;
  node.textContent = t(key, params);
}

/**
 * Give `node` a text from elsewhere (a server's answer, a name): it stays as it is when the
 * language changes.
 * @param {HTMLElement} node @param {string} text
 */
export function unlocalise(node, text) {
  delete node.dataset.i18n;
  delete node.dataset.i18nParams;
  node.textContent = text;
}

/**
 * Rewrite every `data-i18n` text and `data-i18n-attr` attribute under `root`, and the
 * document's `lang`.
 * @param {Document|HTMLElement} root
 */
export function applyTexts(root) {
  const doc = root instanceof Document ? root : root.ownerDocument;
  doc.documentElement.lang = current;
  for (const node of root.querySelectorAll("[data-i18n]")) {
    const el = /** @type {HTMLElement} */ (node);
    const params = el.dataset.i18nParams ? JSON.parse(el.dataset.i18nParams) : undefined;
    el.textContent = t(/** @type {string} */ (el.dataset.i18n), params);
  }
  for (const node of root.querySelectorAll("[data-i18n-attr]")) {
    for (const [attribute, key] of attributePairs(node.getAttribute("data-i18n-attr") ?? "")) {
      node.setAttribute(attribute, t(key));
    }
  }
}

/**
 * "placeholder:key;aria-label:other" → [["placeholder", "key"], ["aria-label", "other"]].
 * @param {string} spec @returns {[string, string][]}
 */
export function attributePairs(spec) {
  return spec
    .split(";")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const at = part.indexOf(":");
      if (at < 1) throw new Error(`data-i18n-attr "${spec}": write attribute:key;…`);
      return /** @type {[string, string]} */ ([part.slice(0, at).trim(), part.slice(at + 1).trim()]);
    });
}
