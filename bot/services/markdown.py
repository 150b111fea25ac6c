"""Markdown written in the admin web (articles, agreements) as safe HTML for patients' pages.

markdown-it-py renders CommonMark (raw HTML passes through it), then nh3 keeps only an
allow-list of tags and attributes and only http(s), mailto, tel and relative URLs: a
``<script>`` or ``<style>`` is removed with its content, an ``onclick`` dropped, and a
``javascript:`` link loses its href (markdown-it does not even make it a link).
Images get ``loading=lazy`` and are sized by the page's CSS (max-width: 100%).
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "del",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "img",
    "code",
    "pre",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "loading"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}

_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def to_html(text: str) -> str:
    """Sanitised HTML for ``text`` (safe to mark as such in a template)."""
    html = _md.render(text or "")
    html = html.replace("<img ", '<img loading="lazy" ')
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )


def to_text(text: str) -> str:
    """The words of a Markdown text, without markup (excerpts, search, chat)."""
    flat = re.sub(r"<[^>]+>", " ", to_html(text))
    flat = flat.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"\s+", " ", flat).strip()
