from django import forms
from django.core.exceptions import ValidationError

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date-and-time picker, in the active (the organization's) time zone."""

    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format=DATETIME_FORMAT, **kwargs)


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
