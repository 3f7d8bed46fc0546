"""State changes for organizations, people, invitations, profiles and API tokens.

Each function is one action: it checks permission, validates, writes and
schedules its side effects on commit. Views, the API and commands call these;
nothing else saves these models.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from PIL import ImageOps

from accounts.models import ApiToken, Invitation, Organization, User, UserProfile, hash_secret
from nexus.images import encode, open_image
from nexus.permissions import Action, Role, require

AVATAR_SIZE = 512
AVATAR_THUMBNAIL_SIZE = 96


# Organizations


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "organization"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_organization(*, name: str, slug: str | None = None, **fields) -> Organization:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "An organization needs a name."})
    organization = Organization(name=name, slug=slug or _unique_slug(name), **fields)
    organization.full_clean()
    organization.save()
    return organization


def update_organization(*, actor: User, organization: Organization, **fields) -> Organization:
    require(actor, Action.MANAGE_ORGANIZATION)
    if actor.organization_id != organization.pk:
        raise ValidationError("You can only change your own organization.")
    allowed = {"name", "corporate_id", "contact_email", "time_zone", "escalation_delay"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    for key, value in fields.items():
        setattr(organization, key, value)
    organization.full_clean()
    organization.save()
    return organization


@transaction.atomic
def register_organization(*, user: User, organization_name: str, time_zone: str = "UTC") -> User:
    """Public sign-up: a new organization with `user` (unsaved, password set) as its admin."""
    organization = create_organization(name=organization_name, time_zone=time_zone, contact_email=user.email)
    user.organization = organization
    user.role = Role.ADMIN
    user.save()
    ensure_profile(user=user)
    return user


# People


def ensure_profile(*, user: User) -> UserProfile:
    profile, _ = UserProfile.objects.get_or_create(user=user)
    return profile


def _admins_left_after(member: User) -> int:
    return (
        User.objects.filter(organization_id=member.organization_id, role=Role.ADMIN, is_active=True)
        .exclude(pk=member.pk)
        .count()
    )


@transaction.atomic
def change_role(*, actor: User, member: User, role: str) -> User:
    require(actor, Action.MANAGE_USERS)
    if member.organization_id != actor.organization_id:
        raise ValidationError("That person is not in your organization.")
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; choose one of {', '.join(Role.values)}."})
    member = User.objects.select_for_update().get(pk=member.pk)
    if member.role == Role.ADMIN and role != Role.ADMIN and _admins_left_after(member) == 0:
        raise ValidationError({"role": "An organization needs at least one active admin."})
    member.role = role
    member.save(update_fields=["role"])
    return member


@transaction.atomic
def set_member_active(*, actor: User, member: User, is_active: bool) -> User:
    require(actor, Action.MANAGE_USERS)
    if member.organization_id != actor.organization_id:
        raise ValidationError("That person is not in your organization.")
    if member.pk == actor.pk and not is_active:
        raise ValidationError("You cannot deactivate yourself.")
    member = User.objects.select_for_update().get(pk=member.pk)
    if not is_active and member.role == Role.ADMIN and _admins_left_after(member) == 0:
        raise ValidationError("An organization needs at least one active admin.")
    member.is_active = is_active
    member.save(update_fields=["is_active"])
    if not is_active:
        ApiToken.objects.filter(user=member, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return member


@transaction.atomic
def create_member(
    *,
    organization: Organization,
    username: str,
    email: str,
    password: str,
    role: str = Role.STAFF,
    first_name: str = "",
    last_name: str = "",
    **profile_fields,
) -> User:
    """Create a person in `organization` directly (demo data, operators' scripts)."""
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    user = User(
        organization=organization,
        username=username,
        email=email,
        role=role,
        first_name=first_name,
        last_name=last_name,
    )
    user.full_clean(exclude=["password"])
    user.set_password(password)
    user.save()
    profile = ensure_profile(user=user)
    for key, value in profile_fields.items():
        setattr(profile, key, value)
    profile.full_clean(exclude=["user"])
    profile.save()
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


# Profile and avatar


def process_avatar(upload) -> tuple[ContentFile, ContentFile]:
    """Validate an upload and return (avatar, thumbnail) as re-encoded PNGs.

    Re-encoding drops whatever else the file carried (metadata, scripts in
    polyglot files); only the pixels survive.
    """
    image = open_image(upload, max_bytes=settings.NEXUS_AVATAR_MAX_BYTES, max_pixels=settings.NEXUS_AVATAR_MAX_PIXELS)
    image = image.convert("RGBA") if image.mode in ("RGBA", "LA", "P") else image.convert("RGB")
    avatar = image.copy()
    avatar.thumbnail((AVATAR_SIZE, AVATAR_SIZE))
    thumbnail = ImageOps.fit(image, (AVATAR_THUMBNAIL_SIZE, AVATAR_THUMBNAIL_SIZE))
    return encode(avatar, name="avatar.png"), encode(thumbnail, name="avatar.png")


def _delete_files_on_commit(*files) -> None:
    names = [(f.storage, f.name) for f in files if f]
    if names:
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in names])


@transaction.atomic
def update_profile(
    *,
    user: User,
    first_name: str,
    last_name: str,
    phone: str = "",
    department: str = "",
    position: str = "",
    avatar=None,
    remove_avatar: bool = False,
) -> UserProfile:
    profile = ensure_profile(user=user)
    profile.phone, profile.department, profile.position = phone.strip(), department.strip(), position.strip()
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.full_clean(exclude=["password", "organization"])
    profile.full_clean(exclude=["user", "avatar", "avatar_thumbnail"])
    if avatar is not None:
        full, thumbnail = process_avatar(avatar)
        # Schedule the old files' deletion before saving the new ones: FieldFile.save
        # renames the FieldFile in place, so afterwards it names the new file.
        _delete_files_on_commit(profile.avatar, profile.avatar_thumbnail)
        profile.avatar.save("avatar.png", full, save=False)
        profile.avatar_thumbnail.save("thumb.png", thumbnail, save=False)
    elif remove_avatar and profile.avatar:
        _delete_files_on_commit(profile.avatar, profile.avatar_thumbnail)
        profile.avatar, profile.avatar_thumbnail = None, None
    user.save(update_fields=["first_name", "last_name"])
    profile.save()
    return profile


# Invitations


def _invitation_url(raw_token: str) -> str:
    return settings.SITE_ROOT.rstrip("/") + reverse("accept_invitation", args=[raw_token])


def send_invitation_email(*, invitation: Invitation, raw_token: str) -> None:
    context = {
        "invitation": invitation,
        "url": _invitation_url(raw_token),
        "site_name": settings.SITE_NAME,
    }
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_body.txt", context)
    send_mail(subject, body, None, [invitation.email])


@transaction.atomic
def invite_user(*, inviter: User, email: str, role: str) -> tuple[Invitation, str]:
    """Create an invitation and e-mail its link; returns it and the one-time raw token."""
    require(inviter, Action.INVITE_USERS)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid e-mail address."}) from None
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "Someone with this e-mail address already has an account."})
    # An earlier pending invitation for the same address is replaced by this one.
    Invitation.objects.filter(
        organization_id=inviter.organization_id, email=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    raw_token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organization_id=inviter.organization_id,
        email=email,
        role=role,
        token_hash=hash_secret(raw_token),
        invited_by=inviter,
        expires_at=timezone.now() + timedelta(days=settings.NEXUS_INVITATION_DAYS),
    )
    invitation.full_clean(exclude=["token_hash", "invited_by", "organization"])
    invitation.save()
    transaction.on_commit(lambda: send_invitation_email(invitation=invitation, raw_token=raw_token))
    return invitation, raw_token


@transaction.atomic
def revoke_invitation(*, actor: User, invitation: Invitation) -> Invitation:
    require(actor, Action.INVITE_USERS)
    if invitation.organization_id != actor.organization_id:
        raise ValidationError("That invitation is not of your organization.")
    if invitation.accepted_at is not None:
        raise ValidationError("That invitation has already been accepted.")
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    return invitation


@transaction.atomic
def accept_invitation(
    *, raw_token: str, username: str, password: str, first_name: str = "", last_name: str = ""
) -> User:
    """Create the invited person's account. Single use: the row is locked and marked accepted."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("organization")
        .filter(token_hash=hash_secret(raw_token or ""))
        .first()
    )
    if invitation is None or not invitation.is_pending:
        raise ValidationError("This invitation link is invalid, expired or already used.")
    username = (username or "").strip()
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "That username is taken."})
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError("Someone with this e-mail address already has an account.")
    user = User(
        username=username,
        email=invitation.email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        organization=invitation.organization,
        role=invitation.role,
    )
    user.full_clean(exclude=["password"])
    validate_password(password, user)
    user.set_password(password)
    try:
        user.save()
    except IntegrityError:
        raise ValidationError("That username or e-mail address is taken.") from None
    ensure_profile(user=user)
    # The link reached this address, so the address is verified.
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return user


def purge_expired_invitations(*, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete invitations that expired unused more than `older_than` ago. Idempotent."""
    cutoff = timezone.now() - older_than
    deleted, _ = Invitation.objects.filter(accepted_at__isnull=True, expires_at__lt=cutoff).delete()
    return deleted


# API tokens


@transaction.atomic
def create_api_token(*, user: User, name: str, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """Create a token; the raw value is returned once and only its hash is kept."""
    require(user, Action.USE_API)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the token a name so you can recognise it later."})
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ValidationError({"expires_in_days": "Choose between 1 and 3650 days, or no expiry."})
    raw = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        organization_id=user.organization_id,
        user=user,
        name=name,
        token_hash=hash_secret(raw),
        hint=raw[: len(ApiToken.PREFIX) + 6],
        expires_at=timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    token.full_clean(exclude=["organization", "user"])
    token.save()
    return token, raw


@transaction.atomic
def revoke_api_token(*, user: User, token: ApiToken) -> ApiToken:
    if token.user_id != user.pk:
        raise ValidationError("That token is not yours.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def authenticate_api_token(raw: str) -> ApiToken | None:
    """The active token with this raw value, its user active in its organization, or None."""
    if not raw or not raw.startswith(ApiToken.PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user", "organization")
        .filter(token_hash=hash_secret(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.is_active:
        return None
    user = token.user
    if not user.is_active or user.organization_id != token.organization_id:
        return None
    now = timezone.now()
    # Record use at most once a minute so a busy client does not write on every call.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
