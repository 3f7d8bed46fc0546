"""Text people type, made ready to store: one place for the rules every app shares."""

from django.core.exceptions import ValidationError


def clean_text(text: str | None, field: str) -> str:
    """Newlines made "\\n", ends trimmed; a null character (PostgreSQL refuses them) is a ValidationError on `field`."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if "\x00" in text:
        raise ValidationError({field: "Text may not contain null characters."})
    return text
