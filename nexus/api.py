"""The JSON API root, /api/v1/.

This module is the composition root of the API: it mounts every app's router,
so it imports upwards, as urls.py does. Every endpoint requires either a
session (browser, with CSRF) or a personal API token (Bearer); handlers ask
`nexus.permissions` and scope reads to `request.organization`.
"""

from http.client import responses

from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, ConfigError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import REF_TEMPLATE, OpenAPISchema
from ninja.schema import NinjaGenerateJsonSchema
from ninja.security import SessionAuth as NinjaSessionAuth

import nexus
from accounts.api import ApiTokenAuth, Error
from accounts.api import router as accounts_router
from activities.api import router as activities_router
from chat.api import router as chat_router
from machines.api import IntegrationTokenAuth
from machines.api import router as machines_router
from nexus.errors import error_text
from nexus.input_guard import BODY_METHODS, too_big_reason
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


class InvalidInput(Schema):
    detail: str = Field(description='"Invalid input."')
    errors: list[dict] = Field(description="Each problem: where (`loc`), what (`msg`) and its `type`.")


def error_statuses(operation) -> dict[int, type[Schema]]:
    """The errors any operation may answer besides its own, whatever its handler does.

    400: the input guard refuses null characters anywhere, and services refuse what
    they cannot accept; 401 and 403: authentication, CSRF and roles; 404: an id in
    the path of another organization or none; 413: a body over the size limit;
    422: parameters or a body the schema refuses.
    """
    statuses = {400: Error, 422: InvalidInput}
    if operation.auth_callbacks:
        statuses |= {401: Error, 403: Error}
    if "{" in operation.path:
        statuses[404] = Error
    if set(operation.methods) & BODY_METHODS:
        statuses[413] = Error
    return statuses


class NexusOpenAPISchema(OpenAPISchema):
    """Ninja's schema, with every error an operation can answer documented, and one name per schema.

    Ninja builds each operation's schemas apart and merges them by name, so two
    different enums or schemas of one name (activities' and machines' `Status`)
    silently became one, and responses broke their own schema. A clash is a
    ConfigError here, so the schema tests catch it.
    """

    def add_schema_definitions(self, definitions: dict) -> None:
        for name, definition in definitions.items():
            if name in self.schemas and self.schemas[name] != definition:
                raise ConfigError(f"Two different schemas are named {name!r} in the API; rename one.")
        super().add_schema_definitions(definitions)

    def responses(self, operation) -> dict:
        result = super().responses(operation)
        for status, model in error_statuses(operation).items():
            if status in result:
                continue
            schema = model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=NinjaGenerateJsonSchema)
            self.add_schema_definitions({model.__name__: schema})
            result[status] = {
                "description": responses.get(status, "Error"),
                "content": {
                    self.api.renderer.media_type: {"schema": {"$ref": REF_TEMPLATE.format(model=model.__name__)}}
                },
            }
        return result


class NexusAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return NexusOpenAPISchema(self, path_prefix)


api = NexusAPI(
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


@api.exception_handler(RequestDataTooBig)
def too_big(request, exc):
    # nexus.input_guard answers first; this is for a body read past it.
    return api.create_response(request, {"detail": too_big_reason()}, status=413)


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
