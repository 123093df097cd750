/* Polls a run's status endpoint with an adaptive interval (1 s, growing to 10 s while nothing
   changes, back to 1 s on change) and updates the banner; reloads the page when the run ends.
   No dependencies, no network beyond the page's own server. */
(function () {
  "use strict";
  var FINISHED = { succeeded: true, failed: true, superseded: true };
  function watch(el) {
    var url = el.getAttribute("data-run-status-url");
    if (!url) return;
    var delay = 1000, last = "";
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
        .then(function (data) {
          var stage = el.querySelector(".js-run-stage"), pct = el.querySelector(".js-run-progress"),
              bar = el.querySelector(".js-run-bar");
          var text = (data.status || "") + (data.stage ? " · " + data.stage : "");
          if (stage) stage.textContent = text;
          if (pct) pct.textContent = data.progress == null ? "0" : String(data.progress);
          if (bar) bar.value = data.progress || 0;
          if (FINISHED[data.status]) { el.setAttribute("data-run-finished", data.status); window.location.reload(); return; }
          var key = text + "|" + data.progress;
          delay = key === last ? Math.min(delay * 1.5, 10000) : 1000;
          last = key;
          setTimeout(tick, delay);
        })
        .catch(function () { delay = Math.min(delay * 2, 15000); setTimeout(tick, delay); });
    }
    setTimeout(tick, delay);
  }
  document.querySelectorAll("[data-run-status-url]").forEach(watch);
})();
