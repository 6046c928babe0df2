/* The sequence editor's steps: add, reorder, delete, switch type. On submit the
   fields are renamed steps-0-…, steps-1-… in the order shown, which is the order saved. */
(function () {
  "use strict";
  var container = document.getElementById("steps");
  var form = document.getElementById("sequence-form");
  var template = document.getElementById("step-template");
  if (!container || !form || !template) return;
  var counter = 1000;

  function steps() { return Array.prototype.slice.call(container.querySelectorAll("[data-step]")); }

  function syncType(card) {
    var type = card.querySelector("[data-step-type]").value;
    card.querySelector("[data-email-fields]").hidden = !(type === "automated_email" || type === "manual_email");
    card.querySelector("[data-task-fields]").hidden = type === "automated_email";
  }

  function renumber() {
    steps().forEach(function (card, index) {
      card.querySelector("[data-step-number]").textContent = String(index + 1);
      card.querySelector("[data-delay]").hidden = index === 0;
      var body = card.querySelector("[data-rich-editor]");
      if (body) body.setAttribute("aria-label", "Body of step " + (index + 1));
    });
  }

  function addStep(type) {
    counter += 1;
    var html = template.innerHTML.replace(/__i__/g, String(counter));
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var card = holder.firstElementChild;
    card.querySelector("[data-step-type]").value = type;
    card.querySelector("[name$='-delay_days']").value = steps().length ? "2" : "0";
    container.appendChild(card);
    syncType(card);
    renumber();
    if (window.NudgeEditor) window.NudgeEditor.initAll(card);
    card.querySelector("[data-step-type]").focus();
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-step]");
    if (add) { addStep(add.getAttribute("data-add-step")); return; }
    var card = event.target.closest("[data-step]");
    if (!card) return;
    var move = event.target.closest("[data-move]");
    if (move) {
      var all = steps();
      var index = all.indexOf(card) + Number(move.getAttribute("data-move"));
      if (index < 0 || index >= all.length) return;
      if (Number(move.getAttribute("data-move")) < 0) container.insertBefore(card, all[index]);
      else container.insertBefore(card, all[index].nextSibling);
      renumber();
      move.focus();
      return;
    }
    if (event.target.closest("[data-delete-step]")) {
      if (steps().length === 1) { window.alert("A sequence needs at least one step."); return; }
      card.remove();
      renumber();
    }
  });
  container.addEventListener("change", function (event) {
    if (event.target.matches("[data-step-type]")) syncType(event.target.closest("[data-step]"));
  });
  form.addEventListener("submit", function () {
    steps().forEach(function (card, index) {
      card.querySelectorAll("[name^='steps-']").forEach(function (field) {
        field.name = field.name.replace(/^steps-[^-]+-/, "steps-" + index + "-");
      });
    });
  });
  steps().forEach(syncType);
  renumber();
})();
