// Nudge for Outlook's task pane (served by Nudge at /addin/outlook/). It reads the open message
// through Office.js and hosts the Gmail panel's own code (extensions/chrome/panel.js and
// enroll.js): the same contact card, enrollment actions and enroll form, and the same sign-in —
// a private app token the rep approves on Nudge's connect page, opened in an Office dialog.
(function () {
  const KEY = "nudge-outlook-token";
  const USER = "nudge-outlook-user";
  let markReady;
  const ready = new Promise((resolve) => (markReady = resolve));

  function people() {
    const mailbox = Office.context.mailbox;
    const item = mailbox.item || {};
    const own = ((mailbox.userProfile && mailbox.userProfile.emailAddress) || "").toLowerCase();
    const seen = new Set([own]);
    return [item.from, ...(item.to || []), ...(item.cc || [])]
      .filter((p) => p && p.emailAddress)
      .map((p) => ({email: p.emailAddress.trim().toLowerCase(), name: (p.displayName || "").trim()}))
      .filter((p) => !seen.has(p.email) && seen.add(p.email))
      .map((p) => ({...p, name: p.name.toLowerCase() === p.email ? "" : p.name}));
  }

  async function api({method = "GET", path, body}) {
    const token = localStorage.getItem(KEY);
    if (!token) return {status: 401, body: {code: "NOT_CONNECTED", message: "Sign in to Nudge first."}};
    const response = await fetch("/api/v1" + path, {
      method,
      headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json", "Accept": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
    const text = await response.text();
    if (response.status === 401) {
      localStorage.removeItem(KEY);
      localStorage.removeItem(USER);
    }
    try {
      return {status: response.status, body: text ? JSON.parse(text) : null};
    } catch (error) {
      return {status: response.status, body: {code: "BAD_ANSWER", message: "Nudge answered " + response.status + "."}};
    }
  }

  async function transport(message) {
    switch (message.type) {
      case "status":
        return {connected: Boolean(localStorage.getItem(KEY)), nudgeUrl: location.origin, user: localStorage.getItem(USER) || ""};
      case "api":
        return api(message);
      case "disconnect": {
        const answer = await api({method: "DELETE", path: "/private-apps/current/"});
        localStorage.removeItem(KEY);
        localStorage.removeItem(USER);
        return {ok: answer.status === 204 || answer.status === 401};
      }
      default:
        return {status: 400, body: {code: "UNKNOWN_MESSAGE", message: "Unknown message."}};
    }
  }

  function connect() {
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    const state = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    const url = location.origin + "/connect/extension/?" + new URLSearchParams({client: "outlook", state});
    Office.context.ui.displayDialogAsync(url, {height: 60, width: 30}, (result) => {
      const dialog = result.value;
      dialog.addEventHandler(Office.EventType.DialogMessageReceived, (arg) => {
        let message;
        try {
          message = JSON.parse(arg.message);
        } catch (error) {
          return;
        }
        if (!message || message.state !== state || typeof message.token !== "string") return;
        localStorage.setItem(KEY, message.token);
        localStorage.setItem(USER, message.user || "");
        dialog.close();
        location.reload();
      });
    });
  }

  window.NudgeHost = {transport, connect, people, ready};
  Office.onReady(() => markReady());

  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("disconnect");
    ready.then(async () => {
      const status = await transport({type: "status"});
      button.hidden = !status.connected;
    });
    button.addEventListener("click", async () => {
      await transport({type: "disconnect"});
      location.reload();
    });
  });
})();
