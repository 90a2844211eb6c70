// Pursuit's service worker: the app shell and the rep's last queue offline, the outbox of
// answers given offline, offer notifications with Accept and Decline, and device renewal.
"use strict";

importScripts("/static/js/outbox.js");

const SHELL_CACHE = "pursuit-shell-v3";
const PAGES_CACHE = "pursuit-pages-v1";
const KEPT = [SHELL_CACHE, PAGES_CACHE];
const SHELL = [
  "/offline.html",
  "/static/css/app.css",
  "/static/js/outbox.js",
  "/static/js/rep.js",
  "/static/vendor/htmx-2.0.11.min.js",
  "/pwa/icons/icon-192.png",
  "/pwa/icons/icon-512.png",
  "/pwa/icons/icon-maskable-512.png",
];
const OUTBOX_SYNC = "pursuit-outbox";
const ENGLISH = {
  accept: "Accept",
  decline: "Decline",
  accepted_title: "Accepted: {name}",
  accept_failed_title: "Not accepted: {name}",
  queued: "Saved on this phone: it is sent as soon as you are back online.",
};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => !KEPT.includes(name)).map((name) => caches.delete(name))
      ))
      .then(() => self.clients.claim())
  );
});

// The rep's pages are kept as last seen, so the app opens offline; the copy is marked so the
// page can say it is not live.
function keepsCopy(url) {
  return url.origin === self.location.origin &&
    (url.pathname === "/app" || /^\/r\/[^/]+$/.test(url.pathname));
}

function markedCopy(response) {
  return response.text().then((html) => new Response(
    html.replace("<body ", `<body data-offline-copy="${new Date().toISOString()}" `),
    { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } }
  ));
}

function page(request) {
  const url = new URL(request.url);
  return fetch(request).then((response) => {
    if (response.ok && keepsCopy(url)) {
      const copy = response.clone();
      caches.open(PAGES_CACHE).then((cache) => cache.put(url.pathname, copy));
    }
    return response;
  }).catch(() =>
    caches.open(PAGES_CACHE)
      .then((cache) => (keepsCopy(url) ? cache.match(url.pathname) : undefined))
      .then((kept) => (kept ? markedCopy(kept) : caches.match("/offline.html")))
  );
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
    event.respondWith(page(request));
    return;
  }
  const url = new URL(request.url);
  if (url.origin === self.location.origin && SHELL.includes(url.pathname)) {
    event.respondWith(shellFile(request));
  }
});

// Open pages hear what the worker did: they refresh the queue, and tests wait on it.
function announce(message) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((clients) => {
    clients.forEach((client) => client.postMessage(message));
  });
}

function flushOutbox() {
  return self.PursuitOutbox.flush().then((results) => {
    const sent = results.map((r) => ({ status: r.status, detail: r.detail, kind: r.entry.kind }));
    return sent.length ? announce({ type: "pursuit:outbox-sent", results: sent }) : undefined;
  });
}

self.addEventListener("sync", (event) => {
  if (event.tag === OUTBOX_SYNC) {
    event.waitUntil(flushOutbox());
  }
});

self.addEventListener("message", (event) => {
  if ((event.data || {}).type === "pursuit:flush-outbox") {
    event.waitUntil(flushOutbox());
  }
});

function words() {
  return self.PursuitOutbox.getSetting("strings")
    .then((strings) => Object.assign({}, ENGLISH, strings || {}))
    .catch(() => ENGLISH);
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
}

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

// The lead's name as the notification shows it: from the payload, else the title's tail.
function leadName(data) {
  if (data.lead_name) {
    return data.lead_name;
  }
  const title = data.title || "";
  const colon = title.indexOf(":");
  return colon >= 0 ? title.slice(colon + 1).trim() : title;
}

function isOffer(data) {
  return Boolean(data.offer_id) && !data.kind;
}

function offerActions(data, strings) {
  if (Array.isArray(data.actions)) {
    return data.actions;
  }
  if (!isOffer(data)) {
    return [];
  }
  return [
    { action: "accept", title: strings.accept },
    { action: "decline", title: strings.decline },
  ];
}

self.addEventListener("push", (event) => {
  const data = readPush(event);
  const title = data.title || "New lead offered";
  const shown = words().then((strings) => self.registration.showNotification(title, {
    body: data.body || "Open Pursuit to accept or decline it.",
    icon: "/pwa/icons/icon-192.png",
    badge: "/pwa/icons/icon-192.png",
    tag: data.offer_id || undefined,
    requireInteraction: isOffer(data),
    actions: offerActions(data, strings),
    data: {
      url: data.url || "/app",
      offer_id: data.offer_id || null,
      lead_id: data.lead_id || null,
      accept_url: data.accept_url || null,
      name: leadName(data),
    },
  }));
  event.waitUntil(
    shown.then(() => announce({
      type: "pursuit:notification-shown", title: title, offer_id: data.offer_id || null,
    }))
  );
});

function openWindow(href) {
  const target = new URL(href, self.location.origin);
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((clients) => {
    const same = clients.find((client) => client.url === target.href);
    if (same) {
      return same.focus();
    }
    const open = clients.find((client) => new URL(client.url).origin === target.origin);
    if (open) {
      return open.focus().then((client) => client.navigate(target.href));
    }
    return self.clients.openWindow(target.href);
  });
}

// Accept straight from the notification, with the rep's token the page left in IndexedDB.
async function acceptFromNotification(data) {
  const strings = await words();
  const token = await self.PursuitOutbox.getSetting("token");
  if (!token) {
    return openWindow(data.url);
  }
  const entry = {
    key: self.PursuitOutbox.newKey(),
    kind: "accept",
    token: token,
    url: data.accept_url || `/api/v1/offers/${encodeURIComponent(data.offer_id)}/accept`,
    body: null,
    created: Date.now(),
  };
  let result;
  try {
    result = await self.PursuitOutbox.send(entry);
  } catch (error) {
    await self.PursuitOutbox.add(entry);
    if (self.registration.sync) {
      await self.registration.sync.register(OUTBOX_SYNC).catch(() => undefined);
    }
    return self.registration.showNotification(fill(strings.accepted_title, data), {
      body: strings.queued, icon: "/pwa/icons/icon-192.png", tag: data.offer_id,
      data: { url: data.url },
    });
  }
  const ok = result.status >= 200 && result.status < 300;
  await announce({ type: "pursuit:accepted-from-notification", status: result.status });
  return self.registration.showNotification(
    fill(ok ? strings.accepted_title : strings.accept_failed_title, data),
    {
      body: ok ? "" : result.detail,
      icon: "/pwa/icons/icon-192.png",
      tag: data.offer_id,
      data: { url: data.url },
    }
  );
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  if (event.action === "accept" && data.offer_id) {
    event.waitUntil(acceptFromNotification(data));
    return;
  }
  if (event.action === "decline" && data.offer_id) {
    const url = new URL(data.url || "/app", self.location.origin);
    url.searchParams.set("offer", data.offer_id);
    url.searchParams.set("decline", "1");
    event.waitUntil(openWindow(url.href));
    return;
  }
  event.waitUntil(openWindow(data.url || "/app"));
});

function keyBytes(base64url) {
  const padded = base64url + "===".slice((base64url.length + 3) % 4);
  const raw = atob(padded.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

// The push service replaced this device's subscription: subscribe again and tell the server
// which endpoint the new one replaces.
async function renewSubscription(event) {
  const token = await self.PursuitOutbox.getSetting("token");
  let subscription = event.newSubscription;
  if (!subscription) {
    const response = await fetch("/api/v1/push/key");
    const publicKey = (await response.json()).public_key;
    subscription = await self.registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: keyBytes(publicKey),
    });
  }
  if (!token) {
    return undefined;
  }
  const json = subscription.toJSON();
  const saved = await fetch("/api/v1/push/subscriptions", {
    method: "POST",
    credentials: "omit",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({
      old_endpoint: event.oldSubscription ? event.oldSubscription.endpoint : null,
      endpoint: json.endpoint,
      keys: json.keys,
    }),
  });
  if (saved.ok) {
    const answer = await saved.json().catch(() => ({}));
    await self.PursuitOutbox.setSetting("subscription_id", answer.id || null);
  }
  return announce({ type: "pursuit:subscription-renewed", status: saved.status });
}

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(renewSubscription(event));
});
