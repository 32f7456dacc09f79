// Shared by every console page. No framework: forms work without it; this adds conveniences.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.content : "";
  window.hotline = window.hotline || {};
  window.hotline.csrfToken = token;

  // POST JSON from scripts with the CSRF header every state-changing request must carry.
  window.hotline.post = function (url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token},
      body: JSON.stringify(data || {})
    });
  };

  // "Select all" boxes: <input type=checkbox data-select-all="name-of-boxes">.
  document.addEventListener("change", function (ev) {
    var name = ev.target.getAttribute && ev.target.getAttribute("data-select-all");
    if (!name) { return; }
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
      box.checked = ev.target.checked;
    });
  });
})();
