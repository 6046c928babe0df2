"""The enrollment review screen's state: what the rep chose, read from the form and turned into service arguments.

Every entry point (sequence page, contact record, contacts index, list,
company/deal/ticket/custom-object record) opens the same review screen with
the same fields, and every preview and submit goes to
`sequences_app.services.enrollments.enrollment_create` — with `dry_run=True`
for the preview. This module only parses and reshapes input; the service
decides who may be enrolled and when.

Field names:
  sequence, source (contacts|list|contact|record|sequence), scope (page|all),
  contacts (repeated ids), exclude (repeated ids), list, q/stage/owner (the
  contacts index filters behind "Select all"), record_type/record_id,
  start_step, time_zone, send (now|later), send_date, send_time, mailbox,
  s_follow_up_days, s_window_start, s_window_end, s_threaded,
  focus ("all" or a contact id: whose emails and tasks are being edited),
  tv.<token> ("Update all"), ctv.<contact>.<token> (one contact's value),
  so.<step>.<field> (edit for all), co.<contact>.<step>.<field> (one contact's edit).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.http import QueryDict

from contacts_app.models import Contact, ContactList
from contacts_app.page_selectors import contacts_index
from contacts_app.selectors import list_members
from mailboxes_app.models import Mailbox
from sequences_app.models import Sequence
from sequences_app.services.enrollments import ContactOverride, RecordRef
from sequences_app.tokens import is_token_name

STEP_EDIT_FIELDS = ("subject", "body_html", "title", "notes", "delay_days")
SETTING_FIELDS = ("s_follow_up_days", "s_window_start", "s_window_end", "s_threaded")


def _int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def _ints(values: list[str]) -> list[int]:
    return list(dict.fromkeys(number for number in (_int(v) for v in values) if number is not None))


def _minutes(value: str) -> int | None:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        return None
    return parsed.hour * 60 + parsed.minute


@dataclass
class EnrollDraft:
    sequence_id: int | None
    source: str = "sequence"
    scope: str = "page"
    contact_ids: list[int] = field(default_factory=list)
    exclude: list[int] = field(default_factory=list)
    list_id: int | None = None
    index_filters: dict[str, Any] = field(default_factory=dict)
    record_type: str = ""
    record_id: int | None = None
    start_step: int = 1
    time_zone: str = ""
    send: str = "now"
    send_date: str = ""
    send_time: str = ""
    mailbox_id: int | None = None
    setting_values: dict[str, str] = field(default_factory=dict)
    focus: str = "all"
    token_values: dict[str, str] = field(default_factory=dict)
    contact_token_values: dict[int, dict[str, str]] = field(default_factory=dict)
    step_edits: dict[int, dict[str, str]] = field(default_factory=dict)
    contact_step_edits: dict[int, dict[int, dict[str, str]]] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)

    # --- Reading ---------------------------------------------------------------------------

    @classmethod
    def from_data(cls, data: QueryDict) -> EnrollDraft:
        draft = cls(
            sequence_id=_int(data.get("sequence")),
            source=data.get("source", "sequence")[:20],
            scope="all" if data.get("scope") == "all" else "page",
            contact_ids=_ints(data.getlist("contacts")),
            exclude=_ints(data.getlist("exclude")),
            list_id=_int(data.get("list")),
            index_filters={
                "search": data.get("q", "").strip()[:200],
                "stage": data.get("stage", "")[:40],
                "owner": _int(data.get("owner")),
            },
            record_type=data.get("record_type", "").strip()[:64],
            record_id=_int(data.get("record_id")),
            start_step=_int(data.get("start_step")) or 1,
            time_zone=data.get("time_zone", "").strip()[:64],
            send="later" if data.get("send") == "later" else "now",
            send_date=data.get("send_date", "")[:10],
            send_time=data.get("send_time", "")[:5],
            mailbox_id=_int(data.get("mailbox")),
            setting_values={name: data.get(name, "") for name in SETTING_FIELDS},
            focus=data.get("focus", "all") or "all",
        )
        for key, value in data.items():
            parts = key.split(".")
            if parts[0] == "tv" and len(parts) == 3 and is_token_name(f"{parts[1]}.{parts[2]}"):
                if value.strip():
                    draft.token_values[f"{parts[1]}.{parts[2]}"] = value.strip()
            elif parts[0] == "ctv" and len(parts) == 4 and _int(parts[1]) and is_token_name(f"{parts[2]}.{parts[3]}"):
                if value.strip():
                    draft.contact_token_values.setdefault(int(parts[1]), {})[f"{parts[2]}.{parts[3]}"] = value.strip()
            elif parts[0] == "so" and len(parts) == 3 and _int(parts[1]) and parts[2] in STEP_EDIT_FIELDS:
                draft.step_edits.setdefault(int(parts[1]), {})[parts[2]] = value
            elif (
                parts[0] == "co" and len(parts) == 4 and _int(parts[1]) and _int(parts[2])
                and parts[3] in STEP_EDIT_FIELDS
            ):
                draft.contact_step_edits.setdefault(int(parts[1]), {}).setdefault(int(parts[2]), {})[parts[3]] = value
        remove = _int(data.get("remove"))
        if remove is not None:
            draft.remove(remove)
        return draft

    def remove(self, contact_id: int) -> None:
        """"Remove contact": it leaves the selection (and its edits with it)."""
        if contact_id in self.contact_ids:
            self.contact_ids.remove(contact_id)
        if self.scope == "all" and contact_id not in self.exclude:
            self.exclude.append(contact_id)
        self.contact_token_values.pop(contact_id, None)
        self.contact_step_edits.pop(contact_id, None)
        if self.focus == str(contact_id):
            self.focus = "all"

    # --- Who is selected -------------------------------------------------------------------

    @property
    def uses_list(self) -> bool:
        return self.scope == "all" and self.source == "list" and self.list_id is not None

    def selected_ids(self) -> list[int]:
        """The contacts on the screen, in order; "Select all" reads at most one past the bulk limit.

        Reading one more than the limit is enough for the service to refuse
        the action (BULK_LIMIT_EXCEEDED) without loading a huge filtered set.
        """
        cap = settings.BULK_ENROLL_MAX_CONTACTS + 1
        excluded = set(self.exclude)
        if self.scope == "all" and self.source == "contacts":
            found = contacts_index(**self.index_filters).exclude(pk__in=excluded).values_list("pk", flat=True)
            return list(found[:cap])
        if self.uses_list:
            contact_list = ContactList.objects.filter(pk=self.list_id).first()
            if contact_list is None:
                return []
            members = list_members(contact_list=contact_list).exclude(pk__in=excluded).order_by("pk")
            return list(members.values_list("pk", flat=True)[:cap])
        return [pk for pk in self.contact_ids if pk not in excluded]

    # --- Options ---------------------------------------------------------------------------

    def send_at(self) -> datetime | None:
        if self.send != "later":
            return None
        try:
            return datetime.combine(date.fromisoformat(self.send_date), time.fromisoformat(self.send_time))
        except ValueError:
            self.form_errors.append("Choose the date and time to send at, or pick “Send now”.")
            return None

    def settings_override(self) -> dict[str, Any]:
        values = self.setting_values
        override: dict[str, Any] = {}
        if values.get("s_follow_up_days"):
            override["follow_up_days"] = values["s_follow_up_days"]
        start, end = values.get("s_window_start", ""), values.get("s_window_end", "")
        if start or end:
            start_minute, end_minute = _minutes(start), _minutes(end)
            if start_minute is None or end_minute is None:
                self.form_errors.append("Give the send window's start and end times, or leave both empty.")
            else:
                override["send_window"] = {"start_minute": start_minute, "end_minute": end_minute or 1440}
        if values.get("s_threaded") in ("yes", "no"):
            override["threaded_follow_ups"] = values["s_threaded"] == "yes"
        return override

    def record(self) -> RecordRef | None:
        if self.record_type and self.record_id is not None:
            return RecordRef(type=self.record_type, id=self.record_id)
        return None

    # --- Edits -----------------------------------------------------------------------------

    def base_steps(self, sequence: Sequence) -> dict[int, dict[str, Any]]:
        return {
            step.order: {
                "order": step.order,
                "type": step.type,
                "is_task": step.is_task,
                "is_email": step.type in ("automated_email", "manual_email"),
                "type_label": step.get_type_display(),
                "subject": step.subject,
                "body_html": step.body_html,
                "title": step.title,
                "notes": step.notes,
                "delay_days": 0 if step.order == 1 else step.delay_days,
            }
            for step in sequence.steps.order_by("order")
        }

    def steps_for(self, base: dict[int, dict[str, Any]], contact_id: int | None) -> list[dict[str, Any]]:
        """The steps as the given contact (None: everyone) will get them, with edits applied."""
        steps = []
        for order, step in base.items():
            merged = dict(step)
            merged.update(self._typed(self.step_edits.get(order, {})))
            if contact_id is not None:
                merged.update(self._typed(self.contact_step_edits.get(contact_id, {}).get(order, {})))
            steps.append(merged)
        return steps

    @staticmethod
    def _typed(edits: dict[str, str]) -> dict[str, Any]:
        typed: dict[str, Any] = {}
        for name, value in edits.items():
            if name == "delay_days":
                number = _int(value)
                typed[name] = number if number is not None else value
            else:
                typed[name] = value
        return typed

    def _diff(self, edits: dict[str, str], against: dict[str, Any], step_type_fields: set[str]) -> dict[str, Any]:
        changed = {}
        for name, value in self._typed(edits).items():
            if name in step_type_fields and value != against.get(name):
                changed[name] = value
        return changed

    @staticmethod
    def _fields_of(step: dict[str, Any]) -> set[str]:
        if step["is_task"]:
            return {"title", "notes", "delay_days"} | ({"subject", "body_html"} if step["is_email"] else set())
        return {"subject", "body_html", "delay_days"}

    def step_overrides(self, base: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        overrides = {}
        for order, edits in self.step_edits.items():
            if order in base:
                changed = self._diff(edits, base[order], self._fields_of(base[order]))
                if changed:
                    overrides[order] = changed
        return overrides

    def contact_overrides(self, base: dict[int, dict[str, Any]], selected: list[int]) -> dict[int, ContactOverride]:
        everyone = {step["order"]: step for step in self.steps_for(base, None)}
        overrides: dict[int, ContactOverride] = {}
        for contact_id in selected:
            steps = {}
            for order, edits in self.contact_step_edits.get(contact_id, {}).items():
                if order in everyone:
                    changed = self._diff(edits, everyone[order], self._fields_of(everyone[order]))
                    if changed:
                        steps[order] = changed
            tokens = self.contact_token_values.get(contact_id, {})
            if steps or tokens:
                overrides[contact_id] = ContactOverride(token_values=tokens, steps=steps)
        return overrides

    # --- Service arguments -----------------------------------------------------------------

    def service_kwargs(self, *, sequence: Sequence, selected: list[int], only: int | None = None) -> dict[str, Any]:
        """Keyword arguments for enrollment_create (without caller and dry_run).

        `only` enrolls one contact of the selection ("Enroll Maria").
        """
        base = self.base_steps(sequence)
        kwargs: dict[str, Any] = {
            "sequence": sequence,
            "record": self.record(),
            "mailbox": self._mailbox(),
            "start_step": self.start_step,
            "time_zone": self.time_zone or None,
            "send_at": self.send_at(),
            "settings_override": self.settings_override(),
            "token_values": self.token_values,
            "step_overrides": self.step_overrides(base),
        }
        if only is not None:
            kwargs["contact_ids"] = [only]
            kwargs["contact_overrides"] = self.contact_overrides(base, [only])
        elif self.uses_list:
            kwargs["contact_list"] = ContactList.objects.filter(pk=self.list_id).first()
            kwargs["exclude"] = self.exclude
            kwargs["contact_overrides"] = self.contact_overrides(base, selected)
        else:
            kwargs["contact_ids"] = selected
            kwargs["contact_overrides"] = self.contact_overrides(base, selected)
        return kwargs

    def _mailbox(self) -> Mailbox | None:
        if self.mailbox_id is None:
            return None
        return Mailbox.objects.filter(pk=self.mailbox_id).first()

    # --- Writing the state back into the page ----------------------------------------------

    def carried_fields(self) -> list[tuple[str, Any]]:
        """Hidden inputs that keep the selection across previews and submits."""
        fields: list[tuple[str, Any]] = [
            ("sequence", self.sequence_id or ""),
            ("source", self.source),
            ("scope", self.scope),
        ]
        fields += [("contacts", pk) for pk in self.contact_ids]
        fields += [("exclude", pk) for pk in self.exclude]
        if self.list_id is not None:
            fields.append(("list", self.list_id))
        if self.scope == "all" and self.source == "contacts":
            fields += [
                ("q", self.index_filters.get("search", "")),
                ("stage", self.index_filters.get("stage", "")),
                ("owner", self.index_filters.get("owner") or ""),
            ]
        if self.record_type:
            fields += [("record_type", self.record_type), ("record_id", self.record_id or "")]
        return fields

    def hidden_edits(self, visible_contact: int | None) -> list[tuple[str, Any]]:
        """Edits typed earlier for scopes not on screen now, kept as hidden inputs."""
        fields: list[tuple[str, Any]] = []
        if visible_contact is not None:
            for order, edits in self.step_edits.items():
                fields += [(f"so.{order}.{name}", value) for name, value in edits.items()]
        for contact_id, steps in self.contact_step_edits.items():
            if contact_id == visible_contact:
                continue
            for order, edits in steps.items():
                fields += [(f"co.{contact_id}.{order}.{name}", value) for name, value in edits.items()]
        return fields

    def contacts_on_screen(self, ids: list[int]) -> list[Contact]:
        found = Contact.objects.select_related("company").in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]
