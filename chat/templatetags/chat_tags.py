"""Template helpers for chat: message times, reaction summaries and the reaction palette."""

from django import template
from django.utils import timezone

register = template.Library()

# The palette offered under each message (any single emoji is accepted through the API).
REACTION_CHOICES = ("👍", "✅", "❤️", "🎉", "😂", "😮", "😢", "👀")


@register.simple_tag
def reaction_choices():
    return REACTION_CHOICES


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

    return reaction_summary(message=message)
