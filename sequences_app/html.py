"""Sanitising rich-text email bodies (nh3), the one place that knows what HTML an email may hold."""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    "style",
}
ALLOWED_ATTRIBUTES = {
    "*": {"style", "class", "align", "dir"},
    "a": {"href", "title", "target"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "width"},
    "th": {"colspan", "rowspan", "width"},
    "table": {"width", "cellpadding", "cellspacing", "border"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_email_html(body: str) -> str:
    """Strip scripts, event handlers and unsafe URLs; keep formatting, links, images, tables and tokens."""
    return nh3.clean(
        body or "",
        tags=ALLOWED_TAGS,
        clean_content_tags={"script"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
