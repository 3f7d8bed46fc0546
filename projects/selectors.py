"""Reads of projects, each scoped to the user's organization.

Every list of projects carries its progress, counted in the same query:
`activity_count`, `completed_count`, `overdue_count` and `progress` (the percent
of its activities completed, rounded down, 0 for a project without activities).
"""

from datetime import datetime

from django.db.models import BooleanField, Case, Count, F, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import User
from activities.models import Activity, Status, Tag
from nexus.tenancy import get_for_org_or_404, scoped
from projects.models import Project, ProjectStatus

# Projects still under way: the ones a team member's home page lists.
CLOSED_PROJECT_STATUSES = (ProjectStatus.COMPLETED, ProjectStatus.CANCELLED)


def overdue_condition(*, now: datetime | None = None, prefix: str = "") -> Q:
    """Overdue: marked so by the overdue job, or still open after its end time (the job runs periodically)."""
    now = now or timezone.now()
    return Q(**{f"{prefix}status": Status.OVERDUE}) | Q(
        **{f"{prefix}status__in": [Status.PLANNED, Status.IN_PROGRESS], f"{prefix}end_time__lt": now}
    )


def with_progress(queryset: QuerySet[Project], *, now: datetime | None = None) -> QuerySet[Project]:
    """Annotate activity counts and the progress percent, in the query that reads the projects.

    `distinct=True` keeps each count right whatever other joins the query makes.
    """
    return queryset.annotate(
        # Cancelled work is not part of the project's scope, so it counts neither way.
        activity_count=Count("activities", filter=~Q(activities__status=Status.CANCELLED), distinct=True),
        completed_count=Count("activities", filter=Q(activities__status=Status.COMPLETED), distinct=True),
        overdue_count=Count("activities", filter=overdue_condition(now=now, prefix="activities__"), distinct=True),
    ).annotate(
        progress=Case(
            When(activity_count=0, then=Value(0)),
            default=F("completed_count") * 100 / F("activity_count"),
            output_field=IntegerField(),
        )
    )


def with_people(queryset: QuerySet[Project]) -> QuerySet[Project]:
    """The manager and the team, with their profiles (avatars), in a fixed number of queries."""
    return queryset.select_related("manager__profile").prefetch_related(
        Prefetch("team_members", queryset=User.objects.select_related("profile").order_by("first_name", "username"))
    )


def projects_for(*, user: User, status: str | None = None, q: str = "") -> QuerySet[Project]:
    """The organization's projects, newest first, optionally of one status and matching `q`."""
    queryset = scoped(Project, user.organization)
    if status:
        queryset = queryset.filter(status=status)
    q = (q or "").strip()
    if q:
        queryset = queryset.filter(Q(name__icontains=q) | Q(description__icontains=q))
    return with_people(with_progress(queryset)).order_by("-created_at", "-id")


def get_project_or_404(*, user: User, pk) -> Project:
    return get_for_org_or_404(with_people(with_progress(Project.objects.all())), user.organization, pk=pk)


def projects_of_member(*, user: User) -> QuerySet[Project]:
    """Projects under way that the user manages or is on the team of, soonest ending first."""
    membership = Project.team_members.through.objects.filter(user_id=user.pk).values("project_id")
    queryset = (
        scoped(Project, user.organization)
        .filter(Q(manager_id=user.pk) | Q(pk__in=membership))
        .exclude(status__in=CLOSED_PROJECT_STATUSES)
    )
    return with_people(with_progress(queryset)).order_by("end_date", "id")


def project_timeline(*, project: Project) -> QuerySet[Activity]:
    """The project's activities in the order they happen, with what each row shows.

    `is_late` marks the ones the progress counts as overdue.
    """
    return (
        project.activities.filter(organization_id=project.organization_id)
        .annotate(
            is_late=Case(When(overdue_condition(), then=Value(True)), default=Value(False), output_field=BooleanField())
        )
        .select_related("assigned_to")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .order_by("start_time", "id")
    )
