/* Rich-text email bodies: Quill with formatting, links, and Nudge's own tools —
   a token picker, snippets, documents and video links.
   Markup: <input type="hidden" id="X"> + <div data-rich-editor="X" data-tools="tokens,snippets,documents,video">.
   Data: a json_script "editor-data" with {tokens: [...], snippets: [{name, body_html}], documents: [{name, url}]}. */
(function () {
  "use strict";

  function editorData() {
    var el = document.getElementById("editor-data");
    try { return el ? JSON.parse(el.textContent) || {} : {}; } catch (e) { return {}; }
  }

  // A field rendered with data-name (not name) is only submitted once edited,
  // so an untouched field never becomes an "edit" of the sequence's text.
  function markEdited(field) {
    if (field && field.dataset && field.dataset.name && !field.name) field.name = field.dataset.name;
  }
  document.addEventListener("input", function (event) { markEdited(event.target); });
  document.addEventListener("change", function (event) { markEdited(event.target); }, true);

  function option(select, value, label) {
    var opt = document.createElement("option");
    opt.value = value;
    opt.textContent = label;
    select.appendChild(opt);
  }

  function addTools(quill, holder, tools, data) {
    var toolbar = holder.previousElementSibling; // Quill puts its toolbar right before the container.
    if (!toolbar || !toolbar.classList.contains("ql-toolbar")) return;
    var extra = document.createElement("span");
    extra.className = "editor-extra";
    toolbar.appendChild(extra);
    var label = holder.getAttribute("aria-label") || "Email body";

    function insertHtml(html) {
      var range = quill.getSelection(true);
      quill.clipboard.dangerouslyPasteHTML(range ? range.index : quill.getLength(), html, "user");
    }
    function insertText(text, format) {
      var range = quill.getSelection(true);
      var index = range ? range.index : quill.getLength() - 1;
      quill.insertText(index, text, format || {}, "user");
      quill.setSelection(index + text.length, 0, "user");
    }

    if (tools.indexOf("tokens") !== -1 && (data.tokens || []).length) {
      var tokens = document.createElement("select");
      tokens.setAttribute("aria-label", "Insert a personalisation token into " + label);
      tokens.setAttribute("data-token-picker", "");
      option(tokens, "", "Insert token");
      data.tokens.forEach(function (t) { option(tokens, t, t); });
      tokens.addEventListener("change", function () {
        if (tokens.value) insertText("{{ " + tokens.value + " }}");
        tokens.value = "";
      });
      extra.appendChild(tokens);
    }
    if (tools.indexOf("snippets") !== -1 && (data.snippets || []).length) {
      var snippets = document.createElement("select");
      snippets.setAttribute("aria-label", "Insert a snippet into " + label);
      option(snippets, "", "Insert snippet");
      data.snippets.forEach(function (s, i) { option(snippets, String(i), s.name); });
      snippets.addEventListener("change", function () {
        if (snippets.value !== "") insertHtml(data.snippets[Number(snippets.value)].body_html);
        snippets.value = "";
      });
      extra.appendChild(snippets);
    }
    if (tools.indexOf("documents") !== -1 && (data.documents || []).length) {
      var docs = document.createElement("select");
      docs.setAttribute("aria-label", "Insert a document link into " + label);
      option(docs, "", "Insert document");
      data.documents.forEach(function (d, i) { option(docs, String(i), d.name); });
      docs.addEventListener("change", function () {
        if (docs.value !== "") {
          var doc = data.documents[Number(docs.value)];
          insertText(doc.name, { link: doc.url });
        }
        docs.value = "";
      });
      extra.appendChild(docs);
    }
    if (tools.indexOf("video") !== -1) {
      var video = document.createElement("button");
      video.type = "button";
      video.textContent = "▶ Video link";
      video.setAttribute("aria-label", "Insert a video link into " + label);
      video.addEventListener("click", function () {
        var url = window.prompt("Video address (https://…)");
        if (url && /^https?:\/\//i.test(url)) insertText("▶ Watch the video", { link: url });
      });
      extra.appendChild(video);
    }
  }

  function initEditor(holder) {
    if (holder._quill || typeof Quill === "undefined") return;
    var input = document.getElementById(holder.getAttribute("data-rich-editor"));
    if (!input) return;
    var quill = new Quill(holder, {
      theme: "snow",
      modules: { toolbar: [["bold", "italic", "underline"], [{ list: "ordered" }, { list: "bullet" }], ["link", "clean"]] },
    });
    holder._quill = quill;
    quill.clipboard.dangerouslyPasteHTML(input.value || "", "silent");
    quill.root.setAttribute("role", "textbox");
    quill.root.setAttribute("aria-multiline", "true");
    var labelledBy = holder.getAttribute("aria-labelledby");
    if (labelledBy) quill.root.setAttribute("aria-labelledby", labelledBy);
    quill.on("text-change", function (delta, old, source) {
      // root.innerHTML keeps plain spaces (getSemanticHTML turns them into &nbsp;, which breaks tokens).
      input.value = quill.root.innerHTML;
      if (source === "user") markEdited(input);
    });
    var tools = (holder.getAttribute("data-tools") || "").split(",");
    addTools(quill, holder, tools, editorData());
  }

  function initAll(root) {
    (root || document).querySelectorAll("[data-rich-editor]").forEach(initEditor);
  }
  window.NudgeEditor = { initAll: initAll };
  if (window.htmx) htmx.onLoad(function (el) { initAll(el); });
  document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  if (document.readyState !== "loading") initAll(document);
})();
