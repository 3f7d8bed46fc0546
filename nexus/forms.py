from django import forms
from django.core.exceptions import ValidationError

from nexus.storable import storable_datetime

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeField(forms.DateTimeField):
    """A date and time the database can store (`nexus.storable.storable_datetime`): years 1 to 9999 in UTC,
    any offset converted to UTC. Read in the active (the organization's) time zone without one."""

    def to_python(self, value):
        result = super().to_python(value)
        if result is None:
            return None
        try:
            return storable_datetime(result, "value")
        except ValidationError as error:
            raise ValidationError(error.message_dict["value"], code="invalid") from None


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date-and-time picker, in the active (the organization's) time zone."""

    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=DATETIME_FORMAT, **kwargs)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; each is checked by content in the app's service, not here."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(upload, initial) for upload in files if upload]


def apply_validation_error(form: forms.Form, error: ValidationError, default_field: str | None = None) -> None:
    """Attach a service's ValidationError to a form: per field where it names one.

    Errors naming a field the form lacks, or naming none, go to `default_field`
    (or the form's non-field errors), so the person always sees the reason.
    """
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            target = field if field in form.fields else default_field
            for message in errors:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(default_field, message)
