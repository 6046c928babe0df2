// The side panel beside an open thread: the other participant as a Nudge contact (or Create
// contact, prefilled), their company, owner and enrollment with Pause / Resume / Unenroll, and
// Enroll in a sequence. The Outlook task pane (/addin/outlook/) runs this same file.
const root = document.getElementById("panel");
const el = Nudge.el;
let people = [];
const LIVE = ["scheduled", "active", "paused"];

async function start() {
  const status = await Nudge.send({type: "status"});
  if (!status.connected) return Nudge.notConnected(root);
  people = Nudge.people();
  const picker = document.getElementById("person");
  if (people.length > 1) {
    picker.hidden = false;
    picker.replaceChildren(...people.map((p, i) => el("option", {value: i, text: p.name ? p.name + " <" + p.email + ">" : p.email})));
    picker.addEventListener("change", () => showPerson(people[picker.value]));
  }
  if (!people.length) return root.replaceChildren(el("p", {class: "muted", text: "No one else is in this email."}));
  showPerson(people[0]);
}

async function showPerson(person) {
  root.replaceChildren(el("p", {class: "muted", text: "Looking up " + person.email + "…"}));
  const found = await Nudge.contactByEmail(person.email);
  if (found.error) return root.replaceChildren(el("p", {class: "error", role: "alert", text: found.error}));
  if (!found.contact) return createForm(person);
  showContact(found.contact);
}

function createForm(person) {
  const name = Nudge.splitName(person.name);
  const error = el("p", {class: "error", role: "alert", hidden: true});
  const field = (id, label, value, type = "text") => [el("label", {for: id, text: label}), el("input", {id, name: id, type, value})];
  const form = el("form", {id: "create-contact", class: "card"},
    el("h2", {text: person.email + " isn't in Nudge"}),
    field("first_name", "First name", name.first_name), field("last_name", "Last name", name.last_name),
    field("email", "Email", person.email, "email"), field("job_title", "Job title", ""),
    error, el("button", {type: "submit", class: "primary"}, "Create contact"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    const answer = await Nudge.createContact(data);
    if (answer.status !== 201) {
      error.hidden = false;
      const fields = answer.body && answer.body.fields ? Object.values(answer.body.fields).flat().join(" ") : "";
      error.textContent = Nudge.refusal(answer) + (fields && fields !== Nudge.refusal(answer) ? " " + fields : "");
      return;
    }
    showContact(answer.body);
  });
  root.replaceChildren(form);
}

async function named(path, pick) {
  const answer = await Nudge.api("GET", path);
  return answer.status === 200 ? pick(answer.body) : null;
}

async function showContact(contact) {
  const fullName = [contact.first_name, contact.last_name].filter(Boolean).join(" ") || contact.email;
  const [company, owner, enrollments] = await Promise.all([
    contact.company ? named("/companies/" + contact.company + "/", (c) => c.name) : null,
    contact.owner ? named("/users/" + contact.owner + "/", (u) => [u.first_name, u.last_name].filter(Boolean).join(" ") || u.username) : null,
    Nudge.api("GET", "/enrollments/?contact=" + contact.id),
  ]);
  const card = el("section", {class: "card", "data-testid": "contact-card", "data-contact": contact.id},
    el("h2", {text: fullName}),
    el("p", {class: "muted", text: [contact.job_title, contact.email].filter(Boolean).join(" · ")}),
    el("dl", {},
      el("dt", {text: "Company"}), el("dd", {"data-testid": "company", text: company || "—"}),
      el("dt", {text: "Owner"}), el("dd", {"data-testid": "owner", text: owner || "—"})));
  const standing = ["email_bounced", "unsubscribed", "unsubscribed_sales", "marked_spam"].filter((f) => contact[f]);
  if (standing.length) card.append(el("p", {class: "warning", text: "Email standing: " + standing.join(", ").replace(/_/g, " ") + "."}));
  const live = enrollments.status === 200 ? enrollments.body.results.filter((e) => LIVE.includes(e.status)) : [];
  const section = el("section", {class: "card", id: "enrollment"});
  if (live.length) {
    for (const enrollment of live) section.append(await enrollmentBox(enrollment, contact));
  } else {
    section.append(el("p", {class: "muted", "data-testid": "no-enrollment", text: "Not in one of your sequences."}));
  }
  const enrollArea = el("div", {id: "enroll-area"});
  const enrollButton = el("button", {type: "button", class: "primary", id: "enroll-open"}, "Enroll in a sequence");
  enrollButton.addEventListener("click", () => {
    enrollButton.hidden = true;
    Enroll.mount(enrollArea, [{email: contact.email, name: fullName, contactId: contact.id}], {onDone: () => setTimeout(() => showContact(contact), 1500)});
  });
  root.replaceChildren(card, section, enrollButton, enrollArea);
}

async function enrollmentBox(enrollment, contact) {
  const sequence = await named("/sequences/" + enrollment.sequence + "/", (s) => s.name);
  const next = enrollment.steps.find((s) => ["pending", "scheduled", "deferred", "task_open"].includes(s.status));
  const error = el("p", {class: "error", role: "alert", hidden: true});
  const act = (verb) => async () => {
    const answer = await Nudge.api("POST", "/enrollments/" + enrollment.id + "/" + verb + "/");
    if (answer.status !== 200) {
      error.hidden = false;
      error.textContent = Nudge.refusal(answer);
      return;
    }
    showContact(contact);
  };
  const buttons = el("div", {class: "actions"},
    enrollment.status === "paused"
      ? el("button", {type: "button", onclick: act("resume")}, "Resume")
      : el("button", {type: "button", onclick: act("pause")}, "Pause"),
    el("button", {type: "button", class: "danger", onclick: act("unenroll")}, "Unenroll"));
  return el("div", {"data-testid": "enrollment", "data-enrollment": enrollment.id, "data-status": enrollment.status},
    el("h3", {text: sequence || "Sequence " + enrollment.sequence}),
    el("p", {}, el("span", {class: "badge", "data-testid": "enrollment-status", text: enrollment.status}),
      next ? " Next: step " + next.order + " (" + next.type.replace(/_/g, " ") + "), " + Nudge.when(enrollment.next_action_at || next.scheduled_for, enrollment.time_zone) : ""),
    buttons, error);
}

(globalThis.NudgeHost ? NudgeHost.ready : Promise.resolve()).then(start);
