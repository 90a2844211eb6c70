// The rep app in the browser: service worker, stored link, offer countdowns and push opt-in.
(function () {
  "use strict";

  var LINK_KEY = "pursuit.link";

  function storage() {
    try {
      return window.localStorage;
    } catch (error) {
      return null; // storage can be switched off; the page still works without it
    }
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator)) {
      return Promise.resolve(null);
    }
    return navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {
      return null;
    });
  }

  // The stored link lets the installed app (start URL /app) reopen this rep's queue.
  function rememberLink(token) {
    var store = storage();
    if (store && token) {
      store.setItem(LINK_KEY, token);
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
      message.textContent = "Open the link you were sent (in your notification, email or text " +
        "message) on this phone once. After that, this app opens your leads directly.";
    }
    var heading = document.querySelector("[data-launch] h1");
    if (heading) {
      heading.textContent = "Open your link first";
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
        element.textContent = remaining(left) + " left to answer";
        element.classList.toggle("urgent", left < 60);
        return;
      }
      if (!element.classList.contains("over")) {
        element.classList.add("over");
        element.textContent = "Time is up: this offer is moving to someone else.";
        var card = element.closest("[data-offer]");
        var accept = card && card.querySelector(".accept");
        if (accept) {
          accept.disabled = true;
        }
        setTimeout(refreshQueue, 2500);
      }
    });
  }

  function refreshQueue() {
    var queue = document.getElementById("queue");
    if (queue && window.htmx && queue.getAttribute("hx-get")) {
      window.htmx.trigger(queue, "pursuit:refresh");
    }
  }

  // Push opt-in: worker ready, permission, subscription, then the server stores it.
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

  async function subscribe(token) {
    var permission = await Notification.requestPermission();
    if (permission !== "granted") {
      throw new Error("Notifications are blocked for this site; allow them in the browser settings.");
    }
    var registration = await navigator.serviceWorker.ready;
    var keyResponse = await fetch("/api/v1/push/key");
    if (!keyResponse.ok) {
      throw new Error("The server did not give its push key (" + keyResponse.status + ").");
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
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      body: JSON.stringify(subscription.toJSON()),
    });
    if (!saved.ok) {
      var detail = await saved.json().catch(function () { return {}; });
      throw new Error(detail.detail || "The server refused this device (" + saved.status + ").");
    }
  }

  function setUpPush(token) {
    var button = document.getElementById("push-button");
    var status = document.getElementById("push-status");
    if (!button || !status) {
      return;
    }
    if (!pushSupported()) {
      status.textContent = "This browser cannot show notifications; keep this page open instead.";
      return;
    }
    button.hidden = false;
    if (Notification.permission === "granted") {
      navigator.serviceWorker.ready.then(function (registration) {
        return registration.pushManager.getSubscription();
      }).then(function (subscription) {
        if (subscription) {
          status.textContent = "Notifications are on for this device.";
          button.textContent = "Register this device again";
        }
      }).catch(function () {});
    }
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = "Turning on notifications…";
      subscribe(token).then(function () {
        status.textContent = "Notifications are on for this device.";
        status.dataset.result = "on";
        button.textContent = "Notifications are on";
      }).catch(function (error) {
        status.textContent = error.message || "Notifications could not be turned on.";
        status.dataset.result = "failed";
        button.disabled = false;
      });
    });
  }

  // The worker tells open pages when it showed a notification: note it and refresh the queue.
  function listenToWorker() {
    if (!("serviceWorker" in navigator)) {
      return;
    }
    navigator.serviceWorker.addEventListener("message", function (event) {
      var data = event.data || {};
      if (data.type === "pursuit:notification-shown") {
        document.documentElement.dataset.lastNotification = data.offer_id || data.title || "shown";
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
