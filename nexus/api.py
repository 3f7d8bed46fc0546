"""The JSON API root, /api/v1/.

This module is the composition root of the API: it mounts every app's router,
so it imports upwards, as urls.py does. Every endpoint requires either a
session (browser, with CSRF) or a personal API token (Bearer); handlers ask
`nexus.permissions` and scope reads to `request.organization`.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import SessionAuth as NinjaSessionAuth

import nexus
from accounts.api import ApiTokenAuth
from accounts.api import router as accounts_router
from activities.api import router as activities_router
from chat.api import router as chat_router
from machines.api import IntegrationTokenAuth
from machines.api import router as machines_router
from nexus.errors import error_text
from nexus.notifications_api import router as notifications_router
from projects.api import router as projects_router
from updates.api import router as updates_router


class SessionAuth(NinjaSessionAuth):
    """The browser session, with CSRF checked only when there is a session to protect.

    Ninja's session auth checks CSRF before it looks at the user, so a script
    with a revoked token that POSTs would get "CSRF check Failed" (403) instead
    of the 401 that says what is wrong.
    """

    def __call__(self, request):
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


api = NinjaAPI(
    title="Nexus API",
    version="1",
    description=(
        "The Nexus hub's JSON API. Authenticate with a personal token from your profile page "
        "(`Authorization: Bearer nxs_…`) or a browser session. Every object belongs to the "
        "caller's organization; an object of another organization is a 404. Monitoring systems and sensors "
        "use an integration token (`Bearer nxm_…`) on the machine endpoints."
    ),
    auth=[ApiTokenAuth(), SessionAuth()],
    urls_namespace="api-v1",
    openapi_extra={"info": {"x-nexus-version": nexus.__version__}},
)


@api.exception_handler(PermissionDenied)
def permission_denied(request, exc):
    return api.create_response(request, {"detail": str(exc) or "Your role may not do that."}, status=403)


@api.exception_handler(ValidationError)
def refused(request, exc):
    """A service refused the input: 400 with its reasons; the service changed nothing."""
    return api.create_response(request, {"detail": error_text(exc)}, status=400)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": "Not found."}, status=404)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return api.create_response(
        request, {"detail": "Authentication required: send a valid API token or log in."}, status=401
    )


@api.exception_handler(NinjaValidationError)
def invalid_input(request, exc):
    return api.create_response(request, {"detail": "Invalid input.", "errors": exc.errors}, status=422)


api.add_router("/", accounts_router)
api.add_router("/", activities_router)
api.add_router("/", projects_router)
api.add_router("/", chat_router)
api.add_router("/", updates_router)
api.add_router("/", notifications_router)
# Machines also take external systems' integration tokens (`nxm_…`); the handlers say what those may do.
api.add_router("/", machines_router, auth=[ApiTokenAuth(), IntegrationTokenAuth(), SessionAuth()])
