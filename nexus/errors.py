"""One way to say why input was refused, for the API and htmx responses alike."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def error_text(error: ValidationError, field_names: dict[str, str] | None = None) -> str:
    """A ValidationError's reasons as one sentence per field ("end_date: …; …").

    `field_names` renames fields to what the caller knows them as (e.g. the API's
    `manager_id` for the model's `manager`).
    """
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    reasons = []
    for field, messages in error.message_dict.items():
        text = " ".join(messages)
        name = (field_names or {}).get(field, field)
        reasons.append(text if field == NON_FIELD_ERRORS else f"{name}: {text}")
    return "; ".join(reasons)
