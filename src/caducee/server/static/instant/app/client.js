// The MISS web app's link to the server: pairing, device login, the instant API, the hub.
//
// The device logs in with its own Ed25519 key (never the person's certificate key, which a
// browser does not hold) and gets a 15-minute token valid for the instant API and the hub
// only; the token lives in memory, never in storage. Requests carry ids and ciphertexts; the
// plaintext never leaves this page.

import { toHex, utf8 } from "../bytes.js";

export const API = "/api/v1/instant";
export const LOGIN_CONTEXT = "caducee-miss-v1 device login\n";

/** A refusal of the server (problem+json), with its stable code. */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} detail */
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

/** @param {Uint8Array} bytes @returns {string} */
export function toBase64(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}

/** @param {string} text @returns {Uint8Array} */
export function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/**
 * The first 16 bytes of SHA-256 of a public key, hex in groups of 4 (as the agent shows it).
 * @param {Uint8Array} publicBytes @returns {Promise<string>}
 */
export async function fingerprint(publicBytes) {
  return readable(toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", publicBytes))));
}

/**
 * The first 16 bytes of a SHA-256 (hex) in groups of 4, upper case: what people compare
 * (caducee.instant.pairing.key_fingerprint).
 * @param {string} sha256Hex
 */
export function readable(sha256Hex) {
  return (sha256Hex.slice(0, 32).toUpperCase().match(/.{4}/g) ?? []).join(" ");
}

/**
 * @param {string} path @param {RequestInit & {token?: string|null, json?: unknown}} [options]
 * @returns {Promise<any>}
 */
async function call(path, { token = null, json, ...init } = {}) {
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  if (json !== undefined) {
    headers.set("Content-Type", "application/json");
    init.body = JSON.stringify(json);
  }
  const response = await fetch(path, { ...init, headers, cache: "no-store" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, body.code ?? `http-${response.status}`, body.detail ?? "");
  }
  return body;
}

/**
 * Ask the server to keep this device's public keys for the person's approval.
 * @param {import("../device.js").DeviceKeys} device @param {string} label
 * @returns {Promise<{code: string, expires_at: string}>}
 */
export function requestPairing(device, label) {
  const pub = device.public();
  return call(`${API}/pairing`, {
    method: "POST",
    json: {
      address: pub.address,
      device_id: pub.deviceId,
      label,
      kem: pub.kem,
      hpke_public: toBase64(pub.hpkePublic),
      signing_public: toBase64(pub.signingPublic),
      created_at: pub.createdAt,
    },
  });
}

/** The device's session with the server: its token, renewed by signing a new challenge. */
export class Session {
  /** @param {import("../device.js").DeviceKeys} device */
  constructor(device) {
    this.device = device;
    /** @type {string|null} */
    this.token = null;
  }

  /** Log in with the device's key (challenge, signature, token). */
  async login() {
    const { challenge } = await call(`${API}/devices/login/challenge`, {
      method: "POST",
      json: { device_id: this.device.deviceId },
    });
    const signature = await this.device.sign(utf8.encode(LOGIN_CONTEXT + challenge));
    const answer = await call(`${API}/devices/login`, {
      method: "POST",
      json: { device_id: this.device.deviceId, challenge, signature: toBase64(signature) },
    });
    this.token = answer.access_token;
    return answer;
  }

  /**
   * One call to the instant API; logs in again once on a 401.
   * @param {string} path @param {RequestInit & {json?: unknown}} [options] @returns {Promise<any>}
   */
  async api(path, options = {}) {
    if (!this.token) await this.login();
    try {
      return await call(`${API}${path}`, { ...options, token: this.token });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      await this.login();
      return call(`${API}${path}`, { ...options, token: this.token });
    }
  }
}

/**
 * The hub: ids of new messages and cases, live; reconnects with a growing delay (1 s to 30 s)
 * and resumes from the cursors `cursors()` gives. Also the ephemeral frames: who is typing
 * in a case and who is online (never stored, never resumed).
 */
export class Hub {
  /**
   * @param {Session} session @param {() => Record<string, number>} cursors
   * @param {(frame: any) => void} onFrame @param {(connected: boolean) => void} onState
   */
  constructor(session, cursors, onFrame, onState) {
    this.session = session;
    this.cursors = cursors;
    this.onFrame = onFrame;
    this.onState = onState;
    this.delay = 1000;
    this.stopped = false;
    /** @type {WebSocket|null} */
    this.socket = null;
    this.ready = false;
  }

  async connect() {
    if (this.stopped) return;
    try {
      if (!this.session.token) await this.session.login();
    } catch {
      this.retry();
      return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${API}/ws`);
    this.socket = socket;
    this.ready = false;
    socket.onopen = () => {
      socket.send(
        JSON.stringify({
          type: "hello",
          device: this.session.device.deviceId,
          token: this.session.token,
          cursors: this.cursors(),
        }),
      );
    };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "ready") {
        this.ready = true;
        this.delay = 1000;
        this.onState(true);
      }
      this.onFrame(frame);
    };
    socket.onclose = (event) => {
      this.ready = false;
      this.onState(false);
      if (event.code === 4401) this.session.token = null; // expired: log in again
      if (event.code === 4403) this.stopped = true; // this device was revoked
      this.retry();
    };
  }

  /**
   * Tell the others of a case that this person is typing there (the case only, never what).
   * Dropped when not connected: it is only a hint.
   * @param {string} caseId
   */
  typing(caseId) {
    if (this.ready && this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "typing", case_id: caseId }));
    }
  }

  retry() {
    if (this.stopped) return;
    setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 30000);
  }

  close() {
    this.stopped = true;
    this.socket?.close();
  }
}
