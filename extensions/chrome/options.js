// Connect once, disconnect (which revokes the token) — the token itself never reaches this page.
const $ = (id) => document.getElementById(id);

async function show() {
  const status = await Nudge.send({type: "status"});
  $("connected").hidden = !status.connected;
  $("connect-form").hidden = status.connected;
  $("connected-url").textContent = status.nudgeUrl;
  $("connected-user").textContent = status.user;
  if (!status.connected && status.nudgeUrl) $("address").value = status.nudgeUrl;
}

$("connect-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await Nudge.send({type: "connect", address: $("address").value});
  $("connect-error").hidden = answer.ok;
  $("connect-error").textContent = answer.error || "";
});

$("disconnect").addEventListener("click", async () => {
  await Nudge.send({type: "disconnect"});
  show();
});

chrome.storage.onChanged.addListener(show);
show();
