"""JSON API for people, the organization, invitations and API tokens."""

from datetime import datetime

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.security import HttpBearer

from accounts import selectors, services
from accounts.models import ApiToken, User
from nexus.permissions import Action, Role, actions_for, require
from nexus.schemas import rows_by_id

router = Router(tags=["people"])


class ApiTokenAuth(HttpBearer):
    """`Authorization: Bearer nxs_…`: a personal token, scoped to its organization."""

    openapi_description = "A personal API token created on the profile page."

    def authenticate(self, request, token: str):
        api_token = services.authenticate_api_token(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.organization = api_token.organization
        # The middleware saw an anonymous request; times are the organization's wall-clock time.
        timezone.activate(api_token.organization.tzinfo)
        request.api_token = api_token
        return api_token.user


class OrganizationOut(Schema):
    id: int
    name: str
    slug: str
    corporate_id: str
    contact_email: str
    subscription_tier: str
    time_zone: str
    escalation_delay_minutes: int

    @staticmethod
    def resolve_escalation_delay_minutes(obj) -> int:
        return int(obj.escalation_delay.total_seconds() // 60)


class UserOut(Schema):
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    role: str
    is_active: bool
    phone: str = ""
    department: str = ""
    position: str = ""

    @staticmethod
    def resolve_phone(obj) -> str:
        return getattr(getattr(obj, "profile", None), "phone", "")

    @staticmethod
    def resolve_department(obj) -> str:
        return getattr(getattr(obj, "profile", None), "department", "")

    @staticmethod
    def resolve_position(obj) -> str:
        return getattr(getattr(obj, "profile", None), "position", "")


class MeOut(UserOut):
    organization: OrganizationOut
    permissions: list[str]

    @staticmethod
    def resolve_permissions(obj) -> list[str]:
        return sorted(action.value for action in actions_for(obj))


class UserPatch(Schema):
    role: Role | None = None
    is_active: bool | None = None


class InvitationIn(Schema):
    # Checked by the service (Django's rule, as on the web form): a 400 naming the field. Pydantic's stricter
    # check refused addresses its own schema allows (special-use domains).
    email: str = Field(max_length=254, json_schema_extra={"format": "email"})
    role: Role = Role.STAFF


class InvitationOut(Schema):
    id: int
    email: str
    role: str
    state: str
    created_at: datetime
    expires_at: datetime


class TokenIn(Schema):
    name: str = Field(max_length=ApiToken._meta.get_field("name").max_length)
    expires_in_days: int | None = Field(None, description="1 to 3650 days until it expires; never when left out.")


class TokenOut(Schema):
    id: int
    name: str
    hint: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str


class Error(Schema):
    detail: str


class PersonRef(Schema):
    """A person as other apps' answers name them."""

    id: int
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.display_name


def resolve_people(request, ids: list[int], *, field: str) -> list[User]:
    """The people of the caller's organization a body names (`field`); any other id is a 400 by number."""
    return rows_by_id(User, request.organization, ids, field=field, noun="person", plural="people")


@router.get("/me", response=MeOut, summary="The authenticated user, with organization and permissions")
def me(request):
    return selectors.get_member_or_404(organization=request.organization, pk=request.user.pk)


@router.get("/organization", response=OrganizationOut, tags=["organization"])
def organization(request):
    return request.organization


@router.get("/users", response=list[UserOut], summary="Members of the caller's organization")
def list_users(request, include_inactive: bool = False):
    return list(selectors.members_of(organization=request.organization, include_inactive=include_inactive))


@router.get("/users/{user_id}", response=UserOut)
def get_user(request, user_id: int):
    return selectors.get_member_or_404(organization=request.organization, pk=user_id)


@router.patch("/users/{user_id}", response={200: UserOut, 400: Error, 403: Error})
def update_user(request, user_id: int, payload: UserPatch):
    """Change a member's role or deactivate / reactivate them (admins only)."""
    require(request.user, Action.MANAGE_USERS)
    member = selectors.get_member_or_404(organization=request.organization, pk=user_id)
    # Both changes or neither: a refused deactivation must not leave a role change behind.
    with transaction.atomic():
        if payload.role is not None:
            member = services.change_role(actor=request.user, member=member, role=payload.role)
        if payload.is_active is not None:
            member = services.set_member_active(actor=request.user, member=member, is_active=payload.is_active)
    return selectors.get_member_or_404(organization=request.organization, pk=user_id)


@router.get("/invitations", response=list[InvitationOut], tags=["organization"])
def list_invitations(request):
    require(request.user, Action.INVITE_USERS)
    return list(selectors.invitations_of(organization=request.organization)[:200])


@router.post("/invitations", response={201: InvitationOut, 400: Error}, tags=["organization"])
def create_invitation(request, payload: InvitationIn):
    """Invite someone by e-mail with a role; the link is single-use and expires."""
    invitation, _ = services.invite_user(inviter=request.user, email=payload.email, role=payload.role)
    return Status(201, invitation)


@router.delete("/invitations/{invitation_id}", response={204: None, 400: Error}, tags=["organization"])
def revoke_invitation(request, invitation_id: int):
    require(request.user, Action.INVITE_USERS)
    invitation = selectors.get_invitation_or_404(organization=request.organization, pk=invitation_id)
    services.revoke_invitation(actor=request.user, invitation=invitation)
    return Status(204, None)


@router.get("/tokens", response=list[TokenOut], tags=["tokens"])
def list_tokens(request):
    return list(selectors.tokens_of(user=request.user))


@router.post("/tokens", response={201: TokenCreatedOut, 400: Error}, tags=["tokens"])
def create_token(request, payload: TokenIn):
    """Create a personal token. The `token` value is shown in this response only."""
    token, raw = services.create_api_token(
        user=request.user, name=payload.name, expires_in_days=payload.expires_in_days
    )
    token.token = raw
    return Status(201, token)


@router.delete("/tokens/{token_id}", response={204: None}, tags=["tokens"])
def revoke_token(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    services.revoke_api_token(user=request.user, token=token)
    return Status(204, None)
