"""Activities: the work people coordinate (seed 001), with their history and thread.

An activity with no assignee is in the claimable pool. Status and priority
changes always leave an `ActivityStatus` / `ActivityPriority` row (the seed's
history models); everything that happens to an activity also leaves an
`ActivityComment` in its thread, the one timeline people read.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

from nexus.tenancy import TenantModel


class ActivityType(models.TextChoices):
    PRODUCTION = "Production", "Production"
    MAINTENANCE = "Maintenance", "Maintenance"
    INSPECTION = "Inspection & Audit", "Inspection & Audit"
    ENGINEERING = "Engineering", "Engineering"
    LOGISTICS = "Logistics", "Logistics"
    QUALITY = "Quality", "Quality"
    MEETINGS = "Meetings", "Meetings"
    PROJECTS = "Projects", "Projects"
    TRAINING = "Training", "Training"
    ADMIN = "Admin & Systems", "Admin & Systems"


class Status(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in-progress", "In Progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    OVERDUE = "overdue", "Overdue"


# Statuses in which an activity is still work to do.
OPEN_STATUSES = (Status.PLANNED, Status.IN_PROGRESS, Status.OVERDUE)
CLOSED_STATUSES = (Status.COMPLETED, Status.CANCELLED)


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


# Sort rank of each priority, most urgent first.
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}

# Text limits, enforced for every door by nexus.storable (and stated in the forms and the API's schema).
TAG_DESCRIPTION_MAX_LENGTH = 1_000
ACTIVITY_DESCRIPTION_MAX_LENGTH = 10_000
MAX_COMMENT_LENGTH = 10_000
# What a person types as the reason for a change; the history keeps longer notes the system writes.
NOTE_MAX_LENGTH = 1_000

hex_color_validator = RegexValidator(r"^#[0-9A-Fa-f]{6}$", "Enter a colour as # and six hex digits, e.g. #3B82F6.")


class Tag(TenantModel):
    """A label for activities. Names are unique within an organization, ignoring case."""

    name = models.CharField(max_length=50)
    description = models.TextField(blank=True, max_length=TAG_DESCRIPTION_MAX_LENGTH)
    color = models.CharField(max_length=7, default="#3B82F6", validators=[hex_color_validator])
    category = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("organization", Lower("name"), name="tag_unique_name_per_organization"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def text_color(self) -> str:
        return text_color_on(self.color)


def text_color_on(color: str) -> str:
    """Black or white, whichever reads better on a "#rrggbb" background."""
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#111827" if (0.299 * red + 0.587 * green + 0.114 * blue) > 150 else "#ffffff"


class Activity(TenantModel):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=ACTIVITY_DESCRIPTION_MAX_LENGTH)
    type = models.CharField(max_length=50, choices=ActivityType.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.MEDIUM)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    # Null: unassigned, in the claimable pool.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_activities",
    )
    # Null: opened by the system (an incident from a machine), not a person.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_activities",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="activities")
    # When the overdue job marked it, so it does so once per end time.
    overdue_marked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["status"], name="idx_activity_status"),
            models.Index(fields=["type"], name="idx_activity_type"),
            models.Index(fields=["assigned_to"], name="idx_activity_assigned_to"),
            models.Index(fields=["start_time"], name="idx_activity_start_time"),
            models.Index(fields=["priority"], name="idx_activity_priority"),
            models.Index(fields=["created_by"], name="idx_activity_created_by"),
            models.Index(fields=["status", "priority"], name="idx_activity_status_priority"),
            models.Index(fields=["type", "status"], name="idx_activity_type_status"),
            # The list's default order and the overdue job's scan, within one organization.
            models.Index(fields=["organization", "-created_at"], name="idx_activity_org_created"),
            models.Index(fields=["organization", "status", "end_time"], name="idx_activity_org_status_end"),
            # The list's "due" and "start" sorts walk these and stop after a page of matches.
            models.Index(fields=["organization", "end_time", "id"], name="idx_activity_org_end"),
            models.Index(fields=["organization", "start_time", "id"], name="idx_activity_org_start"),
            # The list's capped count of matches by status and priority, from the index alone.
            models.Index(fields=["organization", "status", "priority"], name="idx_activity_org_status_prio"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_time__gte=models.F("start_time")), name="activity_ends_after_it_starts"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_claimable(self) -> bool:
        return self.assigned_to_id is None and self.type == ActivityType.MAINTENANCE and self.is_open


class ActivityStatus(TenantModel):
    """One status an activity took, who set it and why (seed 001). Null `changed_by`: the system."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="status_history")
    status = models.CharField(max_length=20, choices=Status.choices)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    notes = models.TextField(blank=True, max_length=MAX_COMMENT_LENGTH)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name_plural = "activity statuses"


class ActivityPriority(TenantModel):
    """One priority an activity took, who set it and why (seed 001). Null `changed_by`: the system."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="priority_history")
    priority = models.CharField(max_length=20, choices=Priority.choices)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True, max_length=MAX_COMMENT_LENGTH)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name_plural = "activity priorities"


class ActivityCommentKind(models.TextChoices):
    COMMENT = "comment", "Comment"
    CREATED = "created", "Created"
    ASSIGNED = "assigned", "Assigned"
    CLAIMED = "claimed", "Claimed"
    STATUS = "status", "Status changed"
    PRIORITY = "priority", "Priority changed"
    EDITED = "edited", "Edited"
    LINKED = "linked", "Linked"


class ActivityComment(TenantModel):
    """One entry of an activity's thread: a person's comment or an event the system recorded.

    Events carry their facts in `data` (e.g. {"from": "planned", "to": "in-progress"})
    and are rendered by kind; `body` holds a comment's text or an event's note.
    """

    # Named apart from chat's conversation kinds, so the API's schema tells them apart.
    Kind = ActivityCommentKind

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="comments")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.COMMENT)
    # Null: the system (the overdue job, an incident).
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    body = models.TextField(blank=True, max_length=MAX_COMMENT_LENGTH)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["activity", "id"], name="idx_activity_comment_thread")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.activity_id}"
