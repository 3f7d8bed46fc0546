"""Reads for accounts, each scoped to one organization."""

from django.db.models import QuerySet

from accounts.models import ApiToken, Invitation, Organization, User
from nexus.tenancy import get_for_org_or_404, scoped


def members_of(*, organization: Organization, include_inactive: bool = False) -> QuerySet[User]:
    queryset = scoped(User, organization).select_related("profile").order_by("username")
    if not include_inactive:
        queryset = queryset.filter(is_active=True)
    return queryset


def get_member_or_404(*, organization: Organization, pk) -> User:
    return get_for_org_or_404(User.objects.select_related("profile"), organization, pk=pk)


def invitations_of(*, organization: Organization) -> QuerySet[Invitation]:
    return scoped(Invitation, organization).select_related("invited_by", "accepted_by").order_by("-created_at")


def get_invitation_or_404(*, organization: Organization, pk) -> Invitation:
    return get_for_org_or_404(Invitation, organization, pk=pk)


def tokens_of(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, organization_id=user.organization_id).order_by("-created_at")


def organizations_to_populate(slug: str | None):
    """Every organization, or the one with `slug` (the `--organization` of the populate_* commands).

    Raises CommandError when no organization has that slug.
    """
    from django.core.management.base import CommandError

    organizations = Organization.objects.order_by("slug")
    if slug:
        organizations = organizations.filter(slug=slug)
        if not organizations.exists():
            raise CommandError(f"No organization {slug!r}; run populate_users first.")
    return organizations
