// The service worker: makes the web UI an installable app that opens with a clear page when
// there is no connection, and shows Web Push reminders when no tab of the app is open. The server
// fills in PRECACHE (the current build's asset paths), so every release is a new worker that
// replaces the old one and its cache.
"use strict";

const PRECACHE = "__PRECACHE__";
const CACHE = "todo-shell-" + PRECACHE.version;
const OFFLINE_PAGE = "/offline";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll([OFFLINE_PAGE, ...PRECACHE.assets])).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((name) => name.startsWith("todo-shell-") && name !== CACHE).map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    // Versioned, immutable files: the cache answers first.
    event.respondWith(caches.match(request).then((cached) => cached || fetch(request)));
  } else if (request.mode === "navigate") {
    // Pages carry the user's data and are never cached; without a network, the offline page.
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE_PAGE)));
  }
  // Everything else (the API, live events) goes to the network untouched.
});

self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = {};
  }
  const task = message.task || {};
  const due = task.due_at ? "Due " + new Date(task.due_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "";
  // The page's own reminder notification has the same tag: a reminder shows once, also if it
  // arrives both ways, or twice by push after a server restart.
  event.waitUntil(self.registration.showNotification(task.title || "Reminder", {
    body: due, tag: "todo-reminder-" + (task.id || message.id), data: { path: task.id ? "/tasks/" + task.id : "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const path = (event.notification.data && event.notification.data.path) || "/";
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((client) => new URL(client.url).origin === self.location.origin && "navigate" in client);
    if (open) {
      await open.focus();
      return open.navigate(path);
    }
    return self.clients.openWindow(path);
  })());
});
