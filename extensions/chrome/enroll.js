// The enroll form of the panel and the compose dialog. Every rule is Nudge's: this sends one
// POST /sequences/{id}/enrollments/ (a dry run first, to ask for missing tokens) and shows each
// refusal with Nudge's own sentence.
const Enroll = {
  mount(root, people, {allowCreate = false, onDone = null} = {}) {
    const el = Nudge.el;
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const zones = Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [zone];
    const byId = new Map();
    const state = {pending: null};

    const search = el("input", {type: "search", id: "sequence-search", placeholder: "Search your own and shared sequences"});
    const select = el("select", {id: "sequence", required: true});
    const startStep = el("input", {type: "number", id: "start-step", min: "1", value: "1", required: true});
    const timeZone = el("input", {type: "text", id: "time-zone", list: "zones", value: zone, required: true});
    const now = el("input", {type: "radio", name: "when", id: "when-now", value: "now", checked: true});
    const later = el("input", {type: "radio", name: "when", id: "when-later", value: "later"});
    const sendAt = el("input", {type: "datetime-local", id: "send-at", "aria-label": "Send the first step at"});
    const create = el("input", {type: "checkbox", id: "create-contacts"});
    const tokens = el("div", {id: "missing-tokens"});
    const result = el("div", {id: "enroll-result", "aria-live": "polite"});
    const submit = el("button", {type: "submit", class: "primary", id: "enroll-submit"}, "Enroll");

    async function loadSequences() {
      const answer = await Nudge.api("GET", "/sequences/?page_size=50&search=" + encodeURIComponent(search.value.trim()));
      if (answer.status !== 200) {
        result.replaceChildren(el("p", {class: "error", role: "alert", text: Nudge.refusal(answer)}));
        return;
      }
      select.replaceChildren(...answer.body.results.map((s) => el("option", {value: s.id, text: s.name})));
      if (!answer.body.results.length) select.append(el("option", {value: "", text: "No sequence matches"}));
    }
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(loadSequences, 250);
    });

    function show(lines) {
      result.replaceChildren(...lines);
    }

    function refusalLine(email, code, message) {
      return el("li", {class: "refusal", "data-testid": "refusal", "data-code": code},
        el("strong", {text: email + ": "}), message);
    }

    async function contactIds() {
      const ids = [];
      const refused = [];
      for (const person of people) {
        let id = person.contactId;
        if (!id) {
          const found = await Nudge.contactByEmail(person.email);
          if (found.error) {
            refused.push(refusalLine(person.email, "LOOKUP_FAILED", found.error));
            continue;
          }
          id = found.contact && found.contact.id;
        }
        if (!id && create.checked) {
          const answer = await Nudge.createContact({email: person.email, ...Nudge.splitName(person.name)});
          if (answer.status === 201) id = answer.body.id;
          else refused.push(refusalLine(person.email, answer.body && answer.body.code, Nudge.refusal(answer)));
        } else if (!id) {
          refused.push(refusalLine(person.email, "NOT_A_CONTACT",
            "isn't a Nudge contact yet. Tick “Create contacts” to add them, or create the contact first."));
        }
        if (id) {
          person.contactId = id;
          byId.set(String(id), person.email);
          ids.push(id);
        }
      }
      return {ids, refused};
    }

    function askTokens(missing) {
      tokens.replaceChildren(el("h3", {text: "Fill in what these emails need"}));
      for (const row of missing) {
        const box = el("fieldset", {"data-contact": row.contact}, el("legend", {text: byId.get(String(row.contact)) || "Contact " + row.contact}));
        for (const token of row.tokens) {
          const id = "token-" + row.contact + "-" + token.replace(/\W/g, "-");
          box.append(el("label", {for: id, text: token}), el("input", {type: "text", id, "data-token": token, required: true}));
        }
        tokens.append(box);
      }
      submit.textContent = "Enroll with these values";
    }

    function overrides() {
      const result = {};
      for (const box of tokens.querySelectorAll("fieldset[data-contact]")) {
        const values = {};
        for (const input of box.querySelectorAll("input[data-token]")) values[input.dataset.token] = input.value;
        result[box.dataset.contact] = {token_values: values};
      }
      return result;
    }

    async function onSubmit(event) {
      event.preventDefault();
      submit.disabled = true;
      try {
        await run();
      } finally {
        submit.disabled = false;
      }
    }

    async function run() {
      if (!select.value) return show([el("p", {class: "error", role: "alert", text: "Pick a sequence."})]);
      let ids, refused;
      if (state.pending) ({ids, refused} = state.pending);
      else ({ids, refused} = await contactIds());
      if (!ids.length) return show([el("ul", {class: "refusals"}, refused)]);
      const body = {
        contacts: ids, start_step: Number(startStep.value), time_zone: timeZone.value.trim(),
        send_at: later.checked && sendAt.value ? sendAt.value + (sendAt.value.length === 16 ? ":00" : "") : null,
      };
      const path = "/sequences/" + select.value + "/enrollments/";
      if (!state.pending) {
        const dry = await Nudge.api("POST", path, {...body, dry_run: true});
        if (dry.status !== 200) {
          return show([el("p", {class: "error", role: "alert", "data-testid": "refusal", "data-code": dry.body && dry.body.code, text: Nudge.refusal(dry)}), el("ul", {class: "refusals"}, refused)]);
        }
        const missing = dry.body.rejected.filter((r) => r.code === "MISSING_TOKEN_VALUES");
        if (missing.length) {
          state.pending = {ids, refused};
          askTokens(missing);
          return show([el("p", {role: "status", text: "Some emails need values Nudge doesn't have."})]);
        }
      }
      const answer = await Nudge.api("POST", path, {...body, contact_overrides: overrides(), dry_run: false});
      state.pending = null;
      tokens.replaceChildren();
      submit.textContent = "Enroll";
      if (answer.status !== 201) {
        return show([el("p", {class: "error", role: "alert", "data-testid": "refusal", "data-code": answer.body && answer.body.code, text: Nudge.refusal(answer)})]);
      }
      const lines = answer.body.enrolled.map((e) => el("li", {class: "enrolled", "data-testid": "enrolled"},
        el("strong", {text: (byId.get(String(e.contact)) || e.contact) + ": "}),
        "enrolled; first step " + (e.schedule[0] ? Nudge.when(e.schedule[0].at, body.time_zone) : "—")));
      const rejected = answer.body.rejected.map((r) => refusalLine(byId.get(String(r.contact)) || String(r.contact), r.code, r.message));
      show([el("ul", {class: "results"}, lines, rejected, refused)]);
      if (onDone && answer.body.enrolled.length) onDone(answer.body);
    }

    const form = el("form", {id: "enroll-form", onsubmit: onSubmit},
      el("label", {for: "sequence-search", text: "Sequence"}), search, select,
      el("label", {for: "start-step", text: "Start at step"}), startStep,
      el("label", {for: "time-zone", text: "Time zone"}), timeZone,
      el("datalist", {id: "zones"}, zones.map((z) => el("option", {value: z}))),
      el("fieldset", {}, el("legend", {text: "Send"}),
        el("label", {class: "inline"}, now, " now"), el("label", {class: "inline"}, later, " later, at "), sendAt),
      allowCreate ? el("label", {class: "inline"}, create, " Create contacts for recipients who aren't in Nudge") : null,
      tokens, submit, result);
    root.replaceChildren(form);
    loadSequences();
  },
};
