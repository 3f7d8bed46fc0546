import hashlib
import uuid
import zoneinfo
from datetime import timedelta

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from nexus.permissions import Role


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Berlin).")


class Organization(models.Model):
    """A tenant: one factory or company. Every tenant-owned row points here."""

    class Tier(models.TextChoices):
        FREE = "free", "Free"
        PROFESSIONAL = "professional", "Professional"
        ENTERPRISE = "enterprise", "Enterprise"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    corporate_id = models.CharField(
        max_length=64, blank=True, help_text="Company registration or ERP identifier, if any."
    )
    contact_email = models.EmailField(blank=True)
    subscription_tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.FREE)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    escalation_delay = models.DurationField(
        default=timedelta(minutes=15),
        help_text="How long an incident may stay unclaimed before managers are notified.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["corporate_id"],
                condition=~models.Q(corporate_id=""),
                name="organization_unique_corporate_id",
            ),
            models.CheckConstraint(
                condition=models.Q(escalation_delay__gte=timedelta(minutes=1)),
                name="organization_escalation_delay_at_least_a_minute",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class NexusUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        # `createsuperuser` asks for no organization; a superuser administers the
        # first organization, which is created when there is none yet.
        if extra_fields.get("organization") is None and extra_fields.get("organization_id") is None:
            organization = Organization.objects.order_by("pk").first()
            if organization is None:
                organization = Organization.objects.create(name="Default organization", slug="default")
            extra_fields["organization"] = organization
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person. Belongs to exactly one organization and has one role there."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STAFF)
    email = models.EmailField(unique=True)

    objects = NexusUserManager()

    class Meta:
        ordering = ["username"]
        indexes = [
            models.Index(fields=["role"], name="idx_user_role"),
            models.Index(fields=["is_active"], name="idx_user_is_active"),
            models.Index(fields=["organization", "role"], name="idx_user_org_role"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def display_name(self) -> str:
        return self.name_from(self.first_name, self.last_name, self.username)

    @staticmethod
    def name_from(first_name: str, last_name: str, username: str) -> str:
        """How a person is shown, from the three columns (for reads that skip building a User)."""
        return f"{first_name} {last_name}".strip() or username

    @property
    def initials(self) -> str:
        parts = [p for p in (self.first_name, self.last_name) if p]
        if parts:
            return "".join(p[0] for p in parts).upper()[:2]
        return self.username[:2].upper()

    def save(self, *args, **kwargs):
        # E-mail uniqueness is case-insensitive in practice; store it normalised.
        if self.email:
            self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


def _avatar_path(instance, filename: str) -> str:
    # Per-organization folders and random names: nothing guessable, nothing shared.
    return f"avatars/{instance.user.organization_id}/{uuid.uuid4().hex}.png"


def _avatar_thumbnail_path(instance, filename: str) -> str:
    return f"avatars/{instance.user.organization_id}/{uuid.uuid4().hex}-thumb.png"


phone_validator = RegexValidator(
    r"^\+?[0-9 ()./-]{3,20}$", "Enter a phone number of digits, spaces and + ( ) . / - only."
)


class UserProfile(models.Model):
    class ChatNotifications(models.TextChoices):
        ALL = "all", "Every message in my conversations"
        MENTIONS = "mentions", "Only direct messages and @mentions"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    phone = models.CharField(max_length=20, blank=True, validators=[phone_validator])
    department = models.CharField(max_length=100, blank=True)
    position = models.CharField(max_length=100, blank=True)
    avatar = models.ImageField(upload_to=_avatar_path, blank=True)
    avatar_thumbnail = models.ImageField(upload_to=_avatar_thumbnail_path, blank=True)
    chat_notifications = models.CharField(
        max_length=10, choices=ChatNotifications.choices, default=ChatNotifications.MENTIONS
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret; secrets are never stored in the clear."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Invitation(models.Model):
    """An e-mailed, single-use, expiring link that lets someone join with a role."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STAFF)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one pending invitation per address in an organization.
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_pending_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.organization}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class ApiToken(models.Model):
    """A personal token for the JSON API, stored hashed and scoped to one organization."""

    PREFIX = "nxs_"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, kept so people can tell their tokens apart.
    hint = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()
