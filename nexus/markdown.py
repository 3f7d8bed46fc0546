"""Light markdown for chat messages and updates: bold, italics, inline code, code blocks, links, lists and @mentions.

The parsing is markdown-it-py's (CommonMark, so emphasis, code spans and lists
behave as people know them from other tools), cut down to that subset: raw
HTML, headings, quotes, rules, tables, images and reference links are off, so
they show as the text that was typed. Links keep only http, https and mailto
targets. Whatever the parser writes then goes through nh3 (the ammonia
sanitizer) with an allow-list of exactly the tags the subset produces, so a
parser bug can never let markup or an attribute through that the subset does
not have.
"""

import bisect
import re
import types
from collections.abc import Mapping

import nh3
from markdown_it import MarkdownIt, helpers
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9_.+-]*[A-Za-z0-9_+-])")
# A bare URL in text becomes a link; trailing punctuation stays text ("see https://x.org/a.").
_AUTOLINK = re.compile(r"(?<![\"'=\w/])(https?://[^\s<]*[^\s<.,;:!?)\]'\"])")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_LINK_REL = "noopener noreferrer nofollow"

# What the subset writes, and nothing else: the sanitizer's allow-list.
_TAGS = {"p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "a", "span"}
# "*" (attributes on every tag) is empty, where ammonia would allow lang and title everywhere; "class" is
# governed by allowed_classes (ammonia refuses it in both); "rel" and "target" are set by the sanitizer.
_ATTRIBUTES = {"*": set(), "a": {"href", "title"}, "ol": {"start"}, "span": {"data-user"}}

# Rules of CommonMark that the subset leaves out; their syntax stays plain text.
_DISABLED_RULES = [
    "code",  # indented code blocks: a pasted, indented log would turn into code by accident
    "blockquote",
    "hr",
    "heading",
    "lheading",
    "reference",
    "html_block",
    "html_inline",
    "image",
    "entity",  # "&lt;" typed is shown as typed, not as "<"
]


def _validate_link(url: str) -> bool:
    return url.strip().lower().startswith(_SAFE_SCHEMES)


def _link_tokens(href: str, label: str, level: int) -> list[Token]:
    opening = Token("link_open", "a", 1)
    opening.attrs = {"href": href}
    opening.level = level
    text = Token("text", "", 0)
    text.content = label
    text.level = level + 1
    closing = Token("link_close", "a", -1)
    closing.level = level
    return [opening, text, closing]


def _split_text(token: Token, mentions: Mapping[str, tuple[int, str]], in_link: bool) -> list[Token]:
    """The text token cut into text, links (bare URLs) and mentions of known people."""
    text = token.content
    pieces: list[Token] = []
    position = 0

    def plain(chunk: str) -> None:
        if chunk:
            piece = Token("text", "", 0)
            piece.content = chunk
            piece.level = token.level
            pieces.append(piece)

    urls = [] if in_link else list(_AUTOLINK.finditer(text))
    url_starts = [m.start() for m in urls]
    matches: list[tuple[int, int, str, re.Match]] = [(m.start(), m.end(), "url", m) for m in urls]
    for m in MENTION.finditer(text):
        if m.group(1).lower() not in mentions:
            continue
        # A mention inside a bare URL (https://x.org/@bob) belongs to the URL; the URLs are in order.
        before = bisect.bisect_right(url_starts, m.start()) - 1
        if before < 0 or urls[before].end() <= m.start():
            matches.append((m.start(), m.end(), "mention", m))
    for start, end, kind, match in sorted(matches, key=lambda item: item[0]):
        if start < position:
            continue
        plain(text[position:start])
        if kind == "url":
            pieces += _link_tokens(match.group(1), match.group(1), token.level)
        else:
            user_id, name = mentions[match.group(1).lower()]
            mention = Token("mention", "span", 0)
            mention.meta = {"user_id": int(user_id), "name": name}
            mention.level = token.level
            pieces.append(mention)
        position = end
    plain(text[position:])
    return pieces


# Link text may nest brackets ("[see [1]](https://x.org)"); nobody nests them this deep on purpose.
MAX_BRACKET_NESTING = 10


def _parse_link_label(state, start: int, disable_nested: bool = False) -> int:
    """markdown-it's parseLinkLabel, bounded: the end of the "[...]" label that opens at `start`, or -1.

    The stock function scans to the end of the paragraph for every "[" that is
    never closed, so a message of 100 KB of "[" takes seconds (quadratic). Here a
    label with no "]" after it fails at once, and one whose brackets nest deeper
    than MAX_BRACKET_NESTING fails as soon as it does, so each "[" costs a
    bounded scan. Anything within those bounds parses exactly as before.
    """
    if state.src.find("]", start + 1, state.posMax) == -1:
        return -1
    old_position = state.pos
    state.pos = start + 1
    level = 1
    found = False
    while state.pos < state.posMax:
        marker = state.src[state.pos]
        if marker == "]":
            level -= 1
            if level == 0:
                found = True
                break
        previous = state.pos
        state.md.inline.skipToken(state)
        if marker == "[":
            if previous == state.pos - 1:
                level += 1
                if level > MAX_BRACKET_NESTING:
                    break
            elif disable_nested:
                break
    label_end = state.pos if found else -1
    state.pos = old_position
    return label_end


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False, "typographer": False})
    md.disable(_DISABLED_RULES)
    md.validateLink = _validate_link
    md.helpers = types.SimpleNamespace(
        parseLinkLabel=_parse_link_label,
        parseLinkDestination=helpers.parseLinkDestination,
        parseLinkTitle=helpers.parseLinkTitle,
    )

    def links_and_mentions(state) -> None:
        mentions = state.env.get("mentions") or {}
        for block in state.tokens:
            if block.type != "inline" or not block.children:
                continue
            children: list[Token] = []
            link_depth = 0
            for child in block.children:
                if child.type == "link_open":
                    link_depth += 1
                elif child.type == "link_close":
                    link_depth -= 1
                if child.type == "text":
                    children += _split_text(child, mentions, in_link=link_depth > 0)
                else:
                    children.append(child)
            block.children = children

    # After text_join, so that a run of text is one token however the parser cut it.
    md.core.ruler.after("text_join", "nexus_links_and_mentions", links_and_mentions)

    def render_link_open(renderer, tokens, index, options, env) -> str:
        tokens[index].attrs["rel"] = _LINK_REL
        tokens[index].attrs["target"] = "_blank"
        return renderer.renderToken(tokens, index, options, env)

    def render_mention(renderer, tokens, index, options, env) -> str:
        meta = tokens[index].meta
        return f'<span class="mention" data-user="{meta["user_id"]}">@{escapeHtml(meta["name"])}</span>'

    md.add_render_rule("link_open", render_link_open)
    md.add_render_rule("mention", render_mention)
    return md


_MD = _build()


def _sanitize(markup: str) -> str:
    return nh3.clean(
        markup,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        allowed_classes={"span": {"mention"}},
        url_schemes={"http", "https", "mailto"},
        link_rel=_LINK_REL,
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )


def mentioned_usernames(text: str) -> set[str]:
    """Lower-cased usernames written as @name, outside code."""
    names: set[str] = set()
    for token in _MD.parse(text):
        if token.type != "inline":
            continue
        for child in token.children or ():
            if child.type == "text":
                names.update(name.lower() for name in MENTION.findall(child.content))
    return names


def render(text: str, mentions: Mapping[str, tuple[int, str]] | None = None) -> str:
    """Sanitized HTML for `text`. `mentions` maps lower-cased usernames to (user id, display name).

    Only the people in `mentions` become mention chips; any other @name stays text.
    """
    return _sanitize(_MD.render(text, {"mentions": dict(mentions or {})})).strip()
