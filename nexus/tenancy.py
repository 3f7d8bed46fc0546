"""The one tenancy mechanism.

The request's organization is the logged-in user's organization (as a Zulip
realm); nothing in the URL or the request body can choose another. Every read
goes through `scoped()` or `get_for_org_or_404()`, so an object of another
organization is a 404 and never a 403 that would confirm it exists.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone


class OrganizationMiddleware:
    """Sets `request.organization` from the authenticated user (None when anonymous).

    It also activates the organization's time zone, so times are shown and
    entered in the factory's wall-clock time.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        request.organization = user.organization if user is not None and user.is_authenticated else None
        # Always an override, so a zone activated later (API token auth) ends with the request.
        with timezone.override(request.organization.tzinfo if request.organization else None):
            return self.get_response(request)


def scoped(queryset: QuerySet | type[models.Model], organization) -> QuerySet:
    """Restrict a queryset (or a model's default manager) to one organization.

    A missing organization yields an empty queryset rather than every row.
    """
    if isinstance(queryset, type) and issubclass(queryset, models.Model):
        queryset = queryset._default_manager.all()
    if organization is None:
        return queryset.none()
    return queryset.filter(organization=organization)


def get_for_org_or_404(queryset: QuerySet | type[models.Model], organization, **lookup):
    """Fetch one object of `organization` or raise Http404, whoever owns it otherwise."""
    queryset = scoped(queryset, organization)
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError, ValidationError):
        # A malformed identifier is as unknown as a missing one.
        raise Http404("No such object.") from None


class TenantModel(models.Model):
    """Abstract base for every tenant-owned row."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


def check_same_organization(organization_id: int, *, active: Iterable[str] = (), **related: tuple[object, str]) -> None:
    """Raise one ValidationError naming each field whose related objects are not all of the organization.

    `related` maps a form field to (objects, message): None (nothing chosen), one
    model instance or an iterable of them. Fields named in `active` hold people
    who must also be active (an assignee, a manager; a team may keep someone
    deactivated later, so its check is separate).
    """
    active = set(active)
    errors = {}
    for name, (objects, message) in related.items():
        if objects is None:
            continue
        if isinstance(objects, models.Model):
            objects = [objects]
        if any(obj.organization_id != organization_id or (name in active and not obj.is_active) for obj in objects):
            errors[name] = message
    if errors:
        raise ValidationError(errors)
