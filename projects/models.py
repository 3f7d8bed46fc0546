"""Projects (seed 001): a manager, a team, dates and the activities that make them up.

`projects` sits above `activities`: a project points at its activities, and the
activities app reaches projects only through the ORM's reverse relation
(`activity.projects`), never by importing this module.
"""

from django.conf import settings
from django.db import models

from activities.models import Activity
from nexus.tenancy import TenantModel


class ProjectStatus(models.TextChoices):
    PLANNING = "planning", "Planning"
    ACTIVE = "active", "Active"
    ON_HOLD = "on-hold", "On Hold"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


# Enforced for every door by nexus.storable, and stated in the form and the API's schema.
DESCRIPTION_MAX_LENGTH = 10_000


class Project(TenantModel):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=DESCRIPTION_MAX_LENGTH)
    status = models.CharField(max_length=20, choices=ProjectStatus.choices, default=ProjectStatus.PLANNING)
    start_date = models.DateField()
    end_date = models.DateField()
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="managed_projects")
    team_members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="project_assignments")
    activities = models.ManyToManyField(Activity, blank=True, related_name="projects")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status"], name="idx_project_status"),
            models.Index(fields=["manager"], name="idx_project_manager"),
            models.Index(fields=["start_date"], name="idx_project_start_date"),
            models.Index(fields=["status", "start_date", "end_date"], name="idx_project_status_dates"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="project_ends_after_it_starts"
            ),
        ]

    def __str__(self) -> str:
        return self.name
