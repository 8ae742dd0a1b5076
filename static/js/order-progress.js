// The order page after payment: asks the order's status view (JSON, owner-only, no-store) until
// the licence keys are issued, then shows them with copy buttons and the new "what happens
// next" sentence, without a reload. It asks less often as time passes and stops after
// data-poll-seconds. No inline script (strict CSP); text goes in with textContent only.
(function () {
  "use strict";
  var panel = document.getElementById("order-progress");
  if (!panel || !panel.getAttribute("data-status-url") || !window.fetch) {
    return;
  }
  var url = panel.getAttribute("data-status-url");
  var deadline = Date.now() + 1000 * parseInt(panel.getAttribute("data-poll-seconds") || "60", 10);
  var delay = 1500;

  function showKeys(keys) {
    keys.forEach(function (item) {
      var list = document.querySelector('ul.licence-keys[data-line="' + String(item.line) + '"]');
      if (!list) {
        return;
      }
      var already = Array.prototype.some.call(list.querySelectorAll("code.licence-key"), function (code) {
        return code.textContent === item.key;
      });
      if (already) {
        return;
      }
      var li = document.createElement("li");
      var code = document.createElement("code");
      code.className = "licence-key copy-key";
      code.textContent = item.key;
      li.appendChild(code);
      list.appendChild(li);
      if (window.IPmartCopy) {
        window.IPmartCopy.attach(code);
      }
      list.hidden = false;
    });
  }

  function apply(data) {
    var label = document.getElementById("order-status-label");
    if (label && data.status_label) {
      label.textContent = data.status_label;
      label.className = "status status-" + data.status;
    }
    if (data.keys && data.keys.length) {
      showKeys(data.keys);
    }
    var text = panel.querySelector(".next-step-text");
    if (text && data.next_step && (data.keys.length || data.status !== "pending_payment")) {
      text.textContent = data.next_step;
    }
  }

  function stop() {
    var waiting = panel.querySelector(".keys-waiting");
    if (waiting) {
      waiting.hidden = true;
    }
  }

  function ask() {
    window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        apply(data);
        if (!data.waiting) {
          stop();
          return;
        }
        next(data.retry_after);
      })
      .catch(function () { next(null); });
  }

  function next(retryAfter) {
    delay = Math.min(Math.max(delay * 1.3, 1000 * (retryAfter || 0)), 10000);
    if (Date.now() + delay > deadline) {
      stop();
      return;
    }
    window.setTimeout(ask, delay);
  }

  window.setTimeout(ask, 500);
})();
