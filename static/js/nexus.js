/* Nexus page glue: connection state, JSON frames from /ws/, toasts, board drag and drop. No framework. */
(function () {
  "use strict";

  function setConnection(state) {
    document.querySelectorAll(".conn-state").forEach(function (el) {
      el.dataset.state = state;
      el.title = state === "open" ? "Live" : "Reconnecting…";
    });
  }

  function toast(text) {
    var box = document.getElementById("toasts");
    if (!box || !text) return;
    var el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
  }

  function setUnread(count) {
    var badge = document.getElementById("notification-count");
    if (!badge) return;
    badge.dataset.count = String(count);
    badge.lastChild.textContent = String(count);
  }

  // Containers marked data-dedupe keep one child per id: a live fragment and a
  // refresh may both bring the same entry.
  function dedupe() {
    document.querySelectorAll("[data-dedupe]").forEach(function (container) {
      var seen = {};
      Array.prototype.slice.call(container.children).forEach(function (child) {
        if (!child.id) return;
        if (seen[child.id]) child.remove(); else seen[child.id] = true;
      });
    });
  }

  window.Nexus = { toast: toast };

  var opened = false;
  document.addEventListener("htmx:wsOpen", function () {
    setConnection("open");
    // After a reconnect, parts of the page fetch what they missed.
    if (opened) document.dispatchEvent(new CustomEvent("nexus:reconnected"));
    opened = true;
  });
  document.addEventListener("htmx:wsClose", function () { setConnection("closed"); });
  document.addEventListener("htmx:wsError", function () { setConnection("closed"); });

  // HTML frames are swapped by the ws extension; JSON frames are handled here.
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var data = event.detail.message;
    if (typeof data !== "string" || data.charAt(0) !== "{") return;
    var frame;
    try { frame = JSON.parse(data); } catch (e) { return; }
    event.preventDefault();
    if (frame.type === "notification") {
      setUnread(frame.unread);
      toast(frame.text);
    }
    if (frame.type === "toast") toast(frame.text);
    document.dispatchEvent(new CustomEvent("nexus:" + frame.type, { detail: frame }));
  });
  document.addEventListener("htmx:oobAfterSwap", dedupe);
  document.addEventListener("htmx:afterSettle", dedupe);

  // Server responses: HX-Trigger {"nexus:toast": "..."} and refusals as plain text.
  document.addEventListener("nexus:toast", function (event) {
    toast(typeof event.detail === "string" ? event.detail : event.detail && event.detail.value);
  });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var type = xhr.getResponseHeader("Content-Type") || "";
    toast(type.indexOf("text/plain") === 0 ? xhr.responseText : "That did not work (" + xhr.status + ").");
  });

  // Board: drag a card onto a column to change its status. The move form on
  // each card does the same without dragging (touch screens, no JavaScript).
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-move-url]");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });
  document.addEventListener("dragover", function (event) {
    var column = dragged && event.target.closest && event.target.closest("[data-drop-status]");
    if (!column) return;
    event.preventDefault();
    column.classList.add("drop-over");
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest("[data-drop-status]");
    if (column) column.classList.remove("drop-over");
  });
  document.addEventListener("drop", function (event) {
    var column = dragged && event.target.closest && event.target.closest("[data-drop-status]");
    if (!column) return;
    event.preventDefault();
    column.classList.remove("drop-over");
    var card = dragged;
    dragged = null;
    if (card.closest("[data-drop-status]") === column) return;
    column.appendChild(card);
    window.htmx.ajax("POST", card.dataset.moveUrl, {
      source: card, swap: "none", values: { status: column.dataset.dropStatus }
    });
  });
  document.addEventListener("dragend", function () { dragged = null; });
})();
