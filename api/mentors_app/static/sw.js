// The service worker: keeps the app's shell (its page, code, styles and icons) so the app opens with no network.
// It never touches the API: answers carrying children's data are not cached here (the app keeps its data in
// IndexedDB, where sign-out can wipe it), and a request outside /app goes to the network untouched.
//
// The page registers /app/sw.js?v=<version of the shell>, so a changed shell installs a new worker, which fetches
// every file afresh into a cache named by that version and deletes the older caches once it takes over.

/// <reference lib="webworker" />

const worker = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));
const VERSION = new URL(worker.location.href).searchParams.get("v") ?? "unversioned";
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
  "/app/static/js/dom.js",
  "/app/static/js/outbox.js",
  "/app/static/js/screens.js",
  "/app/static/js/store.js",
  "/app/static/js/sync.js",
  "/app/static/js/types.js",
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
  if (event.request.mode === "navigate") {
    event.respondWith(shellPage(event.request));
  } else {
    event.respondWith(shellFile(event.request));
  }
});

/**
 * The page from the network when it answers (so a new version is found), else the kept copy.
 * @param {Request} request
 */
async function shellPage(request) {
  try {
    const answer = await fetch(request);
    if (answer.ok) {
      return answer;
    }
  } catch {
    // offline: the kept copy below
  }
  const kept = await caches.match(SHELL, { cacheName: CACHE });
  return kept ?? Response.error();
}

/**
 * The kept copy of this version's file; a file it does not keep comes from the network.
 * @param {Request} request
 */
async function shellFile(request) {
  const kept = await caches.match(request, { cacheName: CACHE, ignoreSearch: true });
  return kept ?? fetch(request);
}
