"""The JSON API for activities, their threads and tags, over HTTP with the test client."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as account_services
from activities import services
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
from tests.api_client import API, session_api, token_api

pytestmark = pytest.mark.django_db

Kind = ActivityComment.Kind
Project = Activity.projects.rel.related_model


@pytest.fixture(params=["token", "session"])
def api_as(request):
    """`api_as(maria)`: an API client for a user, once with a Bearer token and once with a session."""
    return lambda user: (token_api if request.param == "token" else session_api)(user)


@pytest.fixture
def token_api_as():
    return token_api


SOON = timezone.now().replace(microsecond=0) + timedelta(days=1)


def _activity(actor, title="Replace spindle bearing", **fields) -> Activity:
    fields.setdefault("type", ActivityType.MAINTENANCE)
    fields.setdefault("start_time", SOON)
    fields.setdefault("end_time", SOON + timedelta(hours=4))
    return services.create_activity(organization=actor.organization, actor=actor, title=title, **fields)


def _tag(actor, name="Safety", color="#DC2626") -> Tag:
    return services.create_tag(actor=actor, organization=actor.organization, name=name, color=color)


def _project(manager, name="Line 3 retrofit") -> "Project":
    # Through the ORM: the projects app sits above activities and has its own API.
    today = date.today()
    return Project.objects.create(
        organization=manager.organization, name=name, manager=manager, start_date=today, end_date=today
    )


def _counts() -> tuple:
    return (
        Activity.objects.count(),
        ActivityStatus.objects.count(),
        ActivityPriority.objects.count(),
        ActivityComment.objects.count(),
        Activity.tags.through.objects.count(),
        Tag.objects.count(),
    )


def _titles(response) -> list[str]:
    return [item["title"] for item in response.json()["items"]]


@pytest.fixture
def acme_tag(maria):
    return _tag(maria)


@pytest.fixture
def globex_only_tag(mallory):
    return _tag(mallory, name="Globex only")


@pytest.fixture
def pool_job(maria):
    """An unassigned maintenance activity, in the claimable pool."""
    return _activity(maria, "Fix hydraulic leak on press P-300")


# Listing


def test_it_lists_activities_with_their_fields(api_as, maria, bob, acme_tag):
    project = _project(maria)
    activity = _activity(
        maria,
        "Replace bearings on CNC mill",
        description="Noisy spindle",
        priority=Priority.HIGH,
        assigned_to=bob,
        tags=[acme_tag],
        projects=[project],
    )
    response = api_as(bob).get("/activities")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["items"][0]
    assert item == {
        "id": activity.pk,
        "title": "Replace bearings on CNC mill",
        "description": "Noisy spindle",
        "type": "Maintenance",
        "status": "planned",
        "priority": "high",
        "start_time": item["start_time"],
        "end_time": item["end_time"],
        "assigned_to": bob.pk,
        "created_by": maria.pk,
        "tags": [{"id": acme_tag.pk, "name": "Safety", "color": "#DC2626"}],
        "projects": [project.pk],
        "created_at": item["created_at"],
        "updated_at": item["updated_at"],
    }
    assert datetime.fromisoformat(item["start_time"]) == activity.start_time
    assert datetime.fromisoformat(item["end_time"]) == activity.end_time


def test_it_lists_only_the_own_organizations_activities(token_api_as, maria, mallory):
    _activity(maria, "Acme job")
    _activity(mallory, "Globex job")
    assert _titles(token_api_as(maria).get("/activities")) == ["Acme job"]
    assert _titles(token_api_as(mallory).get("/activities")) == ["Globex job"]


def test_it_lists_in_a_constant_number_of_queries(token_api_as, maria, bob, acme_tag):
    project = _project(maria)
    api = token_api_as(bob)

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/activities").status_code == 200
        return len(captured)

    for number in range(2):
        _activity(maria, f"Job {number}", assigned_to=bob, tags=[acme_tag], projects=[project])
    queries_for_list()  # The token's first use records when it was used; later calls within a minute do not.
    few = queries_for_list()
    for number in range(2, 12):
        _activity(maria, f"Job {number}", assigned_to=bob, tags=[acme_tag], projects=[project])
    assert queries_for_list() == few


def test_it_pages_with_limit_and_offset(token_api_as, maria):
    for number in range(5):
        _activity(maria, f"Job {number}")
    api = token_api_as(maria)
    page = api.get("/activities", {"sort": "title", "limit": 2, "offset": 1}).json()
    assert page["count"] == 5
    assert [item["title"] for item in page["items"]] == ["Job 1", "Job 2"]
    assert _titles(api.get("/activities", {"sort": "title", "offset": 4})) == ["Job 4"]
    assert len(api.get("/activities").json()["items"]) == 5


@pytest.mark.parametrize("params", [{"limit": 201}, {"limit": 0}, {"offset": -1}, {"unclaimed": "perhaps"}])
def test_it_answers_422_for_a_bad_page_or_flag(token_api_as, maria, params):
    response = token_api_as(maria).get("/activities", params)
    assert response.status_code == 422
    assert response.json()["detail"] == "Invalid input."
    assert response.json()["errors"]


@pytest.fixture
def board(maria, bob, carol, acme_tag):
    """Six Acme activities that each filter tells apart."""
    now = timezone.now()
    berlin_day = datetime(2031, 3, 10, 23, 30, tzinfo=UTC)  # 00:30 on March 11th in Berlin
    project = _project(maria)
    other_tag = _tag(maria, name="Kaizen", color="#10B981")
    activities = {
        "bearing": _activity(maria, "Replace bearing", assigned_to=bob, tags=[acme_tag], priority=Priority.URGENT),
        "audit": _activity(
            maria, "5S audit", type=ActivityType.INSPECTION, description="Check the bearing shelf", assigned_to=carol
        ),
        "leak": _activity(maria, "Fix leak", priority=Priority.HIGH, tags=[other_tag]),
        "run": _activity(
            maria,
            "Run batch",
            type=ActivityType.PRODUCTION,
            status=Status.COMPLETED,
            projects=[project],
            start_time=berlin_day - timedelta(hours=2),
            end_time=berlin_day,
        ),
        "meeting": _activity(
            maria,
            "Weekly review",
            type=ActivityType.MEETINGS,
            status=Status.CANCELLED,
            priority=Priority.LOW,
            start_time=now + timedelta(days=30),
            end_time=now + timedelta(days=30, hours=1),
        ),
        "late": _activity(
            maria,
            "Late delivery",
            type=ActivityType.LOGISTICS,
            status=Status.OVERDUE,
            start_time=now - timedelta(days=3),
            end_time=now - timedelta(days=2),
        ),
    }
    return {"activities": activities, "tag": acme_tag, "other_tag": other_tag, "project": project}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "bearing"}, {"bearing", "audit"}),
        ({"type": ["Inspection & Audit", "Production"]}, {"audit", "run"}),
        ({"status": ["completed", "cancelled"]}, {"run", "meeting"}),
        ({"priority": "urgent"}, {"bearing"}),
        ({"priority": ["urgent", "high"]}, {"bearing", "leak"}),
        ({"tag": "TAG"}, {"bearing"}),
        ({"tag": ["TAG", "OTHER_TAG"]}, {"bearing", "leak"}),
        ({"assignee": "CAROL"}, {"audit"}),
        ({"project": "PROJECT"}, {"run"}),
        ({"unclaimed": "true"}, {"leak", "run", "meeting", "late"}),
        ({"mine": "1"}, {"bearing"}),
        ({"open": "on"}, {"bearing", "audit", "leak", "late"}),
        # 23:30 UTC is the next day in Berlin: the days are the factory's, also for a token.
        ({"due_from": "2031-03-10", "due_to": "2031-03-10"}, set()),
        ({"due_from": "2031-03-11", "due_to": "2031-03-11"}, {"run"}),
        ({"due_from": "2031-03-11"}, {"run"}),
        ({"due_to": "2031-03-10"}, {"bearing", "audit", "leak", "meeting", "late"}),
        ({"type": "Maintenance", "open": "1", "unclaimed": "1"}, {"leak"}),
    ],
)
def test_it_filters_like_the_web_list(token_api_as, bob, carol, board, params, expected):
    ids = {"TAG": board["tag"].pk, "OTHER_TAG": board["other_tag"].pk, "CAROL": carol.pk}
    ids["PROJECT"] = board["project"].pk

    def resolve(value):
        return ids.get(value, value)

    query = {
        name: [resolve(v) for v in value] if isinstance(value, list) else resolve(value)
        for name, value in params.items()
    }
    response = token_api_as(bob).get("/activities", query)
    assert response.status_code == 200, response.content
    titles = {board["activities"][key].title for key in expected}
    assert set(_titles(response)) == titles
    assert response.json()["count"] == len(titles)


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("newest", "late"),
        ("oldest", "bearing"),
        ("title", "audit"),
        ("priority", "bearing"),
        ("due", "late"),
        ("-due", "run"),
    ],
)
def test_it_sorts(token_api_as, maria, board, sort, first):
    response = token_api_as(maria).get("/activities", {"sort": sort})
    assert _titles(response)[0] == board["activities"][first].title


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"status": "done"}, "status", "Unknown status 'done'"),
        ({"type": ["Maintenance", "Juggling"]}, "type", "Unknown type 'Juggling'"),
        ({"priority": "whenever"}, "priority", "Unknown priority 'whenever'"),
        ({"tag": "safety"}, "tag", "tag must be a tag's number"),
        ({"assignee": "bob"}, "assignee", "assignee must be a number"),
        ({"project": "P-1"}, "project", "project must be a number"),
        ({"due_from": "2031-13-01"}, "due_from", "due_from must be a date as YYYY-MM-DD"),
        ({"due_to": "tomorrow"}, "due_to", "due_to must be a date as YYYY-MM-DD"),
        ({"due_from": "2031-03-10", "due_to": "2031-03-01"}, "due_to", "before its start"),
        ({"sort": "sideways"}, "sort", "Unknown sort 'sideways'"),
    ],
)
def test_it_answers_400_naming_a_bad_filter(token_api_as, maria, params, field, reason):
    response = token_api_as(maria).get("/activities", params)
    assert response.status_code == 400
    body = response.json()
    assert reason in body["errors"][field]
    assert body["detail"].startswith(f"{field}: ")


def test_it_names_every_bad_filter_at_once(token_api_as, maria):
    response = token_api_as(maria).get("/activities", {"status": "done", "sort": "sideways"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status", "sort"}


# One activity


def test_it_returns_one_activity(api_as, maria, carol, pool_job):
    response = api_as(carol).get(f"/activities/{pool_job.pk}")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["assigned_to"]) == (pool_job.pk, None)


def test_it_answers_404_for_a_missing_activity(token_api_as, maria):
    response = token_api_as(maria).get("/activities/999999")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


# Creating


def test_it_creates_an_activity(api_as, maria, bob, acme_tag):
    project = _project(maria)
    response = api_as(maria).post(
        "/activities",
        {
            "title": "  Replace worn tooling  ",
            "description": "Insert wear over limit",
            "type": "Maintenance",
            "status": "planned",
            "priority": "urgent",
            "start_time": "2031-05-04T08:00:00+02:00",
            "end_time": "2031-05-04T12:00:00+02:00",
            "assigned_to": bob.pk,
            "tags": [acme_tag.pk],
            "projects": [project.pk],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    activity = Activity.objects.get(pk=body["id"])
    assert (activity.title, activity.priority, activity.assigned_to, activity.created_by) == (
        "Replace worn tooling",
        "urgent",
        bob,
        maria,
    )
    assert activity.organization == maria.organization
    assert activity.start_time == datetime(2031, 5, 4, 6, tzinfo=UTC)
    assert body["tags"] == [{"id": acme_tag.pk, "name": "Safety", "color": "#DC2626"}]
    assert body["projects"] == [project.pk]
    assert list(activity.status_history.values_list("status", flat=True)) == ["planned"]
    assert list(activity.priority_history.values_list("priority", flat=True)) == ["urgent"]
    assert list(activity.comments.order_by("id").values_list("kind", flat=True)) == [Kind.CREATED, Kind.ASSIGNED]


def test_it_creates_an_unassigned_activity_with_defaults(token_api_as, maria):
    response = token_api_as(maria).post(
        "/activities",
        {
            "title": "Clean filters",
            "type": "Maintenance",
            "start_time": "2031-05-04T08:00Z",
            "end_time": "2031-05-04T09:00Z",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["priority"], body["assigned_to"], body["tags"]) == ("planned", "medium", None, [])


def test_it_reads_times_without_an_offset_in_the_organizations_time_zone(api_as, maria):
    response = api_as(maria).post(
        "/activities",
        {"title": "Shift start", "type": "Meetings", "start_time": "2031-01-15T08:00", "end_time": "2031-01-15T08:15"},
    )
    assert response.status_code == 201
    # Acme is in Berlin: 08:00 there is 07:00 UTC in January, whichever way the caller logged in.
    assert Activity.objects.get().start_time == datetime(2031, 1, 15, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda ids: {"tags": [999999]}, "tags: Unknown tag 999999."),
        (lambda ids: {"tags": [ids["acme_tag"], ids["globex_tag"]]}, "tags: Unknown tag {globex_tag}."),
        (lambda ids: {"tags": [999998, 999999]}, "tags: Unknown tags 999998, 999999."),
        (lambda ids: {"projects": [999999]}, "projects: Unknown project 999999."),
        (lambda ids: {"assigned_to": ids["mallory"]}, "assigned_to: Unknown person {mallory}."),
        (lambda ids: {"end_time": "2031-05-04T07:00:00Z"}, "end_time: The end time must not be before the start time."),
        (lambda ids: {"title": "   "}, "title: An activity needs a title."),
    ],
    ids=[
        "unknown-tag",
        "other-organizations-tag",
        "unknown-tags",
        "unknown-project",
        "outsider",
        "ends-early",
        "blank",
    ],
)
def test_it_answers_400_for_a_bad_activity_and_creates_nothing(
    token_api_as, maria, mallory, globex_only_tag, acme_tag, change, reason
):
    ids = {"acme_tag": acme_tag.pk, "globex_tag": globex_only_tag.pk, "mallory": mallory.pk}
    before = _counts()
    payload = {
        "title": "Replace bearings",
        "type": "Maintenance",
        "start_time": "2031-05-04T08:00:00Z",
        "end_time": "2031-05-04T12:00:00Z",
        **change(ids),
    }
    response = token_api_as(maria).post("/activities", payload)
    assert response.status_code == 400
    assert response.json() == {"detail": reason.format(**ids)}
    assert _counts() == before


def test_it_explains_an_inactive_assignee(token_api_as, alice, maria, carol):
    account_services.set_member_active(actor=alice, member=carol, is_active=False)
    payload = {"title": "Count parts", "type": "Logistics", "assigned_to": carol.pk}
    payload |= {"start_time": "2031-05-04T08:00Z", "end_time": "2031-05-04T09:00Z"}
    response = token_api_as(maria).post("/activities", payload)
    assert response.status_code == 400
    assert response.json()["detail"] == "assigned_to: Choose an active member of your organization."
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "Juggling"},
        {"status": "done"},
        {"priority": "asap"},
        {"start_time": "tomorrow"},
        {"title": None},
        {"title": "x" * 201},
        {"tags": ["safety"]},
    ],
)
def test_it_answers_422_for_a_malformed_activity(token_api_as, maria, payload):
    body = {"title": "Job", "type": "Maintenance", "start_time": "2031-05-04T08:00Z", "end_time": "2031-05-04T09:00Z"}
    response = token_api_as(maria).post("/activities", body | payload)
    assert response.status_code == 422
    assert response.json()["errors"]
    assert not Activity.objects.exists()


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_it_forbids_creating_activities_to_technicians_and_staff(request, token_api_as, acme_tag, persona):
    before = _counts()
    payload = {
        "title": "Job",
        "type": "Maintenance",
        "start_time": "2031-05-04T08:00Z",
        "end_time": "2031-05-04T09:00Z",
    }
    # A bad tag id does not change the answer: the role is checked first.
    for extra in ({}, {"tags": [999999]}):
        response = token_api_as(request.getfixturevalue(persona)).post("/activities", payload | extra)
        assert response.status_code == 403
        assert "may not create activity" in response.json()["detail"]
    assert _counts() == before


# Editing


def test_it_changes_only_the_fields_sent(api_as, maria, bob, acme_tag):
    activity = _activity(maria, "Old title", description="Keep me", assigned_to=bob, tags=[acme_tag])
    response = api_as(maria).patch(f"/activities/{activity.pk}", {"title": "New title", "note": "Clearer"})
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["description"], body["assigned_to"]) == ("New title", "Keep me", bob.pk)
    assert [tag["id"] for tag in body["tags"]] == [acme_tag.pk]
    activity.refresh_from_db()
    assert (activity.title, activity.description, activity.assigned_to, activity.end_time) == (
        "New title",
        "Keep me",
        bob,
        SOON + timedelta(hours=4),
    )
    edited = activity.comments.get(kind=Kind.EDITED)
    assert (edited.body, edited.data) == ("Clearer", {"fields": ["title"]})


def test_it_edits_tags_projects_status_priority_and_assignee_in_one_patch(token_api_as, maria, bob, acme_tag):
    activity = _activity(maria, "Replace belt", assigned_to=bob, tags=[acme_tag])
    kaizen = _tag(maria, name="Kaizen", color="#10B981")
    project = _project(maria)
    response = token_api_as(maria).patch(
        f"/activities/{activity.pk}",
        {
            "tags": [kaizen.pk],
            "projects": [project.pk],
            "status": "in-progress",
            "priority": "high",
            "assigned_to": None,
            "end_time": "2031-05-04T12:00",
            "start_time": "2031-05-04T08:00",
            "note": "Replanned",
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert ([tag["name"] for tag in body["tags"]], body["projects"]) == (["Kaizen"], [project.pk])
    assert (body["status"], body["priority"], body["assigned_to"]) == ("in-progress", "high", None)
    assert datetime.fromisoformat(body["start_time"]) == datetime(2031, 5, 4, 6, tzinfo=UTC)
    assert activity.status_history.filter(status="in-progress", notes="Replanned").exists()
    assert activity.priority_history.filter(priority="high", reason="Replanned").exists()


def test_it_clears_tags_with_an_empty_list(token_api_as, maria, acme_tag):
    activity = _activity(maria, tags=[acme_tag])
    response = token_api_as(maria).patch(f"/activities/{activity.pk}", {"tags": []})
    assert (response.status_code, response.json()["tags"]) == (200, [])


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"end_time": "2020-01-01T00:00:00Z"}, 400, "end_time: The end time must not be before the start time."),
        ({"title": "Renamed", "tags": [999999]}, 400, "tags: Unknown tag 999999."),
        ({"assigned_to": 999999}, 400, "assigned_to: Unknown person 999999."),
        ({"title": "  "}, 400, "title: An activity needs a title."),
        ({"title": None}, 422, None),
        ({"tags": None}, 422, None),
        ({"status": "done"}, 422, None),
    ],
)
def test_it_refuses_a_bad_patch_and_changes_nothing(token_api_as, maria, bob, acme_tag, change, status, reason):
    activity = _activity(maria, "Keep me", assigned_to=bob, tags=[acme_tag])
    before = _counts()
    response = token_api_as(maria).patch(f"/activities/{activity.pk}", change)
    assert response.status_code == status
    if reason:
        assert response.json() == {"detail": reason}
    assert _counts() == before
    activity.refresh_from_db()
    assert (activity.title, activity.assigned_to, list(activity.tags.all())) == ("Keep me", bob, [acme_tag])


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_it_forbids_editing_to_technicians_and_staff(request, token_api_as, maria, pool_job, persona):
    response = token_api_as(request.getfixturevalue(persona)).patch(f"/activities/{pool_job.pk}", {"title": "Mine"})
    assert response.status_code == 403
    pool_job.refresh_from_db()
    assert pool_job.title == "Fix hydraulic leak on press P-300"


# Claiming


def test_it_lets_a_technician_claim_a_maintenance_activity(api_as, bob, pool_job):
    response = api_as(bob).post(f"/activities/{pool_job.pk}/claim")
    assert response.status_code == 200
    assert (response.json()["assigned_to"], response.json()["status"]) == (bob.pk, "in-progress")
    pool_job.refresh_from_db()
    assert pool_job.assigned_to == bob
    assert pool_job.comments.filter(kind=Kind.CLAIMED, author=bob).exists()


def test_it_answers_409_naming_who_claimed_first(token_api_as, acme, bob, pool_job):
    tom = account_services.create_member(
        organization=acme, username="tom", email="tom@example.com", password="x-long-password", role="technician"
    )
    assert token_api_as(bob).post(f"/activities/{pool_job.pk}/claim").status_code == 200
    before = _counts()
    response = token_api_as(tom).post(f"/activities/{pool_job.pk}/claim")
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"{bob.display_name} already claimed this activity.",
        "claimed_by": {"id": bob.pk, "name": bob.display_name},
    }
    assert _counts() == before
    # Claiming one's own activity again is harmless.
    assert token_api_as(bob).post(f"/activities/{pool_job.pk}/claim").status_code == 200


def test_it_forbids_claiming_to_staff(token_api_as, carol, pool_job):
    response = token_api_as(carol).post(f"/activities/{pool_job.pk}/claim")
    assert response.status_code == 403
    assert "may not claim maintenance" in response.json()["detail"]
    pool_job.refresh_from_db()
    assert pool_job.assigned_to is None


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": ActivityType.PRODUCTION}, "Only maintenance activities are claimed"),
        ({"status": Status.COMPLETED}, "This activity is completed; it cannot be claimed."),
        ({"status": Status.CANCELLED}, "This activity is cancelled; it cannot be claimed."),
    ],
)
def test_it_answers_400_for_an_activity_that_cannot_be_claimed(token_api_as, maria, bob, fields, reason):
    activity = _activity(maria, **fields)
    before = _counts()
    response = token_api_as(bob).post(f"/activities/{activity.pk}/claim")
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert _counts() == before


# Status, priority, assignment


def test_it_lets_the_assignee_change_the_status(api_as, maria, carol):
    activity = _activity(maria, "Count parts", type=ActivityType.LOGISTICS, assigned_to=carol)
    response = api_as(carol).post(f"/activities/{activity.pk}/status", {"status": "completed", "notes": "All there"})
    assert response.status_code == 200
    assert response.json()["status"] == "completed"
    assert activity.status_history.filter(status="completed", changed_by=carol, notes="All there").exists()


def test_it_forbids_status_changes_to_someone_elses_activity(token_api_as, carol, pool_job):
    response = token_api_as(carol).post(f"/activities/{pool_job.pk}/status", {"status": "completed"})
    assert response.status_code == 403
    pool_job.refresh_from_db()
    assert pool_job.status == Status.PLANNED


@pytest.mark.parametrize("payload", [{"status": "done"}, {}, {"status": "completed", "notes": 5}])
def test_it_answers_422_for_a_bad_status(token_api_as, maria, pool_job, payload):
    before = _counts()
    assert token_api_as(maria).post(f"/activities/{pool_job.pk}/status", payload).status_code == 422
    assert _counts() == before


def test_it_lets_a_manager_change_the_priority(api_as, maria, pool_job):
    response = api_as(maria).post(f"/activities/{pool_job.pk}/priority", {"priority": "urgent", "reason": "Line down"})
    assert response.status_code == 200
    assert response.json()["priority"] == "urgent"
    assert pool_job.priority_history.filter(priority="urgent", reason="Line down").exists()


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_it_forbids_priority_changes_to_technicians_and_staff(request, token_api_as, pool_job, persona):
    before = _counts()
    response = token_api_as(request.getfixturevalue(persona)).post(
        f"/activities/{pool_job.pk}/priority", {"priority": "urgent"}
    )
    assert response.status_code == 403
    assert "may not change priorities" in response.json()["detail"]
    assert _counts() == before


def test_it_assigns_and_unassigns(api_as, maria, bob, pool_job):
    api = api_as(maria)
    response = api.post(f"/activities/{pool_job.pk}/assign", {"assigned_to": bob.pk, "note": "You know this press"})
    assert (response.status_code, response.json()["assigned_to"]) == (200, bob.pk)
    entry = pool_job.comments.filter(kind=Kind.ASSIGNED).get()
    assert (entry.body, entry.data["to"]) == ("You know this press", bob.pk)
    response = api.post(f"/activities/{pool_job.pk}/assign", {"assigned_to": None})
    assert (response.status_code, response.json()["assigned_to"]) == (200, None)
    pool_job.refresh_from_db()
    assert pool_job.assigned_to is None


def test_it_answers_400_for_an_assignee_of_another_organization(token_api_as, maria, mallory, pool_job):
    before = _counts()
    response = token_api_as(maria).post(f"/activities/{pool_job.pk}/assign", {"assigned_to": mallory.pk})
    assert response.status_code == 400
    assert response.json() == {"detail": f"assigned_to: Unknown person {mallory.pk}."}
    assert _counts() == before


def test_it_answers_422_when_the_assignee_is_left_out(token_api_as, maria, pool_job):
    assert token_api_as(maria).post(f"/activities/{pool_job.pk}/assign", {"note": "?"}).status_code == 422


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_it_forbids_assigning_to_technicians_and_staff(request, token_api_as, pool_job, persona):
    actor = request.getfixturevalue(persona)
    response = token_api_as(actor).post(f"/activities/{pool_job.pk}/assign", {"assigned_to": actor.pk})
    assert response.status_code == 403
    pool_job.refresh_from_db()
    assert pool_job.assigned_to is None


# The thread


def test_it_returns_the_thread_with_system_entries(api_as, maria, carol):
    activity = _activity(
        maria, "Late job", assigned_to=carol, start_time=SOON - timedelta(days=3), end_time=SOON - timedelta(days=2)
    )
    services.add_comment(author=carol, activity=activity, body="On it")
    services.mark_overdue_activities()
    response = api_as(carol).get(f"/activities/{activity.pk}/comments")
    assert response.status_code == 200
    thread = response.json()
    assert [entry["kind"] for entry in thread] == ["created", "assigned", "comment", "status"]
    assert thread[0]["author"] == {"id": maria.pk, "name": maria.display_name}
    assert (thread[2]["body"], thread[2]["author"]["id"]) == ("On it", carol.pk)
    assert thread[3]["author"] is None
    assert thread[3]["data"] == {"from": "planned", "to": "overdue"}
    assert {"id", "kind", "author", "body", "data", "created_at"} == set(thread[0])


def test_it_adds_a_comment(api_as, carol, pool_job):
    response = api_as(carol).post(f"/activities/{pool_job.pk}/comments", {"body": "  Oil on the floor  "})
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["body"], body["author"]["id"]) == ("comment", "Oil on the floor", carol.pk)
    assert pool_job.comments.filter(kind=Kind.COMMENT, author=carol).count() == 1


def test_it_answers_400_for_a_bad_comment(token_api_as, carol, pool_job):
    before = _counts()
    response = token_api_as(carol).post(f"/activities/{pool_job.pk}/comments", {"body": "   "})
    assert response.status_code == 400
    assert response.json()["detail"] == "body: Write something first."
    assert _counts() == before


def test_it_answers_422_for_a_comment_longer_than_the_schema_allows(token_api_as, carol, pool_job):
    before = _counts()
    response = token_api_as(carol).post(f"/activities/{pool_job.pk}/comments", {"body": "x" * 10_001})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == "body"
    assert "10000" in response.json()["errors"][0]["msg"]
    assert _counts() == before


# Tags


def test_it_lists_tags_with_their_activity_counts(api_as, maria, carol, acme_tag, mallory, globex_only_tag):
    _tag(maria, name="Kaizen", color="#10B981")
    _activity(maria, "One", tags=[acme_tag])
    _activity(maria, "Two", tags=[acme_tag])
    response = api_as(carol).get("/tags")
    assert response.status_code == 200
    assert [(tag["name"], tag["activity_count"]) for tag in response.json()] == [("Kaizen", 0), ("Safety", 2)]
    assert set(response.json()[0]) == {"id", "name", "description", "color", "category", "activity_count"}


def test_it_creates_a_tag(api_as, maria):
    response = api_as(maria).post(
        "/tags", {"name": "Hydraulics", "description": "Pumps and hoses", "color": "#0ea5e9", "category": "Discipline"}
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["color"], body["category"], body["activity_count"]) == (
        "Hydraulics",
        "#0EA5E9",
        "Discipline",
        0,
    )
    assert Tag.objects.get(pk=body["id"]).organization == maria.organization


def test_it_edits_a_tag(api_as, maria, acme_tag):
    _activity(maria, tags=[acme_tag])
    response = api_as(maria).patch(f"/tags/{acme_tag.pk}", {"name": "Safety first"})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["color"], response.json()["activity_count"]) == (
        "Safety first",
        "#DC2626",
        1,
    )


def test_it_deletes_a_tag(api_as, maria, acme_tag):
    activity = _activity(maria, tags=[acme_tag])
    assert api_as(maria).delete(f"/tags/{acme_tag.pk}").status_code == 204
    assert not Tag.objects.exists()
    assert Activity.objects.filter(pk=activity.pk).exists()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"name": "safety"}, "name: There is already a tag named “safety”."),
        ({"name": "Blue", "color": "blue"}, "color: Enter a colour as # and six hex digits"),
        ({"name": "  "}, "name: A tag needs a name."),
    ],
)
def test_it_answers_400_for_a_bad_new_tag(token_api_as, maria, acme_tag, payload, reason):
    response = token_api_as(maria).post("/tags", payload)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(reason)
    assert list(Tag.objects.values_list("name", flat=True)) == ["Safety"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"name": "kaizen"}, "name: There is already a tag named “kaizen”."),
        ({"color": "#12345"}, "color: Enter a colour as # and six hex digits"),
        ({"name": "  "}, "name: A tag needs a name."),
    ],
)
def test_it_answers_400_for_a_bad_tag_edit(token_api_as, maria, acme_tag, payload, reason):
    _tag(maria, name="Kaizen", color="#10B981")
    response = token_api_as(maria).patch(f"/tags/{acme_tag.pk}", payload)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(reason)
    acme_tag.refresh_from_db()
    assert (acme_tag.name, acme_tag.color) == ("Safety", "#DC2626")


def test_it_answers_422_for_a_null_tag_field(token_api_as, maria, acme_tag):
    assert token_api_as(maria).patch(f"/tags/{acme_tag.pk}", {"name": None}).status_code == 422
    acme_tag.refresh_from_db()
    assert acme_tag.name == "Safety"


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_it_forbids_managing_tags_to_technicians_and_staff(request, token_api_as, acme_tag, persona):
    api = token_api_as(request.getfixturevalue(persona))
    assert api.get("/tags").status_code == 200
    for response in (
        api.post("/tags", {"name": "Mine"}),
        api.patch(f"/tags/{acme_tag.pk}", {"name": "Mine"}),
        api.delete(f"/tags/{acme_tag.pk}"),
    ):
        assert response.status_code == 403
        assert "may not manage tags" in response.json()["detail"]
    assert list(Tag.objects.values_list("name", flat=True)) == ["Safety"]


# The organization boundary


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("get", "/activities/{activity}", None),
        ("patch", "/activities/{activity}", {"title": "Mine"}),
        ("post", "/activities/{activity}/claim", None),
        ("post", "/activities/{activity}/status", {"status": "completed"}),
        ("post", "/activities/{activity}/priority", {"priority": "low"}),
        ("post", "/activities/{activity}/assign", {"assigned_to": None}),
        ("get", "/activities/{activity}/comments", None),
        ("post", "/activities/{activity}/comments", {"body": "Hello"}),
        ("patch", "/tags/{tag}", {"name": "Mine"}),
        ("delete", "/tags/{tag}", None),
    ],
)
def test_it_answers_404_to_another_organization(token_api_as, maria, bob, mallory, acme_tag, method, path, payload):
    activity = _activity(maria, assigned_to=bob, tags=[acme_tag])
    before = _counts()
    api = token_api_as(mallory)
    url = path.format(activity=activity.pk, tag=acme_tag.pk)
    response = getattr(api, method)(url, payload) if payload is not None else getattr(api, method)(url)
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    assert _counts() == before
    activity.refresh_from_db()
    assert (activity.title, activity.status, activity.assigned_to) == ("Replace spindle bearing", "planned", bob)


def test_it_answers_400_for_another_organizations_tag_in_a_body(token_api_as, mallory, maria, acme_tag):
    response = token_api_as(mallory).post(
        "/activities",
        {
            "title": "Borrowed tag",
            "type": "Maintenance",
            "start_time": "2031-05-04T08:00Z",
            "end_time": "2031-05-04T09:00Z",
            "tags": [acme_tag.pk],
        },
    )
    assert response.status_code == 400
    assert response.json() == {"detail": f"tags: Unknown tag {acme_tag.pk}."}
    assert not Activity.objects.exists()


def test_it_hides_other_organizations_from_lists_and_filters(token_api_as, maria, mallory, acme_tag):
    _activity(maria, tags=[acme_tag])
    api = token_api_as(mallory)
    assert api.get("/activities").json() == {"count": 0, "items": []}
    assert api.get("/activities", {"tag": acme_tag.pk}).json()["count"] == 0
    assert api.get("/tags").json() == []


# Authentication and the schema


def test_it_answers_401_without_authentication(client, pool_job):
    for response in (client.get(f"{API}/activities"), client.post(f"{API}/activities/{pool_job.pk}/claim")):
        assert response.status_code == 401
    pool_job.refresh_from_db()
    assert pool_job.assigned_to is None


def test_it_rejects_a_session_post_without_a_csrf_token(bob, pool_job):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob, backend="accounts.backends.ModelBackend")
    assert client.post(f"{API}/activities/{pool_job.pk}/claim").status_code == 403
    pool_job.refresh_from_db()
    assert pool_job.assigned_to is None


def test_it_lists_the_activity_endpoints_in_the_openapi_schema(client):
    schema = client.get(f"{API}/openapi.json").json()
    expected = {
        "/api/v1/activities": {"get", "post"},
        "/api/v1/activities/{activity_id}": {"get", "patch"},
        "/api/v1/activities/{activity_id}/claim": {"post"},
        "/api/v1/activities/{activity_id}/status": {"post"},
        "/api/v1/activities/{activity_id}/priority": {"post"},
        "/api/v1/activities/{activity_id}/assign": {"post"},
        "/api/v1/activities/{activity_id}/comments": {"get", "post"},
        "/api/v1/tags": {"get", "post"},
        "/api/v1/tags/{tag_id}": {"patch", "delete"},
    }
    for path, methods in expected.items():
        assert set(schema["paths"][path]) == methods, path
        for operation in schema["paths"][path].values():
            assert operation["summary"], (path, operation)
    list_parameters = {parameter["name"] for parameter in schema["paths"]["/api/v1/activities"]["get"]["parameters"]}
    assert {
        "q",
        "type",
        "status",
        "priority",
        "tag",
        "assignee",
        "project",
        "unclaimed",
        "mine",
        "open",
    } <= list_parameters
    assert {"due_from", "due_to", "sort", "limit", "offset"} <= list_parameters
    assert "409" in schema["paths"]["/api/v1/activities/{activity_id}/claim"]["post"]["responses"]
