// Places Nudge in Gmail: the side panel beside an open thread and a Sequences button in each
// compose window. The panel and the compose dialog are the extension's own pages in iframes, so
// Gmail's page can't read them (or the token, which stays in the service worker).
(function () {
  const PANEL_ID = "nudge-side-panel";
  let lastThreadKey = null;

  function frame(page, params) {
    const iframe = document.createElement("iframe");
    iframe.src = chrome.runtime.getURL(page) + "?" + new URLSearchParams(params);
    return iframe;
  }

  function syncPanel() {
    const thread = NudgeGmail.openThread();
    const key = thread && thread.participants.length ? JSON.stringify(thread) : null;
    if (key === lastThreadKey) return;
    lastThreadKey = key;
    document.getElementById(PANEL_ID)?.remove();
    if (!key) return;
    const iframe = frame("panel.html", {people: JSON.stringify(thread.participants), subject: thread.subject});
    iframe.id = PANEL_ID;
    iframe.className = "nudge-panel";
    iframe.title = "Nudge";
    document.body.appendChild(iframe);
  }

  function openCompose(root) {
    document.getElementById("nudge-compose-dialog")?.remove();
    const iframe = frame("compose.html", {people: JSON.stringify(NudgeGmail.composeRecipients(root))});
    iframe.id = "nudge-compose-dialog";
    iframe.className = "nudge-compose";
    iframe.title = "Enroll in a Nudge sequence";
    document.body.appendChild(iframe);
  }

  function syncCompose() {
    for (const {root, toolbar} of NudgeGmail.composeWindows()) {
      if (toolbar.querySelector(".nudge-sequences-button")) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "nudge-sequences-button";
      button.textContent = "Sequences";
      button.addEventListener("click", () => openCompose(root));
      const cell = document.createElement("td");
      cell.appendChild(button);
      toolbar.appendChild(cell);
    }
  }

  // The compose dialog closes itself by telling us; only that iframe's messages count.
  window.addEventListener("message", (event) => {
    const dialog = document.getElementById("nudge-compose-dialog");
    if (dialog && event.source === dialog.contentWindow && event.data && event.data.nudge === "close") dialog.remove();
  });

  const sync = () => {
    syncPanel();
    syncCompose();
  };
  new MutationObserver(sync).observe(document.body, {childList: true, subtree: true});
  sync();
})();
