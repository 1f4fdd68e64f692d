// The service worker: keeps the app's shell (its page, code, styles and icons) so the app opens with no network.
// It never touches the API: answers carrying children's data are not cached here (the app keeps its data in
// IndexedDB, where sign-out can wipe it), and a request outside /app goes to the network untouched.
//
// The shell is served from the cache first, on the network or not (the app shell model: it opens at once on a
// slow connection as on none). Updates come through the worker itself: the server writes the shell's version into
// this script (SHELL_VERSION below), so when any file of the shell changes, the browser's own check of this
// script finds it changed and installs the new worker, which fetches every file afresh into a cache named by the
// new version and deletes the older caches once it takes over. The app runs the new files from its next start.

/// <reference lib="webworker" />

const worker = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));
// Replaced by the server with a hash of every file of the shell (api/mentors_app/views.py).
const VERSION = "SHELL_VERSION";
const CACHE = `reachable-app-${VERSION}`;
const SHELL = "/app";
// Every file of the shell (tests/api/test_mentors_app.py checks this list against the static folder).
const SHELL_FILES = [
  SHELL,
  "/app/manifest.webmanifest",
  "/app/static/app.css",
  "/app/static/icons/icon-192.png",
  "/app/static/icons/icon-512.png",
  "/app/static/js/api.js",
  "/app/static/js/app.js",
  "/app/static/js/casework.js",
  "/app/static/js/dom.js",
  "/app/static/js/lock.js",
  "/app/static/js/outbox.js",
  "/app/static/js/screens.js",
  "/app/static/js/screens_casework.js",
  "/app/static/js/screens_groups.js",
  "/app/static/js/screens_patterns.js",
  "/app/static/js/screens_sign_in.js",
  "/app/static/js/screens_wellbeing.js",
  "/app/static/js/store.js",
  "/app/static/js/sync.js",
  "/app/static/js/types.js",
  "/app/static/js/wellbeing.js",
];

worker.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(SHELL_FILES.map((path) => new Request(path, { cache: "reload" })));
      await worker.skipWaiting();
    })(),
  );
});

worker.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("reachable-app-") && name !== CACHE) {
          await caches.delete(name);
        }
      }
      await worker.clients.claim();
    })(),
  );
});

/** @param {URL} url */
function isShellFile(url) {
  return url.origin === worker.location.origin && (url.pathname === SHELL || url.pathname.startsWith("/app/"));
}

worker.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || !isShellFile(url)) {
    return; // the API and anything else: straight to the network
  }
  // Any address of the app opens its one page (the app navigates in memory, never by address).
  const wanted = event.request.mode === "navigate" ? new Request(SHELL) : event.request;
  event.respondWith(kept(wanted));
});

/**
 * This version's kept copy; a file it does not keep (the worker is still installing) comes from the network.
 * @param {Request} request
 */
async function kept(request) {
  const copy = await caches.match(request, { cacheName: CACHE, ignoreSearch: true });
  return copy ?? fetch(request);
}
