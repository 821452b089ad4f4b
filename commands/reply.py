"""Replies built from trusted templates and untrusted parameters.

Templates come from the catalog and may use **bold** and `code`; parameters are user input
and are always escaped, and never turned into markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+?)`")


def _fill(template: str, params: dict[str, Any], *, for_html: bool) -> str:
    if for_html:
        marked = html.escape(template, quote=False)
        marked = _CODE.sub(r"<code>\1</code>", marked)
        marked = _BOLD.sub(r"<strong>\1</strong>", marked)
        safe = {k: html.escape(str(v), quote=True) for k, v in params.items()}
        return marked.format(**safe) if params else marked.replace("{{", "{").replace("}}", "}")
    plain = _BOLD.sub(r"\1", template)
    return plain.format(**params) if params else plain.replace("{{", "{").replace("}}", "}")


@dataclass
class Line:
    kind: str  # "p", "h" (heading) or "li" (bullet)
    template: str
    params: dict[str, Any]


@dataclass
class Reply:
    """A notice in reply to a command. Build it with `p`, `h` and `li`, all already translated."""

    lines: list[Line] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    notice: bool = True
    mention_sender: bool = True  # False: not even the command's sender is mentioned (forget me)

    @classmethod
    def text(cls, template: str, **params: Any) -> Reply:
        return cls().p(template, **params)

    def p(self, template: str, **params: Any) -> Reply:
        self.lines.append(Line("p", template, params))
        return self

    def h(self, template: str, **params: Any) -> Reply:
        self.lines.append(Line("h", template, params))
        return self

    def li(self, template: str, **params: Any) -> Reply:
        self.lines.append(Line("li", template, params))
        return self

    def extend(self, other: Reply) -> Reply:
        self.lines.extend(other.lines)
        self.mentions.extend(other.mentions)
        return self

    @property
    def plain(self) -> str:
        out: list[str] = []
        for line in self.lines:
            text = _fill(line.template, line.params, for_html=False)
            out.append(f"• {text}" if line.kind == "li" else text)
        return "\n".join(out)

    @property
    def html(self) -> str:
        out: list[str] = []
        in_list = False
        for line in self.lines:
            text = _fill(line.template, line.params, for_html=True).replace("\n", "<br>")
            if line.kind == "li" and not in_list:
                out.append("<ul>")
                in_list = True
            elif line.kind != "li" and in_list:
                out.append("</ul>")
                in_list = False
            if line.kind == "li":
                out.append(f"<li>{text}</li>")
            elif line.kind == "h":
                out.append(f"<p><strong>{text}</strong></p>")
            else:
                out.append(f"<p>{text}</p>")
        if in_list:
            out.append("</ul>")
        return "".join(out)

    def content(self, in_reply_to: str | None = None) -> dict[str, Any]:
        """The Matrix event content: notice, HTML and plain body, reply relation, mentions."""
        content: dict[str, Any] = {
            "msgtype": "m.notice" if self.notice else "m.text",
            "body": self.plain,
            "format": "org.matrix.custom.html",
            "formatted_body": self.html,
            "m.mentions": {"user_ids": sorted(set(self.mentions))} if self.mentions else {},
        }
        if in_reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": in_reply_to}}
        return content
