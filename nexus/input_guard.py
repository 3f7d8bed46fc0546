"""Refuse requests no view could handle well, before any view (or CSRF check) reads them.

- A null character anywhere in the path, the query string, a form field, a file
  name or a JSON body: PostgreSQL refuses them in text, so one that reached a
  query was a 500. Refused here with 400, whatever the endpoint.
- A body over DATA_UPLOAD_MAX_MEMORY_SIZE (files of a multipart body do not count:
  they stream to disk): 413 instead of Django's RequestDataTooBig.
- A multipart body Django cannot parse: 400 with a reason.
- On the API, a JSON body that is not an object: every endpoint takes an object,
  and ninja would otherwise read a string or `null` as an empty patch. 422, the
  shape of every other validation error.

The API (`/api/`) answers `{"detail": ...}` as all its errors do; pages answer a
short page in the site's layout.
"""

import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from nexus.text import NUL_MESSAGE, contains_nul

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Bodies ninja reads as JSON: it parses any content type but forms and multipart.
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
NOT_AN_OBJECT = "The body must be a JSON object."


class Refused(Exception):
    def __init__(self, status: int, reason: str, errors: list | None = None):
        super().__init__(reason)
        self.status, self.reason, self.errors = status, reason, errors


def too_big_reason() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return f"The request is too large: at most {limit // (1024 * 1024)} MB, not counting uploaded files."


class InputGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check_request(request)
        except Refused as refused:
            return refusal(request, refused)
        return self.get_response(request)


def check_request(request) -> None:
    if contains_nul(request.path) or _querydict_has_nul(request.GET):
        raise Refused(400, NUL_MESSAGE)
    if request.method not in BODY_METHODS:
        return
    try:
        if request.content_type in FORM_TYPES:
            _check_form(request)
        else:
            _check_raw_body(request)
    except RequestDataTooBig:
        raise Refused(413, too_big_reason()) from None
    except MultiPartParserError as error:
        raise Refused(400, f"The multipart body could not be read: {error}") from None
    except SuspiciousOperation as error:
        # Too many fields or files (DATA_UPLOAD_MAX_NUMBER_FIELDS / _FILES).
        raise Refused(400, str(error) or "The request could not be read.") from None


def _querydict_has_nul(querydict) -> bool:
    return any(contains_nul(key) or contains_nul(querydict.getlist(key)) for key in querydict)


def _check_form(request) -> None:
    if _querydict_has_nul(request.POST):
        raise Refused(400, NUL_MESSAGE)
    if any(contains_nul(upload.name or "") for _, uploads in request.FILES.lists() for upload in uploads):
        raise Refused(400, NUL_MESSAGE)


def _check_raw_body(request) -> None:
    body = request.body  # Raises RequestDataTooBig past the limit.
    stripped = body.lstrip()
    if not stripped:
        return
    # "\u0000" is how JSON spells a null character; the body is decoded only when it may hold one.
    if b"\x00" in body or (b"\\u0000" in body and _json_has_nul(body)):
        raise Refused(400, NUL_MESSAGE)
    if request.path.startswith(API_PREFIX) and not stripped.startswith(b"{"):
        raise Refused(422, "Invalid input.", [{"type": "model_type", "loc": ["body"], "msg": NOT_AN_OBJECT}])


def _json_has_nul(body: bytes) -> bool:
    try:
        return contains_nul(json.loads(body))
    except ValueError:
        return False  # Not JSON: the view says what is wrong with it.


def refusal(request, refused: Refused):
    logger.info("Refused %s %s: %s %s", request.method, request.path, refused.status, refused.reason)
    if request.path.startswith(API_PREFIX):
        content = {"detail": refused.reason}
        if refused.errors is not None:
            content["errors"] = refused.errors
        return JsonResponse(content, status=refused.status)
    template = "413.html" if refused.status == 413 else "400.html"
    return render(request, template, {"reason": refused.reason}, status=refused.status)
