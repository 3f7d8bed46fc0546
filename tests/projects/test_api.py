"""The projects JSON API, over HTTP with the test client."""

from datetime import timedelta

import pytest
from notifications.models import Notification

from accounts import services as account_services
from projects.models import Project
from tests.api_client import patch_json, post_json

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _bearer(user) -> dict:
    _, raw = account_services.create_api_token(user=user, name="test")
    return {"Authorization": f"Bearer {raw}"}


def _body(**overrides) -> dict:
    body = {"name": "Energy savings programme", "start_date": "2026-04-01", "end_date": "2026-12-31"}
    body.update(overrides)
    return body


# Reading


def test_it_lists_projects_with_their_counts(client, carol, bob, make_project, make_activity):
    done = make_activity("Done", status="completed")
    late = make_activity("Late", starts_in=timedelta(days=-2), ends_in=timedelta(hours=1))
    project = make_project(status="active", team_members=[bob, carol], activities=[done, late])
    response = client.get(f"{API}/projects", headers=_bearer(carol))
    assert response.status_code == 200
    (body,) = response.json()
    assert body == {
        "id": project.pk,
        "name": "Line 2 retrofit",
        "description": "",
        "status": "active",
        "start_date": "2026-03-01",
        "end_date": "2026-06-30",
        "manager_id": project.manager_id,
        "team_member_ids": sorted([bob.pk, carol.pk], key=lambda pk: {bob.pk: "Bob", carol.pk: "Carol"}[pk]),
        "activity_ids": sorted([done.pk, late.pk]),
        "activity_count": 2,
        "completed_count": 1,
        "overdue_count": 1,
        "progress": 50,
    }


def test_it_filters_the_list_by_status_and_words(client_for, carol, make_project):
    make_project("Line 2 retrofit", status="active")
    make_project("ISO 9001 recertification", status="planning", description="Audit")
    client = client_for(carol)
    names = lambda **query: [p["name"] for p in client.get(f"{API}/projects", query).json()]  # noqa: E731
    assert names(status="active") == ["Line 2 retrofit"]
    assert names(q="audit") == ["ISO 9001 recertification"]
    assert names(status="completed") == []


def test_it_answers_422_with_a_reason_for_an_unknown_status_filter(client_for, carol):
    response = client_for(carol).get(f"{API}/projects", {"status": "sleeping"})
    assert response.status_code == 422
    assert response.json()["detail"] == "Invalid input."
    assert response.json()["errors"][0]["loc"][-1] == "status"


def test_it_returns_one_project(client_for, carol, make_project):
    project = make_project()
    response = client_for(carol).get(f"{API}/projects/{project.pk}")
    assert response.status_code == 200
    assert response.json()["name"] == "Line 2 retrofit"


def test_it_hides_another_organizations_projects(client_for, mallory, make_project):
    project = make_project()
    client = client_for(mallory)
    assert client.get(f"{API}/projects").json() == []
    response = client.get(f"{API}/projects/{project.pk}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_it_answers_404_for_an_unknown_project(client_for, carol):
    assert client_for(carol).get(f"{API}/projects/999999").status_code == 404


def test_it_answers_401_without_authentication(client):
    assert client.get(f"{API}/projects").status_code == 401


# Creating


def test_it_creates_a_project_for_a_manager(client, maria, bob, carol, make_activity):
    activity = make_activity("Meter the compressors")
    response = post_json(
        client,
        f"{API}/projects",
        _body(status="active", team_member_ids=[bob.pk, carol.pk, bob.pk], activity_ids=[activity.pk]),
        headers=_bearer(maria),
    )
    assert response.status_code == 201
    body = response.json()
    project = Project.objects.get()
    assert body["id"] == project.pk
    assert (body["status"], body["manager_id"], body["activity_ids"], body["activity_count"]) == (
        "active",
        maria.pk,
        [activity.pk],
        1,
    )
    assert set(body["team_member_ids"]) == {bob.pk, carol.pk}
    assert Notification.objects.filter(verb="added you to").count() == 2


def test_it_creates_a_project_with_another_manager(client_for, alice, maria):
    response = post_json(client_for(alice), f"{API}/projects", _body(manager_id=maria.pk))
    assert response.status_code == 201
    assert response.json()["manager_id"] == maria.pk


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_it_answers_403_to_technicians_and_staff(request, client, make_project, persona):
    user = request.getfixturevalue(persona)
    project = make_project()
    headers = _bearer(user)
    response = post_json(client, f"{API}/projects", _body(), headers=headers)
    assert response.status_code == 403
    assert response.json() == {"detail": "Your role may not create project."}
    response = patch_json(client, f"{API}/projects/{project.pk}", {"name": "Mine now"}, headers=headers)
    assert response.status_code == 403
    assert Project.objects.count() == 1
    project.refresh_from_db()
    assert project.name == "Line 2 retrofit"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"end_date": "2026-03-31"}, "end_date: The end date must not be before the start date."),
        ({"name": "   "}, "name: A project needs a name."),
        ({"manager_id": 999999}, "manager_id: Unknown person 999999."),
        ({"team_member_ids": [999998, 999999]}, "team_member_ids: Unknown people 999998, 999999."),
        ({"activity_ids": [999999]}, "activity_ids: Unknown activity 999999."),
    ],
)
def test_it_answers_400_with_the_reason_and_saves_nothing(client_for, maria, overrides, reason):
    response = post_json(client_for(maria), f"{API}/projects", _body(**overrides))
    assert response.status_code == 400
    assert response.json() == {"detail": reason}
    assert not Project.objects.exists()


def test_it_treats_another_organizations_ids_as_unknown(client_for, maria, mallory, globex_activity):
    client = client_for(maria)
    for body, reason in [
        (_body(manager_id=mallory.pk), f"manager_id: Unknown person {mallory.pk}."),
        (_body(team_member_ids=[mallory.pk]), f"team_member_ids: Unknown person {mallory.pk}."),
        (_body(activity_ids=[globex_activity.pk]), f"activity_ids: Unknown activity {globex_activity.pk}."),
    ]:
        response = post_json(client, f"{API}/projects", body)
        assert (response.status_code, response.json()) == (400, {"detail": reason})
    assert not Project.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"start_date": "2026-04-01", "end_date": "2026-12-31"},
        _body(start_date="April first"),
        _body(status="sleeping"),
        _body(name="x" * 201),
    ],
)
def test_it_answers_422_for_malformed_input(client_for, maria, body):
    response = post_json(client_for(maria), f"{API}/projects", body)
    assert response.status_code == 422
    assert response.json()["detail"] == "Invalid input."
    assert response.json()["errors"]
    assert not Project.objects.exists()


# Editing


def test_it_patches_only_the_fields_sent(client_for, maria, bob, carol, make_project, make_activity):
    activity = make_activity()
    project = make_project(description="Kept", team_members=[bob])
    response = patch_json(
        client_for(maria),
        f"{API}/projects/{project.pk}",
        {"status": "on-hold", "team_member_ids": [bob.pk, carol.pk], "activity_ids": [activity.pk]},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["description"], body["activity_ids"]) == ("on-hold", "Kept", [activity.pk])
    assert set(body["team_member_ids"]) == {bob.pk, carol.pk}
    assert carol.notifications.filter(verb="added you to").count() == 1
    assert bob.notifications.filter(verb="added you to").count() == 1  # From the creation only.


def test_it_refuses_a_patch_that_ends_before_the_start_and_changes_nothing(client_for, maria, make_project):
    project = make_project()
    response = patch_json(
        client_for(maria), f"{API}/projects/{project.pk}", {"name": "Renamed", "end_date": "2026-01-01"}
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "end_date: The end date must not be before the start date."}
    project.refresh_from_db()
    assert project.name == "Line 2 retrofit"


def test_it_refuses_null_for_a_field_in_a_patch(client_for, maria, make_project):
    project = make_project()
    response = patch_json(client_for(maria), f"{API}/projects/{project.pk}", {"manager_id": None})
    assert response.status_code == 422
    # The schema says the field is not nullable; leave it out to keep it.
    assert response.json()["errors"][0]["loc"][-1] == "manager_id"
    project.refresh_from_db()
    assert project.manager == maria


def test_it_answers_404_to_a_patch_of_another_organizations_project(client_for, mallory, make_project):
    project = make_project()
    response = patch_json(client_for(mallory), f"{API}/projects/{project.pk}", {"name": "Taken over"})
    assert response.status_code == 404
    project.refresh_from_db()
    assert project.name == "Line 2 retrofit"


def test_it_lists_the_endpoints_in_the_schema(client_for, carol):
    paths = client_for(carol).get(f"{API}/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths[f"{API}/projects"])
    assert {"get", "patch"} <= set(paths[f"{API}/projects/{{project_id}}"])
