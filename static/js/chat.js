/* The chat room as an app: its panes, "jump to latest" and the "new messages" markers.
 *
 * static/js/nexus.js keeps the live part (the socket's messages, counts, reading); this file only arranges
 * what is on screen. Its listeners run after nexus.js's (it loads later), so a new message is already in the
 * list when they look at it.
 *
 * Panes: on a phone one pane shows at a time, named by #chat-layout's data-pane ("conversations", "room",
 * "side" for the members or a thread). The URL's hash follows ("#conversations", "#members", "#thread"), so
 * the phone's back button goes back a pane before it leaves the page.
 */
(function () {
  "use strict";

  var layout = document.getElementById("chat-layout");
  var room = document.getElementById("chat-room");
  if (!layout || !room) return;
  var me = Number(document.body.dataset.user || 0);
  var roomId = Number(room.dataset.conversation);
  var scroller = document.getElementById("room-body");
  var list = document.getElementById("message-list");
  var jump = document.getElementById("jump-latest");
  var pill = document.getElementById("new-pill");
  var phone = window.matchMedia("(max-width: 899px)");
  var FAR = 150; // Pixels from the bottom beyond which "Jump to latest" shows.

  // ---- Panes -----------------------------------------------------------------

  var saved = { top: 0, atBottom: true };

  function distanceFromBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
  }

  function paneOfHash() {
    if (location.hash === "#conversations") return "conversations";
    if (location.hash === "#members" || location.hash === "#thread") return "side";
    return "room";
  }

  function showPane(pane) {
    if (layout.dataset.pane === pane) return;
    if (layout.dataset.pane === "room" && scroller.clientHeight) {
      saved = { top: scroller.scrollTop, atBottom: distanceFromBottom() < FAR };
    }
    layout.dataset.pane = pane;
    if (pane === "room") {
      // A hidden pane forgets where it was scrolled to.
      scroller.scrollTop = saved.atBottom ? scroller.scrollHeight : saved.top;
      update();
      roomShown();
    }
  }

  // nexus.js marks messages read only while the message pane is on screen; tell it when the pane comes back
  // (a short conversation does not scroll, so no scroll event would say so).
  function roomShown() {
    document.dispatchEvent(new CustomEvent("nexus:room-shown"));
  }
  phone.addEventListener("change", function () { if (!phone.matches) roomShown(); });

  function threadOpen() {
    return Boolean(document.querySelector("#thread-panel #thread"));
  }

  function goTo(pane) {
    if (pane === "room") {
      if (history.state && history.state.nexusPane) { history.back(); return; }
      history.replaceState(null, "", location.pathname + location.search);
      showPane("room");
      return;
    }
    var hash = pane === "conversations" ? "#conversations" : threadOpen() ? "#thread" : "#members";
    if (location.hash !== hash) history.pushState({ nexusPane: pane }, "", hash);
    showPane(pane);
  }

  document.addEventListener("click", function (event) {
    var control = event.target.closest && event.target.closest("[data-show-pane]");
    if (!control || !layout.contains(control)) return;
    event.preventDefault();
    goTo(control.dataset.showPane);
  });
  window.addEventListener("popstate", function () { showPane(paneOfHash()); });

  // A thread opened on a phone takes the screen; closing it comes back to the messages.
  var wasThreadOpen = threadOpen();
  document.addEventListener("htmx:afterSettle", function () {
    var open = threadOpen();
    if (open && !wasThreadOpen && phone.matches) goTo("side");
    if (!open && wasThreadOpen && layout.dataset.pane === "side" && location.hash === "#thread") goTo("room");
    wasThreadOpen = open;
  });

  // ---- Jump to latest, and the "N new messages" pill -------------------------

  var pending = 0;            // Others' messages that arrived while scrolled up.
  var dividerRead = false;    // The reader has been to the bottom since the divider was put where it is.

  var stuck = true; // At the bottom: stays there when the pane or its content changes size.

  function update() {
    if (!scroller.clientHeight) return; // Hidden (another pane on a phone).
    stuck = distanceFromBottom() < 40;
    var far = distanceFromBottom() > FAR;
    if (!far) { pending = 0; dividerRead = true; }
    jump.hidden = !far;
    pill.hidden = pending === 0;
    var label = pending + (pending === 1 ? " new message" : " new messages");
    if (pill.textContent !== label) pill.textContent = label;
  }

  function toBottom() {
    scroller.scrollTop = scroller.scrollHeight;
    update();
  }

  function divider() {
    return document.getElementById("new-messages-divider");
  }

  function placeDivider(before) {
    var old = divider();
    if (old) old.remove();
    var line = document.createElement("div");
    line.className = "new-divider";
    line.id = "new-messages-divider";
    line.setAttribute("role", "separator");
    line.dataset.testid = "new-messages-divider";
    var label = document.createElement("span");
    label.textContent = "New messages";
    line.appendChild(label);
    before.before(line);
    dividerRead = false;
  }

  function scrollToDivider() {
    var line = divider();
    if (!line) { toBottom(); return; }
    var offset = line.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
    scroller.scrollTop = Math.max(0, scroller.scrollTop + offset - 8);
  }

  var ticking = false;
  scroller.addEventListener("scroll", function () {
    if (ticking) return;
    ticking = true;
    window.requestAnimationFrame(function () { ticking = false; update(); });
  });
  jump.addEventListener("click", toBottom);
  pill.addEventListener("click", function () {
    scrollToDivider();
    pending = 0;
    update();
  });

  document.addEventListener("nexus:chat.message", function (event) {
    var frame = event.detail;
    if (frame.conversation !== roomId || frame.parent || frame.sender === me) { update(); return; }
    var element = document.getElementById("message-" + frame.id);
    if (!element || !list.contains(element)) return;
    if (scroller.clientHeight && distanceFromBottom() > FAR) {
      pending += 1;
      if (pending === 1 && (!divider() || dividerRead)) placeDivider(element);
    }
    update();
  });
  window.addEventListener("resize", update);
  // A banner arriving over the socket shrinks the pane, an image that loads grows the list: a reader who was
  // at the newest message stays there.
  if (window.ResizeObserver) {
    var keepAtBottom = new ResizeObserver(function () {
      if (stuck && scroller.clientHeight) scroller.scrollTop = scroller.scrollHeight;
      update();
    });
    keepAtBottom.observe(scroller);
    keepAtBottom.observe(list);
  }

  // ---- Opening the room ------------------------------------------------------
  // nexus.js has scrolled to the newest message. A link to one message (search results) shows that message;
  // otherwise, when the unread ones are more than a screen, the reader starts at the "New messages" divider.
  var linked = /^#message-\d+$/.test(location.hash) ? document.getElementById(location.hash.slice(1)) : null;
  if (linked && list.contains(linked)) {
    linked.scrollIntoView({ block: "center" });
    linked.classList.add("msg-highlight");
    setTimeout(function () { linked.classList.remove("msg-highlight"); }, 2500);
  } else if (divider()) {
    var line = divider();
    if (line.getBoundingClientRect().top < scroller.getBoundingClientRect().top) scrollToDivider();
  }
  if (paneOfHash() !== "room") layout.dataset.pane = paneOfHash();
  update();
})();
