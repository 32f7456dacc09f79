// The wallboard's figures, redrawn every few seconds from the server (the same template as the page).
(function () {
  "use strict";
  var root = document.getElementById("wallboard");
  if (!root) { return; }
  var every = (parseInt(root.dataset.refresh, 10) || 5) * 1000;

  function refresh() {
    fetch(root.dataset.figuresUrl, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (resp) {
        if (resp.status === 401 || resp.redirected) { window.location.reload(); return null; }
        return resp.ok ? resp.text() : null;
      })
      .then(function (html) { if (html) { root.innerHTML = html; } })
      .catch(function (err) { console.error("wallboard", err); })
      .finally(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
