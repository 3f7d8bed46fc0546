"""Reads of activities and tags, each scoped to the user's organization.

`activities_for()` is the one filtered read behind the list, the board, the home
page and the API; `ActivityFilters` parses a query string into its filters so a
URL reproduces a view and bad input is reported, not guessed around.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import User
from activities.models import (
    OPEN_STATUSES,
    PRIORITY_RANK,
    Activity,
    ActivityComment,
    ActivityType,
    Priority,
    Status,
    Tag,
)
from nexus.tenancy import get_for_org_or_404, scoped

SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "due": ("end_time", "id"),
    "-due": ("-end_time", "-id"),
    "start": ("start_time", "id"),
    "-start": ("-start_time", "-id"),
    "priority": ("priority_rank", "end_time", "id"),
    "title": ("title", "id"),
    "updated": ("-updated_at", "-id"),
}
SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "due": "Due soonest",
    "-due": "Due latest",
    "start": "Starts soonest",
    "-start": "Starts latest",
    "priority": "Most urgent",
    "title": "Title",
    "updated": "Recently updated",
}
DEFAULT_SORT = "newest"


@dataclass
class ActivityFilters:
    """The list's filters. Every field is optional; empty means "any"."""

    q: str = ""
    type: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    priority: list[str] = field(default_factory=list)
    tag: list[int] = field(default_factory=list)
    assignee: int | None = None
    project: int | None = None
    unclaimed: bool = False
    mine: bool = False
    open: bool = False
    due_from: date | None = None
    due_to: date | None = None
    sort: str = DEFAULT_SORT

    @classmethod
    def from_query(cls, query) -> "ActivityFilters":
        """Parse a QueryDict (or dict of lists); raise ValidationError naming each bad parameter."""
        errors = {}

        def many(name: str) -> list[str]:
            if hasattr(query, "getlist"):
                values = query.getlist(name)
            else:
                value = query.get(name)
                values = [] if value is None else [value] if isinstance(value, str | int) else list(value)
            return [v for v in (str(v).strip() for v in values) if v]

        def one(name: str) -> str:
            values = many(name)
            return values[-1] if values else ""

        def choices(name: str, allowed) -> list[str]:
            values = many(name)
            bad = [v for v in values if v not in allowed.values]
            if bad:
                errors[name] = f"Unknown {name} {', '.join(map(repr, bad))}; choose from {', '.join(allowed.values)}."
            return values

        def integer(name: str) -> int | None:
            value = one(name)
            if not value:
                return None
            try:
                return int(value)
            except ValueError:
                errors[name] = f"{name} must be a number, not {value!r}."
                return None

        def day(name: str) -> date | None:
            value = one(name)
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                errors[name] = f"{name} must be a date as YYYY-MM-DD, not {value!r}."
                return None

        def flag(name: str) -> bool:
            return one(name).lower() in {"1", "true", "on", "yes"}

        tags = []
        for value in many("tag"):
            try:
                tags.append(int(value))
            except ValueError:
                errors["tag"] = f"tag must be a tag's number, not {value!r}."
        sort = one("sort") or DEFAULT_SORT
        if sort not in SORTS:
            errors["sort"] = f"Unknown sort {sort!r}; choose from {', '.join(SORTS)}."
        filters = cls(
            q=one("q")[:200],
            type=choices("type", ActivityType),
            status=choices("status", Status),
            priority=choices("priority", Priority),
            tag=tags,
            assignee=integer("assignee"),
            project=integer("project"),
            unclaimed=flag("unclaimed"),
            mine=flag("mine"),
            open=flag("open"),
            due_from=day("due_from"),
            due_to=day("due_to"),
            sort=sort,
        )
        if filters.due_from and filters.due_to and filters.due_to < filters.due_from:
            errors["due_to"] = "The end of the date range is before its start."
        if errors:
            raise ValidationError(errors)
        return filters


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def with_priority_rank(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(
        priority_rank=Case(
            *[When(priority=p, then=Value(rank)) for p, rank in PRIORITY_RANK.items()],
            default=Value(9),
            output_field=IntegerField(),
        )
    )


def filtered_activities(*, user: User, filters: ActivityFilters) -> QuerySet[Activity]:
    """The organization's activities matching `filters`, without ordering or related rows."""
    queryset = scoped(Activity, user.organization)
    if filters.q:
        queryset = queryset.filter(Q(title__icontains=filters.q) | Q(description__icontains=filters.q))
    if filters.type:
        queryset = queryset.filter(type__in=filters.type)
    if filters.status:
        queryset = queryset.filter(status__in=filters.status)
    if filters.open:
        queryset = queryset.filter(status__in=OPEN_STATUSES)
    if filters.priority:
        queryset = queryset.filter(priority__in=filters.priority)
    if filters.tag:
        # Any of the chosen tags; a subquery keeps one row per activity.
        tagged = Activity.tags.through.objects.filter(tag_id__in=filters.tag).values("activity_id")
        queryset = queryset.filter(pk__in=tagged)
    if filters.assignee is not None:
        queryset = queryset.filter(assigned_to_id=filters.assignee)
    if filters.unclaimed:
        queryset = queryset.filter(assigned_to__isnull=True)
    if filters.mine:
        queryset = queryset.filter(assigned_to=user)
    if filters.project is not None:
        queryset = queryset.filter(projects__id=filters.project)
    if filters.due_from:
        queryset = queryset.filter(end_time__gte=_local_midnight(filters.due_from))
    if filters.due_to:
        queryset = queryset.filter(end_time__lt=_local_midnight(filters.due_to + timedelta(days=1)))
    return queryset


def with_list_relations(queryset: QuerySet[Activity]) -> QuerySet[Activity]:
    """What a row shows: people, tags and projects, in a fixed number of queries."""
    return queryset.select_related("assigned_to").prefetch_related(
        # A chip needs only these; skipping the timestamps saves parsing two datetimes per chip.
        Prefetch("tags", queryset=Tag.objects.only("id", "name", "color", "description").order_by("name")),
        Prefetch("projects", queryset=Activity.projects.rel.related_model.objects.only("id", "name")),
    )


def ordered_activities(*, user: User, filters: ActivityFilters) -> QuerySet[Activity]:
    """The matches in the chosen order, without related rows (for `activity_rows` or a count)."""
    queryset = filtered_activities(user=user, filters=filters)
    if filters.sort == "priority":
        # Only this sort needs the rank; computing it for every match would cost the others their index.
        queryset = with_priority_rank(queryset)
    return queryset.order_by(*SORTS[filters.sort])


def activities_for(*, user: User, filters: ActivityFilters | None = None) -> QuerySet[Activity]:
    return with_list_relations(ordered_activities(user=user, filters=filters or ActivityFilters()))


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """What one row of the activity list shows, read without building model instances."""

    pk: int
    title: str
    type: str
    status: str
    priority: str
    end_time: datetime
    assignee_name: str | None
    is_claimable: bool
    tags: list[Tag]
    project_names: list[str]


def activity_rows(*, queryset: QuerySet[Activity]) -> list[ActivityRow]:
    """Rows for a page of `queryset` (already filtered, ordered and sliced), in two queries.

    A list of 25 activities with 5 tags each built about 200 model instances and
    100 related managers per request; plain tuples do the same job at a fraction
    of the cost, which is most of what the list page spends.
    """
    rows = list(
        queryset.values_list(
            "pk",
            "title",
            "type",
            "status",
            "priority",
            "end_time",
            "assigned_to_id",
            "assigned_to__first_name",
            "assigned_to__last_name",
            "assigned_to__username",
        )
    )
    ids = [row[0] for row in rows]
    tag_ids_of: dict[int, list[int]] = {pk: [] for pk in ids}
    project_names_of: dict[int, list[str]] = {pk: [] for pk in ids}
    tags: dict[int, Tag] = {}
    # Tags and projects of the page in one round trip: (kind, activity, id, name, colour, description).
    taggings = (
        Activity.tags.through.objects.filter(activity_id__in=ids)
        .annotate(kind=Value("tag"))
        .values_list("kind", "activity_id", "tag_id", "tag__name", "tag__color", "tag__description")
    )
    memberships = (
        Activity.projects.rel.through.objects.filter(activity_id__in=ids)
        .annotate(kind=Value("project"), color=Value(""), description=Value(""))
        .values_list("kind", "activity_id", "project_id", "project__name", "color", "description")
    )
    for kind, activity_id, pk, name, color, description in taggings.union(memberships, all=True):
        if kind == "project":
            project_names_of[activity_id].append(name)
            continue
        tag_ids_of[activity_id].append(pk)
        if pk not in tags:
            # One instance per distinct tag, shared by its rows (and its chip rendered once).
            tags[pk] = Tag(pk=pk, name=name, color=color, description=description)
    for names in project_names_of.values():
        names.sort(key=str.lower)
    result = []
    for pk, title, kind, status, priority, end_time, assignee_id, first, last, username in rows:
        result.append(
            ActivityRow(
                pk=pk,
                title=title,
                type=kind,
                status=status,
                priority=priority,
                end_time=end_time,
                assignee_name=User.name_from(first, last, username) if assignee_id else None,
                is_claimable=assignee_id is None and kind == ActivityType.MAINTENANCE and status in OPEN_STATUSES,
                tags=sorted((tags[tag_id] for tag_id in tag_ids_of[pk]), key=lambda tag: tag.name.lower()),
                project_names=project_names_of[pk],
            )
        )
    return result


BOARD_COLUMNS = [Status.PLANNED, Status.IN_PROGRESS, Status.OVERDUE, Status.COMPLETED, Status.CANCELLED]
BOARD_CARDS_PER_COLUMN = 50


def board_for(*, user: User, filters: ActivityFilters) -> list[dict]:
    """Columns by status, each with its count and its first cards in the chosen order.

    A fixed number of queries whatever the number of activities: one count per
    status in a single aggregate, then one page of cards per column.
    """
    base = filtered_activities(user=user, filters=filters)
    statuses = [s for s in BOARD_COLUMNS if not filters.status or s in filters.status]
    counts = base.aggregate(**{s.replace("-", "_"): Count("pk", filter=Q(status=s)) for s in statuses})
    columns = []
    for status in statuses:
        cards = base.filter(status=status)
        if filters.sort == "priority":
            cards = with_priority_rank(cards)
        cards = with_list_relations(cards).order_by(*SORTS[filters.sort])
        cards = cards.defer("description")  # Cards never show it; it is the widest column.
        count = counts[status.replace("-", "_")]
        columns.append(
            {
                "status": status,
                "label": Status(status).label,
                "count": count,
                "cards": list(cards[:BOARD_CARDS_PER_COLUMN]) if count else [],
                "more": max(count - BOARD_CARDS_PER_COLUMN, 0),
            }
        )
    return columns


def get_activity_or_404(*, user: User, pk) -> Activity:
    return get_for_org_or_404(
        Activity.objects.select_related("assigned_to", "created_by").prefetch_related("tags", "projects"),
        user.organization,
        pk=pk,
    )


def thread_of(*, activity: Activity) -> QuerySet[ActivityComment]:
    return activity.comments.select_related("author").order_by("created_at", "id")


def unclaimed_maintenance_for(*, user: User, limit: int = 20) -> list[Activity]:
    queryset = scoped(Activity, user.organization).filter(
        type=ActivityType.MAINTENANCE, assigned_to__isnull=True, status__in=OPEN_STATUSES
    )
    return list(with_list_relations(with_priority_rank(queryset)).order_by("priority_rank", "end_time", "id")[:limit])


def open_activities_of(*, user: User, limit: int = 20) -> list[Activity]:
    """The user's open activities, soonest due first."""
    queryset = scoped(Activity, user.organization).filter(assigned_to=user, status__in=OPEN_STATUSES)
    return list(with_list_relations(queryset).order_by("end_time", "id")[:limit])


def filter_choices(*, organization) -> dict[str, list[tuple[int, str]]]:
    """(id, name) pairs for the filter bar's pickers: tags, people and projects.

    Plain pairs, not models, and no counts, in one round trip (a UNION of the
    three lists): the bar is on every list and board page.
    """
    Project = Activity.projects.rel.related_model

    def pairs(queryset, kind: str, *columns: str):
        # Every branch gives (kind, id, a, b, c) so the UNION lines up.
        padding = {f"pad{n}": Value("") for n in range(3 - len(columns))}
        return queryset.order_by().annotate(kind=Value(kind), **padding).values_list("kind", "id", *columns, *padding)

    people = scoped(User, organization).filter(is_active=True)
    rows = pairs(scoped(Tag, organization), "tag", "name").union(
        pairs(people, "person", "first_name", "last_name", "username"),
        pairs(scoped(Project, organization), "project", "name"),
        all=True,
    )
    choices: dict[str, list[tuple[int, str]]] = {"tags": [], "people": [], "projects": []}
    for kind, pk, a, b, c in rows:
        if kind == "person":
            choices["people"].append((pk, User.name_from(a, b, c)))
        else:
            choices["tags" if kind == "tag" else "projects"].append((pk, a))
    for values in choices.values():
        values.sort(key=lambda pair: (pair[1].lower(), pair[0]))
    return choices


def tags_of(*, organization) -> QuerySet[Tag]:
    return scoped(Tag, organization).annotate(activity_count=Count("activities")).order_by("name")


def get_tag_or_404(*, user: User, pk) -> Tag:
    return get_for_org_or_404(Tag, user.organization, pk=pk)


def assignable_people(*, organization) -> QuerySet[User]:
    return scoped(User, organization).filter(is_active=True).order_by("first_name", "username")
