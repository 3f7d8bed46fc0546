"""Text people type, made ready to store: one place for the rules every app shares.

PostgreSQL refuses a null character in text and in JSON, so one that reached a
query or a row would be a 500. Every door refuses it the same way: HTTP requests
in `nexus.input_guard` (before any view runs), every row any door saves in
`nexus.storable` (sockets, commands and tasks included), and services that clean
what people type with `clean_text`. Other code (a socket's frames) asks
`contains_nul` of what it decoded.
"""

from django.core.exceptions import ValidationError

NUL = "\x00"
NUL_MESSAGE = "Text may not contain null characters."


def contains_nul(value) -> bool:
    """Whether a string, or any key or string inside decoded JSON (dicts, lists), holds a null character."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, bytes):
        return b"\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(item) for item in value)
    return False


def length_message(max_length: int) -> str:
    return f"At most {max_length:,} characters."


def check_text(text: str, field: str, *, max_length: int | None = None) -> str:
    """Refuse a null character or more than `max_length` characters with a ValidationError on `field`."""
    if NUL in text:
        raise ValidationError({field: NUL_MESSAGE})
    if max_length is not None and len(text) > max_length:
        raise ValidationError({field: length_message(max_length)})
    return text


def clean_text(text: str | None, field: str, *, max_length: int | None = None) -> str:
    """Newlines made "\\n", ends trimmed; a null character (PostgreSQL refuses them) or more than
    `max_length` characters is a ValidationError on `field`."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return check_text(text, field, max_length=max_length)
