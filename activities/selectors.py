"""Reads of activities and tags, each scoped to the user's organization.

`activities_for()` is the one filtered read behind the list, the board, the home
page and the API; `ActivityFilters` parses a query string into its filters so a
URL reproduces a view and bad input is reported, not guessed around.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection
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
from nexus.caching import forget, org_cached
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

    @property
    def active_count(self) -> int:
        """How many filters narrow the view (the sort does not), for the phone's collapsed filter bar."""
        values = (self.q, self.type, self.status, self.priority, self.tag, self.unclaimed, self.mine, self.open)
        chosen = (self.assignee, self.project, self.due_from, self.due_to)
        return sum(1 for value in values if value) + sum(1 for value in chosen if value is not None)

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
                parsed = date.fromisoformat(value)
            except ValueError:
                errors[name] = f"{name} must be a date as YYYY-MM-DD, not {value!r}."
                return None
            # A day is turned into the times it spans in the organization's zone; both must exist.
            if not date.min < parsed < date.max:
                errors[name] = f"{name} must be a day between the years 1 and 9999, not {value!r}."
                return None
            return parsed

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
    tags: list["TagLabel"]
    project_names: list[str]


def _links_of(activity_ids: list[int]) -> list[tuple[int, int, int]]:
    """(0, activity, tag) and (1, activity, project) for the activities, in one round trip.

    Plain SQL over the two link tables: the same UNION through the ORM cost
    more to compile than the database took to answer it.
    """
    if not activity_ids:
        return []
    taggings = Activity.tags.through._meta
    memberships = Activity.projects.rel.through._meta
    marks = ", ".join(["%s"] * len(activity_ids))
    # Table names come from the models' metadata, never from input; the ids are parameters.
    sql = (
        f"SELECT 0, activity_id, tag_id FROM {taggings.db_table} WHERE activity_id IN ({marks}) "  # noqa: S608
        f"UNION ALL SELECT 1, activity_id, project_id FROM {memberships.db_table} WHERE activity_id IN ({marks})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, activity_ids * 2)
        return cursor.fetchall()


def activity_rows(*, queryset: QuerySet[Activity], organization) -> list[ActivityRow]:
    """Rows for a page of `queryset` (already filtered, ordered and sliced), in two queries.

    A list of 25 activities with 5 tags each built about 200 model instances and
    100 related managers per request; plain tuples do the same job at a fraction
    of the cost, which is most of what the list page spends. Names of people,
    tags and projects come from the organization's cached `directory`, so
    neither query joins.
    """
    rows = list(queryset.values_list("pk", "title", "type", "status", "priority", "end_time", "assigned_to_id"))
    known = directory(organization=organization)
    tag_ids_of: dict[int, list[int]] = {row[0]: [] for row in rows}
    project_ids_of: dict[int, list[int]] = {row[0]: [] for row in rows}
    for is_project, activity_id, pk in _links_of(list(tag_ids_of)):
        (project_ids_of if is_project else tag_ids_of)[activity_id].append(pk)
    if not known.covers(tags=tag_ids_of.values(), projects=project_ids_of.values(), people=(row[6] for row in rows)):
        # Cached before a tag, project or person was added (a per-process cache does not hear of it).
        known = directory(organization=organization, refresh=True)
    tag_rank, no_rank = known.tag_rank, len(known.tag_rank)
    result = []
    for pk, title, kind, status, priority, end_time, assignee_id in rows:
        result.append(
            ActivityRow(
                pk=pk,
                title=title,
                type=kind,
                status=status,
                priority=priority,
                end_time=end_time,
                assignee_name=known.person_name(assignee_id) if assignee_id else None,
                is_claimable=assignee_id is None and kind == ActivityType.MAINTENANCE and status in OPEN_STATUSES,
                tags=[
                    known.tags[tag]
                    for tag in sorted(tag_ids_of[pk], key=lambda tag: tag_rank.get(tag, no_rank))
                    if tag in known.tags
                ],
                project_names=sorted((known.projects.get(p, "?") for p in project_ids_of[pk]), key=str.lower),
            )
        )
    return result


BOARD_COLUMNS = [Status.PLANNED, Status.IN_PROGRESS, Status.OVERDUE, Status.COMPLETED, Status.CANCELLED]
BOARD_PAGE_SIZE = 20  # Cards a column shows first and loads at a time when scrolled to its end.
BOARD_MAX_SHOWN = 200  # A refresh keeps up to this many loaded cards of a column; more come on scrolling again.


def _board_cards(base: QuerySet[Activity], *, status: str, sort: str) -> QuerySet[Activity]:
    cards = base.filter(status=status)
    if sort == "priority":
        cards = with_priority_rank(cards)
    cards = with_list_relations(cards).order_by(*SORTS[sort])
    return cards.defer("description")  # Cards never show it; it is the widest column.


def board_for(*, user: User, filters: ActivityFilters, shown: dict[str, int] | None = None) -> list[dict]:
    """Columns by status, each with its count of every match and its first cards in the chosen order.

    `shown` asks for more than a page of some columns (status -> cards), so a
    refresh keeps what the viewer had loaded. A fixed number of queries whatever
    the number of activities: one count per status in a single aggregate, then
    one page of cards per column.
    """
    shown = shown or {}
    base = filtered_activities(user=user, filters=filters)
    statuses = [s for s in BOARD_COLUMNS if not filters.status or s in filters.status]
    counts = base.aggregate(**{s.replace("-", "_"): Count("pk", filter=Q(status=s)) for s in statuses})
    columns = []
    for status in statuses:
        count = counts[status.replace("-", "_")]
        limit = min(max(shown.get(status, 0), BOARD_PAGE_SIZE), BOARD_MAX_SHOWN)
        cards = list(_board_cards(base, status=status, sort=filters.sort)[:limit]) if count else []
        columns.append(_column(status, count=count, cards=cards, offset=0))
    return columns


def board_column_page(*, user: User, filters: ActivityFilters, status: str, offset: int) -> dict:
    """The next `BOARD_PAGE_SIZE` cards of one column from `offset`, with the column's count."""
    base = filtered_activities(user=user, filters=filters)
    count = base.filter(status=status).count()
    cards = list(_board_cards(base, status=status, sort=filters.sort)[offset : offset + BOARD_PAGE_SIZE])
    return _column(status, count=count, cards=cards, offset=offset)


def _column(status: str, *, count: int, cards: list[Activity], offset: int) -> dict:
    loaded = offset + len(cards)
    return {
        "status": status,
        "label": Status(status).label,
        "count": count,
        "cards": cards,
        "next_offset": loaded,
        "more": max(count - loaded, 0),
    }


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


DIRECTORY = "activity-directory"


class TagLabel(NamedTuple):
    """What a tag chip shows."""

    name: str
    color: str
    description: str


@dataclass(frozen=True, slots=True)
class Directory:
    """An organization's tags, people and projects by id: what list rows and filter pickers name.

    Plain values (no model instances) so that it is cheap to cache and to read back.
    """

    tags: dict[int, TagLabel]
    tag_rank: dict[int, int]  # id -> place in the order of names
    people: dict[int, tuple[str, bool]]  # id -> (display name, is active)
    projects: dict[int, str]  # id -> name
    choices: dict[str, list[tuple[int, str]]]  # the filter pickers: (id, name) by name; active people only

    def person_name(self, pk: int) -> str:
        return self.people.get(pk, ("?", False))[0]

    def covers(self, *, tags: Iterable[list[int]], projects: Iterable[list[int]], people: Iterable[int | None]) -> bool:
        """Whether every id given (lists of tag and project ids, person ids or None) is known here."""
        return (
            all(pk in self.tags for ids in tags for pk in ids)
            and all(pk in self.projects for ids in projects for pk in ids)
            and all(pk is None or pk in self.people for pk in people)
        )


def directory(*, organization, refresh: bool = False) -> Directory:
    """The organization's `Directory`, cached: every list and board page reads it and it changes seldom.

    `activities.apps` forgets it whenever a tag, person or project is saved or
    deleted; `refresh` rereads it for a caller that met an id it lacks.
    """
    if refresh:
        forget(organization.pk, DIRECTORY)
    return org_cached(organization.pk, DIRECTORY, lambda: _read_directory(organization))


def filter_choices(*, organization) -> dict[str, list[tuple[int, str]]]:
    return directory(organization=organization).choices


def _read_directory(organization) -> Directory:
    """All three lists in one round trip (a UNION), as plain values."""
    Project = Activity.projects.rel.related_model

    def rows(queryset, kind: str, *columns: str):
        # Every branch gives (kind, id, a, b, c, d) so the UNION lines up.
        padding = {f"pad{n}": Value("") for n in range(4 - len(columns))}
        return queryset.order_by().annotate(kind=Value(kind), **padding).values_list("kind", "id", *columns, *padding)

    people = scoped(User, organization).annotate(active=Case(When(is_active=True, then=Value("1")), default=Value("")))
    union = rows(scoped(Tag, organization), "tag", "name", "color", "description").union(
        rows(people, "person", "first_name", "last_name", "username", "active"),
        rows(scoped(Project, organization), "project", "name"),
        all=True,
    )
    tags, persons, projects = {}, {}, {}
    for kind, pk, a, b, c, d in union:
        if kind == "tag":
            tags[pk] = TagLabel(a, b, c)
        elif kind == "person":
            persons[pk] = (User.name_from(a, b, c), d == "1")
        else:
            projects[pk] = a

    def by_name(pairs):
        return sorted(pairs, key=lambda pair: (pair[1].lower(), pair[0]))

    choices = {
        "tags": by_name((pk, tag.name) for pk, tag in tags.items()),
        "people": by_name((pk, name) for pk, (name, active) in persons.items() if active),
        "projects": by_name(projects.items()),
    }
    tag_rank = {pk: rank for rank, (pk, _name) in enumerate(choices["tags"])}
    return Directory(tags=tags, tag_rank=tag_rank, people=persons, projects=projects, choices=choices)


def tags_of(*, organization) -> QuerySet[Tag]:
    return scoped(Tag, organization).annotate(activity_count=Count("activities")).order_by("name")


def get_tag_or_404(*, user: User, pk) -> Tag:
    return get_for_org_or_404(Tag, user.organization, pk=pk)


def assignable_people(*, organization) -> QuerySet[User]:
    return scoped(User, organization).filter(is_active=True).order_by("first_name", "username")
