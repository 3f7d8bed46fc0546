/* Activities pages: the board (tabs on a phone, columns that keep what was loaded across live refreshes, drag
 * and drop). An open activity's timeline follows it through nexus.js's data-subscribe. Loaded after nexus.js. */
(function () {
  "use strict";

  var Nexus = window.Nexus;

  // ---- Filters: the phone's "Filters" button shows how many are in use, as they change -----------------------
  // The count follows the server's rule (ActivityFilters.active_count): every named field with a value counts
  // once, except the sort, which orders the results and filters nothing.
  function filtersInUse(form) {
    var names = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.name === "sort" || field.disabled) return;
      if ((field.type === "checkbox" || field.type === "radio") && !field.checked) return;
      var chosen = field.tagName === "SELECT"
        ? Array.prototype.some.call(field.selectedOptions, function (option) { return option.value !== ""; })
        : String(field.value).trim() !== "";
      if (chosen) names[field.name] = true;
    });
    return Object.keys(names).length;
  }
  function countFilters(event) {
    var form = event.target.closest && event.target.closest("[data-filter-form]");
    var badge = form && form.parentNode.querySelector("[data-filter-count]");
    if (!badge) return;
    var count = filtersInUse(form);
    badge.textContent = String(count);
    badge.dataset.count = String(count);
    badge.setAttribute("aria-label", count + " in use");
  }
  document.addEventListener("input", countFilters);
  document.addEventListener("change", countFilters);

  // ---- Board ----------------------------------------------------------------------------------------------
  var PAGE_SIZE = 20;
  var TAB_KEY = "nexus.board.tab";
  var restoreScroll = null; // status -> scrollTop, kept across one live refresh of the board

  function setUpTabs(board) {
    var columns = board.querySelectorAll(".board-col");
    if (!columns.length) return;
    board.classList.add("tabbed");
    var wanted = null;
    try { wanted = sessionStorage.getItem(TAB_KEY); } catch (e) { /* Storage may be off. */ }
    if (!board.querySelector('.board-col[data-drop-status="' + wanted + '"]')) wanted = columns[0].dataset.dropStatus;
    showColumn(board, wanted);
  }

  function showColumn(board, status) {
    board.querySelectorAll(".board-col").forEach(function (column) {
      column.classList.toggle("active", column.dataset.dropStatus === status);
    });
    board.querySelectorAll("[data-column-tab]").forEach(function (tab) {
      tab.setAttribute("aria-selected", tab.dataset.columnTab === status ? "true" : "false");
      tab.setAttribute("role", "tab");
    });
    var nav = board.querySelector(".board-tabs");
    if (nav) nav.setAttribute("role", "tablist");
  }

  document.addEventListener("click", function (event) {
    var tab = event.target.closest && event.target.closest("[data-column-tab]");
    if (!tab) return;
    event.preventDefault();
    var board = tab.closest(".board");
    showColumn(board, tab.dataset.columnTab);
    try { sessionStorage.setItem(TAB_KEY, tab.dataset.columnTab); } catch (e) { /* Storage may be off. */ }
    // A column chosen further down the page starts at its top, just below the top bar and the tabs.
    var top = board.getBoundingClientRect().top + window.scrollY - topbarHeight();
    if (window.scrollY > top) window.scrollTo(0, top);
  });

  // The tabs stick below the top bar, whose height depends on the width (it wraps on a phone).
  function topbarHeight() {
    var topbar = document.querySelector(".topbar");
    return topbar ? topbar.offsetHeight : 0;
  }
  function noteTopbarHeight() {
    document.documentElement.style.setProperty("--topbar-height", topbarHeight() + "px");
  }
  noteTopbarHeight();
  window.addEventListener("resize", noteTopbarHeight);

  // A live refresh of the board asks for as many cards per column as are loaded, and keeps each column's scroll.
  document.addEventListener("htmx:configRequest", function (event) {
    var board = event.detail.elt;
    if (!board || board.id !== "board") return;
    var shown = [];
    restoreScroll = {};
    board.querySelectorAll("[data-column-cards]").forEach(function (cards) {
      var count = cards.querySelectorAll(".board-card").length;
      if (count > PAGE_SIZE) shown.push(cards.dataset.columnCards + ":" + count);
      restoreScroll[cards.dataset.columnCards] = cards.scrollTop;
    });
    if (shown.length) event.detail.parameters.shown = shown.join(",");
  });

  function boardArrived(board) {
    setUpTabs(board);
    if (!restoreScroll) return;
    var scrolls = restoreScroll;
    restoreScroll = null;
    board.querySelectorAll("[data-column-cards]").forEach(function (cards) {
      var top = scrolls[cards.dataset.columnCards];
      if (top) cards.scrollTop = top;
    });
  }
  document.addEventListener("htmx:load", function (event) {
    if (event.target && event.target.id === "board") boardArrived(event.target);
  });
  var initial = document.getElementById("board");
  if (initial) setUpTabs(initial);

  // Drag a card onto a column to change its status. The move form on each card does the same without dragging
  // (touch screens, no JavaScript).
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
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-over");
  });
  document.addEventListener("drop", function (event) {
    var column = dragged && event.target.closest && event.target.closest("[data-drop-status]");
    if (!column) return;
    event.preventDefault();
    column.classList.remove("drop-over");
    var card = dragged;
    dragged = null;
    if (card.closest("[data-drop-status]") === column) return;
    var cards = column.querySelector("[data-column-cards]") || column;
    var empty = cards.querySelector(":scope > p.muted");
    if (empty) empty.remove();
    cards.prepend(card);
    window.htmx.ajax("POST", card.dataset.moveUrl, {
      source: card, swap: "none", values: { status: column.dataset.dropStatus }
    });
  });
  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".drop-over").forEach(function (column) { column.classList.remove("drop-over"); });
  });
})();
