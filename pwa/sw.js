// Pursuit's service worker: an offline shell, offer notifications and opening them.
"use strict";

const SHELL_CACHE = "pursuit-shell-v1";
const SHELL = [
  "/offline.html",
  "/static/css/app.css",
  "/static/js/rep.js",
  "/static/vendor/htmx-2.0.11.min.js",
  "/pwa/icons/icon-192.png",
  "/pwa/icons/icon-512.png",
  "/pwa/icons/icon-maskable-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name !== SHELL_CACHE).map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

// Pages are live data, so they come from the network; the offline page stands in when it fails.
function pageFromNetwork(request) {
  return fetch(request).catch(() => caches.match("/offline.html"));
}

// Shell files answer from the cache at once and are refreshed behind it.
function shellFile(request) {
  return caches.open(SHELL_CACHE).then((cache) =>
    cache.match(request).then((cached) => {
      const fresh = fetch(request).then((response) => {
        if (response.ok) {
          cache.put(request, response.clone());
        }
        return response;
      });
      return cached || fresh;
    })
  );
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(pageFromNetwork(request));
    return;
  }
  const url = new URL(request.url);
  if (url.origin === self.location.origin && SHELL.includes(url.pathname)) {
    event.respondWith(shellFile(request));
  }
});

function readPush(event) {
  if (!event.data) {
    return {};
  }
  try {
    return event.data.json();
  } catch (error) {
    return { body: event.data.text() };
  }
}

// Tell open pages a notification was shown: the page refreshes its queue, tests wait on it.
function announce(message) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((clients) => {
    clients.forEach((client) => client.postMessage(message));
  });
}

self.addEventListener("push", (event) => {
  const data = readPush(event);
  const title = data.title || "New lead offered";
  const shown = self.registration.showNotification(title, {
    body: data.body || "Open Pursuit to accept or decline it.",
    icon: "/pwa/icons/icon-192.png",
    badge: "/pwa/icons/icon-192.png",
    tag: data.offer_id || undefined,
    requireInteraction: true,
    data: { url: data.url || "/app", offer_id: data.offer_id || null },
  });
  event.waitUntil(
    shown.then(() => announce({
      type: "pursuit:notification-shown", title: title, offer_id: data.offer_id || null,
    }))
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data || {}).url || "/app", self.location.origin);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((clients) => {
      const same = clients.find((client) => client.url === target.href);
      if (same) {
        return same.focus();
      }
      const open = clients.find((client) => new URL(client.url).origin === target.origin);
      if (open) {
        return open.focus().then((client) => client.navigate(target.href));
      }
      return self.clients.openWindow(target.href);
    })
  );
});
