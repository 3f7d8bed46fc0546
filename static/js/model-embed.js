/* A machine type's 3D model: Sketchfab's viewer, shown only when this computer can reach sketchfab.com.
 *
 * Many plant networks have no internet; an iframe that cannot load is a blank card. The page therefore comes
 * with a placeholder (what the model needs, and the link), and this script swaps in the iframe once sketchfab.com
 * answers. Every request of the page that fails is an error in the browser's console, so it first asks the hub
 * (data-check, same origin) whether the server reaches Sketchfab; only then does the browser check for itself,
 * with an image from sketchfab.com, and load the viewer when that image arrives. An offline plant thus sees the
 * placeholder and a clean console. "Try loading it here" loads the viewer anyway (a proxy may let the browser
 * through and not the server).
 */
(function () {
  "use strict";

  var PROBE = "https://sketchfab.com/favicon.ico";
  var TIMEOUT = 8000;

  function show(box) {
    if (box.querySelector("iframe")) return;
    var frame = document.createElement("iframe");
    frame.title = box.dataset.title || "3D model";
    frame.src = box.dataset.src;
    frame.setAttribute("allow", "autoplay; fullscreen; xr-spatial-tracking");
    frame.setAttribute("allowfullscreen", "");
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-popups");
    box.replaceChildren(frame);
    box.dataset.state = "loaded";
  }

  function offline(box) {
    if (box.dataset.state === "checking") box.dataset.state = "offline";
  }

  function probe(box) {
    var image = new Image();
    var timer = setTimeout(function () { offline(box); }, TIMEOUT);
    image.onload = function () { clearTimeout(timer); show(box); };
    image.onerror = function () { clearTimeout(timer); offline(box); };
    image.referrerPolicy = "no-referrer";
    // A fresh query each time: a cached failure must not hide a connection that is back.
    image.src = PROBE + "?probe=" + Date.now();
  }

  function start() {
    document.querySelectorAll("[data-model-embed]").forEach(function (box) {
      if (!box.dataset.src || box.dataset.state) return;
      var button = box.querySelector("[data-model-load]");
      if (button) button.addEventListener("click", function () { show(box); });
      box.dataset.state = "checking";
      fetch(box.dataset.check, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { reachable: false }; })
        .then(function (answer) { if (answer && answer.reachable) probe(box); else offline(box); })
        .catch(function () { offline(box); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
