// The service worker: the only holder of the Nudge token (chrome.storage.local) and the only code
// that calls Nudge. Extension pages (options, panel, compose) ask it by message; content scripts,
// which share Gmail's page, may not (they only read Gmail's markup and place the panel).

const EXTENSION_PAGE = chrome.runtime.getURL("");

async function stored() {
  return chrome.storage.local.get(["nudgeUrl", "token", "user", "pendingState"]);
}

function randomState() {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function nudgeOrigin(address) {
  let url;
  try {
    url = new URL(address.trim());
  } catch (error) {
    return null;
  }
  return ["http:", "https:"].includes(url.protocol) ? url.origin : null;
}

async function api({method = "GET", path, body}) {
  const {nudgeUrl, token} = await stored();
  if (!token) return {status: 401, body: {code: "NOT_CONNECTED", message: "Connect Nudge first."}};
  let response;
  try {
    response = await fetch(nudgeUrl + "/api/v1" + path, {
      method,
      headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json", "Accept": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
  } catch (error) {
    return {status: 0, body: {code: "UNREACHABLE", message: "Nudge at " + nudgeUrl + " didn't answer."}};
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch (error) {
    parsed = {code: "BAD_ANSWER", message: "Nudge answered something that isn't JSON (" + response.status + ")."};
  }
  if (response.status === 401) {
    // Revoked in Settings, or the user was deactivated: forget the token, show Connect again.
    await chrome.storage.local.remove(["token", "user"]);
  }
  return {status: response.status, body: parsed};
}

async function handle(message) {
  switch (message.type) {
    case "status": {
      const {nudgeUrl, token, user} = await stored();
      return {connected: Boolean(token), nudgeUrl: nudgeUrl || "", user: user || ""};
    }
    case "connect": {
      const origin = nudgeOrigin(message.address || "");
      if (!origin) return {ok: false, error: "Enter Nudge's address, e.g. https://nudge.example.com."};
      const state = randomState();
      await chrome.storage.local.set({nudgeUrl: origin, pendingState: state});
      const query = new URLSearchParams({client: "gmail", extension: chrome.runtime.id, state});
      await chrome.tabs.create({url: origin + "/connect/extension/?" + query});
      return {ok: true};
    }
    case "disconnect": {
      const answer = await api({method: "DELETE", path: "/private-apps/current/"});
      await chrome.storage.local.remove(["token", "user"]);
      return {ok: answer.status === 204 || answer.status === 401, status: answer.status};
    }
    case "api":
      return api(message);
    default:
      return {status: 400, body: {code: "UNKNOWN_MESSAGE", message: "Unknown message."}};
  }
}

chrome.runtime.onMessage.addListener((message, sender, reply) => {
  if (!sender.url || !sender.url.startsWith(EXTENSION_PAGE)) {
    reply({status: 403, body: {code: "NOT_ALLOWED", message: "Only the extension's own pages talk to Nudge."}});
    return false;
  }
  handle(message).then(reply);
  return true;
});

// Nudge's connect page hands the token over here. Only pages of the origins in the manifest's
// externally_connectable can send; we also require the origin the rep chose and the state we made.
chrome.runtime.onMessageExternal.addListener((message, sender, reply) => {
  (async () => {
    const {nudgeUrl, pendingState} = await stored();
    if (message.type !== "nudge-connected" || typeof message.token !== "string") {
      return reply({ok: false, error: "Unknown message."});
    }
    if (!pendingState || message.state !== pendingState) {
      return reply({ok: false, error: "This extension didn't ask for this approval: start again from its Connect button."});
    }
    if (!sender.url || new URL(sender.url).origin !== nudgeUrl) {
      return reply({ok: false, error: "The approval came from another address than the one you entered."});
    }
    await chrome.storage.local.set({token: message.token, user: message.user || ""});
    await chrome.storage.local.remove("pendingState");
    return reply({ok: true});
  })();
  return true;
});
