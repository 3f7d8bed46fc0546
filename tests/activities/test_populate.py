"""The demo data commands `populate_tags` and `populate_activities`, and the overdue task."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import Organization
from activities import services, tasks
from activities.management.commands import populate_activities, populate_tags
from activities.models import (
    Activity,
    ActivityComment,
    ActivityPriority,
    ActivityStatus,
    ActivityType,
    Priority,
    Status,
    Tag,
)
from nexus.celery import app
from tests.commands import run_command

pytestmark = pytest.mark.django_db

SEED_TAGS = {
    "Kaizen": "Continuous improvement initiative",
    "RCA": "Root cause analysis required",
    "CAPA": "Corrective/preventive action",
    "Blocked": "Activity is waiting on input or dependency",
    "Recurring": "Happens regularly (daily, weekly, etc.)",
}
ANCHOR_DAY = "2031-03-10"


def _run(name: str, **options) -> str:
    return run_command(name, **options)


def _acme() -> Organization:
    return Organization.objects.get(slug="acme")


def _tags_snapshot() -> list:
    return list(
        Tag.objects.order_by("organization__slug", "name").values_list(
            "pk", "organization__slug", "name", "description", "color", "category"
        )
    )


def _activities_snapshot() -> dict:
    activities = Activity.objects.order_by("pk")
    return {
        "activities": list(
            activities.values_list(
                "pk",
                "organization__slug",
                "title",
                "description",
                "type",
                "status",
                "priority",
                "start_time",
                "end_time",
                "assigned_to__username",
                "created_by__username",
            )
        ),
        "tags": sorted(Activity.tags.through.objects.values_list("activity_id", "tag_id")),
        "statuses": ActivityStatus.objects.count(),
        "priorities": ActivityPriority.objects.count(),
        "comments": ActivityComment.objects.count(),
    }


# populate_tags


def test_it_creates_the_seed_tags_and_factory_tags_in_every_organization(demo_people):
    output = _run("populate_tags")
    for organization in Organization.objects.all():
        tags = {tag.name: tag for tag in Tag.objects.filter(organization=organization)}
        assert {name: tags[name].description for name in SEED_TAGS} == SEED_TAGS
        assert {"Safety", "5S", "Electrical", "Mechanical", "Hydraulics", "Spare parts"} <= set(tags)
        assert len({tag.color for tag in tags.values()}) == len(tags)
        assert all(tag.category for tag in tags.values())
    assert f"{2 * len(populate_tags.TAGS)} tags created, 0 already there" in output


def test_it_changes_no_tags_when_run_twice(demo_people):
    _run("populate_tags")
    first = _tags_snapshot()
    output = _run("populate_tags", seed=7)
    assert _tags_snapshot() == first
    assert "0 tags created" in output


def test_it_keeps_a_tag_someone_renamed_in_another_case(demo_people):
    Tag.objects.create(organization=_acme(), name="kaizen", color="#000000")
    _run("populate_tags", organization="acme")
    assert list(Tag.objects.filter(name__iexact="kaizen").values_list("name", "color")) == [("kaizen", "#000000")]


def test_it_fills_only_the_organization_asked_for(demo_people):
    _run("populate_tags", organization="acme")
    assert set(Tag.objects.values_list("organization__slug", flat=True)) == {"acme"}
    with pytest.raises(CommandError, match="No organization"):
        _run("populate_tags", organization="nowhere")


# populate_activities


@pytest.fixture
def demo_tags(demo_people):
    _run("populate_tags")


def test_it_creates_the_seed_samples_relative_to_the_anchor(demo_tags):
    _run("populate_activities", count=0, anchor_date=ANCHOR_DAY)
    setup = Activity.objects.get(title="Production Line Setup")
    maintenance = Activity.objects.get(title="Equipment Maintenance")
    berlin = _acme().tzinfo
    assert (setup.type, setup.status, setup.priority, setup.description) == (
        ActivityType.PRODUCTION,
        Status.PLANNED,
        Priority.HIGH,
        "Setup production line for new product launch",
    )
    assert (maintenance.type, maintenance.status, maintenance.priority, maintenance.description) == (
        ActivityType.MAINTENANCE,
        Status.IN_PROGRESS,
        Priority.MEDIUM,
        "Routine maintenance on production equipment",
    )
    # As in the seed: the setup 08:00-16:00 the next day, the maintenance 14:00-18:00 the day before it.
    assert setup.start_time == datetime(2031, 3, 11, 8, tzinfo=berlin)
    assert setup.end_time == datetime(2031, 3, 11, 16, tzinfo=berlin)
    assert maintenance.start_time == datetime(2031, 3, 10, 14, tzinfo=berlin)
    assert maintenance.end_time == datetime(2031, 3, 10, 18, tzinfo=berlin)
    assert (setup.created_by.username, maintenance.assigned_to.username) == ("maria", "tom")


def test_it_anchors_on_today_in_the_organizations_time_zone(demo_tags):
    _run("populate_activities", count=0)
    setup = Activity.objects.get(title="Production Line Setup")
    today = timezone.localdate(timezone=_acme().tzinfo)
    assert setup.start_time.astimezone(_acme().tzinfo).date() == today + timedelta(days=1)
    assert setup.start_time.astimezone(_acme().tzinfo).hour == 8


def test_it_generates_varied_realistic_activities(demo_tags):
    output = _run("populate_activities", anchor_date=ANCHOR_DAY)
    assert "62 activities created, 0 already there" in output
    generated = Activity.objects.filter(title__contains=" #")
    assert generated.count() == 60
    assert set(generated.values_list("type", flat=True)) == set(ActivityType.values)
    assert set(generated.values_list("status", flat=True)) == set(Status.values)
    assert set(generated.values_list("priority", flat=True)) == set(Priority.values)
    assert {"tom", "tina", "sam", "sue", "maria", None} <= set(
        generated.values_list("assigned_to__username", flat=True)
    )
    pool = generated.filter(type=ActivityType.MAINTENANCE, assigned_to__isnull=True, status__in=["planned", "overdue"])
    assert pool.exists()
    tag_counts = {activity.tags.count() for activity in generated}
    assert tag_counts == {0, 1, 2, 3}
    assert Activity.objects.get(title__endswith="#0042").title[0].isupper()
    # Dates agree with the status, so the overdue job leaves fresh demo data alone.
    anchor = datetime(2031, 3, 10, 8, tzinfo=_acme().tzinfo)
    for activity in generated:
        assert activity.end_time >= activity.start_time
        if activity.status == Status.PLANNED:
            assert activity.start_time > anchor
        if activity.status == Status.IN_PROGRESS:
            assert activity.start_time <= anchor < activity.end_time
            assert activity.assigned_to is not None
        if activity.status in (Status.OVERDUE, Status.COMPLETED):
            assert activity.end_time < anchor


def test_it_records_history_for_every_activity_it_creates(demo_tags):
    _run("populate_activities", count=30, anchor_date=ANCHOR_DAY)
    count = Activity.objects.count()
    assert count == 32
    assert ActivityStatus.objects.filter(notes="Created").count() == count
    assert ActivityPriority.objects.filter(reason="Created").count() == count
    assert ActivityComment.objects.filter(kind=ActivityComment.Kind.CREATED).count() == count
    assigned = Activity.objects.filter(assigned_to__isnull=False).count()
    assert ActivityComment.objects.filter(kind=ActivityComment.Kind.ASSIGNED).count() == assigned


def test_it_changes_nothing_when_run_twice(demo_tags):
    _run("populate_all")
    first = _activities_snapshot()
    first_tags = _tags_snapshot()
    output = _run("populate_all")
    assert _activities_snapshot() == first
    assert _tags_snapshot() == first_tags
    # Besides populate_activities' 62, the demo machines' incidents opened maintenance activities of their own.
    from machines.models import Incident

    from_incidents = Incident.objects.exclude(activity=None).values("activity").distinct().count()
    assert from_incidents > 0 and len(first["activities"]) == 62 + from_incidents
    assert "0 activities created, 62 already there" in output
    assert "0 tags created" in output


def test_it_adds_only_the_missing_activities_for_a_larger_count(demo_tags):
    _run("populate_activities", count=10, anchor_date=ANCHOR_DAY)
    first = _activities_snapshot()["activities"]
    output = _run("populate_activities", count=20, anchor_date="2031-04-01")
    after = _activities_snapshot()["activities"]
    assert "10 activities created, 12 already there" in output
    assert after[: len(first)] == first
    assert [row[2].rsplit("#", 1)[1] for row in after[len(first) :]] == [f"{n:04d}" for n in range(11, 21)]


def test_it_generates_the_same_activities_for_the_same_seed(demo_tags):
    # Acme and Globex have different people and time zones, so compare what does not depend on them.
    _run("populate_activities", count=25, seed=3, anchor_date=ANCHOR_DAY)
    _run("populate_activities", count=25, seed=3, anchor_date=ANCHOR_DAY, organization="globex")

    def generated(slug):
        zone = Organization.objects.get(slug=slug).tzinfo
        rows = Activity.objects.filter(organization__slug=slug).order_by("title")

        def wall_clock(moment):
            return moment.astimezone(zone).replace(tzinfo=None)

        return [
            (
                activity.title,
                activity.type,
                activity.status,
                activity.priority,
                activity.description,
                wall_clock(activity.start_time),
                wall_clock(activity.end_time),
            )
            for activity in rows
        ]

    assert generated("acme") == generated("globex")
    assert not Activity.objects.filter(organization__slug="globex", created_by__organization__slug="acme").exists()
    assert set(Activity.objects.filter(organization__slug="globex").values_list("created_by__username", flat=True)) == {
        "mallory"
    }

    anchor = datetime(2031, 3, 10, 8, tzinfo=UTC)
    people, tags = {}, []
    other_seed = populate_activities.generated_activity(index=0, seed=4, anchor=anchor, people=people, tags=tags)
    same_seed = populate_activities.generated_activity(index=0, seed=3, anchor=anchor, people=people, tags=tags)
    assert same_seed == populate_activities.generated_activity(index=0, seed=3, anchor=anchor, people=people, tags=tags)
    assert other_seed != same_seed


def test_it_refuses_an_unknown_organization(db):
    with pytest.raises(CommandError, match="run populate_users first"):
        _run("populate_activities")


def test_it_takes_the_bulk_path_for_large_counts(demo_tags, monkeypatch):
    created_through_service = []
    create_activity = services.create_activity

    def counting_create_activity(**kwargs):
        created_through_service.append(kwargs["title"])
        return create_activity(**kwargs)

    monkeypatch.setattr(services, "create_activity", counting_create_activity)
    output = _run("populate_activities", count=5000, anchor_date=ANCHOR_DAY)

    assert "5002 activities created" in output
    assert "\r2000/5000" in output and "\r5000/5000" in output
    assert created_through_service == ["Production Line Setup", "Equipment Maintenance"]
    activities = Activity.objects.filter(organization__slug="acme")
    assert activities.count() == 5002
    # Every activity has the rows the service would have written.
    for model in (ActivityStatus, ActivityPriority):
        assert model.objects.count() == 5002
        assert model.objects.values("activity").distinct().count() == 5002
    created = ActivityComment.objects.filter(kind=ActivityComment.Kind.CREATED)
    assert created.count() == 5002
    assert created.values("activity").distinct().count() == 5002
    assigned = activities.filter(assigned_to__isnull=False).count()
    assert ActivityComment.objects.filter(kind=ActivityComment.Kind.ASSIGNED).count() == assigned
    assert set(activities.values_list("type", flat=True)) == set(ActivityType.values)
    assert Activity.tags.through.objects.count() > 5000
    assert not ActivityStatus.objects.exclude(organization__slug="acme").exists()
    sample = activities.get(title__endswith="#4242")
    assert (sample.status_history.get().status, sample.priority_history.get().priority) == (
        sample.status,
        sample.priority,
    )

    # The small path and the bulk path generate the same activity for the same number.
    fields = activities.filter(title__endswith="#0007").values("title", "type", "status", "priority").get()
    again = _run("populate_activities", count=5000, anchor_date=ANCHOR_DAY)
    assert "0 activities created, 5002 already there" in again
    assert Activity.objects.count() == 5002
    Activity.objects.filter(title=fields["title"]).delete()
    _run("populate_activities", count=10, anchor_date=ANCHOR_DAY)
    assert activities.filter(title=fields["title"]).values("title", "type", "status", "priority").get() == fields


# The overdue task


def test_it_marks_overdue_activities_in_the_task(demo_people):
    maria = _acme().members.get(username="maria")
    now = timezone.now()
    late = services.create_activity(
        organization=_acme(),
        actor=maria,
        title="Late job",
        type=ActivityType.MAINTENANCE,
        start_time=now - timedelta(hours=3),
        end_time=now - timedelta(hours=1),
    )
    services.create_activity(
        organization=_acme(),
        actor=maria,
        title="Future job",
        type=ActivityType.MAINTENANCE,
        start_time=now + timedelta(hours=1),
        end_time=now + timedelta(hours=3),
    )
    assert tasks.mark_overdue_activities.apply().get() == 1
    late.refresh_from_db()
    assert late.status == Status.OVERDUE
    assert late.status_history.filter(status=Status.OVERDUE, changed_by=None).exists()
    assert tasks.mark_overdue_activities() == 0  # Idempotent: marked once per end time.


def test_it_schedules_the_overdue_task_every_five_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["mark-overdue-activities"]
    assert entry["task"] == "activities.tasks.mark_overdue_activities"
    assert entry["schedule"].minute == set(range(0, 60, 5))
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_it_lists_the_activity_commands_in_populate_all():
    from nexus.management.commands.populate_all import POPULATE_COMMANDS

    assert POPULATE_COMMANDS[:3] == ["populate_users", "populate_tags", "populate_activities"]
