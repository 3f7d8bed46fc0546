/* Nexus page glue: the one socket per tab, toasts, badges, chat. No framework; the board has static/js/activities.js.
 *
 * The socket reconnects by itself after any drop (sleep, network change, server
 * restart) with backoff, and pings so that a dead connection is noticed. HTML
 * frames are out-of-band fragments that htmx swaps in; JSON frames become
 * "nexus:<type>" events on the document that parts of the page listen to.
 */
(function () {
  "use strict";

  var body = document.body;
  var me = Number(body.dataset.user || 0);

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

  function setBadge(el, count) {
    if (!el) return;
    count = Math.max(0, Number(count) || 0);
    el.dataset.count = String(count);
    var number = el.querySelector(".badge-count") || el.lastChild;
    if (number) number.textContent = String(count);
  }

  // Containers marked data-dedupe keep one child per id: a live frame and a
  // refresh (or a catch-up after reconnecting) may both bring the same entry.
  function dedupe() {
    document.querySelectorAll("[data-dedupe]").forEach(function (container) {
      var seen = {};
      Array.prototype.slice.call(container.children).forEach(function (child) {
        if (!child.id) return;
        if (seen[child.id]) child.remove(); else seen[child.id] = true;
      });
    });
  }

  // ---- The socket ----------------------------------------------------------

  var socket = null;
  var retries = 0;
  var everOpened = false;
  var lastFrameAt = 0;
  var reconnectTimer = null;
  // The page came with the banners of its moment: its first socket asks only for newer ones. A reconnect
  // asks for all again (it may have missed some; dedupe drops those the page has).
  var bannersSince = (document.getElementById("system-banners") || { dataset: {} }).dataset.since || "";

  function connect() {
    if (!body.dataset.socket || (socket && socket.readyState <= 1)) return;
    clearTimeout(reconnectTimer);
    // Offline, trying is pointless; the "online" event below tries again at once.
    if (navigator.onLine === false) { setConnection("closed"); return; }
    setConnection("connecting");
    // `manage.py serve` serves pages (WSGI) and the socket (ASGI) on two ports of the same host: the session
    // cookie goes to both (cookies are per host, not per port) and the socket checks the Origin's host.
    var host = body.dataset.socketPort ? location.hostname + ":" + body.dataset.socketPort : location.host;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + host + body.dataset.socket;
    if (bannersSince) url += (url.indexOf("?") < 0 ? "?" : "&") + "banners_since=" + encodeURIComponent(bannersSince);
    var ws = new WebSocket(url);
    socket = ws;
    ws.onopen = function () {
      retries = 0;
      bannersSince = "";
      lastFrameAt = Date.now();
      setConnection("open");
      var reconnected = everOpened;
      everOpened = true;
      document.dispatchEvent(new CustomEvent("nexus:socket-open", { detail: { reconnected: reconnected } }));
      // After a reconnect, parts of the page fetch what they missed.
      if (reconnected) document.dispatchEvent(new CustomEvent("nexus:reconnected"));
    };
    ws.onmessage = function (event) {
      lastFrameAt = Date.now();
      handleFrame(event.data);
    };
    ws.onclose = function (event) {
      if (socket !== ws) return;
      socket = null;
      setConnection("closed");
      if (event.code === 4401) return; // Logged out: a new page load will ask for a login.
      var delay = Math.min(10000, 500 * Math.pow(2, retries++)) * (0.6 + Math.random() * 0.4);
      reconnectTimer = setTimeout(connect, delay);
    };
  }

  function send(frame) {
    if (socket && socket.readyState === 1) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  // A ping every 25 s keeps presence fresh; silence for 60 s means the connection is dead.
  setInterval(function () {
    if (!socket || socket.readyState !== 1) return;
    if (Date.now() - lastFrameAt > 60000) { socket.close(); return; }
    send({ type: "ping" });
  }, 25000);
  // Back from sleep or a network change: do not wait for the backoff.
  window.addEventListener("online", function () { retries = 0; connect(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && (!socket || socket.readyState > 1)) { retries = 0; connect(); }
  });

  function handleFrame(data) {
    if (typeof data !== "string") return;
    if (data.charAt(0) !== "{") {
      window.htmx.swap(body, data, { swapStyle: "none" });
      dedupe();
      return;
    }
    var frame;
    try { frame = JSON.parse(data); } catch (e) { return; }
    if (frame.type === "notification") {
      setBadge(document.getElementById("notification-count"), frame.unread);
      toast(frame.text);
    }
    if (frame.type === "toast") toast(frame.text);
    if (frame.type === "error" && frame.error) toast(frame.error);
    markStaleParts("nexus:" + frame.type);
    document.dispatchEvent(new CustomEvent("nexus:" + frame.type, { detail: frame }));
  }

  // A live part (hx-trigger "nexus:... from:document") refreshes itself with an outerHTML swap. An event that
  // arrives while its refresh is in flight is queued by htmx on the old element, which that swap then removes,
  // so the change would never show (a board count that stays 0). Such a part is marked stale and its new
  // element fetches itself once more.
  function markStaleParts(name) {
    document.querySelectorAll(".htmx-request[hx-trigger][id]").forEach(function (part) {
      if (part.getAttribute("hx-trigger").indexOf(name) !== -1) part.dataset.liveStale = "true";
    });
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var part = event.detail.elt;
    if (part && part.dataset && part.dataset.liveStale && event.detail.target === part) staleIds[part.id] = true;
  });
  var staleIds = {};
  document.addEventListener("htmx:afterSettle", function () {
    Object.keys(staleIds).forEach(function (id) {
      delete staleIds[id];
      var part = document.getElementById(id);
      if (part && part.getAttribute("hx-get")) {
        window.htmx.ajax("GET", part.getAttribute("hx-get"), { source: part, target: part, swap: "outerHTML" });
      }
    });
  });

  // `socket()` is for diagnostics and tests (drop the connection and watch the page recover).
  window.Nexus = { toast: toast, send: send, socket: function () { return socket; } };

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

  // ---- Banners (system messages) -------------------------------------------
  // The page shows the most important banner (severity, then the newest: data-rank, data-created) and a
  // "+N more" button that opens the rest. Banners come with the page and over the socket (new ones, those
  // created since the page on its first connect, all of them again on a reconnect, which dedupe drops);
  // whatever changes the list, it is put back in order here. Dismissing is stored on the server, so a dismissed banner stays away on every page.

  var banners = document.getElementById("system-banners");

  function bannerOrder(a, b) {
    return (Number(a.dataset.rank) - Number(b.dataset.rank)) ||
      (Number(b.dataset.created) - Number(a.dataset.created)) ||
      (Number(b.id.replace(/\D/g, "")) - Number(a.id.replace(/\D/g, "")));
  }

  function arrangeBanners() {
    if (!banners) return;
    var items = Array.prototype.slice.call(banners.querySelectorAll(":scope > .banner"));
    var sorted = items.slice().sort(bannerOrder);
    // Move only when the order is wrong, so that a screen reader does not hear the same banners again.
    if (sorted.some(function (item, index) { return item !== items[index]; })) {
      sorted.forEach(function (item) { banners.appendChild(item); });
    }
    var more = document.getElementById("banners-more");
    if (!more) {
      more = document.createElement("button");
      more.type = "button";
      more.className = "banners-more";
      more.id = "banners-more";
      more.setAttribute("aria-controls", "system-banners");
      more.dataset.testid = "banners-more";
    }
    if (more.parentNode !== banners || banners.lastElementChild !== more) banners.appendChild(more);
    var extra = sorted.length - 1;
    if (extra < 1) banners.classList.remove("expanded");
    var expanded = banners.classList.contains("expanded");
    more.hidden = extra < 1;
    more.setAttribute("aria-expanded", expanded ? "true" : "false");
    var label = expanded ? "Show fewer" : "+" + extra + " more";
    if (more.textContent !== label) more.textContent = label;
  }

  if (banners) {
    arrangeBanners();
    new MutationObserver(arrangeBanners).observe(banners, { childList: true });
    banners.addEventListener("click", function (event) {
      if (!event.target.closest("#banners-more")) return;
      banners.classList.toggle("expanded");
      arrangeBanners();
    });
    // A dismissed banner goes at once; the socket's delete frame (to the person's other tabs) finds it gone.
    document.addEventListener("htmx:afterRequest", function (event) {
      var form = event.detail.elt;
      var banner = form && form.closest && form.closest("#system-banners > .banner");
      if (banner && event.detail.successful) banner.remove();
    });
  }

  // Banners expire in the page too.
  setInterval(function () {
    var now = Date.now();
    document.querySelectorAll("#system-banners [data-expires]").forEach(function (banner) {
      var expires = Date.parse(banner.dataset.expires);
      if (expires && expires <= now) banner.remove();
    });
  }, 15000);

  // ---- Chat ---------------------------------------------------------------

  var room = document.getElementById("chat-room");
  var roomId = room ? Number(room.dataset.conversation) : 0;
  var lastMessageId = room ? Number(room.dataset.lastMessage || 0) : 0;
  var counts = {};   // conversation id -> unread
  var muted = {};    // conversation id -> true

  function renderCounts() {
    var total = 0;
    Object.keys(counts).forEach(function (id) {
      if (!muted[id]) total += counts[id];
      document.querySelectorAll('.conv-link[data-conversation="' + id + '"] .conv-unread').forEach(function (el) {
        setBadge(el, counts[id]);
      });
    });
    setBadge(document.getElementById("chat-unread"), total);
  }

  function readSidebar() {
    document.querySelectorAll(".conv-link[data-conversation]").forEach(function (link) {
      var id = link.dataset.conversation;
      var badge = link.querySelector(".conv-unread");
      if (badge) counts[id] = Number(badge.dataset.count || 0);
      if (link.dataset.muted === "1") muted[id] = true; else delete muted[id];
    });
  }

  document.addEventListener("nexus:socket-open", function () {
    if (room && room.dataset.member === "1") send({ type: "chat.sync", after: lastMessageId, conversation: roomId });
    else if (room) send({ type: "chat.counts" });
    else send({ type: "chat.counts" });
  });

  document.addEventListener("nexus:chat.counts", function (event) {
    var frame = event.detail;
    counts = {};
    Object.keys(frame.counts || {}).forEach(function (id) { counts[id] = frame.counts[id]; });
    muted = {};
    (frame.muted || []).forEach(function (id) { muted[String(id)] = true; });
    if (typeof frame.notifications === "number") setBadge(document.getElementById("notification-count"), frame.notifications);
    renderCounts();
    // A long absence is caught up in parts: ask for the next one.
    if (room && frame.complete === false && typeof frame.last === "number") {
      send({ type: "chat.sync", after: frame.last, conversation: roomId });
    }
    if (room) markReadSoon();
  });

  document.addEventListener("nexus:chat.unread", function (event) {
    counts[String(event.detail.conversation)] = event.detail.unread;
    renderCounts();
  });

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function insertInOrder(container, element) {
    var id = Number(element.dataset.id);
    var existing = document.getElementById(element.id);
    if (existing && container.contains(existing)) { existing.replaceWith(element); return; }
    var children = container.querySelectorAll(":scope > .msg");
    for (var i = children.length - 1; i >= 0; i--) {
      if (Number(children[i].dataset.id) < id) { children[i].after(element); return; }
    }
    var older = container.querySelector(":scope > .load-older");
    if (older) older.after(element); else container.prepend(element);
  }

  function nearBottom(scroller) {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  }

  function scrollToBottom() {
    var scroller = document.getElementById("room-body");
    if (scroller) scroller.scrollTop = scroller.scrollHeight;
  }

  document.addEventListener("nexus:chat.message", function (event) {
    var frame = event.detail;
    lastMessageId = Math.max(lastMessageId, frame.id);
    var key = String(frame.conversation);
    if (frame.conversation !== roomId || !room) {
      // Catch-up frames are followed by authoritative counts; only live ones are counted here.
      if (!frame.catch_up && frame.sender !== me) {
        counts[key] = (counts[key] || 0) + 1;
        renderCounts();
      }
      return;
    }
    var element = fragment(frame.html);
    if (!element) return;
    var scroller = document.getElementById("room-body");
    var wasAtBottom = scroller && nearBottom(scroller);
    if (frame.parent) {
      var summary = document.getElementById("thread-summary-" + frame.parent);
      if (summary && frame.parent_summary) summary.outerHTML = frame.parent_summary;
      var thread = document.getElementById("thread");
      if (thread && Number(thread.dataset.root) === frame.parent) {
        insertInOrder(document.getElementById("thread-replies"), element);
      }
    } else {
      var list = document.getElementById("message-list");
      var empty = list.querySelector(".empty-room");
      if (empty) empty.remove();
      insertInOrder(list, element);
    }
    window.htmx.process(element);
    if (frame.sender === me || wasAtBottom) scrollToBottom();
    if (frame.sender !== me) {
      if (!frame.catch_up) { counts[key] = (counts[key] || 0) + 1; }
      markReadSoon();
    }
  });

  document.addEventListener("nexus:chat.changed", function (event) {
    var frame = event.detail;
    var existing = document.getElementById("message-" + frame.id);
    if (!existing) return;
    var element = fragment(frame.html);
    // The thread summary is the live one already on the page.
    var summary = existing.querySelector(".thread-summary");
    var newSummary = element.querySelector(".thread-summary");
    if (summary && newSummary) newSummary.replaceWith(summary);
    existing.replaceWith(element);
    window.htmx.process(element);
  });

  document.addEventListener("nexus:chat.reactions", function (event) {
    var existing = document.getElementById("reactions-" + event.detail.id);
    if (!existing) return;
    var element = fragment(event.detail.html);
    existing.replaceWith(element);
    window.htmx.process(element);
  });

  // "Seen" under my last message that the other person of a direct conversation has read.
  function showSeen(upTo) {
    var list = document.getElementById("message-list");
    if (!list || !upTo) return;
    list.dataset.seenUpTo = String(upTo);
    document.querySelectorAll(".seen-marker").forEach(function (el) { el.remove(); });
    var mine = list.querySelectorAll(':scope > .msg[data-sender="' + me + '"]');
    for (var i = mine.length - 1; i >= 0; i--) {
      if (Number(mine[i].dataset.id) <= upTo) {
        var marker = document.createElement("div");
        marker.className = "seen-marker muted small";
        marker.dataset.testid = "seen";
        marker.textContent = "Seen";
        mine[i].after(marker);
        return;
      }
    }
  }

  document.addEventListener("nexus:chat.read", function (event) {
    var frame = event.detail;
    if (frame.conversation === roomId && frame.user !== me) showSeen(frame.up_to);
  });

  var typingTimer = null;
  document.addEventListener("nexus:chat.typing", function (event) {
    var frame = event.detail;
    var box = document.getElementById("typing");
    if (!box || frame.conversation !== roomId || frame.user === me) return;
    box.textContent = frame.name + " is typing…";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { box.textContent = ""; }, 4000);
  });
  document.addEventListener("nexus:chat.message", function (event) {
    // A message ends its sender's typing.
    var box = document.getElementById("typing");
    if (box && event.detail.conversation === roomId && event.detail.sender !== me) box.textContent = "";
  });

  // Presence arrives coalesced: {"type": "presence", "online": [ids], "away": [ids]} every second or two
  // for the people whose state changed, or {"type": "presence", "unknown": true} while the server cannot
  // know (Redis is down). A page whose dots are unknown asks again with each ping until it knows.
  function setPresence(id, state) {
    document.querySelectorAll('[data-presence-user="' + id + '"]').forEach(function (dot) {
      dot.classList.toggle("online", state === "online");
      dot.classList.toggle("unknown", state === "unknown");
      dot.title = state === "online" ? "Online" : state === "away" ? "Away" : "Presence unknown";
    });
  }
  document.addEventListener("nexus:presence", function (event) {
    var frame = event.detail;
    if (frame.unknown) {
      document.querySelectorAll("[data-presence-user]").forEach(function (dot) {
        setPresence(dot.getAttribute("data-presence-user"), "unknown");
      });
      return;
    }
    if (typeof frame.user === "number") { // The one-person frame of an older server during a deploy.
      setPresence(frame.user, frame.online ? "online" : "away");
      return;
    }
    (frame.online || []).forEach(function (id) { setPresence(id, "online"); });
    (frame.away || []).forEach(function (id) { setPresence(id, "away"); });
  });
  function askForUnknownPresence() {
    var ids = {};
    document.querySelectorAll("[data-presence-user].unknown").forEach(function (dot) {
      ids[dot.getAttribute("data-presence-user")] = true;
    });
    var users = Object.keys(ids).slice(0, 500).map(Number);
    if (users.length) send({ type: "presence.query", users: users });
  }
  setInterval(askForUnknownPresence, 25000);

  document.addEventListener("nexus:chat.joined", function (event) {
    counts[String(event.detail.conversation)] = counts[String(event.detail.conversation)] || 0;
  });

  // Reading: what is on screen in a visible tab counts as read.
  var readTimer = null;
  function markReadSoon() {
    if (!room || room.dataset.member !== "1") return;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      if (document.visibilityState !== "visible") return;
      // Only what is on screen is read: a message pane hidden behind another (the members or a thread on a
      // phone) has no height, and would otherwise look scrolled to the bottom.
      var scroller = document.getElementById("room-body");
      if (scroller && (!scroller.clientHeight || !nearBottom(scroller))) return;
      var upTo = lastMessageId;
      if (!upTo) return;
      if (!send({ type: "chat.read", conversation: roomId, up_to: upTo })) {
        window.htmx.ajax("POST", room.dataset.readUrl, { values: { up_to: upTo }, swap: "none" });
      }
      counts[String(roomId)] = 0;
      renderCounts();
    }, 400);
  }

  if (room) {
    readSidebar();
    renderCounts();
    scrollToBottom();
    showSeen(Number(document.getElementById("message-list").dataset.seenUpTo || 0));
    document.addEventListener("visibilitychange", markReadSoon);
    document.addEventListener("nexus:room-shown", markReadSoon); // chat.js: the message pane is back on screen.
    var scroller = document.getElementById("room-body");
    if (scroller) scroller.addEventListener("scroll", function () { if (nearBottom(scroller)) markReadSoon(); });
    // A refreshed sidebar brings its own counts and mute flags.
    document.addEventListener("htmx:afterSettle", function (event) {
      if (event.target && event.target.id === "chat-sidebar") { readSidebar(); renderCounts(); }
    });
  }

  // Composer: Enter sends, Shift+Enter is a new line; typing is announced at most every 2 s.
  var typingSentAt = 0;
  document.addEventListener("keydown", function (event) {
    var area = event.target;
    if (!area.matches || !area.matches(".composer textarea, .edit-form textarea")) return;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      area.form.requestSubmit();
    }
  });
  document.addEventListener("input", function (event) {
    if (!room || !event.target.matches || !event.target.matches(".composer textarea")) return;
    var now = Date.now();
    if (now - typingSentAt > 2000 && event.target.value) {
      typingSentAt = now;
      send({ type: "chat.typing", conversation: roomId });
    }
  });
  document.addEventListener("change", function (event) {
    if (!event.target.matches || !event.target.matches(".composer input[type=file]")) return;
    var name = event.target.form.querySelector(".file-name");
    if (name) name.textContent = event.target.files.length ? event.target.files[0].name : "";
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !event.detail.successful) return;
    if (form.matches(".composer")) {
      form.reset();
      var name = form.querySelector(".file-name");
      if (name) name.textContent = "";
      typingSentAt = 0;
    }
    if (form.matches(".edit-form")) {
      // The edited message comes back over the socket; the form's place is taken by it.
      var message = form.closest(".msg");
      if (message) form.remove();
    }
  });
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest && event.target.closest("[data-cancel-edit]");
    if (!cancel) return;
    event.preventDefault();
    window.location.reload();
  });

  // ---- Subscriptions: a part marked data-subscribe="<topic>" data-subscribe-id="<id>" follows that object ----
  // The server sends fragments for an object (an activity's timeline entries, an update's acknowledgements) only
  // to sockets that subscribed to it, so no other page gets a fragment it has no place for. A change that
  // arrives before the subscription is confirmed may have brought something this page missed: the JSON event
  // named by data-subscribe-changed (default "<topic>.changed", carrying the object's id) marks the part stale,
  // and it fetches itself (hx-get) once the subscription is confirmed.
  var confirmed = {};
  var stale = {};
  var watchedEvents = {};

  function followed(root) {
    var parts = Array.prototype.slice.call((root || document).querySelectorAll("[data-subscribe]"));
    if (root && root.matches && root.matches("[data-subscribe]")) parts.unshift(root);
    return parts.map(function (part) {
      return {
        part: part, topic: part.dataset.subscribe, id: Number(part.dataset.subscribeId),
        changed: part.dataset.subscribeChanged || part.dataset.subscribe + ".changed"
      };
    });
  }
  function topicKey(topic, id) { return topic + ":" + id; }

  function watchChanges(item) {
    if (watchedEvents[item.changed]) return;
    watchedEvents[item.changed] = true;
    document.addEventListener("nexus:" + item.changed, function (event) {
      followed().forEach(function (other) {
        if (other.changed !== item.changed || other.id !== Number(event.detail.id)) return;
        var name = topicKey(other.topic, other.id);
        if (!confirmed[name]) stale[name] = true;
      });
    });
  }
  function subscribe(items) {
    var asked = {};
    items.forEach(function (item) {
      watchChanges(item);
      var name = topicKey(item.topic, item.id);
      if (asked[name]) return;
      asked[name] = true;
      send({ type: "subscribe", topic: item.topic, id: item.id });
    });
  }
  document.addEventListener("nexus:socket-open", function () {
    confirmed = {};
    followed().forEach(function (item) { delete item.part.dataset.subscribed; });
    subscribe(followed());
  });
  document.addEventListener("nexus:subscribed", function (event) {
    var name = topicKey(event.detail.topic, event.detail.id);
    confirmed[name] = true;
    var refresh = stale[name];
    delete stale[name];
    followed().forEach(function (item) {
      if (topicKey(item.topic, item.id) !== name) return;
      item.part.dataset.subscribed = "true";
      if (refresh && item.part.id && item.part.getAttribute("hx-get")) {
        window.htmx.ajax("GET", item.part.getAttribute("hx-get"), { target: "#" + item.part.id, swap: "outerHTML" });
      }
    });
  });
  // A part swapped in later (a refresh, new content) keeps or starts its subscription.
  document.addEventListener("htmx:load", function (event) {
    var fresh = followed(event.target).filter(function (item) {
      if (!confirmed[topicKey(item.topic, item.id)]) return true;
      item.part.dataset.subscribed = "true";
      return false;
    });
    if (fresh.length && socket && socket.readyState === 1) subscribe(fresh);
  });

  // ---- Updates: the open feed offers what was published since it loaded ----------
  // The toast comes with the notification; the banner's link (htmx or plain) loads the newest cards.
  document.addEventListener("nexus:updates.published", function () {
    var banner = document.getElementById("updates-new");
    if (banner) banner.hidden = false;
  });

  // An open update reloads its comments when someone comments (unless a reply is being written there:
  // posting it brings the whole thread anyway), and says so when its author edits it.
  function refreshComments(updateId) {
    var comments = document.getElementById("comments");
    if (!comments || (updateId !== null && comments.dataset.update !== String(updateId))) return;
    var writing = Array.prototype.some.call(comments.querySelectorAll("textarea"), function (box) {
      return box.value.trim() !== "";
    });
    if (!writing) htmx.ajax("GET", comments.dataset.refresh, { target: "#comments", swap: "outerHTML" });
  }
  document.addEventListener("nexus:updates.comment", function (event) {
    refreshComments(event.detail.id);
  });
  document.addEventListener("nexus:reconnected", function () {
    refreshComments(null);
  });
  document.addEventListener("nexus:updates.changed", function (event) {
    var notice = document.getElementById("update-changed");
    if (notice && notice.dataset.update === String(event.detail.id)) notice.hidden = false;
  });

  // ---- Machines: status follows live; open pages fetch again what changed ---------
  // `machines.status` recolours every grid card, map node and status pill of the machine at once. Parts marked
  // data-machine-refresh (for one data-machine, or for all) fetch themselves again after `machines.changed`, after a
  // change of an activity they show and after a reconnect; data-machine-layout parts (the map) only when machines or
  // flows themselves changed. A part fetches at once, then at most every 2 s while changes keep coming, and waits
  // while someone is typing in it.
  document.addEventListener("nexus:machines.status", function (event) {
    var detail = event.detail;
    document.querySelectorAll('[data-machine-status="' + Number(detail.machine) + '"]').forEach(function (el) {
      el.dataset.status = detail.status;
      el.querySelectorAll(".status-label").forEach(function (label) { label.textContent = detail.label; });
      var title = el.querySelector("title");
      if (title) title.textContent = title.textContent.replace(/: [^:]*$/, ": " + detail.label);
    });
  });
  var REFRESH_EVERY = 2000;
  var refreshes = {};
  function busy(part) {
    return Array.prototype.some.call(part.querySelectorAll("textarea, input[type=text], input[type=file]"), function (box) {
      return box.type === "file" ? box.files.length > 0 : box.value.trim() !== "";
    });
  }
  function refreshPart(id) {
    var state = refreshes[id];
    var part = document.getElementById(id);
    state.timer = null;
    if (!part) return;
    if (busy(part)) { state.timer = setTimeout(function () { refreshPart(id); }, REFRESH_EVERY); return; }
    state.last = Date.now();
    window.htmx.ajax("GET", part.dataset.machineRefresh, { target: "#" + id, swap: "outerHTML" });
  }
  function refreshMachineParts(select) {
    document.querySelectorAll("[data-machine-refresh]").forEach(function (part) {
      if (!part.id || !select(part)) return;
      var state = refreshes[part.id] || (refreshes[part.id] = { last: 0, timer: null });
      if (state.timer) return; // Already due: that fetch will bring this change too.
      var wait = Math.max(0, state.last + REFRESH_EVERY - Date.now());
      state.timer = setTimeout(function () { refreshPart(part.id); }, wait);
    });
  }
  document.addEventListener("nexus:machines.changed", function (event) {
    var machine = String(event.detail.machine);
    var layout = Boolean(event.detail.layout);
    refreshMachineParts(function (part) {
      if (part.hasAttribute("data-machine-layout")) return layout;
      return !part.dataset.machine || part.dataset.machine === machine;
    });
  });
  document.addEventListener("nexus:activity.changed", function (event) {
    if (event.detail.header === false) return; // A comment: nothing a machine's part shows.
    var activity = String(event.detail.id);
    refreshMachineParts(function (part) {
      return part.querySelector('[data-activity="' + activity + '"]') !== null;
    });
  });
  document.addEventListener("nexus:reconnected", function () {
    refreshMachineParts(function () { return true; });
  });

  // ---- Dates: relative times stay true -------------------------------------------
  // Every date is a <time data-relative datetime="..."> written by nexus/dates.py ("5 min ago", "yesterday 14:05",
  // "3 Dec 14:05"). Live fragments are rendered once for many viewers and cached pages are older than they look,
  // so the text is written again here from the datetime, with the same rules, in the organization's zone
  // (<html data-tz>): each minute, when the tab comes back, and for every <time> a swap or a frame adds.
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var MINUTE = 60000, HOUR = 3600000;
  var zoneParts = (function () {
    var options = { year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", hourCycle: "h23" };
    var format;
    try {
      format = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: document.documentElement.dataset.tz || undefined }, options));
    } catch (error) {
      format = new Intl.DateTimeFormat("en-GB", options); // An unknown zone: the browser's own.
    }
    return function (date) {
      var parts = {};
      format.formatToParts(date).forEach(function (part) { parts[part.type] = Number(part.value); });
      return { y: parts.year, m: parts.month, d: parts.day, hh: parts.hour % 24, mm: parts.minute };
    };
  })();

  function dayNumber(p) { return Math.round(Date.UTC(p.y, p.m - 1, p.d) / 86400000); }
  function clock(p) { return (p.hh < 10 ? "0" : "") + p.hh + ":" + (p.mm < 10 ? "0" : "") + p.mm; }
  function dayText(p, today) { return p.d + " " + MONTHS[p.m - 1] + (p.y === today.y ? "" : " " + p.y); }

  function relativeText(value, now) {
    var delta = now - value;
    var local = zoneParts(value), today = zoneParts(now);
    var days = dayNumber(local) - dayNumber(today);
    if (Math.abs(delta) < MINUTE) return "just now";
    if (delta > 0) {
      if (delta < HOUR) return Math.floor(delta / MINUTE) + " min ago";
      if (days === 0) return Math.floor(delta / HOUR) + " h ago";
      if (days === -1) return "yesterday " + clock(local);
    } else {
      if (-delta < HOUR) return "in " + Math.floor(-delta / MINUTE) + " min";
      if (days === 0) return "in " + Math.floor(-delta / HOUR) + " h";
      if (days === 1) return "tomorrow " + clock(local);
    }
    return local.y === today.y ? dayText(local, today) + " " + clock(local) : dayText(local, today);
  }

  function dateText(iso, now) {
    var bits = iso.split("-").map(Number);
    var day = { y: bits[0], m: bits[1], d: bits[2] }, today = zoneParts(now);
    var names = { "0": "today", "-1": "yesterday", "1": "tomorrow" };
    return names[String(dayNumber(day) - dayNumber(today))] || dayText(day, today);
  }

  function refreshTimes(elements) {
    var now = new Date();
    Array.prototype.forEach.call(elements, function (el) {
      var iso = el.getAttribute("datetime") || "";
      var text;
      if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) text = dateText(iso, now);
      else {
        var value = new Date(iso);
        if (isNaN(value.getTime())) return;
        text = relativeText(value, now);
      }
      if (el.textContent !== text) el.textContent = text;
    });
  }
  function refreshAllTimes() { refreshTimes(document.querySelectorAll("time[data-relative]")); }
  window.nexusDates = { relativeText: relativeText, dateText: dateText, refresh: refreshAllTimes };

  refreshAllTimes();
  setInterval(refreshAllTimes, MINUTE);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refreshAllTimes(); });
  new MutationObserver(function (records) {
    records.forEach(function (record) {
      Array.prototype.forEach.call(record.addedNodes, function (node) {
        if (node.nodeType !== 1) return;
        if (node.matches("time[data-relative]")) refreshTimes([node]);
        else refreshTimes(node.querySelectorAll("time[data-relative]"));
      });
    });
  }).observe(body, { childList: true, subtree: true });

  // ---- Board: static/js/activities.js (drag and drop, tabs on a phone, load more) --------------------

  connect();
})();
