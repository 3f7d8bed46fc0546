"""Types the API's schemas share, so every endpoint validates the same input the same way."""

from datetime import datetime
from typing import Annotated

from django.core.exceptions import ValidationError
from pydantic import AfterValidator, BeforeValidator, Field

from nexus.storable import DATETIME_RANGE_MESSAGE, storable_datetime
from nexus.tenancy import scoped


def _storable(value: datetime) -> datetime:
    try:
        return storable_datetime(value, "value")
    except ValidationError:
        raise ValueError(DATETIME_RANGE_MESSAGE) from None


def not_a_boolean(value):
    # JSON's true is not the integer 1, whatever Python says; 5.0 is an integer to JSON Schema, and stays one.
    if isinstance(value, bool):
        raise ValueError("Input should be an integer, not a boolean")
    return value


# A row's id in a body: an integer a bigint can hold.
Id = Annotated[int, Field(ge=1, le=2**63 - 1), BeforeValidator(not_a_boolean)]

# A date-time the database can store: an offset is converted to UTC; years 1 to 9999 (a 422 otherwise).
StorableDateTime = Annotated[datetime, AfterValidator(_storable)]


def max_length_of(model, field: str) -> int:
    """A model field's limit, for the schema field that feeds it: one number, defined on the model."""
    return model._meta.get_field(field).max_length


def rows_by_id(model, organization, ids: list[int], *, field: str, noun: str, plural: str | None = None) -> list:
    """The rows of `organization` a body names by id, in the order sent, each once.

    Any id of another organization, or of none, is refused by number (a 400 naming
    `field`), never dropped: a caller who sends five people must not silently get four.
    """
    wanted = list(dict.fromkeys(ids))
    found = scoped(model, organization).in_bulk(wanted)
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        name = noun if len(missing) == 1 else (plural or f"{noun}s")
        raise ValidationError({field: f"Unknown {name} {', '.join(str(pk) for pk in missing)}."})
    return [found[pk] for pk in wanted]
