// The MISS app's service worker (served as /instant/sw.js, scope /instant/).
//
// It keeps the app shell (the page, its modules, style and icons) so that the app opens
// without a network; it never stores an API answer, a WebSocket or anything under /api/:
// message content, even encrypted, and tokens stay out of every cache. Shell files are
// fetched from the network first, so that an update is taken at once when online.

// Push notifications (content-free) are handled in their own file.
importScripts("/static/instant/app/sw_push.js");

const CACHE = "caducee-miss-shell-v2"; // v2: the texts moved to app/i18n.js
const CORE = "/static/instant/";
/** Caches an update keeps: this shell's and the push notice's texts (sw_push.js). */
const KEPT = new Set([CACHE, self.caduceeMissPush.cache]);
const SHELL = [
  "/instant/",
  "/instant/manifest.webmanifest",
  `${CORE}app/app.js`,
  `${CORE}app/approve.js`,
  `${CORE}app/roles.js`,
  `${CORE}app/push.js`,
  `${CORE}app/cases.js`,
  `${CORE}app/client.js`,
  `${CORE}app/payloads.js`,
  `${CORE}app/photo.js`,
  `${CORE}app/thread.js`,
  `${CORE}app/i18n.js`,
  `${CORE}app/peers.js`,
  `${CORE}app/app.css`,
  `${CORE}app/icon.svg`,
  `${CORE}app/icon-192.png`,
  `${CORE}bytes.js`,
  `${CORE}device.js`,
  `${CORE}errors.js`,
  `${CORE}formats.js`,
  `${CORE}hpke.js`,
  `${CORE}keystore.js`,
  `${CORE}ratchet.js`,
  `${CORE}sender_keys.js`,
  `${CORE}signing.js`,
  `${CORE}wire.js`,
  `${CORE}der.js`,
  `${CORE}x509.js`,
  `${CORE}transparency.js`,
  `${CORE}vendor/hpke.js`,
];

/** @param {URL} url @returns {boolean} */
function isShell(url) {
  if (url.origin !== self.location.origin) return false;
  if (url.pathname.startsWith("/api/")) return false;
  return SHELL.includes(url.pathname);
}

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => !KEPT.has(k)).map((k) => caches.delete(k)))),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || !isShell(url)) return; // the network, uncached
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })
      .catch(() => caches.match(request).then((hit) => hit ?? Response.error())),
  );
});
