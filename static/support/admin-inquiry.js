// Inquiry page in admin: choosing a canned reply fills the reply box with its text (in the
// customer's language) and selects the status it names. Without JavaScript the server does the
// same when the form is saved with an empty reply.
document.addEventListener("DOMContentLoaded", function () {
  var select = document.getElementById("id_macro");
  var reply = document.getElementById("id_reply");
  var status = document.getElementById("id_new_status");
  if (!select || !reply) return;
  select.addEventListener("change", function () {
    var item = document.querySelector('#support-macros [data-macro="' + select.value + '"]');
    if (!item) return;
    reply.value = item.textContent;
    if (status && item.dataset.status) status.value = item.dataset.status;
    reply.focus();
  });
});
