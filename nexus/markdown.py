"""Light markdown for chat messages and updates: bold, italics, inline code, code blocks, links, lists and @mentions.

Everything is HTML-escaped first and markup is added only by the patterns
below, so raw HTML in a message always shows as text and no attribute can be
broken out of. Links keep only http, https and mailto targets.
"""

import html
import re
from collections.abc import Mapping

MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9_.+-]*[A-Za-z0-9_+-])")
_FENCE = re.compile(r"^```[^\n`]*\n(.*?)(?:\n```[ \t]*$|\Z)", re.S | re.M)
_CODE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_AUTOLINK = re.compile(r"(?<![\"'=\w/])(https?://[^\s<]*[^\s<.,;:!?)\]'\"])")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])|(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}\d{1,9}[.)]\s+(.*)$")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def mentioned_usernames(text: str) -> set[str]:
    """Lower-cased usernames written as @name, outside code."""
    without_code = _CODE.sub(" ", _FENCE.sub(" ", text))
    return {name.lower() for name in MENTION.findall(without_code)}


def render(text: str, mentions: Mapping[str, tuple[int, str]] | None = None) -> str:
    """HTML for `text`. `mentions` maps lower-cased usernames to (user id, display name)."""
    mentions = mentions or {}
    out: list[str] = []
    position = 0
    for fence in _FENCE.finditer(text):
        out.append(_blocks(text[position : fence.start()], mentions))
        out.append(f"<pre><code>{html.escape(fence.group(1))}</code></pre>")
        position = fence.end()
    out.append(_blocks(text[position:], mentions))
    return "".join(part for part in out if part)


def _blocks(text: str, mentions) -> str:
    """Paragraphs (lines joined by <br>) and bullet or numbered lists."""
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""

    def flush_paragraph():
        if paragraph:
            out.append("<p>" + "<br>".join(_inline(line, mentions) for line in paragraph) + "</p>")
            paragraph.clear()

    def flush_list():
        nonlocal list_tag
        if items:
            out.append(
                f"<{list_tag}>" + "".join(f"<li>{_inline(item, mentions)}</li>" for item in items) + f"</{list_tag}>"
            )
            items.clear()
        list_tag = ""

    for line in text.split("\n"):
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        if bullet or numbered:
            tag = "ul" if bullet else "ol"
            flush_paragraph()
            if list_tag and list_tag != tag:
                flush_list()
            list_tag = tag
            items.append((bullet or numbered).group(1))
        elif not line.strip():
            flush_paragraph()
            flush_list()
        else:
            flush_list()
            paragraph.append(line)
    flush_paragraph()
    flush_list()
    return "".join(out)


def _inline(line: str, mentions) -> str:
    # Code spans are cut out first so nothing inside them is formatted.
    pieces = _CODE.split(line)
    out = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append(f"<code>{html.escape(piece)}</code>")
        else:
            out.append(_format(piece, mentions))
    return "".join(out)


def _anchor(target: str, label_html: str) -> str:
    return f'<a href="{html.escape(target)}" rel="noopener noreferrer nofollow" target="_blank">{label_html}</a>'


def _format(text: str, mentions) -> str:
    links: list[str] = []

    def keep(markup: str) -> str:
        # Finished markup waits behind a placeholder no text can contain (escaping removed the NULs).
        links.append(markup)
        return f"\x00{len(links) - 1}\x00"

    def link(match: re.Match) -> str:
        label, target = match.group(1), html.unescape(match.group(2))
        if not target.lower().startswith(_SAFE_SCHEMES):
            return match.group(0)
        return keep(_anchor(target, label))

    def autolink(match: re.Match) -> str:
        target = html.unescape(match.group(1))
        return keep(_anchor(target, html.escape(target)))

    def mention(match: re.Match) -> str:
        known = mentions.get(match.group(1).lower())
        if known is None:
            return match.group(0)
        user_id, name = known
        return keep(f'<span class="mention" data-user="{int(user_id)}">@{html.escape(name)}</span>')

    escaped = html.escape(text.replace("\x00", ""))
    escaped = _LINK.sub(link, escaped)
    escaped = _AUTOLINK.sub(autolink, escaped)
    escaped = MENTION.sub(mention, escaped)
    escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
    escaped = _ITALIC.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", escaped)
    return re.sub("\x00(\\d+)\x00", lambda m: links[int(m.group(1))], escaped)
