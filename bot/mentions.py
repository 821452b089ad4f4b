"""Pills: Matrix clients write a mention as a link in the HTML body and only the display name
in the plain body. For commands like `!rolle vergeben <pill> koordinator` the Matrix id counts."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

_USER_LINK = re.compile(r"^https://matrix\.to/#/((?:@|%40)[^/?#]+)")
_BLOCKS = {"p", "div", "li", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}


class _PillText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pill: str | None = None
        self.in_reply_fallback = 0
        self.found = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "mx-reply":
            self.in_reply_fallback += 1
        elif tag == "a":
            match = _USER_LINK.match(dict(attrs).get("href") or "")
            if match and not self.in_reply_fallback:
                self.pill = unquote(match.group(1))
                self.parts.append(self.pill)
                self.found = True
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS and self.parts:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mx-reply":
            self.in_reply_fallback = max(0, self.in_reply_fallback - 1)
        elif tag == "a":
            self.pill = None

    def handle_data(self, data: str) -> None:
        if self.pill is None and not self.in_reply_fallback:
            self.parts.append(data)


def command_text(content: dict[str, Any], body: str) -> str:
    """The body, with user pills from the HTML body replaced by the users' Matrix ids."""
    html = content.get("formatted_body")
    if content.get("format") != "org.matrix.custom.html" or not isinstance(html, str):
        return body
    if "matrix.to/#/" not in html:
        return body
    parser = _PillText()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip() if parser.found else body
