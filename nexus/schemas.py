"""Types the API's schemas share, so every endpoint validates the same input the same way."""

from datetime import datetime
from typing import Annotated

from django.core.exceptions import ValidationError
from pydantic import AfterValidator, BeforeValidator, Field

from nexus.storable import DATETIME_RANGE_MESSAGE, storable_datetime


def _storable(value: datetime) -> datetime:
    try:
        return storable_datetime(value, "value")
    except ValidationError:
        raise ValueError(DATETIME_RANGE_MESSAGE) from None


def _not_a_boolean(value):
    # JSON's true is not the integer 1, whatever Python says; 5.0 is an integer to JSON Schema, and stays one.
    if isinstance(value, bool):
        raise ValueError("Input should be an integer, not a boolean")
    return value


# A row's id in a body: an integer a bigint can hold.
Id = Annotated[int, Field(ge=1, le=2**63 - 1), BeforeValidator(_not_a_boolean)]

# A date-time the database can store: an offset is converted to UTC; years 1 to 9999 (a 422 otherwise).
StorableDateTime = Annotated[datetime, AfterValidator(_storable)]


def max_length_of(model, field: str) -> int:
    """A model field's limit, for the schema field that feeds it: one number, defined on the model."""
    return model._meta.get_field(field).max_length
