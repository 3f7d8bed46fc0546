/* Update pages: the form shows only the pickers its audience needs, a people picker with a filter where a click
 * toggles one person, and file inputs as a button with the names of the chosen files. Progressive enhancement:
 * without this script every picker and the browser's own inputs are shown, and the server, which ignores the
 * pickers an audience does not use, stays the truth. Loaded after nexus.js (the receipts block follows its
 * update through nexus.js's data-subscribe). */
(function () {
  "use strict";

  // ---- Audience: a picker marked data-audiences="roles chosen" is shown only for those audiences -------------
  function chosenAudience(box) {
    var checked = box.querySelector("input[name=audience]:checked");
    return checked ? checked.value : "";
  }
  function showPickers(box) {
    var audience = chosenAudience(box);
    box.querySelectorAll("[data-audiences]").forEach(function (picker) {
      var wanted = picker.dataset.audiences.split(" ").indexOf(audience) >= 0;
      // A picker the server refused stays in view, so its error is never hidden.
      picker.hidden = !wanted && !picker.classList.contains("has-error");
    });
  }
  function setUpAudience(root) {
    root.querySelectorAll("[data-audience]").forEach(showPickers);
  }
  document.addEventListener("change", function (event) {
    if (event.target.name !== "audience") return;
    var box = event.target.closest("[data-audience]");
    if (!box) return;
    // Once the person picks again, a refused picker follows the new choice like the others.
    box.querySelectorAll("[data-audiences].has-error").forEach(function (picker) { picker.classList.remove("has-error"); });
    showPickers(box);
  });

  // ---- File pickers: a button-like label, the chosen names, and dropping files on it ------------------------
  function describe(input) {
    var names = Array.prototype.map.call(input.files || [], function (file) { return file.name; });
    var box = input.closest("[data-file-picker]").querySelector("[data-file-names]");
    box.textContent = names.length ? names.join(", ") : box.dataset.empty;
    box.title = names.join("\n");
    box.classList.toggle("chosen", names.length > 0);
  }
  function setUpFilePickers(root) {
    root.querySelectorAll("[data-file-picker]").forEach(function (picker) {
      if (picker.classList.contains("enhanced")) return;
      var input = picker.querySelector("input[type=file]");
      if (!input) return;
      picker.classList.add("enhanced");
      picker.querySelectorAll("[hidden]").forEach(function (part) { part.hidden = false; });
      describe(input);
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.type === "file" && event.target.closest("[data-file-picker].enhanced")) describe(event.target);
  });
  document.addEventListener("dragover", function (event) {
    var picker = event.target.closest && event.target.closest("[data-file-picker].enhanced");
    if (!picker) return;
    event.preventDefault();
    picker.classList.add("drop-over");
  });
  document.addEventListener("dragleave", function (event) {
    var picker = event.target.closest && event.target.closest("[data-file-picker].enhanced");
    if (picker && !picker.contains(event.relatedTarget)) picker.classList.remove("drop-over");
  });
  document.addEventListener("drop", function (event) {
    var picker = event.target.closest && event.target.closest("[data-file-picker].enhanced");
    if (!picker) return;
    event.preventDefault();
    picker.classList.remove("drop-over");
    var input = picker.querySelector("input[type=file]");
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    describe(input);
  });

  // ---- People picker: a filter box, a count of who is chosen, and a click toggles one person ---------------
  // A plain multiple select loses every choice on a click without Ctrl; here a click adds or removes one.
  function describeChosen(select) {
    var count = select.selectedOptions.length;
    var note = select.parentNode.querySelector("[data-chosen-count]");
    if (note) note.textContent = count ? count + (count === 1 ? " person chosen" : " people chosen") : "Nobody chosen";
  }
  function setUpPeoplePickers(root) {
    root.querySelectorAll('[data-field="target_users"] select[multiple]').forEach(function (select) {
      if (select.dataset.enhanced) return;
      select.dataset.enhanced = "true";
      var filter = document.createElement("input");
      filter.type = "search";
      filter.className = "people-filter";
      filter.placeholder = "Filter people";
      filter.setAttribute("aria-label", "Filter people");
      filter.dataset.testid = "people-filter";
      filter.addEventListener("input", function () {
        var words = filter.value.trim().toLowerCase();
        Array.prototype.forEach.call(select.options, function (option) {
          option.hidden = words !== "" && option.text.toLowerCase().indexOf(words) < 0;
        });
      });
      // Enter in the filter must not submit the form.
      filter.addEventListener("keydown", function (event) { if (event.key === "Enter") event.preventDefault(); });
      select.parentNode.insertBefore(filter, select);
      var note = document.createElement("span");
      note.className = "helptext";
      note.dataset.chosenCount = "";
      note.setAttribute("aria-live", "polite");
      select.after(note);
      describeChosen(select);
      select.addEventListener("change", function () { describeChosen(select); });
      select.addEventListener("mousedown", function (event) {
        var option = event.target.closest && event.target.closest("option");
        if (!option || event.ctrlKey || event.metaKey || event.shiftKey) return;
        event.preventDefault();
        var top = select.scrollTop;
        option.selected = !option.selected;
        select.focus();
        select.scrollTop = top;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
  }

  function setUp(root) {
    setUpAudience(root);
    setUpFilePickers(root);
    setUpPeoplePickers(root);
  }
  setUp(document);
  document.addEventListener("htmx:load", function (event) { setUp(event.target); });
})();
