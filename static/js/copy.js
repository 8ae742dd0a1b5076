// Copy buttons: <button class="copy-key" data-copy="TEXT">. One listener on the document, so
// buttons added later (the order page's keys, by order-progress.js) work too. No inline script
// (strict CSP).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.copy-key") : null;
    if (!button || !navigator.clipboard) {
      return;
    }
    var label = button.textContent;
    navigator.clipboard.writeText(button.getAttribute("data-copy") || "").then(function () {
      var done = button.getAttribute("data-copied-label");
      if (done) {
        button.textContent = done;
        window.setTimeout(function () { button.textContent = label; }, 2000);
      }
    });
  });
})();
