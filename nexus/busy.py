"""A database that is busy or away is a 503 that says "try again", not a 500.

A burst of requests waits for the connection pool (`DATABASE_POOL_TIMEOUT`);
one that waited too long, or a database that is down or restarting, raises
`django.db.OperationalError`, often before any view runs (the session and the
user are read in middleware). Django turns such exceptions into a call of
`handler500`, which is this module's `server_error`: it answers 503 with
`Retry-After`, as JSON on the API and as a standalone page elsewhere (the base
layout itself needs the database), and leaves every other error to Django's own
500 handler (as JSON on the API, like every other answer there).
"""

import sys

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.defaults import server_error as django_server_error

RETRY_AFTER_SECONDS = 5


def busy_response(request: HttpRequest) -> HttpResponse:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "The hub is busy and could not reach its database in time: try again shortly."},
            status=503,
            headers=headers,
        )
    html = loader.render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
    return HttpResponse(html, status=503, headers=headers)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 for a database that is busy or unreachable, Django's 500 for anything else."""
    error = sys.exc_info()[1]
    # Django has logged the exception before calling this.
    if isinstance(error, OperationalError):
        return busy_response(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Something went wrong on the server; it has been logged."}, status=500)
    return django_server_error(request)
