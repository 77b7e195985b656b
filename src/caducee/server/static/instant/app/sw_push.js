// The service worker's push handler (imported by sw.js). Placeholder until push lands.
