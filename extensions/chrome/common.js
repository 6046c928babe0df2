// Shared by the extension's pages: talking to Nudge through the service worker, small DOM helpers.
const Nudge = {
  // In the extension the service worker answers; the Outlook task pane sets NudgeHost instead.
  async send(message) {
    return globalThis.NudgeHost ? NudgeHost.transport(message) : chrome.runtime.sendMessage(message);
  },
  async api(method, path, body) {
    return Nudge.send({type: "api", method, path, body});
  },
  // The sentence for a refusal: Nudge's own message, with its code for the record.
  refusal(answer) {
    const body = answer.body || {};
    return body.message || "Nudge answered " + answer.status + ".";
  },
  el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
    return node;
  },
  people() {
    if (globalThis.NudgeHost) return NudgeHost.people();
    try {
      return JSON.parse(new URLSearchParams(location.search).get("people") || "[]");
    } catch (error) {
      return [];
    }
  },
  splitName(name) {
    const parts = (name || "").trim().split(/\s+/).filter(Boolean);
    return {first_name: parts[0] || "", last_name: parts.slice(1).join(" ")};
  },
  // A time in its zone, e.g. "Tue 1 Dec, 09:30 (Europe/Helsinki)".
  when(iso, zone) {
    if (!iso) return "—";
    const text = new Intl.DateTimeFormat("en-GB", {
      weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: zone || undefined,
    }).format(new Date(iso));
    return text + " (" + (zone || Intl.DateTimeFormat().resolvedOptions().timeZone) + ")";
  },
  // The signed-in rep (GET /users/me/): a contact created here is theirs.
  async me() {
    if (!Nudge._me) {
      const answer = await Nudge.api("GET", "/users/me/");
      Nudge._me = answer.status === 200 ? answer.body : {};
    }
    return Nudge._me;
  },
  async createContact(fields) {
    const me = await Nudge.me();
    return Nudge.api("POST", "/contacts/", {...fields, owner: me.id || null});
  },
  async contactByEmail(email) {
    const answer = await Nudge.api("GET", "/contacts/?email=" + encodeURIComponent(email));
    if (answer.status !== 200) return {error: Nudge.refusal(answer)};
    return {contact: answer.body.results[0] || null};
  },
  // When the service worker says we're not connected, pages show this instead.
  notConnected(root) {
    root.replaceChildren(Nudge.el("div", {class: "card", "data-testid": "not-connected"},
      Nudge.el("p", {text: "Nudge isn't connected."}),
      Nudge.el("button", {class: "primary", type: "button", onclick: () => (globalThis.NudgeHost ? NudgeHost.connect() : chrome.runtime.openOptionsPage())}, "Connect Nudge")));
  },
};
