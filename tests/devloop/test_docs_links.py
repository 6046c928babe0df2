"""The README and docs/ work in a clone: every relative link resolves, nothing points outside the repo."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) — the target up to a space or the closing parenthesis.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)[^)]*\)")
OUTSIDE = re.compile(r"(?<![\w.])\.\./|/work/")


def _relative_links(text: str) -> list[str]:
    return [target for target in LINK.findall(text) if not re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", target)]


def test_the_docs_folder_has_the_api_reference_and_the_code_style() -> None:
    assert {path.name for path in DOCS} >= {"README.md", "api.md", "code-style.md"}


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_no_document_names_a_path_outside_the_repository(doc: Path) -> None:
    text = doc.read_text()
    assert not [line for line in text.splitlines() if OUTSIDE.search(line)]
    for target in _relative_links(text):
        resolved = (doc.parent / target.split("#", 1)[0]).resolve()
        assert resolved.is_relative_to(ROOT), target


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves_to_a_file_in_the_clone(doc: Path) -> None:
    missing = [
        target for target in _relative_links(doc.read_text())
        if not (doc.parent / target.split("#", 1)[0]).exists()
    ]
    assert missing == []


def test_the_link_checker_sees_links_and_paths_outside() -> None:
    # The checks above would pass on any text if these helpers saw nothing.
    text = "see [API](docs/api.md#auth), [site](https://x.test) and [top](#top)"
    assert _relative_links(text) == ["docs/api.md#auth"]
    assert OUTSIDE.search("the contract is `../shared/API.md`")
    assert OUTSIDE.search("in /work/shared/STYLE.md")
    assert not OUTSIDE.search("files under var/broker/ and ./var")
