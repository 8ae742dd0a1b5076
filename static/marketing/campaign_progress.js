// Campaign page in admin: poll the progress view and update the bar without reloading.
// A static file (the CSP forbids inline script).
(function () {
  "use strict";
  function start(box) {
    var url = box.getAttribute("data-progress-url");
    var bar = box.querySelector(".campaign-progress-bar");
    var text = box.querySelector(".campaign-progress-text");
    function show(data) {
      bar.max = Math.max(data.total, 1);
      bar.value = data.done;
      var c = data.counts;
      var reasons = Object.keys(data.skipped_reasons).map(function (k) {
        return k + ": " + data.skipped_reasons[k];
      }).join(", ");
      text.textContent = data.status + " — " + data.done + "/" + data.total +
        " · queued " + (c.queued + c.sending) + " · sent " + c.sent +
        " · skipped " + c.skipped + (reasons ? " (" + reasons + ")" : "") +
        " · failed " + c.failed + " · unknown " + c.unknown;
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          show(data);
          if (!data.finished || data.status === "sending") { window.setTimeout(poll, 2000); }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    poll();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".campaign-progress[data-progress-url]").forEach(start);
  });
})();
