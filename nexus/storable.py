"""What the database can store, checked for every row before it is written.

Whatever door a value came through (a form, the API, a socket, a command, a
task), a row that PostgreSQL would refuse must be a ValidationError naming the
field, which every door already answers with a 400 and a reason, never a
500. `check_storable` runs on every model's `pre_save` (connected in
`nexus.apps`): text and JSON without null characters, text within the field's
`max_length` (also for TextFields, which Django does not enforce), date-times
within years 1 to 9999 in UTC. Services still validate first, with messages of
their own; this is the rule nothing slips past. (`QuerySet.update()` and
`bulk_create` do not send `pre_save`: callers pass them values they made
themselves, or check them with `check_storable` first.)
"""

from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from nexus.text import NUL_MESSAGE, check_text, contains_nul

DATETIME_RANGE_MESSAGE = "Enter a date and time between the years 1 and 9999 (in UTC)."

# A time without an offset is read later in the organization's zone, up to 14 hours from UTC.
_NAIVE_MARGIN = timedelta(days=1)


def storable_datetime(value: datetime, field: str) -> datetime:
    """`value` in UTC, or a ValidationError on `field` when the database cannot store it.

    An aware time is converted to UTC: every offset Python parses (even -23:59,
    which PostgreSQL refuses as a zone) names a real instant. A naive time (to
    be read in a time zone later) must stay a day away from the ends of the
    calendar, so that any zone keeps it within years 1 to 9999.
    """
    if timezone.is_naive(value):
        if not (datetime.min + _NAIVE_MARGIN <= value <= datetime.max - _NAIVE_MARGIN):
            raise ValidationError({field: DATETIME_RANGE_MESSAGE})
        return value
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValidationError({field: DATETIME_RANGE_MESSAGE}) from None


def check_storable(instance: models.Model) -> None:
    """Raise a ValidationError naming each field of `instance` the database would refuse.

    Aware date-times are converted to UTC on the instance, the form the database keeps anyway.
    """
    errors = {}
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname, None)
        if value is None:
            continue
        if isinstance(field, models.CharField | models.TextField) and isinstance(value, str):
            try:
                check_text(value, field.name, max_length=field.max_length)
            except ValidationError as error:
                errors.update(error.message_dict)
        elif isinstance(field, models.JSONField):
            if contains_nul(value):
                errors[field.name] = NUL_MESSAGE
        elif isinstance(field, models.DateTimeField) and isinstance(value, datetime):
            try:
                setattr(instance, field.attname, storable_datetime(value, field.name))
            except ValidationError:
                errors[field.name] = DATETIME_RANGE_MESSAGE
    if errors:
        raise ValidationError(errors)


def refuse_unstorable(sender, instance, raw=False, **kwargs) -> None:
    """The `pre_save` receiver; fixtures loaded raw are trusted as they are."""
    if not raw:
        check_storable(instance)
