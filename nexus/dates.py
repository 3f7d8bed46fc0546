"""The hub's one way of writing a date or time: relative while recent, absolute after, in the organization's zone.

"just now", "5 min ago", "3 h ago", "yesterday 14:05", "3 Dec 14:05", "3 Dec 2025" (and "in 5 min", "in 3 h",
"tomorrow 09:00" for what is due). Pages show it as `<time datetime="..." title="the full date">`, through the
`{% when %}` tag (nexus/templatetags/hub.py). Fragments sent over the socket are rendered once for many
viewers and go stale, so static/js/nexus.js rewrites the text of every `<time data-relative>` each minute
with the same rules; keep the two in step.

Times are shown in the active time zone, which the tenancy middleware and the socket's renderers set to the
viewer's organization's zone.
"""

import datetime as dt

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Within this of now, a time is "just now" either way: clocks of servers and devices differ by seconds.
JUST_NOW = dt.timedelta(seconds=60)
HOUR = dt.timedelta(hours=1)


def _clock(moment: dt.datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _day(day: dt.date, today: dt.date) -> str:
    """ "3 Dec" this year, "3 Dec 2025" in another."""
    text = f"{day.day} {MONTHS[day.month - 1]}"
    return text if day.year == today.year else f"{text} {day.year}"


def relative_text(value: dt.datetime, *, now: dt.datetime | None = None) -> str:
    """How long ago (or until) `value` is, as a person would say it; a date once it is more than a day away.

    `value` must be aware; it is shown in the active time zone.
    """
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    local, local_now = value.astimezone(zone), now.astimezone(zone)
    delta = now - value
    if abs(delta) < JUST_NOW:
        return "just now"
    if delta > dt.timedelta(0):
        if delta < HOUR:
            return f"{delta // dt.timedelta(minutes=1)} min ago"
        if local.date() == local_now.date():
            return f"{delta // HOUR} h ago"
        if local.date() == local_now.date() - dt.timedelta(days=1):
            return f"yesterday {_clock(local)}"
    else:
        ahead = -delta
        if ahead < HOUR:
            return f"in {ahead // dt.timedelta(minutes=1)} min"
        if local.date() == local_now.date():
            return f"in {ahead // HOUR} h"
        if local.date() == local_now.date() + dt.timedelta(days=1):
            return f"tomorrow {_clock(local)}"
    if local.year == local_now.year:
        return f"{_day(local.date(), local_now.date())} {_clock(local)}"
    return _day(local.date(), local_now.date())


def absolute_text(value: dt.datetime | dt.date) -> str:
    """The full date (and time, with the zone's abbreviation), for the tooltip: "Thu 3 Dec 2026, 14:05 CET"."""
    if not isinstance(value, dt.datetime):
        return f"{WEEKDAYS[value.weekday()]} {value.day} {MONTHS[value.month - 1]} {value.year}"
    local = value.astimezone(timezone.get_current_timezone())
    day = f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year}"
    return f"{day}, {_clock(local)} {local.tzname() or ''}".rstrip()


def date_text(value: dt.date, *, today: dt.date | None = None) -> str:
    """A calendar date (no time of day): "today", "yesterday", "tomorrow", else "3 Dec" or "3 Dec 2025"."""
    today = today or timezone.localdate()
    offset = (value - today).days
    names = {0: "today", -1: "yesterday", 1: "tomorrow"}
    return names.get(offset) or _day(value, today)


def duration_text(start: dt.datetime, end: dt.datetime) -> str:
    """How long from `start` to `end`, to two units: "45 s", "12 min", "3 h 20 min", "2 days 4 h"."""
    seconds = max(0, int((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours == 0:
        return f"{minutes} min"
    if days == 0:
        rest = minutes % 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest = hours % 24
    unit = "day" if days == 1 else "days"
    return f"{days} {unit} {rest} h" if rest else f"{days} {unit}"


def when_html(value: dt.datetime | dt.date | None, *, now: dt.datetime | None = None) -> SafeString:
    """`value` as a `<time>` element: relative text, the full date on hover; empty for None.

    A naive datetime is taken to be in the active time zone (as Django does with USE_TZ).
    """
    if value is None or value == "":
        return SafeString("")
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        iso = value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return SafeString(
            f'<time datetime="{iso}" title="{escape(absolute_text(value))}" data-relative>'
            f"{escape(relative_text(value, now=now))}</time>"
        )
    if isinstance(value, dt.date):
        today = (now or timezone.now()).astimezone(timezone.get_current_timezone()).date()
        return SafeString(
            f'<time datetime="{value.isoformat()}" title="{escape(absolute_text(value))}" data-relative>'
            f"{escape(date_text(value, today=today))}</time>"
        )
    raise TypeError(f"Expected a date or datetime, got {type(value).__name__}")
