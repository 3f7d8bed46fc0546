"""Template helpers for activities: labels, tag chips, the list's rows and the filter bar's options."""

import functools
import html

from django import template
from django.utils import timezone
from django.utils.safestring import SafeData, SafeString

from activities.models import Priority, Status, text_color_on
from nexus.dates import when_html
from nexus.reversing import url_for

register = template.Library()


def _html(markup: str, *args, **kwargs) -> SafeString:
    """format_html without its per-argument lazy-string checks, which dominated the list page's time.

    Values that are not already safe are escaped with the standard library's
    html.escape (the same five characters Django's escape handles).
    """
    escape = _escape_value
    return SafeString(markup.format(*map(escape, args), **{key: escape(value) for key, value in kwargs.items()}))


def _escape_value(value) -> str:
    if isinstance(value, SafeData):
        return value
    if type(value) is int:
        return str(value)  # Nothing to escape in a number.
    return html.escape(str(value))


# Plain dict lookups: Model.get_FOO_display() rebuilds a hashable dict of the choices on every call,
# which adds up over the rows of a list.
_STATUS = dict(Status.choices)
_PRIORITY = dict(Priority.choices)


@register.filter
def status_label(code: str) -> str:
    return _STATUS.get(code, code)


@register.filter
def priority_label(code: str) -> str:
    return _PRIORITY.get(code, code)


_CHIP = '<span class="chip" style="background:{};color:{}" title="{}">{}</span>'


@register.filter
def tag_chip(tag) -> str:
    """One tag (a `Tag` or a `selectors.TagLabel`) as a coloured chip.

    A filter, not an include: lists render hundreds of these. Chips are
    remembered by their values, so a tag shared by many rows is escaped and
    formatted once.
    """
    return _chip(tag.color, tag.description, tag.name)


@functools.lru_cache(maxsize=4096)
def _chip(color: str, description: str, name: str) -> SafeString:
    return _html(_CHIP, color, text_color_on(color), description, name)


@register.filter
def tag_chips(tags) -> str:
    """Chips for each tag of an iterable (e.g. a prefetched `activity.tags.all`)."""
    return SafeString("".join(tag_chip(tag) for tag in tags))  # Each chip is _html output.


# The activity list's rows are built here rather than in a template: the list is the busiest page,
# and the template engine spent most of the page's time resolving the ~300 variables of 25 rows.
# The markup is the same one a template would hold; _html escapes every value. `data-label` names each value
# where a phone shows a row as a card (static/css/activities.css).
_ROW = (
    '<tr id="activity-row-{pk}" data-testid="activity-row">'
    '<td><a href="{url}">{title}</a>{projects}</td>'
    '<td class="small" data-label="Type">{type}</td>'
    '<td data-label="Status"><span class="pill status-{status}">{status_label}</span></td>'
    '<td data-label="Priority"><span class="pill priority-{priority}">{priority_label}</span></td>'
    '<td data-label="Assignee">{assignee}</td>'
    '<td class="small nowrap" data-label="Due">{due}</td>'
    '<td class="wide" data-label="Tags">{chips}</td>'
    "</tr>"
)
_PROJECT = '<br><span class="muted small">{}</span>'
_UNCLAIMED = '<span class="muted">Unclaimed</span>'
_CLAIM = (
    ' <form class="inline-form" method="post" action="{url}" hx-post="{url}" hx-swap="none">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
    '<input type="hidden" name="next" value="{next}">'
    '<button type="submit" class="btn btn-sm" data-testid="claim-{pk}">Claim</button></form>'
)


@register.simple_tag(takes_context=True)
def activity_rows(context, rows) -> str:
    """The `<tr>`s of the activity list for `selectors.ActivityRow`s."""
    may_claim = "claim_maintenance" in context.get("perms_nexus", ())
    request = context.get("request")
    next_url = request.get_full_path() if request is not None else ""
    csrf = str(context.get("csrf_token", ""))
    out = []
    now = timezone.now()  # One "now" for every row's due date.
    for row in rows:
        if row.assignee_name:
            assignee = SafeString(_escape_value(row.assignee_name))
        elif row.is_claimable and may_claim:
            url = url_for("activities:claim", row.pk)
            assignee = SafeString(_UNCLAIMED + _html(_CLAIM, url=url, csrf=csrf, next=next_url, pk=row.pk))
        else:
            assignee = SafeString(_UNCLAIMED)
        out.append(
            _html(
                _ROW,
                pk=row.pk,
                url=url_for("activities:detail", row.pk),
                title=row.title,
                projects=SafeString("".join(_html(_PROJECT, name) for name in row.project_names)),
                type=row.type,
                status=row.status,
                status_label=status_label(row.status),
                priority=row.priority,
                priority_label=priority_label(row.priority),
                assignee=assignee,
                due=when_html(row.end_time, now=now),
                chips=tag_chips(row.tags),
            )
        )
    return SafeString("".join(out))  # Each row is _html output.


SELECTED = SafeString(" selected")


@register.simple_tag
def select_options(choices, selected, empty_label: str = "") -> str:
    """`<option>`s for (value, label) pairs, marking `selected` (one value or a list of them).

    One tag instead of a template loop with an `{% if %}` per option: the filter
    bar has about a hundred options and is on every list and board page. The
    same choices and selection give the same HTML, so it is remembered.
    """
    values = selected if isinstance(selected, list | tuple | set) else [selected]
    chosen = frozenset(str(value) for value in values if value is not None)
    return _options(tuple((value, label) for value, label in choices), chosen, empty_label)


@functools.lru_cache(maxsize=512)
def _options(choices: tuple, chosen: frozenset, empty_label: str) -> SafeString:
    options = [_html('<option value="">{}</option>', empty_label)] if empty_label else []
    options.extend(
        _html('<option value="{}"{}>{}</option>', value, SELECTED if str(value) in chosen else "", label)
        for value, label in choices
    )
    return SafeString("".join(options))  # Each option is _html output.
