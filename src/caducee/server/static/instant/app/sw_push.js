// The service worker's push handler (imported by sw.js): pushes are empty by design.
//
// The server sends no payload (the push service learns neither content nor case), so the
// notice is fixed: it says that something new is waiting, never what or from whom. A click
// brings the app to the front (or opens it); the app then fetches and decrypts by itself.
//
// Its texts come from the app's catalogue (i18n.js), in the person's language: the page
// writes them to a cache of this origin (push.js, rememberNotice) at each start and each
// change of language, since a worker can neither import the page's modules from here nor read
// its localStorage. Before the page ever wrote them, the notice is the app's name alone.

const MISS_NOTICE_CACHE = "caducee-miss-notice"; // as push.js NOTICE_CACHE
const MISS_NOTICE_URL = "/instant/notice.json"; // as push.js NOTICE_URL
const MISS_NOTICE_FALLBACK = { title: "MISS · Caducée", body: "", lang: "" };
const MISS_NOTICE_OPTIONS = {
  tag: "caducee-miss", // one notice at a time, replaced by the next
  renotify: true,
  icon: "/static/instant/app/icon-192.png",
  data: { url: "/instant/" },
};

/** The notice's texts as the page last wrote them. @returns {Promise<{title: string, body: string, lang: string}>} */
async function missNotice() {
  try {
    const cache = await caches.open(MISS_NOTICE_CACHE);
    const hit = await cache.match(MISS_NOTICE_URL);
    if (hit) {
      const notice = await hit.json();
      if (typeof notice?.title === "string" && notice.title && typeof notice.body === "string") {
        return { title: notice.title, body: notice.body, lang: String(notice.lang ?? "") };
      }
    }
  } catch {
    // unreadable: the app's name still tells that something is waiting
  }
  return MISS_NOTICE_FALLBACK;
}

/** Show the fixed notice. @returns {Promise<void>} */
async function showMissNotice() {
  const notice = await missNotice();
  return self.registration.showNotification(notice.title, {
    ...MISS_NOTICE_OPTIONS,
    body: notice.body,
    lang: notice.lang,
  });
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
self.caduceeMissPush = {
  showMissNotice,
  focusOrOpenMiss,
  notice: missNotice,
  cache: MISS_NOTICE_CACHE,
  fallbackTitle: MISS_NOTICE_FALLBACK.title,
};
