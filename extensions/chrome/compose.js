// The compose window's Sequences dialog: enroll the recipients (one contact each; more than one
// needs Nudge's bulk permission, at most 50 — Nudge decides and says so).
const people = Nudge.people();
document.getElementById("close").addEventListener("click", () => parent.postMessage({nudge: "close"}, "*"));

(async () => {
  const root = document.getElementById("compose");
  const status = await Nudge.send({type: "status"});
  if (!status.connected) return Nudge.notConnected(root);
  if (!people.length) return root.replaceChildren(Nudge.el("p", {class: "error", role: "alert", text: "Add recipients to the email first."}));
  document.getElementById("recipients").textContent = "Recipients: " + people.map((p) => p.email).join(", ");
  Enroll.mount(root, people, {allowCreate: true});
})();
