"""Updates: announcements managers broadcast to the organization, to roles or to chosen people (seed 001).

An update is a draft until it is published, now or at a scheduled time
(`published_at` in the future while `is_published` is false). Publishing fixes
its audience: one `UpdateRecipient` row per person targeted at that moment, the
row that makes the update visible to them and records their acknowledgement
(critical updates ask for one). The author always sees their own updates.
Comments are threaded one level deep; likes are one per person.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

from nexus.tenancy import TenantModel
from nexus.uploads import random_path


class UpdateType(models.TextChoices):
    ANNOUNCEMENT = "announcement", "Announcement"
    ALERT = "alert", "Alert"
    MAINTENANCE = "maintenance", "Maintenance"
    SYSTEM_UPDATE = "update", "System update"
    NEWS = "news", "News"
    SHIFT_REPORT = "shift_report", "Shift report"


class UpdatePriority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# The short name this app has always used; the class is named apart from activities' priorities for the API.
Priority = UpdatePriority

# Text limits, enforced for every door by nexus.storable (and stated in the forms and the API's schema).
# The rendered HTML has none of its own: it follows from what was written.
MAX_TITLE_LENGTH = 200
MAX_CONTENT_LENGTH = 50_000
MAX_COMMENT_LENGTH = 5_000
MAX_CAPTION_LENGTH = 500


def _file_path(instance, filename: str) -> str:
    # Per-organization folders and random names; the name people see is kept in the row, not on disk.
    return random_path(f"updates/{instance.update.organization_id}", filename)


def _thumbnail_path(instance, filename: str) -> str:
    return random_path(f"updates/{instance.update.organization_id}", "thumb.jpg")


class Update(TenantModel):
    title = models.CharField(max_length=MAX_TITLE_LENGTH)
    content = models.TextField(blank=True, max_length=MAX_CONTENT_LENGTH)
    content_html = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=UpdateType.choices, default=UpdateType.ANNOUNCEMENT)
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.MEDIUM)
    # None for updates the system posts (shift reports).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="authored_updates"
    )
    # The audience: everyone, or the union of some roles and some people.
    target_all = models.BooleanField(default=True)
    target_roles = models.JSONField(default=list, blank=True)
    target_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="targeted_updates")
    is_published = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "is_published", "published_at"], name="update_org_published"),
            # Seed 001's indexes on updates: by type, by priority, and both (the feed's filters, notifications).
            models.Index(fields=["type"], name="update_type"),
            models.Index(fields=["priority"], name="update_priority"),
            models.Index(fields=["type", "priority"], name="update_type_priority"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("updates:detail", args=[self.pk])

    @property
    def needs_acknowledgement(self) -> bool:
        return self.priority == Priority.CRITICAL

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_scheduled(self) -> bool:
        return not self.is_published and self.published_at is not None

    @property
    def state(self) -> str:
        if self.is_deleted:
            return "deleted"
        if self.is_published:
            return "published"
        return "scheduled" if self.is_scheduled else "draft"


class UpdateRecipient(models.Model):
    """One person an update was published to; their acknowledgement when it asks for one."""

    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="update_receipts")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["update", "user"], name="update_recipient_once")]
        indexes = [models.Index(fields=["user", "update"], name="update_recipient_user")]

    def __str__(self) -> str:
        return f"update {self.update_id} to user {self.user_id}"


class UpdateAttachment(models.Model):
    """A file attached to an update (seed: filename, size and MIME type recorded)."""

    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_file_path, max_length=300)
    filename = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField()
    mime_type = models.CharField(max_length=100)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class UpdateMedia(models.Model):
    """An image (thumbnailed), a short video or a sound (a voice message, a machine's noise) played in an update,
    with a caption (seed 001's image, video, audio)."""

    class MediaType(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        AUDIO = "audio", "Audio"

    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="media")
    media_file = models.FileField(upload_to=_file_path, max_length=300)
    media_type = models.CharField(max_length=20, choices=MediaType.choices)
    mime_type = models.CharField(max_length=100)
    filename = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField()
    thumbnail = models.ImageField(upload_to=_thumbnail_path, blank=True, max_length=300)
    caption = models.TextField(blank=True, max_length=MAX_CAPTION_LENGTH)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class UpdateComment(models.Model):
    """A comment on an update; `parent` makes it a reply (one level: replies to replies go to the top one)."""

    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="update_comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    content = models.TextField(max_length=MAX_COMMENT_LENGTH)
    content_html = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.content[:50]


class UpdateLike(models.Model):
    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="likes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="update_likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["update", "user"], name="update_like_once")]

    def __str__(self) -> str:
        return f"user {self.user_id} likes update {self.update_id}"
