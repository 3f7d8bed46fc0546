"""Template helpers every page uses: interface icons (`{% icon %}`) and dates (`{% when %}`)."""

import datetime as dt

from django import template
from django.templatetags.static import static
from django.utils.html import escape
from django.utils.safestring import SafeString

from nexus.dates import duration_text, when_html

register = template.Library()

SPRITE = "vendor/lucide/sprite.svg"
SIZES = ("sm", "lg", "xl")


@register.simple_tag
def icon(name: str, label: str = "", size: str = "") -> SafeString:
    """A Lucide icon from the vendored sprite (scripts/vendor_icons.py lists the names), in the text's colour.

    Decorative unless given a `label`, which screen readers then read in its place. `size` is "sm", "lg" or
    "xl" (the default is the text's height).
    """
    if size and size not in SIZES:
        raise template.TemplateSyntaxError(f"icon size must be one of {', '.join(SIZES)}, not {size!r}")
    classes = f"icon icon-{size}" if size else "icon"
    href = f"{static(SPRITE)}#{escape(name)}"
    if label:
        text = escape(label)
        return SafeString(
            f'<svg class="{classes}" role="img" aria-label="{text}">'
            f'<title>{text}</title><use href="{href}"></use></svg>'
        )
    return SafeString(f'<svg class="{classes}" aria-hidden="true"><use href="{href}"></use></svg>')


@register.simple_tag
def when(value: dt.datetime | dt.date | None) -> SafeString:
    """A date or time the hub's one way (nexus/dates.py): relative while recent, the full date on hover."""
    return when_html(value)


@register.simple_tag
def duration(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """How long `start` to `end` took ("3 h 20 min"); empty when either is missing."""
    return duration_text(start, end) if start and end else ""
