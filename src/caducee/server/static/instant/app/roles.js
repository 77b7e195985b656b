// Addressing a case to a role ("cardiologue de garde, CHU …") without knowing who is on duty.
//
// As the person types, the directory is searched (GET /roles?q=, every word must match the
// role, its service, its hospital or its city); picking a result keeps the role's id in the
// form's hidden `role` field. The server resolves it to the people on duty when the case is
// opened, and escalates if nobody answers.

import { localise } from "./i18n.js";

const SEARCH_DELAY_MS = 250;

/**
 * @typedef {{id: number, name: string, service: string|null,
 *   organisation: {finess: string, name: string}, city: string}} FoundRole
 */

/** @param {FoundRole} role @returns {string} */
export function describeRole(role) {
  const where = [role.service, role.organisation.name].filter(Boolean).join(", ");
  return `${role.name} — ${where}${role.city ? ` (${role.city})` : ""}`;
}

/**
 * Wire the role picker of the new-case form.
 * @param {{query: HTMLInputElement, results: HTMLElement, chosen: HTMLElement,
 *   field: HTMLInputElement, clear: HTMLElement}} parts
 * @param {() => import("./client.js").Session | null} session
 */
export function attachRolePicker(parts, session) {
  let timer = 0;
  let asked = 0;

  function pick(/** @type {FoundRole|null} */ role) {
    parts.field.value = role ? String(role.id) : "";
    parts.chosen.textContent = role ? `→ ${describeRole(role)}` : "";
    parts.chosen.parentElement?.toggleAttribute("hidden", !role);
    parts.results.replaceChildren();
    if (role) parts.query.value = "";
  }

  async function search() {
    const text = parts.query.value.trim();
    const current = session();
    if (text.length < 2 || !current) {
      parts.results.replaceChildren();
      return;
    }
    const mine = ++asked;
    let found;
    try {
      found = await current.api(`/roles?q=${encodeURIComponent(text)}`);
    } catch {
      found = { roles: [] };
    }
    if (mine !== asked) return; // a later search answered first, or will
    parts.results.replaceChildren();
    if (!found.roles.length) {
      const none = document.createElement("li");
      none.className = "hint";
      localise(none, "cases.role_none");
      parts.results.append(none);
    }
    for (const role of found.roles) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.dataset.role = String(role.id);
      button.textContent = describeRole(role);
      button.addEventListener("click", () => pick(role));
      item.append(button);
      parts.results.append(item);
    }
  }

  parts.query.addEventListener("input", () => {
    clearTimeout(timer);
    timer = window.setTimeout(search, SEARCH_DELAY_MS);
  });
  parts.clear.addEventListener("click", () => pick(null));
  return { reset: () => pick(null) };
}
