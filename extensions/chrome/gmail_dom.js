// Everything Nudge reads from Gmail's page lives in this file, so a Gmail markup change is a
// one-file fix. Gmail marks people with an `email` attribute (senders `span.gD`, recipients
// `span.g2`) and compose recipients with `data-hovercard-id`; an open thread has its subject in
// `h2.hP`; a compose window is a `role=dialog` (or inline `.M9`) with its toolbar row `tr.btC`.
(function () {
  const ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

  function person(element, attribute) {
    const email = (element.getAttribute(attribute) || "").trim().toLowerCase();
    if (!ADDRESS.test(email)) return null;
    const name = (element.getAttribute("name") || element.getAttribute("data-name") || element.textContent || "").trim();
    return {email, name: name.toLowerCase() === email ? "" : name};
  }

  function unique(people, exclude) {
    const seen = new Set(exclude ? [exclude] : []);
    return people.filter((p) => p && !seen.has(p.email) && seen.add(p.email));
  }

  // The signed-in Gmail account, from the tab title ("Inbox - rep@example.com - Gmail").
  function account() {
    const match = document.title.match(/[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+/);
    return match ? match[0].toLowerCase() : "";
  }

  // The open thread's subject and the people in it other than the account, or null.
  function openThread() {
    const subject = document.querySelector("h2.hP");
    if (!subject) return null;
    const people = [...document.querySelectorAll("span.gD[email], span.g2[email]")].map((el) => person(el, "email"));
    return {subject: subject.textContent.trim(), participants: unique(people, account())};
  }

  // Each compose window with its toolbar, where the Sequences button goes.
  function composeWindows() {
    return [...document.querySelectorAll("tr.btC")].map((toolbar) => ({
      root: toolbar.closest('[role="dialog"], .M9') || toolbar.closest("table").parentElement,
      toolbar,
    }));
  }

  function composeRecipients(root) {
    const people = [...root.querySelectorAll("[data-hovercard-id]")].map((el) => person(el, "data-hovercard-id"));
    return unique(people, null);
  }

  globalThis.NudgeGmail = {account, openThread, composeWindows, composeRecipients};
})();
