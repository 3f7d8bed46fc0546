/* A machine type's 3D model: Sketchfab's viewer, shown only when this computer can reach sketchfab.com.
 *
 * Many plant networks have no internet; an iframe that cannot load is a blank card. The page therefore comes
 * with a placeholder (what the model needs, and the link), and this script swaps in the iframe once an image
 * from sketchfab.com loads. The probe is an Image that is never put in the page: when it fails, the browser
 * logs nothing, so an offline plant sees the placeholder and a clean console. "Try loading it here" loads the
 * viewer anyway (a proxy may let the viewer through and not the probe).
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

  function probe(box) {
    box.dataset.state = "checking";
    var image = new Image();
    var timer = setTimeout(function () {
      if (box.dataset.state === "checking") box.dataset.state = "offline";
    }, TIMEOUT);
    image.onload = function () { clearTimeout(timer); show(box); };
    image.onerror = function () {
      clearTimeout(timer);
      if (box.dataset.state === "checking") box.dataset.state = "offline";
    };
    image.referrerPolicy = "no-referrer";
    // A fresh query each time: a cached failure must not hide a connection that is back.
    image.src = PROBE + "?probe=" + Date.now();
  }

  function start() {
    document.querySelectorAll("[data-model-embed]").forEach(function (box) {
      if (!box.dataset.src || box.dataset.state) return;
      var button = box.querySelector("[data-model-load]");
      if (button) button.addEventListener("click", function () { show(box); });
      probe(box);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
