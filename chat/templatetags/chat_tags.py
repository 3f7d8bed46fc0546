"""Template helpers for chat: message times, reaction summaries and the reaction palette."""

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString

from nexus.reversing import url_for

register = template.Library()

# The palette offered under each message (any single emoji is accepted through the API).
REACTION_CHOICES = ("👍", "✅", "❤️", "🎉", "😂", "😮", "😢", "👀")


_REACTION_BUTTONS = SafeString(
    "".join(
        f'<button type="submit" name="emoji" value="{emoji}" class="emoji-btn" aria-label="React {emoji}">'
        f"{emoji}</button>"
        for emoji in REACTION_CHOICES
    )
)


@register.simple_tag
def reaction_buttons() -> SafeString:
    """The palette's buttons, one form per message (the clicked button sends its emoji)."""
    return _REACTION_BUTTONS


@register.simple_tag
def message_urls(message) -> dict[str, str]:
    """Every link of a message, without a reverse() per link per message."""
    return {
        name: url_for(f"chat:{name}", message.pk)
        for name in ("thread", "react", "edit", "delete", "attachment", "thumbnail")
    }


@register.filter
def message_time(value) -> str:
    """ "14:05" today, "Mon 3 Nov 14:05" this year, a full date before, in the active time zone."""
    if value is None:
        return ""
    local, now = timezone.localtime(value), timezone.localtime()
    if local.date() == now.date():
        return local.strftime("%H:%M")
    if local.year == now.year:
        return local.strftime("%a %-d %b %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


@register.filter
def reactions_of(message) -> list[dict]:
    """The message's reactions grouped by emoji (from prefetched reactions when there are any)."""
    from chat.selectors import reaction_summary

    known = getattr(message, "known_reactions", None)
    return known if known is not None else reaction_summary(message=message)
