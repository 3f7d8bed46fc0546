"""Template helpers for chat: reaction summaries, emoji images and the reaction palette (times: {% when %})."""

from django import template
from django.db import DatabaseError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from chat.emoji import cell_of, emoji_html
from nexus.permissions import Action, can
from nexus.reversing import url_for

register = template.Library()

# The palette offered under each message (any single emoji is accepted through the API).
REACTION_CHOICES = ("👍", "✅", "❤️", "🎉", "😂", "😮", "😢", "👀")


_REACTION_BUTTONS = format_html_join(
    "",
    '<button type="submit" name="emoji" value="{}" class="emoji-btn" aria-label="React {}" title="{}">{}</button>',
    (
        (emoji, emoji, f":{cell.name}:" if (cell := cell_of(emoji)) else emoji, emoji_html(emoji))
        for emoji in REACTION_CHOICES
    ),
)


@register.filter
def emoji(value: str) -> SafeString:
    """A reaction's emoji drawn from the vendored image set (its character when the set lacks it)."""
    return emoji_html(value) if value else format_html("")


@register.simple_tag
def reaction_buttons() -> SafeString:
    """The palette's buttons, one form per message (the clicked button sends its emoji)."""
    return _REACTION_BUTTONS


@register.filter
def banner_rank(system_message) -> int:
    """How important a banner is (0 the most), for the page to keep the most important one in front."""
    from chat.selectors import banner_rank as rank

    return rank(system_message.message_type)


@register.inclusion_tag("chat/_banners.html", takes_context=True)
def system_banners(context) -> dict:
    """The person's banners, rendered with the page (the socket brings the ones that come later)."""
    from chat.selectors import system_messages_for

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not can(user, Action.CHAT):
        return {"banners": []}
    try:
        banners = list(system_messages_for(user=user)[:20])
    except DatabaseError:
        # The page may be the error page of a database that is down; it must still render. The socket
        # brings the banners once the database answers again.
        banners = []
    return {"banners": banners, "csrf_token": context.get("csrf_token")}


@register.simple_tag
def message_urls(message) -> dict[str, str]:
    """Every link of a message, without a reverse() per link per message."""
    return {
        name: url_for(f"chat:{name}", message.pk)
        for name in ("thread", "react", "edit", "delete", "attachment", "thumbnail")
    }


@register.filter
def reactions_of(message) -> list[dict]:
    """The message's reactions grouped by emoji (from prefetched reactions when there are any)."""
    from chat.selectors import reaction_summary

    known = getattr(message, "known_reactions", None)
    return known if known is not None else reaction_summary(message=message)
