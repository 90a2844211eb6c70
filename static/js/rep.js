// The rep app in the browser: service worker, stored link, offer countdowns, answers kept
// offline until they can be sent, and which devices get notifications.
(function () {
  "use strict";

  var LINK_KEY = "pursuit.link";
  var SUBSCRIPTION_KEY = "pursuit.subscription";
  var OUTBOX_SYNC = "pursuit-outbox";
  var words = readWords();

  function readWords() {
    var element = document.getElementById("rep-strings");
    try {
      return element ? JSON.parse(element.textContent) : {};
    } catch (error) {
      return {};
    }
  }

  function say(name, values) {
    var text = words[name] || name;
    return text.replace(/\{(\w+)\}/g, function (whole, key) {
      return values && key in values ? values[key] : whole;
    });
  }

  function storage() {
    try {
      return window.localStorage;
    } catch (error) {
      return null; // storage can be switched off; the page still works without it
    }
  }

  function outbox() {
    return window.PursuitOutbox && window.indexedDB ? window.PursuitOutbox : null;
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator)) {
      return Promise.resolve(null);
    }
    return navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {
      return null;
    });
  }

  // The stored link lets the installed app (start URL /app) reopen this rep's queue; the
  // worker gets the token too, to accept from a notification and to send the outbox.
  function rememberLink(token) {
    var store = storage();
    if (store && token) {
      store.setItem(LINK_KEY, token);
    }
    var box = outbox();
    if (box && token) {
      box.setSetting("token", token).catch(function () {});
      box.setSetting("strings", words).catch(function () {});
    }
  }

  function forgetDeadLink() {
    var store = storage();
    var token = decodeURIComponent(location.pathname.split("/")[2] || "");
    if (store && token && store.getItem(LINK_KEY) === token) {
      store.removeItem(LINK_KEY);
    }
  }

  function launch() {
    var store = storage();
    var token = store && store.getItem(LINK_KEY);
    if (token) {
      location.replace("/r/" + encodeURIComponent(token) + location.search);
      return;
    }
    var message = document.getElementById("launch-message");
    if (message) {
      message.textContent = say("launch_text");
    }
    var heading = document.querySelector("[data-launch] h1");
    if (heading) {
      heading.textContent = say("launch_title");
    }
  }

  // Countdowns: one timer for the page; it reads the DOM each second, so swaps need no rebinding.
  function pad(number) {
    return number < 10 ? "0" + number : String(number);
  }

  function remaining(seconds) {
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var rest = seconds % 60;
    return (hours ? hours + ":" + pad(minutes) : minutes) + ":" + pad(rest);
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-expires]").forEach(function (element) {
      var left = Math.floor((Date.parse(element.dataset.expires) - now) / 1000);
      if (left > 0) {
        element.textContent = say("left", { left: remaining(left) });
        element.classList.toggle("urgent", left < 60);
        return;
      }
      if (!element.classList.contains("over")) {
        element.classList.add("over");
        element.textContent = say("time_up");
        var card = element.closest("[data-offer]");
        var accept = card && card.querySelector(".accept");
        if (accept) {
          accept.disabled = true;
        }
        if (navigator.onLine) {
          setTimeout(refreshQueue, 2500);
        }
      }
    });
  }

  // Asked for directly rather than by triggering the queue's own event: a message that arrives
  // while the last answer is still being swapped in would find no listener on the new element.
  function refreshQueue() {
    var queue = document.getElementById("queue");
    var url = queue && queue.getAttribute("hx-get");
    if (url && window.htmx && navigator.onLine) {
      window.htmx.ajax("GET", url, { source: queue, target: queue, swap: "outerHTML" });
    }
  }

  // Offline answers. Every action form sends an Idempotency-Key; when the phone is offline, or
  // the request never reaches the server, the same answer goes to the outbox under that key.
  function apiRequest(form, values) {
    var offer = encodeURIComponent(form.dataset.offerId || "");
    var lead = encodeURIComponent(form.dataset.leadId || "");
    var kind = form.dataset.offline;
    if (kind === "accept") {
      return { kind: kind, url: "/api/v1/offers/" + offer + "/accept", body: null };
    }
    if (kind === "decline") {
      return {
        kind: kind,
        url: "/api/v1/offers/" + offer + "/decline",
        body: { reason: values.get("reason") || "", note: values.get("note") || "" },
      };
    }
    return {
      kind: kind,
      url: "/api/v1/leads/" + lead + "/activities",
      body: {
        kind: values.get("kind") || "call",
        outcome: values.get("outcome") || null,
        note: values.get("note") || "",
      },
    };
  }

  function formValues(detail) {
    if (detail.formData && typeof detail.formData.get === "function") {
      return detail.formData;
    }
    var params = detail.parameters || {};
    return { get: function (name) { return params[name]; } };
  }

  function onConfigRequest(event) {
    var form = event.detail.elt;
    var rep = document.getElementById("rep");
    if (!form || !form.dataset || !form.dataset.offline || !rep) {
      return;
    }
    var box = outbox();
    var key = box ? box.newKey() : String(Date.now()) + Math.random().toString(16).slice(2);
    event.detail.headers["Idempotency-Key"] = key;
    form.pursuitAnswer = Object.assign(
      { key: key, token: rep.dataset.token, created: Date.now() },
      apiRequest(form, formValues(event.detail))
    );
  }

  function keepForLater(form) {
    var answer = form.pursuitAnswer;
    var box = outbox();
    if (!answer || !box) {
      return;
    }
    form.pursuitAnswer = null;
    box.add(answer).then(function () {
      markQueued(form);
      showOutboxStatus(say("queued"), false);
      return navigator.serviceWorker && navigator.serviceWorker.ready;
    }).then(function (registration) {
      if (registration && registration.sync) {
        return registration.sync.register(OUTBOX_SYNC);
      }
      return undefined;
    }).catch(function () {});
  }

  function markQueued(form) {
    var card = form.closest("article");
    if (!card) {
      return;
    }
    card.classList.add("queued");
    card.dataset.queued = form.dataset.offline;
    card.querySelectorAll("details[open]").forEach(function (details) {
      details.open = false;
    });
    card.querySelectorAll("button, summary").forEach(function (control) {
      control.setAttribute("aria-disabled", "true");
      if (control.tagName === "BUTTON") {
        control.disabled = true;
      }
    });
    var note = document.createElement("p");
    note.className = "notice ok";
    note.setAttribute("data-queued-note", "");
    note.textContent = say("queued");
    card.appendChild(note);
  }

  function onBeforeRequest(event) {
    var form = event.detail.elt;
    if (form && form.pursuitAnswer && !navigator.onLine) {
      event.preventDefault();
      keepForLater(form);
    }
  }

  function onSendError(event) {
    var form = event.detail.elt;
    if (form && form.pursuitAnswer) {
      keepForLater(form);
    }
  }

  function showOutboxStatus(text, failed) {
    var status = document.getElementById("outbox-status");
    if (!status) {
      return;
    }
    status.hidden = false;
    status.textContent = text;
    status.className = "notice " + (failed ? "error" : "ok");
    status.dataset.result = failed ? "refused" : "sent";
  }

  function translated(detail) {
    var refusals = words.refusals || {};
    return refusals[detail] || detail;
  }

  function report(results) {
    if (!results || !results.length) {
      return;
    }
    var failures = results.filter(function (r) { return r.status >= 400; });
    var last = failures[failures.length - 1];
    if (!last) {
      showOutboxStatus(say("sent"), false);
    } else if (last.status === 409) {
      showOutboxStatus(say("conflict", { detail: translated(last.detail) }), true);
    } else {
      showOutboxStatus(say("refused", { detail: translated(last.detail) }), true);
    }
    refreshQueue();
  }

  function sendOutbox() {
    var box = outbox();
    if (!box || !navigator.onLine) {
      return;
    }
    box.flush().then(report).catch(function () {});
  }

  function showConnection() {
    var banner = document.getElementById("connection");
    if (!banner) {
      return;
    }
    var offline = !navigator.onLine || Boolean(document.body.dataset.offlineCopy);
    banner.hidden = !offline;
    banner.textContent = offline ? say("offline") : "";
  }

  function watchConnection() {
    showConnection();
    window.addEventListener("offline", showConnection);
    window.addEventListener("online", function () {
      delete document.body.dataset.offlineCopy;
      showConnection();
      sendOutbox();
    });
    document.body.addEventListener("htmx:configRequest", onConfigRequest);
    document.body.addEventListener("htmx:beforeRequest", onBeforeRequest);
    document.body.addEventListener("htmx:sendError", onSendError);
  }

  // Push opt-in and devices: worker ready, permission, subscription, then the server stores it.
  function keyBytes(base64url) {
    var padded = base64url + "===".slice((base64url.length + 3) % 4);
    var raw = atob(padded.replace(/-/g, "+").replace(/_/g, "/"));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function pushSupported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  function authorized(token, extra) {
    return Object.assign({ Authorization: "Bearer " + token }, extra || {});
  }

  async function subscribe(token) {
    var permission = await Notification.requestPermission();
    if (permission !== "granted") {
      throw new Error(say("push_blocked"));
    }
    var registration = await navigator.serviceWorker.ready;
    var keyResponse = await fetch("/api/v1/push/key");
    if (!keyResponse.ok) {
      throw new Error(say("push_failed") + " (" + keyResponse.status + ")");
    }
    var publicKey = (await keyResponse.json()).public_key;
    var subscription = await registration.pushManager.getSubscription();
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(publicKey),
      });
    }
    var saved = await fetch("/api/v1/push/subscriptions", {
      method: "POST",
      headers: authorized(token, { "Content-Type": "application/json" }),
      body: JSON.stringify(subscription.toJSON()),
    });
    if (!saved.ok) {
      var detail = await saved.json().catch(function () { return {}; });
      throw new Error(detail.detail || say("push_failed") + " (" + saved.status + ")");
    }
    var answer = await saved.json().catch(function () { return {}; });
    var store = storage();
    var record = { id: answer.id || null, endpoint: subscription.endpoint };
    if (store) {
      store.setItem(SUBSCRIPTION_KEY, JSON.stringify(record));
    }
    return record;
  }

  function thisDevice() {
    var store = storage();
    try {
      return JSON.parse((store && store.getItem(SUBSCRIPTION_KEY)) || "null");
    } catch (error) {
      return null;
    }
  }

  async function unsubscribe(token) {
    var device = thisDevice();
    if (device && device.id) {
      var removed = await fetch("/api/v1/push/subscriptions/" + encodeURIComponent(device.id), {
        method: "DELETE",
        headers: authorized(token),
      });
      if (!removed.ok && removed.status !== 404) {
        throw new Error(say("push_failed") + " (" + removed.status + ")");
      }
    }
    var registration = await navigator.serviceWorker.ready;
    var subscription = await registration.pushManager.getSubscription();
    if (subscription) {
      await subscription.unsubscribe().catch(function () {});
    }
    var store = storage();
    if (store) {
      store.removeItem(SUBSCRIPTION_KEY);
    }
  }

  // The server's list of this rep's devices, each with a switch; absent the list, this one.
  async function showDevices(token) {
    var list = document.getElementById("device-list");
    if (!list) {
      return;
    }
    var response = await fetch("/api/v1/push/subscriptions", { headers: authorized(token) });
    if (!response.ok) {
      list.hidden = true;
      return;
    }
    var answer = await response.json();
    var devices = Array.isArray(answer) ? answer : answer.items || answer.subscriptions || [];
    list.hidden = false;
    list.replaceChildren();
    if (!devices.length) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = say("no_devices");
      list.appendChild(empty);
      return;
    }
    var mine = thisDevice();
    devices.forEach(function (device) {
      list.appendChild(deviceRow(token, device, mine));
    });
  }

  function deviceName(device, mine) {
    if (mine && (device.id === mine.id || device.endpoint === mine.endpoint)) {
      return say("this_device");
    }
    var name = device.label || device.name || device.user_agent || device.host;
    if (!name && device.endpoint) {
      try {
        name = new URL(device.endpoint).host;
      } catch (error) {
        name = device.endpoint;
      }
    }
    return name || device.id;
  }

  function deviceRow(token, device, mine) {
    var row = document.createElement("li");
    row.dataset.device = device.id;
    var name = document.createElement("span");
    name.textContent = deviceName(device, mine);
    var toggle = document.createElement("button");
    var enabled = device.enabled !== false;
    toggle.type = "button";
    toggle.className = "button";
    toggle.setAttribute("aria-pressed", String(enabled));
    toggle.setAttribute("aria-label", name.textContent + ": " + say(enabled ? "device_on" : "device_off"));
    toggle.textContent = say(enabled ? "device_on" : "device_off");
    toggle.addEventListener("click", function () {
      toggle.disabled = true;
      fetch("/api/v1/push/subscriptions/" + encodeURIComponent(device.id), {
        method: "PATCH",
        headers: authorized(token, { "Content-Type": "application/json" }),
        body: JSON.stringify({ enabled: !enabled }),
      }).then(function () {
        return showDevices(token);
      }).catch(function () {
        toggle.disabled = false;
      });
    });
    row.appendChild(name);
    row.appendChild(toggle);
    return row;
  }

  function setUpPush(token) {
    var button = document.getElementById("push-button");
    var status = document.getElementById("push-status");
    if (!button || !status) {
      return;
    }
    if (!pushSupported()) {
      status.textContent = say("push_unsupported");
      return;
    }
    var on = Notification.permission === "granted" && Boolean(thisDevice());
    var show = function (isOn, text) {
      on = isOn;
      button.hidden = false;
      button.disabled = false;
      button.textContent = say(isOn ? "push_button_off" : "push_button_on");
      if (text !== undefined) {
        status.textContent = text;
      }
    };
    show(on, on ? say("push_on") : "");
    button.addEventListener("click", function () {
      button.disabled = true;
      var change = on ? unsubscribe(token) : subscribe(token);
      status.textContent = on ? "" : say("push_turning_on");
      change.then(function () {
        show(!on, say(on ? "push_off" : "push_on"));
        status.dataset.result = on ? "on" : "off";
        return showDevices(token);
      }).catch(function (error) {
        status.textContent = error.message || say("push_failed");
        status.dataset.result = "failed";
        button.disabled = false;
      });
    });
    if (navigator.onLine) {
      showDevices(token).catch(function () {});
    }
  }

  // The worker tells open pages what it did: a notification shown, an outbox sent.
  function listenToWorker() {
    if (!("serviceWorker" in navigator)) {
      return;
    }
    navigator.serviceWorker.addEventListener("message", function (event) {
      var data = event.data || {};
      if (data.type === "pursuit:notification-shown") {
        document.documentElement.dataset.lastNotification = data.offer_id || data.title || "shown";
        refreshQueue();
      } else if (data.type === "pursuit:outbox-sent") {
        report(data.results);
      } else if (data.type === "pursuit:accepted-from-notification") {
        refreshQueue();
      }
    });
  }

  function start() {
    var body = document.body;
    var rep = document.getElementById("rep");
    var ready = registerWorker();
    body.dataset.worker = "registering";
    ready.then(function (registration) {
      body.dataset.worker = registration ? "registered" : "unavailable";
    });

    if (document.querySelector("[data-launch]")) {
      launch();
      return;
    }
    if (document.querySelector("[data-gone]")) {
      forgetDeadLink();
      return;
    }
    if (rep) {
      rememberLink(rep.dataset.token);
      setUpPush(rep.dataset.token);
      watchConnection();
      sendOutbox();
    }
    listenToWorker();
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        refreshQueue();
      }
    });
    var highlighted = document.querySelector(".offer.highlight");
    if (highlighted) {
      highlighted.scrollIntoView({ block: "center" });
    }
    tick();
    setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
