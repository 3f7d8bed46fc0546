"""The secret key of an installation that was given none: generated once, kept in the data directory.

`make run` is what people put on a plant network, so it serves with DEBUG off, and
DEBUG off needs a real secret. Asking a newcomer to invent one would break the
one-command start; a key shipped in the repository would be public. So the first
start writes a random key to `<NEXUS_DATA_DIR>/secret_key` (readable by its owner
only) and every later start reads it back: sessions and password-reset links
survive restarts. `DJANGO_SECRET_KEY` in the environment still wins.

Several processes start at once (gunicorn's workers beside daphne, two compose
containers on one volume), so the file appears atomically: written under a
temporary name, then hard-linked into place, which fails if another process won.
"""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

FILE_NAME = "secret_key"
# Django asks for at least 50 characters and 5 distinct ones (security.W009); 64 bytes give 86.
KEY_BYTES = 64


def _read(path: Path) -> str:
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 50:
        raise ImproperlyConfigured(
            f"{path} holds a secret key of {len(key)} characters; Django needs at least 50. "
            "Delete the file to have a new one generated (this logs everyone out), or set DJANGO_SECRET_KEY."
        )
    return key


def secret_key_in(directory: Path) -> str:
    """The key kept in `directory`, generated there (mode 0600) on the first call."""
    path = directory / FILE_NAME
    if path.exists():
        return _read(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # Another process generated it first; everyone uses that one.
        finally:
            temporary.unlink()
    except OSError as error:
        raise ImproperlyConfigured(
            f"No secret key: DJANGO_SECRET_KEY is not set and {path} could not be created ({error}). "
            "Set DJANGO_SECRET_KEY, or NEXUS_DATA_DIR to a directory this user may write."
        ) from None
    return _read(path)
