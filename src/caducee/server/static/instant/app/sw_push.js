// The service worker's push handler (imported by sw.js): pushes are empty by design.
//
// The server sends no payload (the push service learns neither content nor case), so the
// notice is fixed: it says that something new is waiting, never what or from whom. A click
// brings the app to the front (or opens it); the app then fetches and decrypts by itself.

const MISS_NOTICE_TITLE = "Nouveau message sécurisé / new secure message";
const MISS_NOTICE = {
  body: "Ouvrez Caducée pour le lire / open Caducée to read it",
  tag: "caducee-miss", // one notice at a time, replaced by the next
  renotify: true,
  icon: "/static/instant/app/icon-192.png",
  data: { url: "/instant/" },
};

/** Show the fixed notice. @returns {Promise<void>} */
function showMissNotice() {
  return self.registration.showNotification(MISS_NOTICE_TITLE, MISS_NOTICE);
}

/** Focus an open window of the app, else open one. @returns {Promise<unknown>} */
async function focusOrOpenMiss() {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).pathname.startsWith("/instant/") && "focus" in client) {
      return client.focus();
    }
  }
  return self.clients.openWindow("/instant/");
}

self.addEventListener("push", (event) => {
  // Any payload is ignored: the server never sends one, and nothing else is trusted.
  event.waitUntil(showMissNotice());
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(focusOrOpenMiss());
});

// For tests in a browser without a push service (a synthetic event cannot waitUntil).
self.caduceeMissPush = { showMissNotice, focusOrOpenMiss, title: MISS_NOTICE_TITLE };
