/* Nexus page glue: connection state, JSON frames from /ws/, toasts. No framework. */
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
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast";
    el.textContent = text;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
  }

  window.Nexus = { toast: toast };

  document.addEventListener("htmx:wsOpen", function () { setConnection("open"); });
  document.addEventListener("htmx:wsClose", function () { setConnection("closed"); });
  document.addEventListener("htmx:wsError", function () { setConnection("closed"); });

  // HTML frames are swapped by the ws extension; JSON frames are handled here.
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var data = event.detail.message;
    if (typeof data !== "string" || data.charAt(0) !== "{") return;
    var frame;
    try { frame = JSON.parse(data); } catch (e) { return; }
    event.preventDefault();
    document.dispatchEvent(new CustomEvent("nexus:" + frame.type, { detail: frame }));
    if (frame.type === "toast" && frame.text) toast(frame.text);
  });
})();
