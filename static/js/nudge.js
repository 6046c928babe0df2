/* Nudge page behaviour: dialogs, the mobile menu, row selection and bulk bars.
   Everything degrades to plain links and forms; htmx does the partial updates. */
(function () {
  "use strict";

  // ---- Dialogs: <button data-open-dialog="id">, <button data-close-dialog>.
  // showModal() makes the rest of the page inert (focus stays in the dialog)
  // and Esc closes it; focus returns to the button that opened it.
  function openDialog(dialog, opener) {
    if (!dialog || dialog.open) return;
    dialog._opener = opener || document.activeElement;
    dialog.showModal();
    var first = dialog.querySelector("[autofocus], input:not([type=hidden]), select, textarea, button:not(.close-x)");
    if (first) first.focus();
  }
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      event.preventDefault();
      var menu = opener.closest("details.menu");
      if (menu) menu.removeAttribute("open");
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && opener.dataset.fill) {
        // data-fill='{"input-name": "value"}' presets fields of the dialog's form.
        var values = JSON.parse(opener.dataset.fill);
        Object.keys(values).forEach(function (name) {
          dialog.querySelectorAll('[name="' + name + '"]').forEach(function (field) { field.value = values[name]; });
        });
      }
      openDialog(dialog, opener);
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      event.preventDefault();
      closer.closest("dialog").close();
    }
  });
  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (dialog.tagName === "DIALOG" && dialog._opener && document.contains(dialog._opener)) dialog._opener.focus();
  }, true);
  // A click on the backdrop (outside the dialog box) closes it.
  document.addEventListener("mousedown", function (event) {
    if (event.target.tagName === "DIALOG" && event.target.open) {
      var box = event.target.getBoundingClientRect();
      var inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) event.target.close();
    }
  });
  // Open a dialog on page load: <dialog data-open-on-load>.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("dialog[data-open-on-load]").forEach(function (d) { openDialog(d); });
  });

  // ---- <select data-autosubmit> submits its form when changed (no inline handlers: the CSP forbids them).
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-autosubmit]") && event.target.form) {
      event.target.form.requestSubmit ? event.target.form.requestSubmit() : event.target.form.submit();
    }
  });

  // ---- <input data-select-on-focus> selects its text when focused (a token to copy).
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  // ---- Menus (<details class="menu">) close on Esc and outside clicks.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.removeAttribute("open");
        var summary = menu.querySelector("summary");
        if (summary) summary.focus();
      });
    }
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  // ---- Mobile navigation.
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-nav-toggle]")) document.body.classList.toggle("nav-open");
    else if (!event.target.closest(".sidebar")) document.body.classList.remove("nav-open");
  });

  // ---- Row selection: <form data-selection> with .row-check boxes, a
  // [data-check-all] box, a [data-bulk-bar] and an optional select-all banner.
  function updateSelection(form) {
    var boxes = Array.prototype.slice.call(form.querySelectorAll(".row-check"));
    var checked = boxes.filter(function (b) { return b.checked; });
    var all = form.querySelector("[data-check-all]");
    if (all) {
      all.checked = boxes.length > 0 && checked.length === boxes.length;
      all.indeterminate = checked.length > 0 && checked.length < boxes.length;
    }
    var scope = form.querySelector("[name=scope]");
    var banner = form.querySelector("[data-select-all-banner]");
    if (banner) banner.hidden = !(all && all.checked) || scope.value === "all";
    if (scope && scope.value === "all" && !(all && all.checked)) setScope(form, "page");
    var bar = form.querySelector("[data-bulk-bar]");
    var count = scope && scope.value === "all" ? form.dataset.total : String(checked.length);
    if (bar) {
      bar.hidden = checked.length === 0;
      bar.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = count; });
    }
  }
  function setScope(form, value) {
    var scope = form.querySelector("[name=scope]");
    scope.value = value;
    var allBanner = form.querySelector("[data-all-selected-banner]");
    if (allBanner) allBanner.hidden = value !== "all";
    var banner = form.querySelector("[data-select-all-banner]");
    if (banner && value === "all") banner.hidden = true;
    updateCount(form);
  }
  function updateCount(form) {
    var scope = form.querySelector("[name=scope]");
    var checked = form.querySelectorAll(".row-check:checked").length;
    var count = scope && scope.value === "all" ? form.dataset.total : String(checked);
    form.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = count; });
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-selection]");
    if (!form) return;
    if (event.target.matches("[data-check-all]")) {
      form.querySelectorAll(".row-check").forEach(function (b) { b.checked = event.target.checked; });
    }
    if (event.target.matches(".row-check, [data-check-all]")) updateSelection(form);
  });
  document.addEventListener("click", function (event) {
    var pick = event.target.closest("[data-select-all]");
    if (pick) {
      event.preventDefault();
      setScope(pick.closest("form"), "all");
    }
    var clear = event.target.closest("[data-clear-selection]");
    if (clear) {
      event.preventDefault();
      var form = clear.closest("form");
      form.querySelectorAll(".row-check, [data-check-all]").forEach(function (b) { b.checked = false; });
      setScope(form, "page");
      updateSelection(form);
    }
  });
  // "Select" on hover in a row ticks that row.
  document.addEventListener("click", function (event) {
    var select = event.target.closest("[data-select-row]");
    if (!select) return;
    event.preventDefault();
    var box = select.closest("tr").querySelector(".row-check");
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // ---- Client-side filter of a list: <input data-filter-list="#list-id">.
  document.addEventListener("input", function (event) {
    var target = event.target.getAttribute("data-filter-list");
    if (!target) return;
    var needle = event.target.value.trim().toLowerCase();
    document.querySelectorAll(target + " > li").forEach(function (li) {
      li.hidden = needle !== "" && li.textContent.toLowerCase().indexOf(needle) === -1;
    });
  });

  // ---- Show a hidden element: <button data-reveal="id">.
  document.addEventListener("click", function (event) {
    var revealer = event.target.closest("[data-reveal]");
    if (!revealer) return;
    event.preventDefault();
    var el = document.getElementById(revealer.getAttribute("data-reveal"));
    if (el) {
      el.hidden = false;
      var input = el.querySelector("input, textarea, select");
      if (input) input.focus();
    }
  });

  // ---- Toggle blocks by a radio/select value: <div data-show-when="name=value">.
  function syncShowWhen(root) {
    (root || document).querySelectorAll("[data-show-when]").forEach(function (el) {
      var parts = el.getAttribute("data-show-when").split("=");
      var form = el.closest("form") || document;
      var field = form.querySelector('[name="' + parts[0] + '"]:checked') || form.querySelector('select[name="' + parts[0] + '"]');
      var value = field ? field.value : "";
      el.hidden = parts[1].split("|").indexOf(value) === -1;
    });
  }
  document.addEventListener("change", function () { syncShowWhen(); });
  document.addEventListener("DOMContentLoaded", function () { syncShowWhen(); });
  document.addEventListener("htmx:afterSettle", function (event) { syncShowWhen(event.target); });

  // ---- Confirm before a destructive submit: <button data-confirm="Sure?">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  window.Nudge = { openDialog: openDialog };
})();
