// The connect page's last step: give the new token to the extension that asked, then forget it.
// Only an extension whose manifest lists this Nudge under externally_connectable receives it.
(function () {
  const data = document.getElementById("nudge-handoff");
  const status = document.getElementById("connect-status");
  const {extension, client} = document.getElementById("nudge-extension").dataset;
  const handoff = JSON.parse(data.textContent);
  data.remove();
  const fail = (why) => {
    status.className = "alert alert-error";
    status.setAttribute("role", "alert");
    status.textContent = why + " Revoke the token in Settings → Private apps and connect again.";
  };
  if (client === "outlook") {
    // An Office dialog: messageParent reaches only the task pane that opened it (same domain).
    Office.onReady(() => {
      Office.context.ui.messageParent(JSON.stringify(handoff));
      status.className = "alert alert-success";
      status.textContent = "Connected. This window closes by itself.";
    });
    return;
  }
  if (!(window.chrome && chrome.runtime && chrome.runtime.sendMessage)) {
    fail("The extension isn't installed in this browser, or it was built for another Nudge address.");
    return;
  }
  chrome.runtime.sendMessage(extension, {type: "nudge-connected", origin: location.origin, ...handoff}, (reply) => {
    if (chrome.runtime.lastError || !reply || !reply.ok) {
      fail((reply && reply.error) || "The extension didn't take the token.");
      return;
    }
    status.className = "alert alert-success";
    status.textContent = "Connected. You can close this tab and go back to your inbox.";
  });
})();
