// The rep's outbox: answers given without a connection, kept in IndexedDB until the server has
// them. Each carries its own Idempotency-Key, so the page, the service worker and a retry may
// all send it and the server applies it once. Loaded by the page and by the service worker.
(function (scope) {
  "use strict";

  var DB_NAME = "pursuit";
  var DB_VERSION = 1;
  var OUTBOX = "outbox";
  var SETTINGS = "settings";
  var flushing = null;

  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = scope.indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains(OUTBOX)) {
          db.createObjectStore(OUTBOX, { keyPath: "key" });
        }
        if (!db.objectStoreNames.contains(SETTINGS)) {
          db.createObjectStore(SETTINGS, { keyPath: "name" });
        }
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  // One transaction on one store; resolves with what `work` asked for once it is committed.
  function withStore(name, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(name, mode);
        var request = work(transaction.objectStore(name));
        transaction.oncomplete = function () {
          db.close();
          resolve(request ? request.result : undefined);
        };
        transaction.onerror = function () {
          db.close();
          reject(transaction.error);
        };
      });
    });
  }

  function newKey() {
    if (scope.crypto && scope.crypto.randomUUID) {
      return scope.crypto.randomUUID();
    }
    var bytes = scope.crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  function add(entry) {
    var kept = Object.assign({ key: newKey(), created: Date.now() }, entry);
    return withStore(OUTBOX, "readwrite", function (store) { return store.put(kept); })
      .then(function () { return kept; });
  }

  function list() {
    return withStore(OUTBOX, "readonly", function (store) { return store.getAll(); })
      .then(function (entries) {
        return (entries || []).sort(function (a, b) { return a.created - b.created; });
      });
  }

  function remove(key) {
    return withStore(OUTBOX, "readwrite", function (store) { return store.delete(key); });
  }

  function setSetting(name, value) {
    return withStore(SETTINGS, "readwrite", function (store) {
      return store.put({ name: name, value: value });
    });
  }

  function getSetting(name) {
    return withStore(SETTINGS, "readonly", function (store) { return store.get(name); })
      .then(function (row) { return row ? row.value : null; });
  }

  // Send one entry; a network failure rejects, any answer from the server resolves.
  function send(entry) {
    var headers = {
      Authorization: "Bearer " + entry.token,
      "Idempotency-Key": entry.key,
    };
    var init = { method: "POST", headers: headers, credentials: "omit" };
    if (entry.body) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(entry.body);
    }
    return fetch(entry.url, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        return { entry: entry, status: response.status, detail: answer.detail || "" };
      });
    });
  }

  function sendAll() {
    return list().then(function (entries) {
      var results = [];
      var next = function (index) {
        if (index >= entries.length) {
          return results;
        }
        return send(entries[index]).then(function (result) {
          results.push(result);
          return remove(entries[index].key).then(function () { return next(index + 1); });
        }, function () {
          return results;
        });
      };
      return next(0);
    });
  }

  // Send everything in the order it was given; stop at the first network failure, keeping the
  // rest. The page and the worker may both flush when the connection returns: a Web Lock lets
  // one go at a time, and the second finds the outbox already empty.
  function flush() {
    if (flushing) {
      return flushing;
    }
    var locks = scope.navigator && scope.navigator.locks;
    var run = locks ? locks.request("pursuit-outbox", sendAll) : sendAll();
    flushing = run.finally(function () {
      flushing = null;
    });
    return flushing;
  }

  scope.PursuitOutbox = {
    add: add,
    list: list,
    remove: remove,
    flush: flush,
    send: send,
    newKey: newKey,
    setSetting: setSetting,
    getSetting: getSetting,
  };
})(self);
