"""Managers raise, list and take down banners (system messages) through the JSON API, as on their page.

Personas from tests/conftest.py: maria (manager) and alice (admin) may; bob
(technician) and carol (staff) may not; mallory is of another organization.
"""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as account_services
from chat import services
from chat.models import SystemMessage, SystemMessageDismissal
from nexus.realtime import organization_group

pytestmark = pytest.mark.django_db


def _banner(actor, title="Fire drill at 10", **fields) -> SystemMessage:
    fields.setdefault("is_broadcast", not fields.get("target_users"))
    return services.create_system_message(organization=actor.organization, actor=actor, title=title, **fields)


def _everything() -> tuple:
    return (
        sorted(SystemMessage.objects.values_list("pk", "title", "expires_at")),
        SystemMessage.target_users.through.objects.count(),
    )


# Raising


def test_it_raises_a_banner_for_everyone_and_pushes_it_live(
    api_as, maria, bob, broadcasts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(maria).post(
            "/chat/system-messages",
            {"title": "Fire drill at 10", "content": "Assemble at gate 2", "level": "warning", "is_broadcast": True},
        )

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "title": "Fire drill at 10",
        "content": "Assemble at gate 2",
        "level": "warning",
        "is_broadcast": True,
        "created_at": body["created_at"],
        "expires_at": None,
        "is_active": True,
        "target_people": [],
        "created_by": {"id": maria.pk, "name": maria.display_name},
        "dismissed": 0,
    }
    assert [banner["id"] for banner in api_as(bob).get("/chat/system-messages").json()] == [body["id"]]
    assert [group for group, event in broadcasts if "Fire drill at 10" in event.get("html", "")] == [
        organization_group(maria.organization_id)
    ]


def test_it_raises_a_banner_for_chosen_people_until_a_time(api_as, alice, bob, carol):
    response = api_as(alice).post(
        "/chat/system-messages",
        {"title": "Your badge expires", "target_user_ids": [carol.pk], "expires_at": "2999-01-01T08:00:00"},
    )

    assert response.status_code == 201
    banner = SystemMessage.objects.get(pk=response.json()["id"])
    assert list(banner.target_users.all()) == [carol]
    # Without an offset the time is the factory's wall-clock time.
    assert banner.expires_at == datetime(2999, 1, 1, 8, tzinfo=alice.organization.tzinfo)
    assert response.json()["target_people"] == [{"id": carol.pk, "name": carol.display_name}]
    assert api_as(bob).get("/chat/system-messages").json() == []
    assert len(api_as(carol).get("/chat/system-messages").json()) == 1


@pytest.mark.parametrize("role", ["bob", "carol"])
def test_it_refuses_banners_from_staff_and_technicians(api_as, role, request):
    person = request.getfixturevalue(role)
    banner = _banner(request.getfixturevalue("maria"))
    before = _everything()

    created = api_as(person).post("/chat/system-messages", {"title": "Free pizza", "is_broadcast": True})
    listed = api_as(person).get("/chat/system-messages/all")
    expired = api_as(person).post(f"/chat/system-messages/{banner.pk}/expire")

    assert (created.status_code, listed.status_code, expired.status_code) == (403, 403, 403)
    assert created.json()["detail"]
    assert _everything() == before


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"title": "Nobody"}, "target_user_ids: Choose who sees it, or broadcast it to everyone."),
        ({"title": "   ", "is_broadcast": True}, "title: A title of 1 to 200 characters is required."),
        ({"title": "Past", "is_broadcast": True, "expires_at": "2020-01-01T08:00:00+00:00"}, "expires_at: The expiry"),
        ({"title": "Both", "is_broadcast": True, "target_user_ids": [1]}, "is_broadcast: A banner to everyone"),
        ({"title": "Nul\u0000", "is_broadcast": True}, ""),
        ({"title": "Ok", "content": "a\u0000b", "is_broadcast": True}, ""),
    ],
)
def test_it_refuses_a_bad_banner_and_raises_nothing(api_as, maria, body, reason):
    response = api_as(maria).post("/chat/system-messages", body)

    assert response.status_code == 400
    assert response.json()["detail"].startswith(reason)
    assert response.json()["detail"]
    assert not SystemMessage.objects.exists()


def test_it_refuses_people_of_another_organization_naming_them(api_as, maria, bob, mallory):
    response = api_as(maria).post("/chat/system-messages", {"title": "Mixed", "target_user_ids": [bob.pk, mallory.pk]})

    assert response.status_code == 400
    assert response.json()["detail"] == f"target_user_ids: Unknown person {mallory.pk}."
    assert not SystemMessage.objects.exists()


def test_it_refuses_a_deactivated_person(api_as, alice, maria, bob):
    account_services.set_member_active(actor=alice, member=bob, is_active=False)

    response = api_as(maria).post("/chat/system-messages", {"title": "To bob", "target_user_ids": [bob.pk]})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("target_user_ids: ")
    assert not SystemMessage.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"content": "No title", "is_broadcast": True},
        {"title": 5, "is_broadcast": True},
        {"title": "x" * 201, "is_broadcast": True},
        {"title": "Odd", "level": "panic", "is_broadcast": True},
        {"title": "Odd", "is_broadcast": "everyone"},
        {"title": "Odd", "target_user_ids": ["bob"]},
        {"title": "Odd", "target_user_ids": [True]},
        {"title": "Odd", "is_broadcast": True, "expires_at": "tomorrow"},
        {"title": "Odd", "is_broadcast": True, "expires_at": "10000-01-01T00:00:00Z"},
    ],
)
def test_it_refuses_a_malformed_banner(api_as, maria, body):
    response = api_as(maria).post("/chat/system-messages", body)

    assert response.status_code == 422
    assert response.json()["errors"]
    assert not SystemMessage.objects.exists()


# Listing


def test_it_lists_every_banner_of_the_organization_for_managers(api_as, maria, alice, bob, carol, mallory):
    shown = _banner(maria)
    _banner(mallory, "Elsewhere")
    down = _banner(maria, "Old news", target_users=[carol])
    services.expire_system_message(actor=maria, system_message=down)
    services.dismiss_system_message(user=bob, system_message=shown)

    response = api_as(alice).get("/chat/system-messages/all")

    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()}
    assert set(rows) == {shown.pk, down.pk}
    assert (rows[shown.pk]["is_active"], rows[shown.pk]["dismissed"]) == (True, 1)
    assert (rows[down.pk]["is_active"], rows[down.pk]["target_people"]) == (
        False,
        [{"id": carol.pk, "name": carol.display_name}],
    )
    assert [row["title"] for row in api_as(mallory).get("/chat/system-messages/all").json()] == ["Elsewhere"]


def test_it_lists_banners_in_constant_queries(api_as, maria, bob, carol):
    client = api_as(maria)
    _banner(maria, target_users=[bob])

    with CaptureQueriesContext(connection) as one:
        assert client.get("/chat/system-messages/all").status_code == 200
    for n in range(5):
        _banner(maria, f"Banner {n}", target_users=[bob, carol])
    with CaptureQueriesContext(connection) as six:
        assert len(client.get("/chat/system-messages/all").json()) == 6

    assert len(six) == len(one)


# Taking down


def test_it_takes_a_banner_down_for_everyone(api_as, maria, bob, broadcasts, django_capture_on_commit_callbacks):
    banner = _banner(maria)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(maria).post(f"/chat/system-messages/{banner.pk}/expire")

    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert api_as(bob).get("/chat/system-messages").json() == []
    assert [group for group, event in broadcasts if f"system-message-{banner.pk}" in event.get("html", "")] == [
        organization_group(maria.organization_id)
    ]


def test_it_leaves_a_banner_that_is_already_down_as_it_was(api_as, maria):
    banner = _banner(maria)
    services.expire_system_message(actor=maria, system_message=banner)
    banner.refresh_from_db()
    taken_down_at = banner.expires_at

    response = api_as(maria).post(f"/chat/system-messages/{banner.pk}/expire")

    assert response.status_code == 200
    banner.refresh_from_db()
    assert banner.expires_at == taken_down_at


def test_it_hides_another_organizations_banner(api_as, maria, mallory):
    banner = _banner(maria, expires_at=timezone.now() + timedelta(hours=1))
    before = _everything()

    assert api_as(mallory).post(f"/chat/system-messages/{banner.pk}/expire").status_code == 404
    assert api_as(maria).post("/chat/system-messages/99999999999/expire").status_code == 404
    assert _everything() == before
    assert not SystemMessageDismissal.objects.exists()


def test_it_asks_anonymous_callers_to_authenticate(client, maria):
    banner = _banner(maria)

    assert client.get("/api/v1/chat/system-messages/all").status_code == 401
    assert client.post("/api/v1/chat/system-messages", "{}", content_type="application/json").status_code == 401
    assert client.post(f"/api/v1/chat/system-messages/{banner.pk}/expire").status_code == 401
    assert SystemMessage.objects.get(pk=banner.pk).expires_at is None
