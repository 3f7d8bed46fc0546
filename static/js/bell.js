/* The bell's dropdown: the newest notifications, mark read, mark all read, live. No framework.
 *
 * The panel's content comes from the server (htmx) each time it opens, and again
 * whenever a "notification" frame arrives while it is open (a new notification, or
 * notifications read on another tab), so it never shows a stale list. The count on
 * the bell itself is moved by nexus.js from the same frames.
 */
(function () {
  "use strict";

  var menu = document.getElementById("bell-menu");
  var bell = document.getElementById("notification-bell");
  var panel = document.getElementById("bell-panel");
  if (!menu || !bell || !panel || !window.htmx) return;
  var url = menu.dataset.panelUrl;

  function isOpen() { return !panel.hidden; }

  function csrfHeaders() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { return {}; }
  }

  // Where the focus goes once the panel's content has been swapped in: "first" (the panel just opened), "panel"
  // (a refresh replaced what had the focus) or "" (leave it).
  var focusAfterSwap = "";

  function load(focus) {
    focusAfterSwap = focus || "";
    return window.htmx.ajax("GET", url, { target: panel, swap: "innerHTML" });
  }

  function open() {
    if (isOpen()) return;
    // On a phone the panel is fixed below the top bar, whose height depends on how its items wrap.
    var bar = bell.closest(".topbar");
    if (bar) panel.style.setProperty("--bell-top", Math.round(bar.getBoundingClientRect().bottom) + "px");
    panel.hidden = false;
    bell.setAttribute("aria-expanded", "true");
    menu.classList.add("open");
    load("first");
  }

  function close(returnFocus) {
    if (!isOpen()) return;
    panel.hidden = true;
    bell.setAttribute("aria-expanded", "false");
    menu.classList.remove("open");
    if (returnFocus) bell.focus();
  }

  // The bell is a link to the notifications page (for a page without JavaScript); here it toggles the panel.
  bell.addEventListener("click", function (event) {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button === 1) return; // a new tab: the page
    event.preventDefault();
    if (isOpen()) close(false); else open();
  });
  bell.addEventListener("keydown", function (event) {
    if (event.key === " ") { event.preventDefault(); bell.click(); }
    if (event.key === "ArrowDown" && !isOpen()) { event.preventDefault(); open(); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) { event.preventDefault(); close(true); }
  });
  document.addEventListener("click", function (event) {
    if (isOpen() && !menu.contains(event.target)) close(false);
  });
  // Tabbing out of the panel closes it, as a menu does.
  menu.addEventListener("focusout", function (event) {
    if (isOpen() && event.relatedTarget && !menu.contains(event.relatedTarget)) close(false);
  });

  // Opening an unread notification marks it read first, then follows its link (a new tab too, without waiting).
  panel.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.bell-link[data-read-url]");
    if (!link) return;
    var request = fetch(link.dataset.readUrl, {
      method: "POST",
      headers: csrfHeaders(),
      credentials: "same-origin",
      redirect: "manual",
      keepalive: true,
    });
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button === 1) return;
    event.preventDefault();
    var go = function () { window.location.assign(link.href); };
    request.then(go, go);
  });

  // Live: a new notification, or notifications read elsewhere, while the panel is open.
  var pending = null;
  function refreshSoon() {
    if (!isOpen()) return;
    clearTimeout(pending);
    pending = setTimeout(function () {
      load(panel.contains(document.activeElement) ? "panel" : "");
    }, 150);
  }
  document.addEventListener("nexus:notification", refreshSoon);
  document.addEventListener("nexus:reconnected", refreshSoon);

  // The panel's own forms answer with the panel; the count follows from what it says (the socket confirms).
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target !== panel) return;
    var list = panel.querySelector(".bell-list");
    var badge = document.getElementById("notification-count");
    if (list && badge) {
      badge.dataset.count = list.dataset.unread;
      var number = badge.querySelector(".badge-count");
      if (number) number.textContent = list.dataset.unread;
    }
    var verb = event.detail.requestConfig && event.detail.requestConfig.verb;
    // A form of the panel (mark read) was replaced with what it did: keep the focus in the panel.
    if (verb === "post" && !focusAfterSwap) focusAfterSwap = "panel";
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target !== panel || !focusAfterSwap) return;
    var focus = focusAfterSwap;
    focusAfterSwap = "";
    if (!isOpen()) return;
    if (focus === "first") {
      // The newest notification, or else the first thing to do ("See all" when there are none).
      var first = panel.querySelector("a.bell-link") || panel.querySelector("button:not([disabled]), a[href]");
      (first || panel).focus();
    } else if (!panel.contains(document.activeElement) || document.activeElement === document.body) {
      panel.focus();
    }
  });
})();
