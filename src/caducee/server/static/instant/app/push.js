// Push notifications for this device, without content (Web Push with VAPID).
//
// The server's pushes are empty: the push service (Google's, Mozilla's, Apple's…) learns
// neither the message nor the case, only that this device has something new. The service
// worker (sw_push.js) then shows a fixed notice; the app fetches and decrypts the rest
// itself once opened.

/** @param {string} text @returns {Uint8Array} */
function fromBase64Url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** @param {ArrayBuffer|null|undefined} a @param {Uint8Array} b @returns {boolean} */
function sameBytes(a, b) {
  if (!a) return false;
  const x = new Uint8Array(a);
  return x.length === b.length && x.every((v, i) => v === b[i]);
}

/** Whether this browser can receive push at all (a secure context with a push service). */
export function pushSupported() {
  return (
    typeof window !== "undefined" &&
    window.isSecureContext &&
    "serviceWorker" in navigator &&
    "PushManager" in window &&
    "Notification" in window
  );
}

/**
 * Subscribe this device to the server's content-free pushes; true when done.
 * @param {import("./client.js").Session} session @returns {Promise<boolean>}
 */
export async function enablePush(session) {
  if (!pushSupported()) return false;
  try {
    if ((await Notification.requestPermission()) !== "granted") return false;
    const registration = await navigator.serviceWorker.ready;
    const { key } = await session.api("/push/key");
    const applicationServerKey = fromBase64Url(key);
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameBytes(subscription.options.applicationServerKey, applicationServerKey)) {
      await subscription.unsubscribe(); // made for another server key: useless now
      subscription = null;
    }
    subscription ??= await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey,
    });
    const { endpoint, keys } = subscription.toJSON();
    await session.api("/push/subscriptions", { method: "POST", json: { endpoint, keys } });
    return true;
  } catch (error) {
    console.warn("push: not enabled", error instanceof Error ? error.name : "error");
    return false;
  }
}

/**
 * Stop the pushes to this device (the server forgets its subscription).
 * @param {import("./client.js").Session} session @returns {Promise<boolean>}
 */
export async function disablePush(session) {
  try {
    await session.api("/push/subscriptions", { method: "DELETE" });
    if (pushSupported()) {
      const registration = await navigator.serviceWorker.ready;
      await (await registration.pushManager.getSubscription())?.unsubscribe();
    }
    return true;
  } catch {
    return false;
  }
}

// The notice the service worker shows is written here, in the person's language: the worker
// cannot read the page's choice (no localStorage there), but it shares this origin's caches.
// sw_push.js reads the same cache and URL; nothing else is ever stored there.
export const NOTICE_CACHE = "caducee-miss-notice";
export const NOTICE_URL = "/instant/notice.json";

/**
 * Keep the push notice's texts for the service worker; false where there are no caches.
 * @param {{title: string, body: string, lang: string}} notice @returns {Promise<boolean>}
 */
export async function rememberNotice(notice) {
  if (typeof caches === "undefined") return false;
  const cache = await caches.open(NOTICE_CACHE);
  const body = JSON.stringify({ title: notice.title, body: notice.body, lang: notice.lang });
  await cache.put(NOTICE_URL, new Response(body, { headers: { "Content-Type": "application/json" } }));
  return true;
}
