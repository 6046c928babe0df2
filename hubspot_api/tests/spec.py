"""HubSpot's published OpenAPI spec as the judge of every answer the contract tests get.

The spec files live beside the repository (`../shared/specs/` from its root,
as CI lays them out); NUDGE_HUBSPOT_SPECS names another folder. Tests skip,
saying why, when the files are absent.
"""
from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from jsonschema import Draft202012Validator, FormatChecker

from hubspot_api.shapes import DATED, V4

FILES = {V4: "hubspot-sequences-v4.json", DATED: "hubspot-sequences-2026-09.json"}
PREFIXES = {V4: "/automation/v4/sequences", DATED: "/automation/sequences/2026-09"}


def specs_dir() -> Path:
    return Path(os.environ.get("NUDGE_HUBSPOT_SPECS") or Path(settings.BASE_DIR).parent / "shared" / "specs")


@cache
def spec(family: str) -> dict[str, Any]:
    path = specs_dir() / FILES[family]
    if not path.is_file():
        pytest.skip(f"HubSpot's spec {path} is absent (CI puts it in ../shared/specs/; or set NUDGE_HUBSPOT_SPECS)")
    return json.loads(path.read_text())


_formats = FormatChecker()


@_formats.checks("int32")
def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@_formats.checks("int64")
def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or -(2**63) <= value < 2**63


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _undeclared(document: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> list[str]:
    """Keys the answer has that the schema doesn't declare (the spec allows extras; we give none)."""
    schema = _resolve(document, schema)
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                found.append(f"{where}.{key}")
            else:
                found += _undeclared(document, schema["properties"][key], item, f"{where}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += _undeclared(document, schema["items"], item, f"{where}[{index}]")
    return found


def response_schema(family: str, method: str, template: str, status: int) -> dict[str, Any]:
    document = spec(family)
    operation = document["paths"][PREFIXES[family] + template][method.lower()]
    declared = operation["responses"].get(str(status)) or operation["responses"]["default"]
    declared = _resolve(document, declared)
    (content,) = declared["content"].values()
    return content["schema"]


def assert_matches_spec(response: Any, *, family: str, method: str, template: str) -> Any:
    """The answer's JSON validates against the spec's schema for this operation and status; returns it.

    `template` is the path after the family's prefix as the spec writes it
    (`""`, `"/{sequenceId}"`, `"/enrollments"`, `"/enrollments/contact/{contactId}"`).
    """
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    document = spec(family)
    schema = response_schema(family, method, template, response.status_code)
    validator = Draft202012Validator({**schema, "components": document["components"]}, format_checker=_formats)
    problems = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(body)]
    # HubSpot's live error answers carry `"status": "error"`, which its Error schema leaves out.
    extras = {"$.status"} if schema == {"$ref": "#/components/schemas/Error"} else set()
    problems += [f"undeclared field {path}" for path in _undeclared(document, schema, body, "$") if path not in extras]
    assert not problems, f"{method} {template} {response.status_code}: {problems}\n{body}"
    return body
