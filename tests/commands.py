"""Running management commands in tests."""

import io

from django.core.management import call_command


def run_command(name: str, **options) -> str:
    """Run a management command; returns what it printed (its errors go nowhere)."""
    out = io.StringIO()
    call_command(name, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()
