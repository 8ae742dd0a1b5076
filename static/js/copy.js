/* Copy buttons for licence keys (and anything else marked class="copy-key").
   Progressive: without JavaScript there is no button and the key stays selectable text.
   The button's words come from <body data-copy-label data-copied-label> (translated by Django). */
(function () {
  "use strict";
  var keys = document.querySelectorAll(".copy-key");
  if (!keys.length) return;
  var body = document.body;
  var label = body.getAttribute("data-copy-label") || "Copy";
  var done = body.getAttribute("data-copied-label") || "Copied";
  var status = document.createElement("span");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  body.appendChild(status);

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  Array.prototype.forEach.call(keys, function (key) {
    var text = key.textContent.trim();
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = label;
    button.setAttribute("aria-label", label + " " + text);
    button.addEventListener("click", function () {
      copy(text).then(function () {
        Array.prototype.forEach.call(document.querySelectorAll(".copy-button[data-copied]"), function (other) {
          other.removeAttribute("data-copied");
          other.textContent = label;
          other.setAttribute("aria-label", label + " " + other.previousElementSibling.textContent.trim());
        });
        button.setAttribute("data-copied", "");
        button.textContent = done;
        button.setAttribute("aria-label", done + " " + text);
        status.textContent = done + ": " + text;
      }, function () {
        // Copying refused (old browser, permission): select the key for a manual copy.
        var range = document.createRange();
        range.selectNodeContents(key);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      });
    });
    key.insertAdjacentElement("afterend", button);
  });
})();
