"""Machines on the floor (seed 000's factory graph, seed 002's statuses, faults and warnings) and incidents.

A machine's status is derived, never set by hand: Fault while a fault case is
open, else Warning while a warning or an incident is open, else OK. Every
change leaves a `MachineStatusChange` row (repair history, availability).
An `Incident` is what one kind of trouble on one machine opened: at most one
open per (machine, dedup key), enforced by a partial unique index.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from nexus.tenancy import TenantModel
from nexus.uploads import random_path

# Text limits, enforced for every door by nexus.storable (and stated in the forms and the API's schema).
MAX_TEXT_LENGTH = 5_000


class MachineStatus(models.TextChoices):
    OK = "ok", "OK"
    WARNING = "warning", "Warning"
    FAULT = "fault", "Fault"


# The short name this app has always used; the class is named apart from activities' statuses for the API.
Status = MachineStatus


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class MachineType(TenantModel):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=MAX_TEXT_LENGTH)
    # Only the Sketchfab model id is kept from a pasted embed; the page renders its own iframe.
    model_id = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("organization", Lower("name"), name="machine_type_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Machine(TenantModel):
    """Seed 000's MachineNode plus line, location, importance, capacity and ideal cycle time."""

    name = models.CharField(max_length=100)
    machine_type = models.ForeignKey(MachineType, on_delete=models.PROTECT, related_name="machines")
    manufacturer = models.CharField(max_length=100, blank=True)
    line = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=200, blank=True)
    importance = models.CharField(max_length=20, choices=Severity.choices, default=Severity.MEDIUM)
    capacity_per_hour = models.PositiveIntegerField(null=True, blank=True)
    ideal_cycle_seconds = models.FloatField(null=True, blank=True)
    pos_x = models.FloatField(default=0)
    pos_y = models.FloatField(default=0)
    pos_z = models.FloatField(default=0)
    video_feed_url = models.URLField(blank=True)
    hf_endpoint = models.URLField(blank=True)
    # Write-only: set through the service, never shown or returned again.
    hf_key = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OK)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["line", "name"]
        constraints = [models.UniqueConstraint("organization", Lower("name"), name="machine_unique_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def channel_key(self) -> str:
        return f"machine:{self.pk}"


class MachineEdge(TenantModel):
    """Material flows from `source` to `target` (seed 000's MachineEdge)."""

    source = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="edges_out")
    target = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="edges_in")
    flow_type = models.CharField(max_length=50, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target"], name="machine_edge_once"),
            models.CheckConstraint(condition=~Q(source=F("target")), name="machine_edge_no_self_loop"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} -> {self.target_id}"


class MachineStatusChange(models.Model):
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="status_changes")
    previous = models.CharField(max_length=10, choices=Status.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=300, blank=True)
    changed_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.machine_id}: {self.previous} -> {self.status}"


class IncidentState(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Incident(TenantModel):
    State = IncidentState

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="incidents")
    dedup_key = models.CharField(max_length=200)
    kind = models.CharField(max_length=50)
    severity = models.CharField(max_length=20, choices=Severity.choices)
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True, max_length=MAX_TEXT_LENGTH)
    activity = models.ForeignKey(
        "activities.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    escalations = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["machine", "dedup_key"], condition=Q(state="open"), name="incident_one_open_per_key"
            )
        ]

    def __str__(self) -> str:
        return self.title


class FaultState(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class FaultCase(TenantModel):
    State = FaultState

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="faults")
    description = models.TextField(max_length=MAX_TEXT_LENGTH)
    severity = models.CharField(max_length=20, choices=Severity.choices, default=Severity.MEDIUM)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    # None: an external system reported it.
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reported_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True, max_length=MAX_TEXT_LENGTH)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="faults")

    class Meta:
        ordering = ["-reported_at", "-id"]

    def __str__(self) -> str:
        return self.description[:60]


class FaultNote(models.Model):
    fault = models.ForeignKey(FaultCase, on_delete=models.CASCADE, related_name="notes")
    # Repair history outlives the people who wrote it.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=MAX_TEXT_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.body[:60]


def _photo_path(photo: "FaultPhoto", filename: str) -> str:
    # Random names: nothing guessable, no clashes, and no uploaded name (any script, any length) on disk.
    return random_path(f"machines/{photo.fault.organization_id}", filename)


class FaultPhoto(models.Model):
    """A photo of a fault, taken when it was reported (`note` None) or with a note; re-encoded without
    its metadata and thumbnailed."""

    fault = models.ForeignKey(FaultCase, on_delete=models.CASCADE, related_name="photos")
    note = models.ForeignKey(FaultNote, null=True, blank=True, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to=_photo_path, max_length=300)
    thumbnail = models.ImageField(upload_to=_photo_path, max_length=300)
    filename = models.CharField(max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename

    def served(self, size: str) -> tuple:
        """(stored file, MIME type, download name) of the photo, or of its thumbnail (always JPEG) when `size` is
        "thumbnail"."""
        if size == "thumbnail":
            return self.thumbnail, "image/jpeg", f"{self.filename.rsplit('.', 1)[0]}-thumbnail.jpg"
        return self.image, "image/png" if self.image.name.endswith(".png") else "image/jpeg", self.filename


class MachineWarning(TenantModel):
    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="warnings")
    message = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.message


class IntegrationToken(TenantModel):
    """A token for an external system (monitoring, a sensor) to report on machines, stored hashed.

    It acts as the system, not as a person: it may read machines, report faults and add or clear
    warnings, and nothing else; with a `machine` it may touch that machine only.
    """

    PREFIX = "nxm_"

    machine = models.ForeignKey(
        Machine, null=True, blank=True, on_delete=models.CASCADE, related_name="integration_tokens"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters, kept so people can tell their tokens apart.
    hint = models.CharField(max_length=16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"
