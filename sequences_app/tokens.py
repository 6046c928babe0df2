"""Personalisation tokens: `{{ contact.first_name }}`, `{{ company.name }}`, `{{ sender.email }}`.

Templates are never given to a template engine. A token is only ever the
plain form `{{ object.property }}`; anything else between braces (filters,
attribute chains, `{% tags %}`) is refused when the sequence is saved, and
rendering is a substitution from a dict of allowed values, so an email body
cannot reach anything but those values.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

TOKEN_OBJECTS = ("contact", "company", "sender")
CONTACT_FIELDS = ("email", "first_name", "last_name", "full_name", "job_title", "phone", "lifecycle_stage")
COMPANY_FIELDS = ("name", "domain")
SENDER_FIELDS = ("email", "first_name", "last_name", "full_name")

_ANY_BRACES = re.compile(r"\{\{(.*?)\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_PLAIN_TOKEN = re.compile(r"^\s*(contact|company|sender)\.([a-z_][a-z0-9_]{0,99})\s*$")
_NO_TAGS = "Template tags and comments are not allowed; use {{ object.property }} tokens."
_ONLY_PLAIN = "Only plain tokens like {{ contact.first_name }} are allowed."
_TOKEN = re.compile(r"\{\{\s*(contact|company|sender)\.([a-z_][a-z0-9_]{0,99})\s*\}\}")


@dataclass(frozen=True)
class TokenProblem:
    text: str
    message: str


def tokens_in(text: str) -> list[str]:
    """Every plain token in `text`, as `object.property`, in order of first use."""
    seen: dict[str, None] = {}
    for match in _TOKEN.finditer(text or ""):
        seen[f"{match.group(1)}.{match.group(2)}"] = None
    return list(seen)


def is_token_name(name: str) -> bool:
    """`contact.first_name` and the like (the keys of typed token values)."""
    return bool(_PLAIN_TOKEN.match(name)) and name == name.strip()


def tokens_check(text: str, *, custom_property_exists: Any) -> list[TokenProblem]:
    """What is wrong with the tokens of `text` (empty when all are plain and known).

    `custom_property_exists(object_name, property_name) -> bool` decides
    whether a non-standard property is known (it asks the database).
    """
    problems = []
    for match in _ANY_BRACES.finditer(text or ""):
        inner = match.group(1)
        if inner is None:
            problems.append(TokenProblem(match.group(0), _NO_TAGS))
            continue
        plain = _PLAIN_TOKEN.match(inner)
        if not plain:
            problems.append(TokenProblem(match.group(0), _ONLY_PLAIN))
            continue
        obj, prop = plain.groups()
        if not _is_standard(obj, prop) and (obj == "sender" or not custom_property_exists(obj, prop)):
            problems.append(TokenProblem(match.group(0), f"Unknown token {obj}.{prop}."))
    return problems


def tokens_validate_fields(fields: Mapping[str, str]) -> dict[str, list[str]]:
    """Check every text field (`{"steps.1.subject": "..."}`); return messages by field, empty when fine."""
    from contacts_app.selectors import custom_property_exists

    known: dict[tuple[str, str], bool] = {}

    def exists(obj: str, prop: str) -> bool:
        if (obj, prop) not in known:
            known[(obj, prop)] = custom_property_exists(obj, prop)
        return known[(obj, prop)]

    errors: dict[str, list[str]] = {}
    for name, text in fields.items():
        problems = tokens_check(text, custom_property_exists=exists)
        if problems:
            errors[name] = [f"{problem.text}: {problem.message}" for problem in problems]
    return errors


def _is_standard(obj: str, prop: str) -> bool:
    return prop in {"contact": CONTACT_FIELDS, "company": COMPANY_FIELDS, "sender": SENDER_FIELDS}[obj]


def token_value(token: str, *, contact: Any, company: Any, sender: Any) -> str:
    """The live value of one token for a contact ('' when it has none)."""
    obj, _, prop = token.partition(".")
    record = {"contact": contact, "company": company, "sender": sender}.get(obj)
    if record is None:
        return ""
    if prop == "full_name":
        value: Any = f"{record.first_name} {record.last_name}".strip()
    elif _is_standard(obj, prop):
        value = getattr(record, prop, "")
    else:
        value = (getattr(record, "properties", None) or {}).get(prop, "")
    return "" if value is None else str(value).strip()


def tokens_missing(tokens: Iterable[str], values: Mapping[str, str]) -> list[str]:
    return [token for token in tokens if not values.get(token)]


def tokens_render(text: str, values: Mapping[str, str], *, html_escape: bool) -> str:
    """Replace each plain token with its value (escaped for HTML bodies)."""

    def substitute(match: re.Match[str]) -> str:
        value = values.get(f"{match.group(1)}.{match.group(2)}", "")
        return html.escape(value) if html_escape else value

    return _TOKEN.sub(substitute, text or "")
