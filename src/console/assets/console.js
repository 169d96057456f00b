// The console's only script: live updates over server-sent events, and the board's drag and drop.
// Pages work without it; it never turns text into markup (updates swap in elements the server rendered and escaped).
(function () {
  "use strict";

  function swapLiveParts(kind) {
    var parts = document.querySelectorAll("[data-live]");
    var wanted = Array.prototype.filter.call(parts, function (el) {
      return el.getAttribute("data-live").split(" ").indexOf(kind) >= 0;
    });
    if (wanted.length === 0 || document.body.classList.contains("dragging")) return;
    fetch(location.href, { headers: { accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html");
        wanted.forEach(function (el) {
          var replacement = el.id && fresh.getElementById(el.id);
          if (replacement) el.replaceWith(document.importNode(replacement, true));
        });
        document.dispatchEvent(new CustomEvent("console:updated", { detail: kind }));
      })
      .catch(function () { /* the next change tries again */ });
  }

  function listen() {
    if (!window.EventSource || !document.querySelector("[data-live]")) return;
    var since = document.body.getAttribute("data-since") || "";
    var pending = {};
    var source = new EventSource("/admin/events?since=" + encodeURIComponent(since));
    var dot = document.getElementById("live-state");
    source.onopen = function () { if (dot) { dot.classList.add("on"); dot.textContent = "live"; } };
    source.onerror = function () { if (dot) { dot.classList.remove("on"); dot.textContent = "reconnecting"; } };
    source.addEventListener("change", function (event) {
      var kind = event.data;
      clearTimeout(pending[kind]);
      pending[kind] = setTimeout(function () { swapLiveParts(kind); }, 150);
    });
  }

  function board() {
    document.addEventListener("dragstart", function (event) {
      var card = event.target.closest && event.target.closest(".task-card");
      if (!card) return;
      event.dataTransfer.setData("text/plain", card.id);
      event.dataTransfer.effectAllowed = "move";
      document.body.classList.add("dragging");
    });
    document.addEventListener("dragend", function () {
      document.body.classList.remove("dragging");
      document.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
    });
    document.addEventListener("dragover", function (event) {
      var column = event.target.closest && event.target.closest(".column");
      if (!column) return;
      event.preventDefault();
      column.classList.add("drop-target");
    });
    document.addEventListener("dragleave", function (event) {
      var column = event.target.closest && event.target.closest(".column");
      if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
    });
    document.addEventListener("drop", function (event) {
      var column = event.target.closest && event.target.closest(".column");
      if (!column) return;
      event.preventDefault();
      var card = document.getElementById(event.dataTransfer.getData("text/plain"));
      var form = card && card.querySelector("form.move");
      if (!form) return;
      var select = form.querySelector("select[name=status]");
      var status = column.getAttribute("data-status");
      if (!select.querySelector("option[value='" + status + "']")) {
        column.classList.remove("drop-target");
        return;
      }
      select.value = status;
      form.requestSubmit();
    });
  }

  function confirmations() {
    document.addEventListener("submit", function (event) {
      var question = event.target.getAttribute("data-confirm");
      if (question && !window.confirm(question)) event.preventDefault();
    });
  }

  listen();
  board();
  confirmations();
})();
