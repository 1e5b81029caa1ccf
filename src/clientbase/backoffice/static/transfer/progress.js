// The progress of a back-office import job: polls the job's progress URL
// while it waits or runs, and reloads the page once it has ended.
(function () {
  "use strict";
  var section = document.getElementById("job-progress");
  if (!section) return;
  var url = section.dataset.url;
  function text(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value;
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "…";
    if (seconds < 60) return Math.ceil(seconds) + " s";
    return Math.floor(seconds / 60) + " min " + Math.ceil(seconds % 60) + " s";
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (!data.active) { window.location.reload(); return; }
        var bar = document.getElementById("progress-bar");
        bar.max = data.total;
        bar.value = data.done;
        text("job-status", data.status_label);
        text("progress-done", data.done);
        text("progress-total", data.total);
        text("progress-rate", data.rate ? Math.round(data.rate).toLocaleString() : "…");
        text("progress-eta", duration(data.eta));
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
